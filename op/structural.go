package op

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- MatMul ----

// MatMul multiplies matrices: x (..., m, k) times y (k, n) or y (..., k, n)
// with the same leading dimensions as x, giving (..., m, n).
type MatMul struct{}

// Name implements ir.Primitive.
func (MatMul) Name() string { return "matmul" }

// OutShape implements ir.Primitive.
func (MatMul) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 2); err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	if len(x) < 2 || len(y) < 2 {
		return nil, fmt.Errorf("needs operands of rank 2 or more, got %v and %v", x, y)
	}
	if len(y) != 2 && (len(y) != len(x) || !tensor.SameShape(x[:len(x)-2], y[:len(y)-2])) {
		return nil, fmt.Errorf("batched operands %v and %v need the same leading dimensions", x, y)
	}
	k := x[len(x)-1]
	if y[len(y)-2] != k {
		return nil, fmt.Errorf("inner dimensions differ: %v times %v", x, y)
	}
	out := append([]int{}, x[:len(x)-1]...)
	return append(out, y[len(y)-1]), nil
}

// Eval implements Evaluator.
func (p MatMul) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape(), in[1].Shape()})
	if err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	xs, ys := x.Shape(), y.Shape()
	k, n := xs[len(xs)-1], ys[len(ys)-1]
	out := make([]float64, tensor.Size(s))
	if len(ys) == 2 {
		m := x.Len() / max(k, 1)
		if k == 0 {
			m = tensor.Size(xs[:len(xs)-1])
		}
		Gemm(false, false, m, n, k, 1, x.Data(), k, y.Data(), n, 0, out, n)
	} else {
		m := xs[len(xs)-2]
		batch := tensor.Size(xs[:len(xs)-2])
		for i := 0; i < batch; i++ {
			Gemm(false, false, m, n, k, 1, x.Data()[i*m*k:], k, y.Data()[i*k*n:], n, 0, out[i*m*n:], n)
		}
	}
	return tensor.New(s, out)
}

// JVP implements JVPRule.
func (MatMul) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	var l, r *ir.Var
	if t[0] != nil {
		l = b.Emit(MatMul{}, t[0], x[1])
	}
	if t[1] != nil {
		r = b.Emit(MatMul{}, x[0], t[1])
	}
	return AddZ(b, l, r)
}

// LinearIn implements Linear.
func (MatMul) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (MatMul) Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, shapes [][]int, lin []bool) []*ir.Var {
	if lin[0] && lin[1] {
		b.Fail(fmt.Errorf("matmul: both operands are linear (internal error)"))
		return []*ir.Var{nil, nil}
	}
	if lin[0] {
		return []*ir.Var{b.Emit(MatMul{}, ct, SwapLast(b, in[1])), nil}
	}
	x := in[0]
	if len(shapes[1]) == 2 && x.Rank() > 2 {
		k, n := x.Shape[x.Rank()-1], ct.Shape[ct.Rank()-1]
		x = ReshapeTo(b, x, []int{x.Size() / max(k, 1), k})
		ct = ReshapeTo(b, ct, []int{ct.Size() / max(n, 1), n})
		if k == 0 || n == 0 {
			return []*ir.Var{nil, Zeros(b, shapes[1])}
		}
	}
	return []*ir.Var{nil, b.Emit(MatMul{}, SwapLast(b, x), ct)}
}

// Batch implements BatchRule.
func (p MatMul) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	x, y := in[0], in[1]
	switch {
	case bt[0] && !bt[1]:
		if y.Rank() == 2 {
			return b.Emit(p, x, y)
		}
		return b.Emit(p, x, BroadcastBatch(b, y, n))
	case !bt[0] && bt[1]:
		if x.Rank() == 2 {
			// (x y_i) = (y_iᵀ xᵀ)ᵀ keeps the shared operand on the right,
			// where one large product serves every sample.
			return SwapLast(b, b.Emit(p, SwapLast(b, y), SwapLast(b, x)))
		}
		return p.Batch(b, []*ir.Var{BroadcastBatch(b, x, n), y}, []bool{true, true}, n)
	default:
		if y.Rank() == 3 && x.Rank() > 3 {
			// y was a matrix shared along x's leading axes: give it those axes.
			lead := x.Shape[:x.Rank()-2]
			shape := append(append([]int{}, lead...), y.Shape[1:]...)
			dims := []int{0, len(shape) - 2, len(shape) - 1}
			y = b.Emit(Broadcast{Shape: shape, Dims: dims}, y)
		}
		return b.Emit(p, x, y)
	}
}

