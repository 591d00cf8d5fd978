package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Comparison operators for Compare.
const (
	GT = "gt"
	GE = "ge"
	LT = "lt"
	LE = "le"
	EQ = "eq"
	NE = "ne"
)

// Compare yields 1 where x Op y holds and 0 elsewhere. Its derivative is
// zero everywhere (elementwise, zero derivative); it feeds Select to build
// relu, max, clamp and friends.
type Compare struct{ Op string }

// Name implements ir.Primitive.
func (Compare) Name() string { return "compare" }

// String prints the parameters.
func (p Compare) String() string { return p.Op }

// OutShape implements ir.Primitive.
func (p Compare) OutShape(in [][]int) ([]int, error) {
	switch p.Op {
	case GT, GE, LT, LE, EQ, NE:
	default:
		return nil, fmt.Errorf("unknown comparison %q", p.Op)
	}
	return sameShapes(in, 2)
}

// Kernel implements Elementwise.
func (p Compare) Kernel() RowKernel { return compareRow[float64](p.Op) }

// Kernel32 implements Elementwise.
func (p Compare) Kernel32() RowKernel32 { return compareRow[float32](p.Op) }

// ElementFLOPs implements Elementwise.
func (Compare) ElementFLOPs() float64 { return 1 }

func (Compare) zeroDerivative() {}

// Eval implements Evaluator.
func (p Compare) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	f := CompareFunc(p.Op)
	return mapBinary(in, func(x, y float64) float64 {
		if f(x, y) {
			return 1
		}
		return 0
	})
}

// CompareFunc returns the scalar predicate of a comparison operator.
func CompareFunc(o string) func(x, y float64) bool { return compareFunc[float64](o) }

func compareFunc[T tensor.Float](o string) func(x, y T) bool {
	var f func(x, y T) bool
	switch o {
	case GT:
		f = func(x, y T) bool { return x > y }
	case GE:
		f = func(x, y T) bool { return x >= y }
	case LT:
		f = func(x, y T) bool { return x < y }
	case LE:
		f = func(x, y T) bool { return x <= y }
	case EQ:
		f = func(x, y T) bool { return x == y }
	default:
		f = func(x, y T) bool { return x != y }
	}
	return f
}

// Select picks x where the predicate is non-zero and y elsewhere:
// elementwise, a linear map of the branches.
type Select struct{}

// Name implements ir.Primitive.
func (Select) Name() string { return "select" }

// OutShape implements ir.Primitive.
func (Select) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 3) }

// Kernel implements Elementwise.
func (Select) Kernel() RowKernel { return selectRow[float64] }

// Kernel32 implements Elementwise.
func (Select) Kernel32() RowKernel32 { return selectRow[float32] }

// ElementFLOPs implements Elementwise.
func (Select) ElementFLOPs() float64 { return 1 }

func (Select) linearMap() {}

// Eval implements Evaluator.
func (Select) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	if err := sameDTypes(in); err != nil {
		return nil, err
	}
	out := tensor.ZerosOf(in[0].DType(), in[0].Shape()...)
	if out.DType() == tensor.Float32 {
		selectRow(out.Data32(), in[0].Data32(), in[1].Data32(), in[2].Data32())
	} else {
		selectRow(out.Data(), in[0].Data(), in[1].Data(), in[2].Data())
	}
	return out, nil
}

// LinearIn implements Linear.
func (Select) LinearIn(i int) bool { return i > 0 }

// Transpose implements Linear.
func (Select) Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, shapes [][]int, lin []bool) []*ir.Var {
	if lin[0] {
		b.Fail(fmt.Errorf("select: the predicate is not linear (internal error)"))
	}
	out := make([]*ir.Var, 3)
	if lin[1] {
		out[1] = b.Emit(Select{}, in[0], ct, ZerosLike(b, ct))
	}
	if lin[2] {
		out[2] = b.Emit(Select{}, in[0], ZerosLike(b, ct), ct)
	}
	return out
}

// Identity implements IdentityRule: equal branches, or a predicate known
// everywhere, pick one branch.
func (Select) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case in[1].Var == in[2].Var:
		return useInput(1)
	case in[0].Uniform && in[0].Fill != 0:
		return useInput(1)
	case in[0].Uniform:
		return useInput(2)
	}
	return Rewrite{}
}
