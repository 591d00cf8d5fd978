package tensor

import (
	"fmt"
	"math"
)

// Linspace returns n evenly spaced values from lo to hi, both included (as
// numpy.linspace and torch.linspace). n = 1 gives [lo].
func Linspace(lo, hi float64, n int) (*Tensor, error) {
	if n < 1 {
		return nil, fmt.Errorf("tensor.Linspace: need at least one point, got %d", n)
	}
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil, fmt.Errorf("tensor.Linspace: bounds must be finite, got [%g, %g]", lo, hi)
	}
	t := Zeros(n)
	if n == 1 {
		t.data[0] = lo
		return t, nil
	}
	step := (hi - lo) / float64(n-1)
	for i := range t.data {
		t.data[i] = lo + float64(i)*step
	}
	t.data[n-1] = hi // exactly, whatever the rounding of the steps
	return t, nil
}

// Meshgrid returns, for 1-d tensors of lengths n0, n1, …, one tensor per
// input of shape (n0, n1, …): the k-th holds axes[k]'s value along
// dimension k ("ij" indexing, torch.meshgrid's default; numpy's default
// "xy" swaps the first two dimensions).
func Meshgrid(axes ...*Tensor) ([]*Tensor, error) {
	shape := make([]int, len(axes))
	for k, a := range axes {
		if a == nil || a.Rank() != 1 {
			return nil, fmt.Errorf("tensor.Meshgrid: axis %d must be 1-d, got shape %v", k, shapeOf(a))
		}
		shape[k] = a.shape[0]
	}
	out := make([]*Tensor, len(axes))
	for k, a := range axes {
		g := ZerosOf(a.dtype, shape...)
		inner := Size(shape[k+1:])
		n := shape[k]
		for i := range g.Len() {
			g.set(i, a.at((i/inner)%n))
		}
		out[k] = g
	}
	return out, nil
}

// GridPoints returns the points of the Cartesian product of 1-d axes as
// rows of an (n0·n1·…, len(axes)) matrix, the last axis varying fastest —
// the meshgrid flattened and stacked as columns, ready to feed a network.
func GridPoints(axes ...*Tensor) (*Tensor, error) {
	grids, err := Meshgrid(axes...)
	if err != nil {
		return nil, fmt.Errorf("tensor.GridPoints: %w", err)
	}
	cols := make([]*Tensor, len(grids))
	for k, g := range grids {
		cols[k], _ = g.Reshape(-1)
	}
	return Stack(1, cols...)
}

func shapeOf(t *Tensor) []int {
	if t == nil {
		return nil
	}
	return t.shape
}

// Stack joins tensors of the same shape along a new axis (numpy.stack):
// Stack(1, x, y) of two vectors of length n is the (n, 2) matrix with
// columns x and y. axis may be negative (counting from the end of the
// result's axes).
func Stack(axis int, ts ...*Tensor) (*Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("tensor.Stack: nothing to stack")
	}
	for i, t := range ts {
		if t == nil {
			return nil, fmt.Errorf("tensor.Stack: tensor %d is nil", i)
		}
		if !SameShape(t.shape, ts[0].shape) {
			return nil, fmt.Errorf("tensor.Stack: tensor %d has shape %v, tensor 0 has %v", i, t.shape, ts[0].shape)
		}
	}
	r := ts[0].Rank()
	if axis < 0 {
		axis += r + 1
	}
	if axis < 0 || axis > r {
		return nil, fmt.Errorf("tensor.Stack: axis out of range for %d-d tensors", r)
	}
	parts := make([]*Tensor, len(ts))
	for i, t := range ts {
		parts[i] = t.withShape(InsertAxis(t.shape, axis, 1))
	}
	return Concat(axis, parts...)
}

