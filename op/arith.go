package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Add is x + y.
type Add struct{}

// Name implements ir.Primitive.
func (Add) Name() string { return "add" }

// OutShape implements ir.Primitive.
func (Add) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Eval implements Evaluator.
func (Add) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapBinary(in, func(x, y float64) float64 { return x + y })
}

// JVP implements JVPRule.
func (Add) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	return AddZ(b, t[0], t[1])
}

// LinearIn implements Linear.
func (Add) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Add) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, lin []bool) []*ir.Var {
	return []*ir.Var{pick(lin[0], ct), pick(lin[1], ct)}
}

// Batch implements BatchRule.
func (p Add) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Add) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

func pick(ok bool, v *ir.Var) *ir.Var {
	if ok {
		return v
	}
	return nil
}

// Sub is x - y.
type Sub struct{}

// Name implements ir.Primitive.
func (Sub) Name() string { return "sub" }

// OutShape implements ir.Primitive.
func (Sub) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Eval implements Evaluator.
func (Sub) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapBinary(in, func(x, y float64) float64 { return x - y })
}

// JVP implements JVPRule.
func (Sub) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	switch {
	case t[1] == nil:
		return t[0]
	case t[0] == nil:
		return b.Emit(Neg{}, t[1])
	}
	return b.Emit(Sub{}, t[0], t[1])
}

// LinearIn implements Linear.
func (Sub) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Sub) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, lin []bool) []*ir.Var {
	out := []*ir.Var{pick(lin[0], ct), nil}
	if lin[1] {
		out[1] = b.Emit(Neg{}, ct)
	}
	return out
}

// Batch implements BatchRule.
func (p Sub) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Sub) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Mul is x * y.
type Mul struct{}

// Name implements ir.Primitive.
func (Mul) Name() string { return "mul" }

// OutShape implements ir.Primitive.
func (Mul) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Eval implements Evaluator.
func (Mul) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapBinary(in, func(x, y float64) float64 { return x * y })
}

// JVP implements JVPRule.
func (Mul) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	return AddZ(b, MulZ(b, t[0], x[1]), MulZ(b, t[1], x[0]))
}

// LinearIn implements Linear.
func (Mul) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Mul) Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, _ [][]int, lin []bool) []*ir.Var {
	if lin[0] && lin[1] {
		b.Fail(fmt.Errorf("mul: both operands are linear, the product is not (internal error)"))
		return []*ir.Var{nil, nil}
	}
	if lin[0] {
		return []*ir.Var{b.Emit(Mul{}, ct, in[1]), nil}
	}
	return []*ir.Var{nil, b.Emit(Mul{}, in[0], ct)}
}

// Batch implements BatchRule.
func (p Mul) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Mul) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Div is x / y.
type Div struct{}

// Name implements ir.Primitive.
func (Div) Name() string { return "div" }

// OutShape implements ir.Primitive.
func (Div) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Eval implements Evaluator.
func (Div) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapBinary(in, func(x, y float64) float64 { return x / y })
}

// JVP: d(x/y) = (dx - out*dy) / y.
func (Div) JVP(b *ir.Builder, x []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	num := t[0]
	if t[1] != nil {
		num = AddZ(b, num, b.Emit(Neg{}, b.Emit(Mul{}, out, t[1])))
	}
	if num == nil {
		return nil
	}
	return b.Emit(Div{}, num, x[1])
}

// LinearIn implements Linear.
func (Div) LinearIn(i int) bool { return i == 0 }

// Transpose implements Linear.
func (Div) Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, _ [][]int, lin []bool) []*ir.Var {
	if lin[1] {
		b.Fail(fmt.Errorf("div: the divisor is not linear (internal error)"))
	}
	return []*ir.Var{b.Emit(Div{}, ct, in[1]), nil}
}

// Batch implements BatchRule.
func (p Div) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Div) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Neg is -x.
type Neg struct{}

// Name implements ir.Primitive.
func (Neg) Name() string { return "neg" }

// OutShape implements ir.Primitive.
func (Neg) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Neg) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, func(x float64) float64 { return -x })
}

// JVP implements JVPRule.
func (Neg) JVP(b *ir.Builder, _ []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Neg{}, t[0])
}

// LinearIn implements Linear.
func (Neg) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Neg) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, _ []bool) []*ir.Var {
	return []*ir.Var{b.Emit(Neg{}, ct)}
}

// Batch implements BatchRule.
func (p Neg) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Neg) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}
