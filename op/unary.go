package op

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Exp is e^x.
type Exp struct{}

// Name implements ir.Primitive.
func (Exp) Name() string { return "exp" }

// OutShape implements ir.Primitive.
func (Exp) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Exp) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Exp) }

// JVP implements JVPRule.
func (Exp) JVP(b *ir.Builder, _ []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	return MulZ(b, t[0], out)
}

// Batch implements BatchRule.
func (p Exp) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Exp) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Log is the natural logarithm.
type Log struct{}

// Name implements ir.Primitive.
func (Log) Name() string { return "log" }

// OutShape implements ir.Primitive.
func (Log) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Log) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Log) }

// JVP implements JVPRule.
func (Log) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Div{}, t[0], x[0])
}

// Batch implements BatchRule.
func (p Log) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Log) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Tanh is the hyperbolic tangent.
type Tanh struct{}

// Name implements ir.Primitive.
func (Tanh) Name() string { return "tanh" }

// OutShape implements ir.Primitive.
func (Tanh) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Tanh) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Tanh) }

// JVP: tanh' = 1 - tanh².
func (Tanh) JVP(b *ir.Builder, _ []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	d := b.Emit(Sub{}, Full(b, 1, out.Shape), b.Emit(Mul{}, out, out))
	return b.Emit(Mul{}, t[0], d)
}

// Batch implements BatchRule.
func (p Tanh) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Tanh) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Sigmoid is the logistic function 1/(1+e^-x).
type Sigmoid struct{}

// Name implements ir.Primitive.
func (Sigmoid) Name() string { return "sigmoid" }

// OutShape implements ir.Primitive.
func (Sigmoid) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Sigmoid) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, sigmoid) }

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// JVP: σ' = σ(1-σ).
func (Sigmoid) JVP(b *ir.Builder, _ []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	d := b.Emit(Mul{}, out, b.Emit(Sub{}, Full(b, 1, out.Shape), out))
	return b.Emit(Mul{}, t[0], d)
}

// Batch implements BatchRule.
func (p Sigmoid) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Sigmoid) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Sin is the sine.
type Sin struct{}

// Name implements ir.Primitive.
func (Sin) Name() string { return "sin" }

// OutShape implements ir.Primitive.
func (Sin) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Sin) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Sin) }

// JVP implements JVPRule.
func (Sin) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Mul{}, t[0], b.Emit(Cos{}, x[0]))
}

// Batch implements BatchRule.
func (p Sin) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Sin) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Cos is the cosine.
type Cos struct{}

// Name implements ir.Primitive.
func (Cos) Name() string { return "cos" }

// OutShape implements ir.Primitive.
func (Cos) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Cos) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Cos) }

// JVP implements JVPRule.
func (Cos) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Neg{}, b.Emit(Mul{}, t[0], b.Emit(Sin{}, x[0])))
}

// Batch implements BatchRule.
func (p Cos) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Cos) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Erf is the error function.
type Erf struct{}

// Name implements ir.Primitive.
func (Erf) Name() string { return "erf" }

// OutShape implements ir.Primitive.
func (Erf) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Erf) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Erf) }

// JVP: erf'(x) = 2/√π · e^(-x²).
func (Erf) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	g := b.Emit(Exp{}, b.Emit(Neg{}, b.Emit(Mul{}, x[0], x[0])))
	return b.Emit(Mul{}, t[0], Scale(b, 2/math.SqrtPi, g))
}

// Batch implements BatchRule.
func (p Erf) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Erf) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Sqrt is the square root.
type Sqrt struct{}

// Name implements ir.Primitive.
func (Sqrt) Name() string { return "sqrt" }

// OutShape implements ir.Primitive.
func (Sqrt) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Sqrt) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Sqrt) }

// JVP: √x' = 1/(2√x).
func (Sqrt) JVP(b *ir.Builder, _ []*ir.Var, out *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Div{}, t[0], Scale(b, 2, out))
}

// Batch implements BatchRule.
func (p Sqrt) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Sqrt) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// IntPow is x^N for an integer N (negative N allowed).
type IntPow struct{ N int }

// Name implements ir.Primitive.
func (IntPow) Name() string { return "integer_pow" }

// String prints the parameters.
func (p IntPow) String() string { return fmt.Sprintf("n=%d", p.N) }

// OutShape implements ir.Primitive.
func (IntPow) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (p IntPow) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, func(x float64) float64 { return Powi(x, p.N) })
}

// Powi returns x^n by repeated squaring (exact for small n).
func Powi(x float64, n int) float64 {
	switch n {
	case 0:
		return 1
	case 1:
		return x
	case 2:
		return x * x
	case 3:
		return x * x * x
	}
	if n < 0 {
		return 1 / Powi(x, -n)
	}
	r := 1.0
	for n > 0 {
		if n&1 == 1 {
			r *= x
		}
		x *= x
		n >>= 1
	}
	return r
}

// JVP: (x^n)' = n x^(n-1).
func (p IntPow) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil || p.N == 0 {
		return nil
	}
	var d *ir.Var
	if p.N == 1 {
		return t[0]
	}
	if p.N == 2 {
		d = x[0]
	} else {
		d = b.Emit(IntPow{N: p.N - 1}, x[0])
	}
	return b.Emit(Mul{}, t[0], Scale(b, float64(p.N), d))
}

// Batch implements BatchRule.
func (p IntPow) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p IntPow) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Log1p is log(1 + x), accurate for tiny x (softplus needs it).
type Log1p struct{}

// Name implements ir.Primitive.
func (Log1p) Name() string { return "log1p" }

// OutShape implements ir.Primitive.
func (Log1p) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Eval implements Evaluator.
func (Log1p) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, math.Log1p)
}

// JVP: log1p'(x) = 1/(1+x).
func (Log1p) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	if t[0] == nil {
		return nil
	}
	return b.Emit(Div{}, t[0], b.Emit(Add{}, Full(b, 1, x[0].Shape), x[0]))
}

// Batch implements BatchRule.
func (p Log1p) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	return batchElementwise(b, p, in, bt, n)
}

// Unbatch implements UnbatchRule.
func (p Log1p) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, d Dropper) (*ir.Var, int, error) {
	return unbatchElementwise(b, p, in, axes, d)
}

// Taylor: log1p' = 1/(1+x), log1p” = -1/(1+x)².
func (Log1p) Taylor(t *TaylorCtx, x []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var inv *ir.Var
	d1 := func() *ir.Var {
		inv = b.Emit(Div{}, Full(b, 1, x[0].Shape), b.Emit(Add{}, Full(b, 1, x[0].Shape), x[0]))
		return inv
	}
	d2 := func() *ir.Var { return b.Emit(Neg{}, b.Emit(Mul{}, inv, inv)) }
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}
