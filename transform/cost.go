package transform

import (
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
)

// Cost is the work a program does: floating-point operations and bytes
// read and written by its equations (an upper bound on memory traffic).
type Cost struct {
	FLOPs float64
	Bytes float64
}

// Add returns the sum of two costs.
func (c Cost) Add(d Cost) Cost { return Cost{c.FLOPs + d.FLOPs, c.Bytes + d.Bytes} }

// Scale returns the cost multiplied by f.
func (c Cost) Scale(f float64) Cost { return Cost{c.FLOPs * f, c.Bytes * f} }

// CostOf returns the cost model's estimate for running p once: each
// equation's FLOPs by its primitive's cost rule, and the bytes of its
// operands and result in their dtypes (none for a literal, which the
// runtime does not copy). It panics on a primitive without rules, which
// cannot be traced.
func CostOf(p *ir.Program) Cost {
	var c Cost
	for _, e := range p.Eqns {
		r := op.MustRules(e.Prim)
		shapes := make([][]int, len(e.In))
		bytes := float64(e.Out.Size() * e.Out.DType.Size())
		for i, v := range e.In {
			shapes[i] = v.Shape
			bytes += float64(v.Size() * v.DType.Size())
		}
		if r.Lowering() == op.Literal {
			bytes = 0
		}
		c.FLOPs += r.FLOPs(shapes, e.Out.Shape)
		c.Bytes += bytes
	}
	return c
}