// Unbatch implements UnbatchRule.
func (p MatMul) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error) {
	x, y := in[0], in[1]
	ax, ay := axes[0], axes[1]
	rx, ry := len(shapes[0]), len(shapes[1])
	switch {
	case ax < 0 && ay < 0:
		return b.Emit(p, x, y), -1, nil
	case ax >= 0 && ay < 0:
		switch {
		case ax == rx-1:
			return nil, 0, mix(p, "contracts over the batch axis of its left operand %v", shapes[0])
		case ax == rx-2:
			// Each sample is one row: multiply it as a 1-row matrix.
			row := ReshapeTo(b, x, insert(x.Shape, x.Rank()-1, 1))
			out := b.Emit(p, row, y)
			return ReshapeTo(b, out, without(out.Shape, out.Rank()-2)), ax, nil
		default:
			if ry > 2 {
				d, err := drop(1, ax)
				if err != nil {
					return nil, 0, err
				}
				y = d
			}
			return b.Emit(p, x, y), ax, nil
		}
	case ax < 0 && ay >= 0:
		switch {
		case ay == ry-2:
			return nil, 0, mix(p, "contracts over the batch axis of its right operand %v", shapes[1])
		case ay == ry-1:
			col := ReshapeTo(b, y, append(append([]int{}, y.Shape...), 1))
			out := b.Emit(p, x, col)
			return ReshapeTo(b, out, out.Shape[:out.Rank()-1]), rx - 1, nil
		default:
			d, err := drop(0, ay)
			if err != nil {
				return nil, 0, err
			}
			return b.Emit(p, d, y), ay, nil
		}
	default:
		if ax == ay && ax < rx-2 {
			return b.Emit(p, x, y), ax, nil
		}
		return nil, 0, mix(p, "multiplies samples of %v (batch axis %d) with samples of %v (batch axis %d)", shapes[0], ax, shapes[1], ay)
	}
}

// ---- Transpose ----

// Transpose permutes axes: output axis i is input axis Perm[i].
type Transpose struct{ Perm []int }

// Name implements ir.Primitive.
func (Transpose) Name() string { return "transpose" }

// String prints the parameters.
func (p Transpose) String() string { return fmt.Sprintf("perm=%v", p.Perm) }

// OutShape implements ir.Primitive.
func (p Transpose) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	if len(p.Perm) != len(in[0]) {
		return nil, fmt.Errorf("permutation %v for shape %v", p.Perm, in[0])
	}
	seen := make([]bool, len(p.Perm))
	out := make([]int, len(p.Perm))
	for i, a := range p.Perm {
		if a < 0 || a >= len(p.Perm) || seen[a] {
			return nil, fmt.Errorf("%v is not a permutation", p.Perm)
		}
		seen[a] = true
		out[i] = in[0][a]
	}
	return out, nil
}

// Eval implements Evaluator.
func (p Transpose) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	src := strides(in[0].Shape())
	st := make([]int, len(s))
	for i, a := range p.Perm {
		st[i] = src[a]
	}
	out := make([]float64, tensor.Size(s))
	gather(out, in[0].Data(), s, st, 0)
	return tensor.New(s, out)
}
func (p Transpose) inverse() Transpose {
	inv := make([]int, len(p.Perm))
	for i, a := range p.Perm {
		inv[a] = i
	}
	return Transpose{Perm: inv}
}

// JVP implements JVPRule.
func (p Transpose) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (Transpose) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p Transpose) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, _ []bool) []*ir.Var {
	return []*ir.Var{b.Emit(p.inverse(), ct)}
}

