// Package exec runs programs. It is the runtime layer: the interpreter here
// evaluates equations in order on the primitives' kernels and frees every
// intermediate after its last use, so memory follows the live set rather than
// the program's length.
package exec

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Runner evaluates a program on concrete inputs. The compiled runtime will
// provide another implementation behind the same interface.
type Runner interface {
	Run(in []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// Plan is a program compiled for repeated evaluation: value layouts
// resolved, buffers placed in a slab by liveness (see plan.go).
type Plan struct {
	prog *ir.Program
	cp   *compiled
}

// Compile prepares p for evaluation. It fails when the environment
// variable JACOBI_KERNEL asks for kernels this CPU cannot run.
func Compile(p *ir.Program) (*Plan, error) {
	if err := kernels.PathError(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cp, err := newCompiled(p)
	if err != nil {
		return nil, err
	}
	return &Plan{prog: p, cp: cp}, nil
}

// Program returns the program the plan runs.
func (pl *Plan) Program() *ir.Program { return pl.prog }

// SlabBytes returns the working memory one run needs, in bytes.
func (pl *Plan) SlabBytes() int { return pl.cp.slabBytes() }

// Run evaluates the plan, allocating only the outputs. It is safe for
// concurrent use.
func (pl *Plan) Run(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != len(pl.prog.In) {
		return nil, fmt.Errorf("exec: program takes %d inputs, got %d", len(pl.prog.In), len(in))
	}
	out := make([]*tensor.Tensor, len(pl.prog.Out))
	dst := make([]Values, len(out))
	for i, v := range pl.prog.Out {
		out[i] = tensor.ZerosOf(v.DType, v.Shape...)
		dst[i] = ValuesOf(out[i])
	}
	data := make([]Values, len(in))
	for i, t := range in {
		if t == nil {
			return nil, fmt.Errorf("exec: input %d is nil", i)
		}
		want := pl.prog.In[i]
		if !tensor.SameShape(t.Shape(), want.Shape) {
			return nil, fmt.Errorf("exec: input %d has shape %v, the program expects %v", i, t.Shape(), want.Shape)
		}
		if t.DType() != want.DType {
			return nil, fmt.Errorf("exec: input %d is %v, the program expects %v", i, t.DType(), want.DType)
		}
		data[i] = ValuesOf(t)
	}
	if err := pl.RunInto(data, dst); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto evaluates the plan on the inputs' row-major data and writes each
// output into dst[i]. It allocates nothing once warm.
func (pl *Plan) RunInto(in, dst []Values) error {
	return pl.RunIntoSerial(in, dst, false)
}

// RunIntoSerial is RunInto; with serial set, the run keeps to the calling
// goroutine (see RunInto1).
func (pl *Plan) RunIntoSerial(in, dst []Values, serial bool) (err error) {
	p := pl.prog
	if len(in) != len(p.In) || len(dst) != len(p.Out) {
		return fmt.Errorf("exec: program takes %d inputs and %d outputs, got %d and %d", len(p.In), len(p.Out), len(in), len(dst))
	}
	for i, v := range p.In {
		if err := checkValues("input", i, in[i], v.DType, v.Shape); err != nil {
			return err
		}
	}
	for i, v := range p.Out {
		if err := checkValues("output", i, dst[i], v.DType, v.Shape); err != nil {
			return err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec: internal error: %v", r)
		}
	}()
	return pl.cp.run(in, dst, serial)
}

// RunInto1 is RunInto for a program of one input and one output. With
// serial set, the run keeps to the calling goroutine (its matrix products
// do not use the kernels' other workers): for callers that run several
// plans at once, one per core.
func (pl *Plan) RunInto1(in, dst Values, serial bool) (err error) {
	p := pl.prog
	if len(p.In) != 1 || len(p.Out) != 1 {
		return fmt.Errorf("exec: RunInto1 needs a program of one input and one output")
	}
	if err := checkValues("input", 0, in, p.In[0].DType, p.In[0].Shape); err != nil {
		return err
	}
	if err := checkValues("output", 0, dst, p.Out[0].DType, p.Out[0].Shape); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec: internal error: %v", r)
		}
	}()
	ins, outs := [1]Values{in}, [1]Values{dst}
	return pl.cp.run(ins[:], outs[:], serial)
}

// Run compiles and runs p once.
func Run(p *ir.Program, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	pl, err := Compile(p)
	if err != nil {
		return nil, err
	}
	return pl.Run(in)
}
