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
// zero everywhere; it feeds Select to build relu, max, clamp and friends.
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
func CompareFunc(o string) func(x, y float64) bool {
	var f func(x, y float64) bool
	switch o {
	case GT:
		f = func(x, y float64) bool { return x > y }
	case GE:
		f = func(x, y float64) bool { return x >= y }
	case LT:
		f = func(x, y float64) bool { return x < y }
	case LE:
		f = func(x, y float64) bool { return x <= y }
	case EQ:
		f = func(x, y float64) bool { return x == y }
	default:
		f = func(x, y float64) bool { return x != y }
	}
	return f
}

// JVP implements JVPRule.
func (Compare) JVP(*ir.Builder, []*ir.Var, *ir.Var, []*ir.Var) *ir.Var { return nil }

// Batch implements BatchRule.
func (p Compare) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Compare) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Select picks x where the predicate is non-zero and y elsewhere.
type Select struct{}

// Name implements ir.Primitive.
func (Select) Name() string { return "select" }

// OutShape implements ir.Primitive.
func (Select) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 3) }

// Eval implements Evaluator.
func (Select) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	p, x, y := in[0].Data(), in[1].Data(), in[2].Data()
	out := make([]float64, len(p))
	for i := range p {
		if p[i] != 0 {
			out[i] = x[i]
		} else {
			out[i] = y[i]
		}
	}
	return tensor.New(in[0].Shape(), out)
}

// JVP implements JVPRule.
func (Select) JVP(b *ir.Builder, x []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	if t[1] == nil && t[2] == nil {
		return nil
	}
	return b.Emit(Select{}, x[0], OrZeros(b, t[1], out.Shape), OrZeros(b, t[2], out.Shape))
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
		out[1] = b.Emit(Select{}, in[0], ct, Zeros(b, ct.Shape))
	}
	if lin[2] {
		out[2] = b.Emit(Select{}, in[0], Zeros(b, ct.Shape), ct)
	}
	return out
}

// Batch implements BatchRule.
func (p Select) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Select) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}