// Batch implements BatchRule.
func (p Transpose) Batch(b *ir.Builder, in []*ir.Var, _ []bool, _ int) *ir.Var {
	perm := []int{0}
	for _, a := range p.Perm {
		perm = append(perm, a+1)
	}
	return b.Emit(Transpose{Perm: perm}, in[0])
}

// Unbatch implements UnbatchRule.
func (p Transpose) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	var perm []int
	out := -1
	for i, src := range p.Perm {
		switch {
		case src == a:
			out = i
		case src > a:
			perm = append(perm, src-1)
		default:
			perm = append(perm, src)
		}
	}
	return b.Emit(Transpose{Perm: perm}, in[0]), out, nil
}

// ---- Reshape ----

// Reshape gives the data a new shape of the same size (row-major order kept).
type Reshape struct{ Shape []int }

// Name implements ir.Primitive.
func (Reshape) Name() string { return "reshape" }

// String prints the parameters.
func (p Reshape) String() string { return fmt.Sprintf("shape=%v", p.Shape) }

// OutShape implements ir.Primitive.
func (p Reshape) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	if prod(in[0]) != prod(p.Shape) {
		return nil, fmt.Errorf("cannot reshape %v to %v", in[0], p.Shape)
	}
	for _, d := range p.Shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in %v", p.Shape)
		}
	}
	return append([]int{}, p.Shape...), nil
}

// Eval implements Evaluator.
func (p Reshape) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return tensor.New(p.Shape, in[0].Data())
}

// JVP implements JVPRule.
func (p Reshape) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (Reshape) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Reshape) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, _ []bool) []*ir.Var {
	return []*ir.Var{ReshapeTo(b, ct, shapes[0])}
}

// Batch implements BatchRule.
func (p Reshape) Batch(b *ir.Builder, in []*ir.Var, _ []bool, n int) *ir.Var {
	return b.Emit(Reshape{Shape: append([]int{n}, p.Shape...)}, in[0])
}

// Unbatch implements UnbatchRule.
func (p Reshape) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	// The batch axis survives when some output axis has the same size and
	// the same number of elements before it.
	s := shapes[0]
	before := prod(s[:a])
	acc := 1
	for i, d := range p.Shape {
		if acc == before && d == s[a] {
			return b.Emit(Reshape{Shape: without(p.Shape, i)}, in[0]), i, nil
		}
		acc *= d
	}
	return nil, 0, mix(p, "merges the batch axis %d of %v with other axes into %v", a, s, p.Shape)
}

// ---- Broadcast ----

// Broadcast expands x to Shape: input axis i becomes output axis Dims[i]
// (where it has the same size, or size 1 and is repeated); the other output
// axes repeat the input.
type Broadcast struct {
	Shape []int
	Dims  []int
}

// Name implements ir.Primitive.
func (Broadcast) Name() string { return "broadcast" }

// String prints the parameters.
func (p Broadcast) String() string { return fmt.Sprintf("shape=%v dims=%v", p.Shape, p.Dims) }

// OutShape implements ir.Primitive.
func (p Broadcast) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(p.Dims) != len(x) {
		return nil, fmt.Errorf("dims %v for input %v", p.Dims, x)
	}
	for i, d := range p.Dims {
		if d < 0 || d >= len(p.Shape) || (i > 0 && d <= p.Dims[i-1]) {
			return nil, fmt.Errorf("dims %v must increase within rank %d", p.Dims, len(p.Shape))
		}
		if x[i] != 1 && x[i] != p.Shape[d] {
			return nil, fmt.Errorf("cannot broadcast %v to %v", x, p.Shape)
		}
	}
	return append([]int{}, p.Shape...), nil
}

// Eval implements Evaluator.
func (p Broadcast) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	x := in[0]
	src := strides(x.Shape())
	st := make([]int, len(p.Shape))
	for i, d := range p.Dims {
		if x.Shape()[i] == p.Shape[d] {
			st[d] = src[i]
		}
	}
	out := make([]float64, tensor.Size(p.Shape))
	gather(out, x.Data(), p.Shape, st, 0)
	return tensor.New(p.Shape, out)
}

