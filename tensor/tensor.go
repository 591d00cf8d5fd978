// Package tensor provides dense, row-major float64 arrays: the values that
// jacobi's programs consume and produce.
//
// A Tensor is a shape and a flat data slice of length equal to the product of
// the shape. A tensor of shape () is a scalar holding one value.
package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Tensor is a dense row-major float64 array.
type Tensor struct {
	shape []int
	data  []float64
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

// Data returns the tensor's flat row-major data, shared with the tensor.
func (t *Tensor) Data() []float64 { return t.data }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: append([]int(nil), t.shape...), data: append([]float64(nil), t.data...)}
}

// Reshape returns a tensor sharing t's data with a new shape. One dimension
// may be -1, meaning whatever makes the sizes agree.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s, err := ResolveShape(len(t.data), shape)
	if err != nil {
		return nil, fmt.Errorf("tensor.Reshape %v to %v: %w", t.shape, shape, err)
	}
	return &Tensor{shape: s, data: t.data}, nil
}

// At returns the element at the given index.
func (t *Tensor) At(idx ...int) float64 { return t.data[t.offset(idx)] }

// Set stores v at the given index.
func (t *Tensor) Set(v float64, idx ...int) { t.data[t.offset(idx)] = v }

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
// the shapes differ. NaN in either makes it NaN.
func MaxAbsDiff(a, b *Tensor) float64 {
	if !SameShape(a.shape, b.shape) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a.data {
		d := math.Abs(a.data[i] - b.data[i])
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// AllClose reports whether a and b have the same shape and
// |a-b| <= atol + rtol*|b| elementwise (numpy's convention). NaNs are never close.
func AllClose(a, b *Tensor, rtol, atol float64) bool {
	if !SameShape(a.shape, b.shape) {
		return false
	}
	for i := range a.data {
		x, y := a.data[i], b.data[i]
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
	fmt.Fprintf(&sb, "Tensor%v\n", t.shape)
	if len(t.shape) == 0 {
		fmt.Fprintf(&sb, "%.6g", t.data[0])
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
			fmt.Fprintf(sb, "%10.4g", t.data[off+i])
		} else {
			if i > 0 {
				sb.WriteString("\n" + strings.Repeat(" ", indent+1))
			}
			t.format(sb, dim+1, off+i*stride, indent+1)
		}
	}
	sb.WriteByte(']')
}
