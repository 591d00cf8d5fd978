// Package exec runs programs. It is the runtime layer: the interpreter here
// evaluates equations in order on the primitives' kernels and frees every
// intermediate after its last use, so memory follows the live set rather than
// the program's length.
package exec

import (
	"fmt"
	"sync"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Runner evaluates a program on concrete inputs. The compiled runtime will
// provide another implementation behind the same interface.
type Runner interface {
	Run(in []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// Plan is a program prepared for repeated evaluation: each intermediate's
// last use is known, so it can be released early.
type Plan struct {
	prog    *ir.Program
	slot    map[*ir.Var]int
	inSlot  []int
	eqnIn   [][]int
	eqnOut  []int
	release [][]int // slots to free after each equation
	outSlot []int
	nslots  int
	arenas  sync.Pool
}

// Compile prepares p for evaluation.
func Compile(p *ir.Program) (*Plan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	pl := &Plan{prog: p, slot: map[*ir.Var]int{}}
	pl.arenas.New = func() any { return &arena{free: map[int][][]float64{}} }
	id := func(v *ir.Var) int {
		if s, ok := pl.slot[v]; ok {
			return s
		}
		pl.slot[v] = pl.nslots
		pl.nslots++
		return pl.slot[v]
	}
	for _, v := range p.In {
		pl.inSlot = append(pl.inSlot, id(v))
	}
	last := map[int]int{}
	for k, e := range p.Eqns {
		if _, ok := e.Prim.(op.Evaluator); !ok {
			return nil, fmt.Errorf("exec: primitive %s cannot be evaluated", e.Prim.Name())
		}
		ins := make([]int, len(e.In))
		for i, v := range e.In {
			ins[i] = id(v)
			last[ins[i]] = k
		}
		pl.eqnIn = append(pl.eqnIn, ins)
		pl.eqnOut = append(pl.eqnOut, id(e.Out))
	}
	keep := map[int]bool{}
	for _, v := range p.Out {
		s := id(v)
		pl.outSlot = append(pl.outSlot, s)
		keep[s] = true
	}
	pl.release = make([][]int, len(p.Eqns))
	for s, k := range last {
		if !keep[s] {
			pl.release[k] = append(pl.release[k], s)
		}
	}
	return pl, nil
}

// Program returns the program the plan runs.
func (pl *Plan) Program() *ir.Program { return pl.prog }

// Run evaluates the plan. It is safe for concurrent use.
func (pl *Plan) Run(in []*tensor.Tensor) (out []*tensor.Tensor, err error) {
	p := pl.prog
	if len(in) != len(p.In) {
		return nil, fmt.Errorf("exec: program takes %d inputs, got %d", len(p.In), len(in))
	}
	vals := make([]value, pl.nslots)
	for i, v := range p.In {
		if in[i] == nil || !tensor.SameShape(v.Shape, in[i].Shape()) {
			var s []int
			if in[i] != nil {
				s = in[i].Shape()
			}
			return nil, fmt.Errorf("exec: input %d has shape %v, the program expects %v", i, s, v.Shape)
		}
		vals[pl.inSlot[i]] = contiguousValue(&buffer{data: in[i].Data(), refs: 1}, v.Shape)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec: internal error: %v", r)
		}
	}()
	a := pl.arenas.Get().(*arena)
	defer pl.arenas.Put(a)
	args := make([]value, 0, 4)
	for k, e := range p.Eqns {
		args = args[:0]
		for _, s := range pl.eqnIn[k] {
			args = append(args, vals[s])
		}
		v, err := a.evalEqn(e, args)
		if err != nil {
			return nil, fmt.Errorf("exec: %s: %w", e.Prim.Name(), err)
		}
		vals[pl.eqnOut[k]] = v
		for _, s := range pl.release[k] {
			if vals[s].buf != nil {
				a.release(vals[s].buf)
				vals[s] = value{}
			}
		}
	}
	out = make([]*tensor.Tensor, len(pl.outSlot))
	for i, s := range pl.outSlot {
		v := vals[s]
		if v.buf.owned && v.contiguous() {
			out[i] = v.tensor()
			v.buf.owned = false // handed to the caller: never recycled
			continue
		}
		data := make([]float64, v.size())
		gatherView(data, v)
		out[i], _ = tensor.New(v.shape, data)
	}
	return out, nil
}

// Run compiles and runs p once.
func Run(p *ir.Program, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	pl, err := Compile(p)
	if err != nil {
		return nil, err
	}
	return pl.Run(in)
}
