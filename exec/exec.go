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
func (pl *Plan) SlabBytes() int { return 8 * pl.cp.slabSize }

// Run evaluates the plan, allocating only the outputs. It is safe for
// concurrent use.
func (pl *Plan) Run(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(pl.prog.Out))
	dst := make([][]float64, len(out))
	for i, v := range pl.prog.Out {
		out[i] = tensor.Zeros(v.Shape...)
		dst[i] = out[i].Data()
	}
	data := make([][]float64, len(in))
	if len(in) != len(pl.prog.In) {
		return nil, fmt.Errorf("exec: program takes %d inputs, got %d", len(pl.prog.In), len(in))
	}
	for i, t := range in {
		if t == nil {
			return nil, fmt.Errorf("exec: input %d is nil", i)
		}
		if want := pl.prog.In[i].Shape; !tensor.SameShape(t.Shape(), want) {
			return nil, fmt.Errorf("exec: input %d has shape %v, the program expects %v", i, t.Shape(), want)
		}
		data[i] = t.Data()
	}
	if err := pl.RunInto(data, dst); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto evaluates the plan on the inputs' row-major data and writes each
// output into dst[i]. It allocates nothing once warm.
func (pl *Plan) RunInto(in [][]float64, dst [][]float64) error {
	return pl.RunIntoSerial(in, dst, false)
}

// RunIntoSerial is RunInto; with serial set, the run keeps to the calling
// goroutine (see RunInto1).
func (pl *Plan) RunIntoSerial(in [][]float64, dst [][]float64, serial bool) (err error) {
	p := pl.prog
	if len(in) != len(p.In) || len(dst) != len(p.Out) {
		return fmt.Errorf("exec: program takes %d inputs and %d outputs, got %d and %d", len(p.In), len(p.Out), len(in), len(dst))
	}
	for i, v := range p.In {
		if len(in[i]) != v.Size() {
			return fmt.Errorf("exec: input %d has %d values, the program expects shape %v", i, len(in[i]), v.Shape)
		}
	}
	for i, v := range p.Out {
		if len(dst[i]) != v.Size() {
			return fmt.Errorf("exec: output %d has room for %d values, shape %v needs %d", i, len(dst[i]), v.Shape, v.Size())
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec: internal error: %v", r)
		}
	}()
	pl.cp.run(in, dst, serial)
	return nil
}

// RunInto1 is RunInto for a program of one input and one output. With
// serial set, the run keeps to the calling goroutine (its matrix products
// do not use the kernels' other workers): for callers that run several
// plans at once, one per core.
func (pl *Plan) RunInto1(in, dst []float64, serial bool) (err error) {
	p := pl.prog
	if len(p.In) != 1 || len(p.Out) != 1 || len(in) != p.In[0].Size() || len(dst) != p.Out[0].Size() {
		return fmt.Errorf("exec: RunInto1 needs one input of %d values and one output of %d", p.In[0].Size(), p.Out[0].Size())
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec: internal error: %v", r)
		}
	}()
	ins, outs := [1][]float64{in}, [1][]float64{dst}
	pl.cp.run(ins[:], outs[:], serial)
	return nil
}

// Run compiles and runs p once.
func Run(p *ir.Program, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	pl, err := Compile(p)
	if err != nil {
		return nil, err
	}
	return pl.Run(in)
}