// JVP implements JVPRule.
func (p Broadcast) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (Broadcast) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p Broadcast) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, _ []bool) []*ir.Var {
	x := shapes[0]
	var axes []int
	j := 0
	for d := range p.Shape {
		if j < len(p.Dims) && p.Dims[j] == d {
			if x[j] == 1 && p.Shape[d] != 1 {
				axes = append(axes, d)
			}
			j++
			continue
		}
		axes = append(axes, d)
	}
	s := ct
	if len(axes) > 0 {
		s = b.Emit(ReduceSum{Axes: axes}, ct)
	}
	return []*ir.Var{ReshapeTo(b, s, x)}
}

// Batch implements BatchRule.
func (p Broadcast) Batch(b *ir.Builder, in []*ir.Var, _ []bool, n int) *ir.Var {
	dims := []int{0}
	for _, d := range p.Dims {
		dims = append(dims, d+1)
	}
	return b.Emit(Broadcast{Shape: append([]int{n}, p.Shape...), Dims: dims}, in[0])
}

// Unbatch implements UnbatchRule.
func (p Broadcast) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	out := p.Dims[a]
	if shapes[0][a] != p.Shape[out] {
		return nil, 0, mix(p, "repeats one sample along the batch axis (%v to %v)", shapes[0], p.Shape)
	}
	return b.Emit(p.WithoutAxis(out, a), in[0]), out, nil
}

// WithoutAxis returns p with output axis out removed; in is the input axis
// that fed it (removed too), or -1 when no input axis did.
func (p Broadcast) WithoutAxis(out, in int) Broadcast {
	var dims []int
	for i, d := range p.Dims {
		switch {
		case i == in:
		case d > out:
			dims = append(dims, d-1)
		default:
			dims = append(dims, d)
		}
	}
	return Broadcast{Shape: without(p.Shape, out), Dims: dims}
}

// ---- ReduceSum ----

// ReduceSum sums over Axes, removing them.
type ReduceSum struct{ Axes []int }

// Name implements ir.Primitive.
func (ReduceSum) Name() string { return "reduce_sum" }

// String prints the parameters.
func (p ReduceSum) String() string { return fmt.Sprintf("axes=%v", p.Axes) }

// OutShape implements ir.Primitive.
func (p ReduceSum) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	var out []int
	for i, a := range p.Axes {
		if a < 0 || a >= len(in[0]) || (i > 0 && a <= p.Axes[i-1]) {
			return nil, fmt.Errorf("axes %v must increase within rank %d", p.Axes, len(in[0]))
		}
	}
	for d, n := range in[0] {
		if !slices.Contains(p.Axes, d) {
			out = append(out, n)
		}
	}
	if out == nil {
		out = []int{}
	}
	return out, nil
}

// Eval implements Evaluator.
func (p ReduceSum) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	xs := in[0].Shape()
	ost := strides(s)
	st := make([]int, len(xs))
	j := 0
	for d := range xs {
		if slices.Contains(p.Axes, d) {
			continue
		}
		st[d] = ost[j]
		j++
	}
	out := make([]float64, tensor.Size(s))
	scatterAdd(out, in[0].Data(), xs, st)
	return tensor.New(s, out)
}

// JVP implements JVPRule.
func (p ReduceSum) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (ReduceSum) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p ReduceSum) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, _ []bool) []*ir.Var {
	var dims []int
	for d := range shapes[0] {
		if !slices.Contains(p.Axes, d) {
			dims = append(dims, d)
		}
	}
	if dims == nil {
		dims = []int{}
	}
	return []*ir.Var{b.Emit(Broadcast{Shape: append([]int{}, shapes[0]...), Dims: dims}, ct)}
}

// Batch implements BatchRule.
func (p ReduceSum) Batch(b *ir.Builder, in []*ir.Var, _ []bool, _ int) *ir.Var {
	axes := make([]int, len(p.Axes))
	for i, a := range p.Axes {
		axes[i] = a + 1
	}
	return b.Emit(ReduceSum{Axes: axes}, in[0])
}

