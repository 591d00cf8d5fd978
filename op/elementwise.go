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

// mapUnary evaluates an elementwise primitive of one input. Float32
// values are computed in float64 and rounded: the correctly rounded
// result of +, -, ·, / and within half an ulp of the others, a reference
// the float32 kernels are tested against.
func mapUnary(in []*tensor.Tensor, f func(float64) float64) (*tensor.Tensor, error) {
	if in[0].DType() == tensor.Float32 {
		x := in[0].Data32()
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(f(float64(v)))
		}
		return tensor.New32(in[0].Shape(), out)
	}
	x := in[0].Data()
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return tensor.New(in[0].Shape(), out)
}

// mapBinary is mapUnary for primitives of two inputs (of one dtype).
func mapBinary(in []*tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	if err := sameDTypes(in); err != nil {
		return nil, err
	}
	if in[0].DType() == tensor.Float32 {
		x, y := in[0].Data32(), in[1].Data32()
		out := make([]float32, len(x))
		for i := range x {
			out[i] = float32(f(float64(x[i]), float64(y[i])))
		}
		return tensor.New32(in[0].Shape(), out)
	}
	x, y := in[0].Data(), in[1].Data()
	out := make([]float64, len(x))
	for i := range x {
		out[i] = f(x[i], y[i])
	}
	return tensor.New(in[0].Shape(), out)
}

// sameDTypes checks that evaluation's operands have one dtype.
func sameDTypes(in []*tensor.Tensor) error {
	for i, t := range in[1:] {
		if t.DType() != in[0].DType() {
			return fmt.Errorf("operands of different dtypes: %v (input 0) and %v (input %d)", in[0].DType(), t.DType(), i+1)
		}
	}
	return nil
}

// Row kernels written once for both dtypes.

func divRow[T tensor.Float](d, a, b, _ []T) {
	x, y := a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = x[i] / y[i]
	}
}

func selectRow[T tensor.Float](d, a, b, c []T) {
	pr, x, y := a[:len(d)], b[:len(d)], c[:len(d)]
	for i := range d {
		if pr[i] != 0 {
			d[i] = x[i]
		} else {
			d[i] = y[i]
		}
	}
}

func compareRow[T tensor.Float](op string) func(d, a, b, _ []T) {
	f := compareFunc[T](op)
	return func(d, a, b, _ []T) {
		x, y := a[:len(d)], b[:len(d)]
		for i := range d {
			if f(x[i], y[i]) {
				d[i] = 1
			} else {
				d[i] = 0
			}
		}
	}
}

func powRow[T tensor.Float](n int) func(d, a, _, _ []T) {
	return func(d, a, _, _ []T) {
		x := a[:len(d)]
		for i := range d {
			d[i] = powi(x[i], n)
		}
	}
}
