package op

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Elementwise primitives take inputs of one shape (the Node API inserts
// broadcasts) and apply a scalar function position by position.

func sameShapes(in [][]int, n int) ([]int, error) {
	if err := checkArity(in, n); err != nil {
		return nil, err
	}
	for i := 1; i < n; i++ {
		if !tensor.SameShape(in[0], in[i]) {
			return nil, fmt.Errorf("shapes %v and %v differ", in[0], in[i])
		}
	}
	return append([]int{}, in[0]...), nil
}

func batchElementwise(b *ir.Builder, p ir.Primitive, in []*ir.Var, batched []bool, n int) *ir.Var {
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if batched[i] {
			args[i] = v
		} else {
			args[i] = BroadcastBatch(b, v, n)
		}
	}
	return b.Emit(p, args...)
}

func unbatchElementwise(b *ir.Builder, p ir.Primitive, in []*ir.Var, axes []int, drop Dropper) (*ir.Var, int, error) {
	axis := -1
	for _, a := range axes {
		if a < 0 {
			continue
		}
		if axis >= 0 && a != axis {
			return nil, 0, mix(p, "combines operands whose batch axes differ (%d and %d)", axis, a)
		}
		axis = a
	}
	if axis < 0 {
		return b.Emit(p, in...), -1, nil
	}
	args := make([]*ir.Var, len(in))
	for i, v := range in {
		if axes[i] >= 0 {
			args[i] = v
			continue
		}
		d, err := drop(i, axis)
		if err != nil {
			return nil, 0, err
		}
		args[i] = d
	}
	return b.Emit(p, args...), axis, nil
}

func mapUnary(in []*tensor.Tensor, f func(float64) float64) (*tensor.Tensor, error) {
	x := in[0].Data()
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return tensor.New(in[0].Shape(), out)
}

func mapBinary(in []*tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	x, y := in[0].Data(), in[1].Data()
	out := make([]float64, len(x))
	for i := range x {
		out[i] = f(x[i], y[i])
	}
	return tensor.New(in[0].Shape(), out)
}

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
