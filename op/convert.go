package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Convert changes the dtype of its input from From to To (float64 to
// float32 rounds to nearest). It is the one primitive whose operand and
// result differ in dtype, so it carries both: its transpose converts the
// cotangent back from To to From. Elementwise in what it computes, a
// linear map for derivatives (the tangent is converted like the value), a
// converting copy at run time.
type Convert struct{ From, To tensor.DType }

// Name implements ir.Primitive.
func (Convert) Name() string { return "convert" }

// String prints the parameters.
func (p Convert) String() string { return fmt.Sprintf("%v→%v", p.From, p.To) }

// OutShape implements ir.Primitive.
func (Convert) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// OutDType implements ir.DTypeRule: To, for an input of dtype From.
func (p Convert) OutDType(in []tensor.DType) (tensor.DType, error) {
	if !p.From.Valid() || !p.To.Valid() {
		return 0, fmt.Errorf("converts %v to %v: not dtypes", p.From, p.To)
	}
	if len(in) != 1 || in[0] != p.From {
		return 0, fmt.Errorf("converts from %v, got an operand of %v (internal error)", p.From, in)
	}
	return p.To, nil
}

// FLOPs implements CostRule: one conversion per element.
func (Convert) FLOPs(_ [][]int, out []int) float64 { return float64(tensor.Size(out)) }

// Lowering implements Lowerer.
func (Convert) Lowering() Lowering { return Conversion }

func (Convert) linearMap() {}

// Eval implements Evaluator.
func (p Convert) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	if in[0].DType() != p.From {
		return nil, fmt.Errorf("converts from %v, got a %v tensor", p.From, in[0].DType())
	}
	if p.From == p.To {
		return in[0], nil
	}
	return in[0].Convert(p.To), nil
}

// LinearIn implements Linear.
func (Convert) LinearIn(int) bool { return true }

// Transpose implements Linear: the cotangent converted back.
func (p Convert) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, _ []bool) []*ir.Var {
	return []*ir.Var{b.Emit(Convert{From: p.To, To: p.From}, ct)}
}

// Batch implements BatchRule.
func (p Convert) Batch(b *ir.Builder, in []*ir.Var, batched []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, batched, n)
}

// Unbatch implements UnbatchRule.
func (p Convert) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, drop Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, drop)
}

// Identity implements IdentityRule: a conversion to the same dtype is its
// input; a uniform input gives a uniform output (the value rounded).
func (p Convert) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case p.From == p.To:
		return useInput(0)
	case in[0].Uniform:
		return useFill(RoundTo(p.To, in[0].Fill))
	}
	return Rewrite{}
}

// RoundTo returns c rounded to dtype dt (as a float64).
func RoundTo(dt tensor.DType, c float64) float64 {
	if dt == tensor.Float32 {
		return float64(float32(c))
	}
	return c
}
