package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Basis is the standard basis of a tensor shape, stacked: of shape
// (n, Shape...) with n = Size(Shape), element [k, i...] is 1 where i... is
// the k-th position in row-major order and 0 elsewhere — the identity
// matrix of order n, reshaped. Forward and reverse mode push it through a
// program to get every column or row of a Jacobian at once.
//
// It is generated when the program runs, into the run's own memory, and
// never stored: an identity of order 65 536 is 32 GB, more than the
// derivative it serves. Simplify turns small ones (up to its folding
// limit) into constants, for folding with what they meet.
type Basis struct {
	Shape []int
	DType tensor.DType // float64 when zero
}

// Name implements ir.Primitive.
func (Basis) Name() string { return "basis" }

// String prints the parameters.
func (p Basis) String() string { return fmt.Sprintf("shape=%v %v", p.Shape, p.dtype()) }

func (p Basis) dtype() tensor.DType {
	if p.DType == 0 {
		return tensor.Float64
	}
	return p.DType
}

// OutDType implements ir.DTypeRule.
func (p Basis) OutDType([]tensor.DType) (tensor.DType, error) {
	if !p.dtype().Valid() {
		return 0, fmt.Errorf("basis of dtype %v", p.DType)
	}
	return p.dtype(), nil
}

// OutShape implements ir.Primitive.
func (p Basis) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 0); err != nil {
		return nil, err
	}
	for _, d := range p.Shape {
		if d < 0 {
			return nil, fmt.Errorf("basis of shape %v", p.Shape)
		}
	}
	return append([]int{tensor.Size(p.Shape)}, p.Shape...), nil
}

// FLOPs implements CostRule: it computes nothing, it writes.
func (Basis) FLOPs([][]int, []int) float64 { return 0 }

// Lowering implements Lowerer.
func (Basis) Lowering() Lowering { return Generated }

func (Basis) zeroDerivative() {}

// Generate64 implements Generator.
func (p Basis) Generate64(dst []float64) { generateBasis(dst, tensor.Size(p.Shape)) }

// Generate32 implements Generator.
func (p Basis) Generate32(dst []float32) { generateBasis(dst, tensor.Size(p.Shape)) }

func generateBasis[T float32 | float64](dst []T, n int) {
	clear(dst[:n*n])
	for k := range n {
		dst[k*n+k] = 1
	}
}

// Eval implements Evaluator.
func (p Basis) Eval([]*tensor.Tensor) (*tensor.Tensor, error) {
	shape, err := p.OutShape(nil)
	if err != nil {
		return nil, err
	}
	t := tensor.ZerosOf(p.dtype(), shape...)
	if p.dtype() == tensor.Float32 {
		p.Generate32(t.Data32())
	} else {
		p.Generate64(t.Data())
	}
	return t, nil
}

// Batch implements BatchRule: it has no inputs, so nothing to map.
func (p Basis) Batch(b *ir.Builder, _ []*ir.Var, _ []bool, _ int) *ir.Var { return b.Emit(p) }

// Unbatch implements UnbatchRule: shared by every sample.
func (p Basis) Unbatch(b *ir.Builder, _ []*ir.Var, _ []int, _ [][]int, _ Dropper) (*ir.Var, int, error) {
	return b.Emit(p), -1, nil
}

// Generator is implemented by primitives of no inputs that the runtime
// computes on every run into memory of the run (the Generated lowering):
// nothing is stored in the compiled plan.
type Generator interface {
	ir.Primitive
	Generate64(dst []float64)
	Generate32(dst []float32)
}