// Concat joins tensors along an existing axis (numpy.concatenate); their
// other dimensions must agree.
func Concat(axis int, ts ...*Tensor) (*Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("tensor.Concat: nothing to join")
	}
	if ts[0] == nil {
		return nil, fmt.Errorf("tensor.Concat: tensor 0 is nil")
	}
	r := ts[0].Rank()
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return nil, fmt.Errorf("tensor.Concat: axis out of range for %d-d tensors", r)
	}
	shape := append([]int{}, ts[0].shape...)
	shape[axis] = 0
	for i, t := range ts {
		if t == nil {
			return nil, fmt.Errorf("tensor.Concat: tensor %d is nil", i)
		}
		ok := t.Rank() == r
		for k := 0; ok && k < r; k++ {
			ok = k == axis || t.shape[k] == ts[0].shape[k]
		}
		if !ok {
			return nil, fmt.Errorf("tensor.Concat: tensor %d has shape %v, incompatible with %v along axis %d", i, t.shape, ts[0].shape, axis)
		}
		if t.dtype != ts[0].dtype {
			return nil, fmt.Errorf("tensor.Concat: tensor %d is %v, tensor 0 is %v", i, t.dtype, ts[0].dtype)
		}
		shape[axis] += t.shape[axis]
	}
	out := ZerosOf(ts[0].dtype, shape...)
	outer := Size(shape[:axis])
	pos := 0
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			n := Size(t.shape[axis:])
			if t.dtype == Float32 {
				pos += copy(out.data32[pos:], t.data32[o*n:(o+1)*n])
			} else {
				pos += copy(out.data[pos:], t.data[o*n:(o+1)*n])
			}
		}
	}
	return out, nil
}

// Column returns column j of a matrix as a vector (a copy).
func (t *Tensor) Column(j int) (*Tensor, error) {
	if t.Rank() != 2 || j < 0 || j >= t.shape[1] {
		return nil, fmt.Errorf("tensor.Column: column %d of a tensor of shape %v", j, t.shape)
	}
	n, m := t.shape[0], t.shape[1]
	c := ZerosOf(t.dtype, n)
	for i := range n {
		c.set(i, t.at(i*m+j))
	}
	return c, nil
}

// Squeeze returns t without the given axes of length one (sharing t's
// data); with no axes, without all of them. Negative axes count from the
// end.
func (t *Tensor) Squeeze(axes ...int) (*Tensor, error) {
	drop := make([]bool, t.Rank())
	if len(axes) == 0 {
		for k, d := range t.shape {
			drop[k] = d == 1
		}
	}
	for _, a := range axes {
		k := a
		if k < 0 {
			k += t.Rank()
		}
		if k < 0 || k >= t.Rank() {
			return nil, fmt.Errorf("tensor.Squeeze: axis %d out of range for shape %v", a, t.shape)
		}
		if t.shape[k] != 1 {
			return nil, fmt.Errorf("tensor.Squeeze: axis %d of shape %v has length %d, not 1", a, t.shape, t.shape[k])
		}
		drop[k] = true
	}
	shape := []int{}
	for k, d := range t.shape {
		if !drop[k] {
			shape = append(shape, d)
		}
	}
	return t.withShape(shape), nil
}

// Unsqueeze returns t with a new axis of length one at position axis
// (sharing t's data); a negative axis counts from the end of the result.
func (t *Tensor) Unsqueeze(axis int) (*Tensor, error) {
	r := t.Rank()
	if axis < 0 {
		axis += r + 1
	}
	if axis < 0 || axis > r {
		return nil, fmt.Errorf("tensor.Unsqueeze: axis out of range for shape %v", t.shape)
	}
	return t.withShape(InsertAxis(t.shape, axis, 1)), nil
}

// zip applies f elementwise with numpy broadcasting, to operands of one
// dtype. For float32 operands f runs in float64 and its result is rounded:
// for +, -, ·, / that is the float32 operation exactly.
func zip(name string, a, b *Tensor, f func(x, y float64) float64) (*Tensor, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("tensor.%s: nil operand", name)
	}
	if a.dtype != b.dtype {
		return nil, fmt.Errorf("tensor.%s: operands are %v and %v (Convert one)", name, a.dtype, b.dtype)
	}
	if SameShape(a.shape, b.shape) { // the common case, without index arithmetic
		out := ZerosOf(a.dtype, a.shape...)
		if a.dtype == Float64 {
			for i := range out.data {
				out.data[i] = f(a.data[i], b.data[i])
			}
			return out, nil
		}
		for i := range out.data32 {
			out.data32[i] = float32(f(float64(a.data32[i]), float64(b.data32[i])))
		}
		return out, nil
	}
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		return nil, fmt.Errorf("tensor.%s: %w", name, err)
	}
	out := ZerosOf(a.dtype, shape...)
	sa, sb := bstrides(a.shape, len(shape)), bstrides(b.shape, len(shape))
	idx := make([]int, len(shape))
	for i := range out.Len() {
		ia, ib := 0, 0
		for k, j := range idx {
			ia += j * sa[k]
			ib += j * sb[k]
		}
		out.set(i, f(a.at(ia), b.at(ib)))
		for k := len(idx) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out, nil
}

