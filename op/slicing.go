package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Concat joins its inputs along Axis. A linear map, evaluated at run time.
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

// FLOPs implements CostRule: a copy computes nothing.
func (Concat) FLOPs([][]int, []int) float64 { return 0 }

// Lowering implements Lowerer.
func (Concat) Lowering() Lowering { return Evaluated }

func (Concat) linearMap() {}

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
	if err := sameDTypes(in); err != nil {
		return nil, err
	}
	out := tensor.ZerosOf(in[0].DType(), s...)
	if out.DType() == tensor.Float32 {
		concatInto(out.Data32(), in, s, p.Axis, (*tensor.Tensor).Data32)
	} else {
		concatInto(out.Data(), in, s, p.Axis, (*tensor.Tensor).Data)
	}
	return out, nil
}

func concatInto[T tensor.Float](out []T, in []*tensor.Tensor, s []int, axis int, data func(*tensor.Tensor) []T) {
	outer := tensor.Size(s[:axis])
	inner := tensor.Size(s[axis+1:])
	row := s[axis] * inner
	off := 0
	for _, t := range in {
		w := t.Shape()[axis] * inner
		d := data(t)
		for o := 0; o < outer; o++ {
			copy(out[o*row+off:o*row+off+w], d[o*w:(o+1)*w])
		}
		off += w
	}
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

// Slice takes x[Start[0]:Limit[0], Start[1]:Limit[1], ...] (unit stride).
// A view, a linear map.
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

// View implements View: the input's strides from the first element.
func (p Slice) View(off int, strides, _, _ []int) (int, []int, bool) {
	for d := range p.Start {
		off += p.Start[d] * strides[d]
	}
	return off, strides, true
}

// FLOPs implements CostRule: a view computes nothing.
func (Slice) FLOPs([][]int, []int) float64 { return 0 }

func (Slice) linearMap() {}

// Eval implements Evaluator.
func (p Slice) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	st := tensor.Strides(in[0].Shape())
	off := 0
	for d := range st {
		off += p.Start[d] * st[d]
	}
	return gatherOf(in[0], s, st, off), nil
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
	return b.Emit(Slice{Start: tensor.RemoveAxis(p.Start, a), Limit: tensor.RemoveAxis(p.Limit, a)}, in[0]), a, nil
}

// Pad surrounds x with Lo[d] zeros before and Hi[d] zeros after along each
// axis d. It is the transpose of Slice. A linear map, evaluated at run
// time.
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

// FLOPs implements CostRule: a copy computes nothing.
func (Pad) FLOPs([][]int, []int) float64 { return 0 }

// Lowering implements Lowerer.
func (Pad) Lowering() Lowering { return Evaluated }

func (Pad) linearMap() {}

// Eval implements Evaluator.
func (p Pad) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	ost := tensor.Strides(s)
	off := 0
	for d := range s {
		off += p.Lo[d] * ost[d]
	}
	return scatterAddOf(in[0], s, ost, off), nil
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
	return b.Emit(Pad{Lo: tensor.RemoveAxis(p.Lo, a), Hi: tensor.RemoveAxis(p.Hi, a)}, in[0]), a, nil
}