// Unbatch implements UnbatchRule.
func (p ReduceSum) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	if slices.Contains(p.Axes, a) {
		return nil, 0, mix(p, "sums over the batch axis %d of %v", a, shapes[0])
	}
	var ax []int
	out := a
	for _, r := range p.Axes {
		if r < a {
			ax = append(ax, r)
			out--
		} else {
			ax = append(ax, r-1)
		}
	}
	if ax == nil {
		ax = []int{}
	}
	return b.Emit(ReduceSum{Axes: ax}, in[0]), out, nil
}

// ---- Concat ----

// Concat joins its inputs along Axis.
type Concat struct{ Axis int }

// Name implements ir.Primitive.
func (Concat) Name() string { return "concat" }

// String prints the parameters.
func (p Concat) String() string { return fmt.Sprintf("axis=%d", p.Axis) }

// OutShape implements ir.Primitive.
func (p Concat) OutShape(in [][]int) ([]int, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("needs at least one input")
	}
	r := len(in[0])
	if p.Axis < 0 || p.Axis >= r {
		return nil, fmt.Errorf("axis %d out of range for rank %d", p.Axis, r)
	}
	out := append([]int{}, in[0]...)
	for _, s := range in[1:] {
		if len(s) != r {
			return nil, fmt.Errorf("ranks differ: %v and %v", in[0], s)
		}
		for d := range s {
			if d != p.Axis && s[d] != in[0][d] {
				return nil, fmt.Errorf("shapes %v and %v differ off axis %d", in[0], s, p.Axis)
			}
		}
		out[p.Axis] += s[p.Axis]
	}
	return out, nil
}

// Eval implements Evaluator.
func (p Concat) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	shapes := make([][]int, len(in))
	for i, t := range in {
		shapes[i] = t.Shape()
	}
	s, err := p.OutShape(shapes)
	if err != nil {
		return nil, err
	}
	out := make([]float64, tensor.Size(s))
	outer := prod(s[:p.Axis])
	inner := prod(s[p.Axis+1:])
	row := s[p.Axis] * inner
	off := 0
	for _, t := range in {
		w := t.Shape()[p.Axis] * inner
		d := t.Data()
		for o := 0; o < outer; o++ {
			copy(out[o*row+off:o*row+off+w], d[o*w:(o+1)*w])
		}
		off += w
	}
	return tensor.New(s, out)
}

// JVP implements JVPRule.
func (p Concat) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	any := false
	for _, v := range t {
		any = any || v != nil
	}
	if !any {
		return nil
	}
	args := make([]*ir.Var, len(t))
	for i, v := range t {
		args[i] = OrZeros(b, v, x[i].Shape)
	}
	return b.Emit(p, args...)
}

// LinearIn implements Linear.
func (Concat) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p Concat) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, lin []bool) []*ir.Var {
	out := make([]*ir.Var, len(shapes))
	off := 0
	for i, s := range shapes {
		if lin[i] {
			start := make([]int, len(s))
			limit := append([]int{}, ct.Shape...)
			start[p.Axis] = off
			limit[p.Axis] = off + s[p.Axis]
			out[i] = b.Emit(Slice{Start: start, Limit: limit}, ct)
		}
		off += s[p.Axis]
	}
	return out
}

// Batch implements BatchRule.
func (p Concat) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if bt[i] {
			args[i] = v
		} else {
			args[i] = BroadcastBatch(b, v, n)
		}
	}
	return b.Emit(Concat{Axis: p.Axis + 1}, args...)
}

// Unbatch implements UnbatchRule.
func (p Concat) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error) {
	a := -1
	for _, x := range axes {
		if x >= 0 {
			if a >= 0 && x != a {
				return nil, 0, mix(p, "joins operands whose batch axes differ")
			}
			a = x
		}
	}
	if a < 0 {
		return b.Emit(p, in...), -1, nil
	}
	if a == p.Axis {
		return nil, 0, mix(p, "joins along the batch axis %d", a)
	}
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if axes[i] >= 0 {
			args[i] = v
			continue
		}
		d, err := drop(i, a)
		if err != nil {
			return nil, 0, err
		}
		args[i] = d
	}
	axis := p.Axis
	if axis > a {
		axis--
	}
	return b.Emit(Concat{Axis: axis}, args...), a, nil
}

