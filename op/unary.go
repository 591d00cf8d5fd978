package op

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// transcendental is the FLOP count charged for one evaluation of a
// transcendental function: roughly what a vectorised polynomial costs.
const transcendental = 20

// Exp is e^x: elementwise, smooth.
type Exp struct{}

// Name implements ir.Primitive.
func (Exp) Name() string { return "exp" }

// OutShape implements ir.Primitive.
func (Exp) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Exp) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Exp(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Exp) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Exp32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Exp) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: exp' = exp.
func (Exp) Deriv(_ *ir.Builder, _, y *ir.Var) *ir.Var { return y }

// Deriv2 implements Smooth: exp” = exp.
func (Exp) Deriv2(_ *ir.Builder, _, y, _ *ir.Var) *ir.Var { return y }

// Eval implements Evaluator.
func (Exp) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Exp) }

// Log is the natural logarithm: elementwise, smooth.
type Log struct{}

// Name implements ir.Primitive.
func (Log) Name() string { return "log" }

// OutShape implements ir.Primitive.
func (Log) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Log) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Log(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Log) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Log32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Log) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: log' = 1/x.
func (Log) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var {
	return b.Emit(Div{}, FullLike(b, 1, x), x)
}

// Deriv2 implements Smooth: log” = -1/x² = -(log')².
func (Log) Deriv2(b *ir.Builder, _, _, d1 *ir.Var) *ir.Var {
	return b.Emit(Neg{}, b.Emit(Mul{}, d1, d1))
}

// Eval implements Evaluator.
func (Log) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Log) }

// Tanh is the hyperbolic tangent: elementwise, smooth.
type Tanh struct{}

// Name implements ir.Primitive.
func (Tanh) Name() string { return "tanh" }

// OutShape implements ir.Primitive.
func (Tanh) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Tanh) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Tanh(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Tanh) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Tanh32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Tanh) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: tanh' = 1 - y².
func (Tanh) Deriv(b *ir.Builder, _, y *ir.Var) *ir.Var {
	return b.Emit(Sub{}, FullLike(b, 1, y), b.Emit(Mul{}, y, y))
}

// Deriv2 implements Smooth: tanh” = -2y(1 - y²).
func (Tanh) Deriv2(b *ir.Builder, _, y, d1 *ir.Var) *ir.Var {
	return Scale(b, -2, b.Emit(Mul{}, y, d1))
}

// Eval implements Evaluator.
func (Tanh) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Tanh) }

// Sigmoid is the logistic function 1/(1+e^-x): elementwise, smooth.
type Sigmoid struct{}

// Name implements ir.Primitive.
func (Sigmoid) Name() string { return "sigmoid" }

// OutShape implements ir.Primitive.
func (Sigmoid) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Sigmoid) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Sigmoid(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Sigmoid) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Sigmoid32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Sigmoid) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: σ' = σ(1-σ).
func (Sigmoid) Deriv(b *ir.Builder, _, y *ir.Var) *ir.Var {
	return b.Emit(Mul{}, y, b.Emit(Sub{}, FullLike(b, 1, y), y))
}

// Deriv2 implements Smooth: σ” = σ'(1-2σ).
func (Sigmoid) Deriv2(b *ir.Builder, _, y, d1 *ir.Var) *ir.Var {
	return b.Emit(Mul{}, d1, b.Emit(Sub{}, FullLike(b, 1, y), Scale(b, 2, y)))
}

// Eval implements Evaluator.
func (Sigmoid) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, sigmoid) }

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Sin is the sine: elementwise, smooth.
type Sin struct{}

// Name implements ir.Primitive.
func (Sin) Name() string { return "sin" }

// OutShape implements ir.Primitive.
func (Sin) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Sin) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Sin(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Sin) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Sin32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Sin) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: sin' = cos.
func (Sin) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var { return b.Emit(Cos{}, x) }

// Deriv2 implements Smooth: sin” = -sin.
func (Sin) Deriv2(b *ir.Builder, _, y, _ *ir.Var) *ir.Var { return b.Emit(Neg{}, y) }

// Eval implements Evaluator.
func (Sin) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Sin) }

// Cos is the cosine: elementwise, smooth.
type Cos struct{}

// Name implements ir.Primitive.
func (Cos) Name() string { return "cos" }

// OutShape implements ir.Primitive.
func (Cos) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Cos) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Cos(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Cos) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Cos32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Cos) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: cos' = -sin.
func (Cos) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var { return b.Emit(Neg{}, b.Emit(Sin{}, x)) }

// Deriv2 implements Smooth: cos” = -cos.
func (Cos) Deriv2(b *ir.Builder, _, y, _ *ir.Var) *ir.Var { return b.Emit(Neg{}, y) }

// Eval implements Evaluator.
func (Cos) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Cos) }

// Erf is the error function: elementwise, smooth.
type Erf struct{}

// Name implements ir.Primitive.
func (Erf) Name() string { return "erf" }

// OutShape implements ir.Primitive.
func (Erf) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Erf) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Erf(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Erf) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Erf32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Erf) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: erf' = 2/√π·e^(-x²).
func (Erf) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var {
	return Scale(b, 2/math.SqrtPi, b.Emit(Exp{}, b.Emit(Neg{}, b.Emit(Mul{}, x, x))))
}

