package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Elementwise primitives take inputs of one shape (the Node API inserts
// broadcasts) and apply a scalar function position by position.

func sameShapes(in [][]int, n int) ([]int, error) {
	if err := checkArity(in, n); err != nil {
		return nil, err
	}
	for i := 1; i < n; i++ {
		if !tensor.SameShape(in[0], in[i]) {
			return nil, fmt.Errorf("shapes %v and %v differ", in[0], in[i])
		}
	}
	return append([]int{}, in[0]...), nil
}

func batchElementwise(b *ir.Builder, p ir.Primitive, in []*ir.Var, batched []bool, n int) *ir.Var {
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if batched[i] {
			args[i] = v
		} else {
			args[i] = BroadcastBatch(b, v, n)
		}
	}
	return b.Emit(p, args...)
}

func unbatchElementwise(b *ir.Builder, p ir.Primitive, in []*ir.Var, axes []int, drop Dropper) (*ir.Var, int, error) {
	axis := -1
	for _, a := range axes {
		if a < 0 {
			continue
		}
		if axis >= 0 && a != axis {
			return nil, 0, mix(p, "combines operands whose batch axes differ (%d and %d)", axis, a)
		}
		axis = a
	}
	if axis < 0 {
		return b.Emit(p, in...), -1, nil
	}
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if axes[i] >= 0 {
			args[i] = v
			continue
		}
		d, err := drop(i, axis)
		if err != nil {
			return nil, 0, err
		}
		args[i] = d
	}
	return b.Emit(p, args...), axis, nil
}

func mapUnary(in []*tensor.Tensor, f func(float64) float64) (*tensor.Tensor, error) {
	x := in[0].Data()
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return tensor.New(in[0].Shape(), out)
}

func mapBinary(in []*tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	x, y := in[0].Data(), in[1].Data()
	out := make([]float64, len(x))
	for i := range x {
		out[i] = f(x[i], y[i])
	}
	return tensor.New(in[0].Shape(), out)
}
