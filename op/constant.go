package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Constant produces a fixed tensor: zero derivative, a literal buffer at
// run time.
type Constant struct{ Value *tensor.Tensor }

// Name implements ir.Primitive.
func (Constant) Name() string { return "constant" }

// String prints the parameters.
func (p Constant) String() string {
	if p.Value.Len() == 1 {
		return fmt.Sprintf("%g", p.Value.Float64s()[0])
	}
	return fmt.Sprintf("shape=%v", p.Value.Shape())
}

// OutDType implements ir.DTypeRule: the value's dtype.
func (p Constant) OutDType([]tensor.DType) (tensor.DType, error) { return p.Value.DType(), nil }

// OutShape implements ir.Primitive.
func (p Constant) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 0); err != nil {
		return nil, err
	}
	return append([]int{}, p.Value.Shape()...), nil
}

// FLOPs implements CostRule.
func (Constant) FLOPs([][]int, []int) float64 { return 0 }

// Lowering implements Lowerer.
func (Constant) Lowering() Lowering { return Literal }

func (Constant) zeroDerivative() {}

// Eval implements Evaluator.
func (p Constant) Eval([]*tensor.Tensor) (*tensor.Tensor, error) { return p.Value, nil }

// Batch implements BatchRule.
func (p Constant) Batch(b *ir.Builder, _ []*ir.Var, _ []bool, _ int) *ir.Var { return b.Emit(p) }

// Unbatch implements UnbatchRule.
func (p Constant) Unbatch(b *ir.Builder, _ []*ir.Var, _ []int, _ [][]int, _ Dropper) (*ir.Var, int, error) {
	return b.Emit(p), -1, nil
}