// ---- Slice ----

// Slice takes x[Start[0]:Limit[0], Start[1]:Limit[1], ...] (unit stride).
type Slice struct{ Start, Limit []int }

// Name implements ir.Primitive.
func (Slice) Name() string { return "slice" }

// String prints the parameters.
func (p Slice) String() string { return fmt.Sprintf("start=%v limit=%v", p.Start, p.Limit) }

// OutShape implements ir.Primitive.
func (p Slice) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(p.Start) != len(x) || len(p.Limit) != len(x) {
		return nil, fmt.Errorf("start %v and limit %v for shape %v", p.Start, p.Limit, x)
	}
	out := make([]int, len(x))
	for d := range x {
		if p.Start[d] < 0 || p.Limit[d] > x[d] || p.Start[d] > p.Limit[d] {
			return nil, fmt.Errorf("range %d:%d out of bounds for axis %d of %v", p.Start[d], p.Limit[d], d, x)
		}
		out[d] = p.Limit[d] - p.Start[d]
	}
	return out, nil
}

// Eval implements Evaluator.
func (p Slice) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	st := strides(in[0].Shape())
	off := 0
	for d := range st {
		off += p.Start[d] * st[d]
	}
	out := make([]float64, tensor.Size(s))
	gather(out, in[0].Data(), s, st, off)
	return tensor.New(s, out)
}

// JVP implements JVPRule.
func (p Slice) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (Slice) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p Slice) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, _ []bool) []*ir.Var {
	hi := make([]int, len(p.Limit))
	for d := range hi {
		hi[d] = shapes[0][d] - p.Limit[d]
	}
	return []*ir.Var{b.Emit(Pad{Lo: append([]int{}, p.Start...), Hi: hi}, ct)}
}

// Batch implements BatchRule.
func (p Slice) Batch(b *ir.Builder, in []*ir.Var, _ []bool, n int) *ir.Var {
	return b.Emit(Slice{Start: append([]int{0}, p.Start...), Limit: append([]int{n}, p.Limit...)}, in[0])
}

// Unbatch implements UnbatchRule.
func (p Slice) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	if p.Start[a] != 0 || p.Limit[a] != shapes[0][a] {
		return nil, 0, mix(p, "selects samples %d:%d along the batch axis of %v", p.Start[a], p.Limit[a], shapes[0])
	}
	return b.Emit(Slice{Start: without(p.Start, a), Limit: without(p.Limit, a)}, in[0]), a, nil
}

// ---- Pad ----

// Pad surrounds x with Lo[d] zeros before and Hi[d] zeros after along each
// axis d. It is the transpose of Slice.
type Pad struct{ Lo, Hi []int }

// Name implements ir.Primitive.
func (Pad) Name() string { return "pad" }

// String prints the parameters.
func (p Pad) String() string { return fmt.Sprintf("lo=%v hi=%v", p.Lo, p.Hi) }

// OutShape implements ir.Primitive.
func (p Pad) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(p.Lo) != len(x) || len(p.Hi) != len(x) {
		return nil, fmt.Errorf("padding %v %v for shape %v", p.Lo, p.Hi, x)
	}
	out := make([]int, len(x))
	for d := range x {
		if p.Lo[d] < 0 || p.Hi[d] < 0 {
			return nil, fmt.Errorf("negative padding %v %v", p.Lo, p.Hi)
		}
		out[d] = x[d] + p.Lo[d] + p.Hi[d]
	}
	return out, nil
}

// Eval implements Evaluator.
func (p Pad) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	out := make([]float64, tensor.Size(s))
	ost := strides(s)
	off := 0
	for d := range s {
		off += p.Lo[d] * ost[d]
	}
	scatterAdd(out[off:], in[0].Data(), in[0].Shape(), ost)
	return tensor.New(s, out)
}

