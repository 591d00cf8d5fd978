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

// transcendental is the FLOP count charged for one evaluation of a
// transcendental function: roughly what a vectorised polynomial costs.
const transcendental = 20

// CostOf returns the cost model's estimate for running p once.
func CostOf(p *ir.Program) Cost {
	var c Cost
	for _, e := range p.Eqns {
		out := float64(e.Out.Size())
		bytes := out
		for _, v := range e.In {
			bytes += float64(v.Size())
		}
		var f float64
		switch e.Prim.(type) {
		case op.MatMul:
			k := e.In[0].Shape[e.In[0].Rank()-1]
			f = 2 * out * float64(k)
		case op.Add, op.Sub, op.Mul, op.Div, op.Neg, op.Compare, op.Select:
			f = out
		case op.IntPow:
			f = 2 * out
		case op.Exp, op.Log, op.Log1p, op.Tanh, op.Sigmoid, op.Sin, op.Cos, op.Erf, op.Sqrt:
			f = transcendental * out
		case op.ReduceSum:
			f = float64(e.In[0].Size())
		case op.Constant:
			bytes = 0
		}
		c.FLOPs += f
		c.Bytes += 8 * bytes
	}
	return c
}