// Deriv2 implements Smooth: erf” = -2x·erf'.
func (Erf) Deriv2(b *ir.Builder, x, _, d1 *ir.Var) *ir.Var {
	return Scale(b, -2, b.Emit(Mul{}, x, d1))
}

// Eval implements Evaluator.
func (Erf) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Erf) }

// Sqrt is the square root: elementwise, smooth.
type Sqrt struct{}

// Name implements ir.Primitive.
func (Sqrt) Name() string { return "sqrt" }

// OutShape implements ir.Primitive.
func (Sqrt) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Sqrt) Kernel() RowKernel {
	return func(d, a, _, _ []float64) {
		x := a[:len(d)]
		for i := range d {
			d[i] = math.Sqrt(x[i])
		}
	}
}

// Kernel32 implements Elementwise.
func (Sqrt) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Sqrt32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Sqrt) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: √' = 1/(2y).
func (Sqrt) Deriv(b *ir.Builder, _, y *ir.Var) *ir.Var {
	return b.Emit(Div{}, FullLike(b, 0.5, y), y)
}

// Deriv2 implements Smooth: √” = -1/(4y³) = -(√')²/y.
func (Sqrt) Deriv2(b *ir.Builder, _, y, d1 *ir.Var) *ir.Var {
	return b.Emit(Neg{}, b.Emit(Div{}, b.Emit(Mul{}, d1, d1), y))
}

// Eval implements Evaluator.
func (Sqrt) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return mapUnary(in, math.Sqrt) }

// IntPow is x^N for an integer N (negative N allowed): elementwise, smooth.
type IntPow struct{ N int }

// Name implements ir.Primitive.
func (IntPow) Name() string { return "integer_pow" }

// String prints the parameters.
func (p IntPow) String() string { return fmt.Sprintf("n=%d", p.N) }

// OutShape implements ir.Primitive.
func (IntPow) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (p IntPow) Kernel() RowKernel { return powRow[float64](p.N) }

// Kernel32 implements Elementwise.
func (p IntPow) Kernel32() RowKernel32 { return powRow[float32](p.N) }

// ElementFLOPs implements Elementwise.
func (IntPow) ElementFLOPs() float64 { return 2 }

// pow emits x^n, writing out the cheap cases.
func pow(b *ir.Builder, x *ir.Var, n int) *ir.Var {
	switch n {
	case 0:
		return FullLike(b, 1, x)
	case 1:
		return x
	}
	return b.Emit(IntPow{N: n}, x)
}

// Deriv implements Smooth: (xⁿ)' = n·xⁿ⁻¹ (zero for n = 0).
func (p IntPow) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var {
	switch p.N {
	case 0:
		return nil
	case 1:
		return FullLike(b, 1, x)
	}
	return Scale(b, float64(p.N), pow(b, x, p.N-1))
}

// Deriv2 implements Smooth: (xⁿ)” = n(n-1)·xⁿ⁻².
func (p IntPow) Deriv2(b *ir.Builder, x, _, _ *ir.Var) *ir.Var {
	if p.N == 0 || p.N == 1 {
		return ZerosLike(b, x)
	}
	return Scale(b, float64(p.N*(p.N-1)), pow(b, x, p.N-2))
}

// Eval implements Evaluator.
func (p IntPow) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, func(x float64) float64 { return Powi(x, p.N) })
}

// Powi returns x^n by repeated squaring (exact for small n).
func Powi(x float64, n int) float64 { return powi(x, n) }

func powi[T tensor.Float](x T, n int) T {
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
		return 1 / powi(x, -n)
	}
	r := T(1)
	for n > 0 {
		if n&1 == 1 {
			r *= x
		}
		x *= x
		n >>= 1
	}
	return r
}

// Log1p is log(1 + x), accurate for tiny x (softplus needs it):
// elementwise, smooth.
type Log1p struct{}

// Name implements ir.Primitive.
func (Log1p) Name() string { return "log1p" }

// OutShape implements ir.Primitive.
func (Log1p) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Log1p) Kernel() RowKernel {
	return func(d, a, _, _ []float64) {
		x := a[:len(d)]
		for i := range d {
			d[i] = math.Log1p(x[i])
		}
	}
}

// Kernel32 implements Elementwise.
func (Log1p) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Log1p32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Log1p) ElementFLOPs() float64 { return transcendental }

// Deriv implements Smooth: log1p' = 1/(1+x).
func (Log1p) Deriv(b *ir.Builder, x, _ *ir.Var) *ir.Var {
	return b.Emit(Div{}, FullLike(b, 1, x), b.Emit(Add{}, FullLike(b, 1, x), x))
}

// Deriv2 implements Smooth: log1p” = -1/(1+x)² = -(log1p')².
func (Log1p) Deriv2(b *ir.Builder, _, _, d1 *ir.Var) *ir.Var {
	return b.Emit(Neg{}, b.Emit(Mul{}, d1, d1))
}

// Eval implements Evaluator.
func (Log1p) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, math.Log1p)
}
