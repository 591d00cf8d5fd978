package op

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ReduceSum sums over Axes, removing them: a linear map, a reduction at
// run time.
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

// FLOPs implements CostRule: one addition per input element.
func (ReduceSum) FLOPs(in [][]int, _ []int) float64 { return float64(tensor.Size(in[0])) }

// Lowering implements Lowerer.
func (ReduceSum) Lowering() Lowering { return Reduction }

func (ReduceSum) linearMap() {}

// Eval implements Evaluator.
func (p ReduceSum) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape()})
	if err != nil {
		return nil, err
	}
	xs := in[0].Shape()
	ost := tensor.Strides(s)
	st := make([]int, len(xs))
	j := 0
	for d := range xs {
		if slices.Contains(p.Axes, d) {
			continue
		}
		st[d] = ost[j]
		j++
	}
	return scatterAddOf(in[0], s, st, 0), nil
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
