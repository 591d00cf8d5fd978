package exec

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Values is the flat row-major data of one input or output of a program,
// of either dtype: what the runners read and write, without a tensor
// around it (so that cutting a batch into chunks allocates nothing).
type Values struct {
	dtype tensor.DType
	f64   []float64
	f32   []float32
}

// Float64s returns float64 values backed by d.
func Float64s(d []float64) Values { return Values{dtype: tensor.Float64, f64: d} }

// Float32s returns float32 values backed by d.
func Float32s(d []float32) Values { return Values{dtype: tensor.Float32, f32: d} }

// ValuesOf returns the values of t, sharing its data.
func ValuesOf(t *tensor.Tensor) Values {
	if t.DType() == tensor.Float32 {
		return Float32s(t.Data32())
	}
	return Float64s(t.Data())
}

// DType returns the values' dtype.
func (v Values) DType() tensor.DType { return v.dtype }

// Len returns the number of values.
func (v Values) Len() int {
	if v.dtype == tensor.Float32 {
		return len(v.f32)
	}
	return len(v.f64)
}

// Slice returns values lo to hi.
func (v Values) Slice(lo, hi int) Values {
	if v.dtype == tensor.Float32 {
		return Values{dtype: v.dtype, f32: v.f32[lo:hi]}
	}
	return Values{dtype: v.dtype, f64: v.f64[lo:hi]}
}

// makeValues allocates n zero values of dtype dt.
func makeValues(dt tensor.DType, n int) Values {
	if dt == tensor.Float32 {
		return Float32s(make([]float32, n))
	}
	return Float64s(make([]float64, n))
}

// addInto adds src to dst elementwise (same dtype and length).
func addInto(dst, src Values) {
	if dst.dtype == tensor.Float32 {
		for k, x := range src.f32 {
			dst.f32[k] += x
		}
		return
	}
	for k, x := range src.f64 {
		dst.f64[k] += x
	}
}

// clearValues zeroes v.
func clearValues(v Values) {
	clear(v.f64)
	clear(v.f32)
}

// checkValues checks that v can hold the variable's values: its dtype and
// its size.
func checkValues(what string, i int, v Values, dt tensor.DType, shape []int) error {
	if v.dtype != dt {
		return fmt.Errorf("exec: %s %d is %v, the program's is %v", what, i, v.dtype, dt)
	}
	if n := tensor.Size(shape); v.Len() != n {
		return fmt.Errorf("exec: %s %d has %d values, the program's has shape %v (%d values)", what, i, v.Len(), shape, n)
	}
	return nil
}
