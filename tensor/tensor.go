// Package tensor provides dense, row-major arrays of float64 or float32: the
// values that jacobi's programs consume and produce.
//
// A Tensor is a shape, a dtype and a flat data slice of length equal to the
// product of the shape. A tensor of shape () is a scalar holding one value.
// New, Zeros and the other constructors make float64 tensors and Data
// returns their values; New32 and Data32 are the same for float32, and
// Convert changes a tensor's dtype. Functions of two tensors (Add, Concat,
// …) want operands of one dtype.
package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Tensor is a dense row-major array of float64 or float32.
type Tensor struct {
	shape  []int
	dtype  DType
	data   []float64 // Float64
	data32 []float32 // Float32
}

// New returns a tensor of the given shape backed by data (not copied).
// It fails when a dimension is negative or len(data) does not match the shape.
func New(shape []int, data []float64) (*Tensor, error) {
	n, err := sizeOf(shape)
	if err != nil {
		return nil, err
	}
	if len(data) != n {
		return nil, fmt.Errorf("tensor.New: shape %v needs %d values, got %d", shape, n, len(data))
	}
	return &Tensor{shape: append([]int(nil), shape...), data: data}, nil
}

// MustNew is like New but panics on error; meant for literals in tests and examples.
func MustNew(shape []int, data []float64) *Tensor {
	t, err := New(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

// New32 returns a float32 tensor of the given shape backed by data (not
// copied). It fails when a dimension is negative or len(data) does not
// match the shape.
func New32(shape []int, data []float32) (*Tensor, error) {
	n, err := sizeOf(shape)
	if err != nil {
		return nil, err
	}
	if len(data) != n {
		return nil, fmt.Errorf("tensor.New32: shape %v needs %d values, got %d", shape, n, len(data))
	}
	return &Tensor{shape: append([]int(nil), shape...), dtype: Float32, data32: data}, nil
}

// MustNew32 is like New32 but panics on error.
func MustNew32(shape []int, data []float32) *Tensor {
	t, err := New32(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

func sizeOf(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt32*64/d {
			return 0, fmt.Errorf("tensor: shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// Zeros returns a tensor of the given shape filled with zeros.
func Zeros(shape ...int) *Tensor {
	return &Tensor{shape: append([]int(nil), shape...), data: make([]float64, Size(shape))}
}

// ZerosOf returns a tensor of the given dtype and shape filled with zeros.
func ZerosOf(dt DType, shape ...int) *Tensor {
	if dt == Float32 {
		return &Tensor{shape: append([]int(nil), shape...), dtype: Float32, data32: make([]float32, Size(shape))}
	}
	return Zeros(shape...)
}

// FullOf returns a tensor of the given dtype and shape filled with v
// (rounded to the dtype).
func FullOf(dt DType, v float64, shape ...int) *Tensor {
	if dt == Float32 {
		t := ZerosOf(Float32, shape...)
		for i := range t.data32 {
			t.data32[i] = float32(v)
		}
		return t
	}
	return Full(v, shape...)
}

// ScalarOf returns a tensor of the given dtype and shape () holding v
// (rounded to the dtype).
func ScalarOf(dt DType, v float64) *Tensor { return FullOf(dt, v) }

// Full returns a tensor of the given shape filled with v.
func Full(v float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = v
	}
	return t
}

// Ones returns a tensor of the given shape filled with ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Scalar returns a tensor of shape () holding v.
func Scalar(v float64) *Tensor { return &Tensor{shape: []int{}, data: []float64{v}} }

// Eye returns the n×n identity matrix.
func Eye(n int) *Tensor {
	t := Zeros(n, n)
	for i := 0; i < n; i++ {
		t.data[i*n+i] = 1
	}
	return t
}

// Randn returns a tensor of standard normal samples drawn from rng.
func Randn(rng *rand.Rand, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = rng.NormFloat64()
	}
	return t
}

// Uniform returns a tensor of samples drawn uniformly from [lo, hi).
func Uniform(rng *rand.Rand, lo, hi float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// NewRand returns a deterministic random source seeded with seed.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// DType returns the tensor's element type.
func (t *Tensor) DType() DType { return t.dtype }

// Data returns the flat row-major data of a float64 tensor, shared with the
// tensor. It panics for a float32 tensor (see Data32).
func (t *Tensor) Data() []float64 {
	if t.dtype != Float64 {
		panic("tensor: Data of a float32 tensor (use Data32, or Convert to Float64)")
	}
	return t.data
}

// Data32 returns the flat row-major data of a float32 tensor, shared with
// the tensor. It panics for a float64 tensor (see Data).
func (t *Tensor) Data32() []float32 {
	if t.dtype != Float32 {
		panic("tensor: Data32 of a float64 tensor (use Data, or Convert to Float32)")
	}
	return t.data32
}

// Convert returns t's values in dtype dt: t itself when it has that dtype
// already, else a new tensor (float64 to float32 rounds to nearest).
func (t *Tensor) Convert(dt DType) *Tensor {
	if t.dtype == dt {
		return t
	}
	out := ZerosOf(dt, t.shape...)
	switch dt {
	case Float32:
		for i, v := range t.data {
			out.data32[i] = float32(v)
		}
	default:
		for i, v := range t.data32 {
			out.data[i] = float64(v)
		}
	}
	return out
}

// Float64s returns a copy of t's values as float64, whatever its dtype.
func (t *Tensor) Float64s() []float64 {
	if t.dtype == Float64 {
		return append([]float64(nil), t.data...)
	}
	return t.Convert(Float64).data
}

// at returns element i as a float64.
func (t *Tensor) at(i int) float64 {
	if t.dtype == Float32 {
		return float64(t.data32[i])
	}
	return t.data[i]
}

// set stores v (rounded to t's dtype) at element i.
func (t *Tensor) set(i int, v float64) {
	if t.dtype == Float32 {
		t.data32[i] = float32(v)
		return
	}
	t.data[i] = v
}

// withShape returns a tensor of the given shape sharing t's data.
func (t *Tensor) withShape(shape []int) *Tensor {
	return &Tensor{shape: shape, dtype: t.dtype, data: t.data, data32: t.data32}
}

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len returns the number of elements.
func (t *Tensor) Len() int {
	if t.dtype == Float32 {
		return len(t.data32)
	}
	return len(t.data)
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{shape: append([]int(nil), t.shape...), dtype: t.dtype}
	if t.dtype == Float32 {
		c.data32 = append([]float32(nil), t.data32...)
	} else {
		c.data = append([]float64(nil), t.data...)
	}
	return c
}

// Reshape returns a tensor sharing t's data with a new shape. One dimension
// may be -1, meaning whatever makes the sizes agree.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s, err := ResolveShape(t.Len(), shape)
	if err != nil {
		return nil, fmt.Errorf("tensor.Reshape %v to %v: %w", t.shape, shape, err)
	}
	return t.withShape(s), nil
}

// At returns the element at the given index (as a float64 for either
// dtype).
func (t *Tensor) At(idx ...int) float64 { return t.at(t.offset(idx)) }

// Set stores v at the given index (rounded to the tensor's dtype).
func (t *Tensor) Set(v float64, idx ...int) { t.set(t.offset(idx), v) }

func (t *Tensor) offset(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: index %v for shape %v", idx, t.shape))
	}
	off := 0
	for i, d := range t.shape {
		if idx[i] < 0 || idx[i] >= d {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		off = off*d + idx[i]
	}
	return off
}

// MaxAbsDiff returns the largest absolute elementwise difference, or +Inf when
// the shapes differ. NaN in either makes it NaN. The tensors may have
// different dtypes: values are compared as float64.
func MaxAbsDiff(a, b *Tensor) float64 {
	if !SameShape(a.shape, b.shape) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a.Len() {
		d := math.Abs(a.at(i) - b.at(i))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// AllClose reports whether a and b have the same shape and
// |a-b| <= atol + rtol*|b| elementwise (numpy's convention). NaNs are never
// close. The tensors may have different dtypes: values are compared as
// float64.
func AllClose(a, b *Tensor, rtol, atol float64) bool {
	if !SameShape(a.shape, b.shape) {
		return false
	}
	for i := range a.Len() {
		x, y := a.at(i), b.at(i)
		if x == y {
			continue
		}
		if !(math.Abs(x-y) <= atol+rtol*math.Abs(y)) {
			return false
		}
	}
	return true
}

// String prints the tensor with its shape, nested by dimension, eliding the
// middle of long dimensions.
func (t *Tensor) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Tensor%v", t.shape)
	if t.dtype != Float64 {
		sb.WriteString(" " + t.dtype.String())
	}
	sb.WriteByte('\n')
	if len(t.shape) == 0 {
		fmt.Fprintf(&sb, "%.6g", t.at(0))
		return sb.String()
	}
	t.format(&sb, 0, 0, 0)
	return sb.String()
}

const edge = 4 // items shown at each end of a long dimension

func (t *Tensor) format(sb *strings.Builder, dim, off, indent int) {
	n := t.shape[dim]
	stride := Size(t.shape[dim+1:])
	sb.WriteByte('[')
	for i := 0; i < n; i++ {
		if n > 3*edge && i == edge {
			if dim == len(t.shape)-1 {
				sb.WriteString(" ...")
			} else {
				sb.WriteString("\n" + strings.Repeat(" ", indent+1) + "...")
			}
			i = n - edge - 1
			continue
		}
		if dim == len(t.shape)-1 {
			if i > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(sb, "%10.4g", t.at(off+i))
		} else {
			if i > 0 {
				sb.WriteString("\n" + strings.Repeat(" ", indent+1))
			}
			t.format(sb, dim+1, off+i*stride, indent+1)
		}
	}
	sb.WriteByte(']')
}