// bstrides returns the strides of shape right-aligned to n axes, 0 along
// broadcast (length-one or missing) axes.
func bstrides(shape []int, n int) []int {
	st := make([]int, n)
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 {
			st[n-len(shape)+i] = s
		}
		s *= shape[i]
	}
	return st
}

// Add returns a + b elementwise, with numpy broadcasting.
func Add(a, b *Tensor) (*Tensor, error) {
	return zip("Add", a, b, func(x, y float64) float64 { return x + y })
}

// Sub returns a - b elementwise, with numpy broadcasting.
func Sub(a, b *Tensor) (*Tensor, error) {
	return zip("Sub", a, b, func(x, y float64) float64 { return x - y })
}

// Mul returns a · b elementwise, with numpy broadcasting.
func Mul(a, b *Tensor) (*Tensor, error) {
	return zip("Mul", a, b, func(x, y float64) float64 { return x * y })
}

// Div returns a / b elementwise, with numpy broadcasting.
func Div(a, b *Tensor) (*Tensor, error) {
	return zip("Div", a, b, func(x, y float64) float64 { return x / y })
}

// Map returns f applied to every element, in t's dtype (f sees and returns
// float64 values; for a float32 tensor they are rounded back).
func (t *Tensor) Map(f func(float64) float64) *Tensor {
	out := ZerosOf(t.dtype, t.shape...)
	for i := range t.Len() {
		out.set(i, f(t.at(i)))
	}
	return out
}

// Scale returns c·t.
func (t *Tensor) Scale(c float64) *Tensor { return t.Map(func(v float64) float64 { return c * v }) }

// AddScalar returns t + c.
func (t *Tensor) AddScalar(c float64) *Tensor { return t.Map(func(v float64) float64 { return v + c }) }

// Sum returns the sum of all elements.
func (t *Tensor) Sum() float64 {
	s := 0.0
	for i := range t.Len() {
		s += t.at(i)
	}
	return s
}

// Mean returns the mean of all elements (NaN for an empty tensor).
func (t *Tensor) Mean() float64 { return t.Sum() / float64(t.Len()) }

// Norm returns the Euclidean (Frobenius) norm of all elements, without
// overflow or underflow for extreme values.
func (t *Tensor) Norm() float64 {
	scale, ssq := 0.0, 1.0
	for i := range t.Len() {
		v := t.at(i)
		if v == 0 {
			continue
		}
		a := math.Abs(v)
		if math.IsNaN(a) {
			return a
		}
		if scale < a {
			ssq = 1 + ssq*(scale/a)*(scale/a)
			scale = a
		} else {
			ssq += (a / scale) * (a / scale)
		}
	}
	if math.IsInf(scale, 1) {
		return scale
	}
	return scale * math.Sqrt(ssq)
}

// MaxAbs returns the largest absolute value (0 for an empty tensor; NaN if
// any element is NaN).
func (t *Tensor) MaxAbs() float64 {
	m := 0.0
	for i := range t.Len() {
		a := math.Abs(t.at(i))
		if a > m || math.IsNaN(a) {
			m = a
		}
	}
	return m
}

// RelErr returns the relative error ‖got − want‖₂ / ‖want‖₂ over all
// elements, the measure PINN papers report. Shapes must match, except that
// a trailing axis of length one is ignored ((n, 1) against (n)); dtypes
// may differ (the difference is taken in float64).
func RelErr(got, want *Tensor) (float64, error) {
	if got == nil || want == nil {
		return 0, fmt.Errorf("tensor.RelErr: nil operand")
	}
	if got.Len() != want.Len() || !SameShape(squeezed(got.shape), squeezed(want.shape)) {
		return 0, fmt.Errorf("tensor.RelErr: shapes %v and %v differ", got.shape, want.shape)
	}
	d := Zeros(want.shape...)
	for i := range d.data {
		d.data[i] = got.at(i) - want.at(i)
	}
	return d.Norm() / want.Norm(), nil
}

func squeezed(s []int) []int {
	var out []int
	for _, d := range s {
		if d != 1 {
			out = append(out, d)
		}
	}
	return out
}