// JVP implements JVPRule.
func (p Pad) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(p, t[0])
}

// LinearIn implements Linear.
func (Pad) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (p Pad) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, shapes [][]int, _ []bool) []*ir.Var {
	limit := make([]int, len(p.Lo))
	for d := range limit {
		limit[d] = p.Lo[d] + shapes[0][d]
	}
	return []*ir.Var{b.Emit(Slice{Start: append([]int{}, p.Lo...), Limit: limit}, ct)}
}

// Batch implements BatchRule.
func (p Pad) Batch(b *ir.Builder, in []*ir.Var, _ []bool, _ int) *ir.Var {
	return b.Emit(Pad{Lo: append([]int{0}, p.Lo...), Hi: append([]int{0}, p.Hi...)}, in[0])
}

// Unbatch implements UnbatchRule.
func (p Pad) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, _ Dropper) (*ir.Var, int, error) {
	a := axes[0]
	if a < 0 {
		return b.Emit(p, in[0]), -1, nil
	}
	if p.Lo[a] != 0 || p.Hi[a] != 0 {
		return nil, 0, mix(p, "pads along the batch axis of %v", shapes[0])
	}
	return b.Emit(Pad{Lo: without(p.Lo, a), Hi: without(p.Hi, a)}, in[0]), a, nil
}

// ---- Constant ----

// Constant produces a fixed tensor.
type Constant struct{ Value *tensor.Tensor }

// Name implements ir.Primitive.
func (Constant) Name() string { return "constant" }

// String prints the parameters.
func (p Constant) String() string {
	if p.Value.Len() == 1 {
		return fmt.Sprintf("%g", p.Value.Data()[0])
	}
	return fmt.Sprintf("shape=%v", p.Value.Shape())
}

// OutShape implements ir.Primitive.
func (p Constant) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 0); err != nil {
		return nil, err
	}
	return append([]int{}, p.Value.Shape()...), nil
}

// Eval implements Evaluator.
func (p Constant) Eval([]*tensor.Tensor) (*tensor.Tensor, error) { return p.Value, nil }

// JVP implements JVPRule.
func (Constant) JVP(*ir.Builder, []*ir.Var, *ir.Var, []*ir.Var) *ir.Var {
	return nil
}

// Batch implements BatchRule.
func (p Constant) Batch(b *ir.Builder, _ []*ir.Var, _ []bool, _ int) *ir.Var { return b.Emit(p) }

// Unbatch implements UnbatchRule.
func (p Constant) Unbatch(b *ir.Builder, _ []*ir.Var, _ []int, _ [][]int, _ Dropper) (*ir.Var, int, error) {
	return b.Emit(p), -1, nil
}

// ---- strided copies ----

func strides(s []int) []int {
	st := make([]int, len(s))
	acc := 1
	for d := len(s) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= s[d]
	}
	return st
}

// gather fills out (row-major over shape) with src[off + Σ idx[d]*st[d]].
func gather(out, src []float64, shape, st []int, off int) {
	if len(out) == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		out[0] = src[off]
		return
	}
	n, s := shape[r-1], st[r-1]
	idx := make([]int, r-1)
	base := off
	for o := 0; o < len(out); o += n {
		row := out[o : o+n]
		if s == 1 {
			copy(row, src[base:base+n])
		} else {
			for i := range row {
				row[i] = src[base+i*s]
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < shape[d] {
				break
			}
			base -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}

// scatterAdd adds src (row-major over shape) into dst[Σ idx[d]*st[d]], in
// source order, so sums are deterministic.
func scatterAdd(dst, src []float64, shape, st []int) {
	if len(src) == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		dst[0] += src[0]
		return
	}
	n, s := shape[r-1], st[r-1]
	idx := make([]int, r-1)
	base := 0
	for o := 0; o < len(src); o += n {
		row := src[o : o+n]
		if s == 0 {
			acc := dst[base]
			for _, v := range row {
				acc += v
			}
			dst[base] = acc
		} else {
			for i, v := range row {
				dst[base+i*s] += v
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < shape[d] {
				break
			}
			base -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}
