package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Transpose permutes axes: output axis i is input axis Perm[i]. A view, a
// linear map.
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

// View implements View: the input's strides, permuted.
func (p Transpose) View(off int, strides, _, _ []int) (int, []int, bool) {
	st := make([]int, len(p.Perm))
	for i, src := range p.Perm {
		st[i] = strides[src]
	}
	return off, st, true
}

// FLOPs implements CostRule: a view computes nothing.
func (Transpose) FLOPs([][]int, []int) float64 { return 0 }

func (Transpose) linearMap() {}

// Eval implements Evaluator.
func (p Transpose) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	src := tensor.Strides(in[0].Shape())
	st := make([]int, len(s))
	for i, a := range p.Perm {
		st[i] = src[a]
	}
	return gatherOf(in[0], s, st, 0), nil
}

func (p Transpose) inverse() Transpose {
	inv := make([]int, len(p.Perm))
	for i, a := range p.Perm {
		inv[a] = i
	}
	return Transpose{Perm: inv}
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

// Reshape gives the data a new shape of the same size (row-major order
// kept). A view (of a contiguous input), a linear map.
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
	if tensor.Size(in[0]) != tensor.Size(p.Shape) {
		return nil, fmt.Errorf("cannot reshape %v to %v", in[0], p.Shape)
	}
	for _, d := range p.Shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in %v", p.Shape)
		}
	}
	return append([]int{}, p.Shape...), nil
}

// View implements View: a contiguous input read with the new shape's
// strides.
func (p Reshape) View(off int, strides, in, out []int) (int, []int, bool) {
	if !rowMajor(in, strides) {
		return 0, nil, false
	}
	return off, tensor.Strides(out), true
}

// FLOPs implements CostRule: a view computes nothing.
func (Reshape) FLOPs([][]int, []int) float64 { return 0 }

func (Reshape) linearMap() {}

// Eval implements Evaluator.
func (p Reshape) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return in[0].Reshape(p.Shape...)
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
	before := tensor.Size(s[:a])
	acc := 1
	for i, d := range p.Shape {
		if acc == before && d == s[a] {
			return b.Emit(Reshape{Shape: tensor.RemoveAxis(p.Shape, i)}, in[0]), i, nil
		}
		acc *= d
	}
	return nil, 0, mix(p, "merges the batch axis %d of %v with other axes into %v", a, s, p.Shape)
}

// Broadcast expands x to Shape: input axis i becomes output axis Dims[i]
// (where it has the same size, or size 1 and is repeated); the other output
// axes repeat the input. A view, a linear map.
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

// View implements View: stride 0 along the repeated axes.
func (p Broadcast) View(off int, strides, in, out []int) (int, []int, bool) {
	st := make([]int, len(out))
	for i, d := range p.Dims {
		if in[i] == out[d] {
			st[d] = strides[i]
		}
	}
	return off, st, true
}

// FLOPs implements CostRule: a view computes nothing.
func (Broadcast) FLOPs([][]int, []int) float64 { return 0 }

func (Broadcast) linearMap() {}

// Eval implements Evaluator.
func (p Broadcast) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	x := in[0]
	src := tensor.Strides(x.Shape())
	st := make([]int, len(p.Shape))
	for i, d := range p.Dims {
		if x.Shape()[i] == p.Shape[d] {
			st[d] = src[i]
		}
	}
	return gatherOf(x, p.Shape, st, 0), nil
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
	return Broadcast{Shape: tensor.RemoveAxis(p.Shape, out), Dims: dims}
}
