package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Add is x + y: elementwise, a linear map.
type Add struct{}

// Name implements ir.Primitive.
func (Add) Name() string { return "add" }

// OutShape implements ir.Primitive.
func (Add) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Kernel implements Elementwise.
func (Add) Kernel() RowKernel {
	return func(d, a, b, _ []float64) { kernels.Add(d, a[:len(d)], b[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Add) Kernel32() RowKernel32 {
	return func(d, a, b, _ []float32) { kernels.Add32(d, a[:len(d)], b[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Add) ElementFLOPs() float64 { return 1 }

func (Add) linearMap() {}

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

// Identity implements IdentityRule: 0 + y = y, x + 0 = x.
func (Add) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case in[0].IsFill(0):
		return useInput(1)
	case in[1].IsFill(0):
		return useInput(0)
	}
	return Rewrite{}
}

func pick(ok bool, v *ir.Var) *ir.Var {
	if ok {
		return v
	}
	return nil
}

// Sub is x - y: elementwise, a linear map.
type Sub struct{}

// Name implements ir.Primitive.
func (Sub) Name() string { return "sub" }

// OutShape implements ir.Primitive.
func (Sub) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Kernel implements Elementwise.
func (Sub) Kernel() RowKernel {
	return func(d, a, b, _ []float64) { kernels.Sub(d, a[:len(d)], b[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Sub) Kernel32() RowKernel32 {
	return func(d, a, b, _ []float32) { kernels.Sub32(d, a[:len(d)], b[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Sub) ElementFLOPs() float64 { return 1 }

func (Sub) linearMap() {}

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

// Identity implements IdentityRule: x - 0 = x, 0 - y = -y.
func (Sub) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case in[1].IsFill(0):
		return useInput(0)
	case in[0].IsFill(0):
		return Rewrite{Kind: Apply, Prim: Neg{}, Args: []int{1}}
	}
	return Rewrite{}
}

// Mul is x * y: elementwise, bilinear.
type Mul struct{}

// Name implements ir.Primitive.
func (Mul) Name() string { return "mul" }

// OutShape implements ir.Primitive.
func (Mul) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Kernel implements Elementwise.
func (Mul) Kernel() RowKernel {
	return func(d, a, b, _ []float64) { kernels.Mul(d, a[:len(d)], b[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Mul) Kernel32() RowKernel32 {
	return func(d, a, b, _ []float32) { kernels.Mul32(d, a[:len(d)], b[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Mul) ElementFLOPs() float64 { return 1 }

func (Mul) bilinear() {}

// JVP implements JVPRule.
func (Mul) JVP(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
	return AddZ(b, MulZ(b, t[0], x[1]), MulZ(b, t[1], x[0]))
}

// Eval implements Evaluator.
func (Mul) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapBinary(in, func(x, y float64) float64 { return x * y })
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

// Identity implements IdentityRule: 1·y = y, x·1 = x.
func (Mul) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case in[0].IsFill(1):
		return useInput(1)
	case in[1].IsFill(1):
		return useInput(0)
	}
	return Rewrite{}
}

// Div is x / y: elementwise, linear in x; its JVP and Taylor rules are its own.
type Div struct{}

// Name implements ir.Primitive.
func (Div) Name() string { return "div" }

// OutShape implements ir.Primitive.
func (Div) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 2) }

// Kernel implements Elementwise.
func (Div) Kernel() RowKernel { return divRow[float64] }

// Kernel32 implements Elementwise.
func (Div) Kernel32() RowKernel32 { return divRow[float32] }

// ElementFLOPs implements Elementwise.
func (Div) ElementFLOPs() float64 { return 1 }

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

// Taylor for y = a/c: y1 = (a1 - y·c1)/c, y2 = (a2 - y·c2 - 2·Σ_k w_k y1_k c1_k)/c.
func (Div) Taylor(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	c := x0[1]
	var num1, num2 *ir.Var
	num1 = x1[0]
	if x1[1] != nil {
		num1 = AddZ(b, num1, b.Emit(Neg{}, t.batched(Mul{}, []*ir.Var{x1[1], y0}, []bool{true, false})))
	}
	var y1 *ir.Var
	if num1 != nil {
		y1 = t.batched(Div{}, []*ir.Var{num1, c}, []bool{true, false})
	}
	num2 = x2[0]
	if x2[1] != nil {
		num2 = AddZ(b, num2, b.Emit(Neg{}, b.Emit(Mul{}, y0, x2[1])))
	}
	if y1 != nil && x1[1] != nil {
		num2 = AddZ(b, num2, Scale(b, -2, t.Pair(y1, x1[1])))
	}
	var y2 *ir.Var
	if num2 != nil {
		y2 = b.Emit(Div{}, num2, c)
	}
	return y1, y2
}

// Identity implements IdentityRule: 0/y = 0, x/1 = x.
func (Div) Identity(in []Operand, _ []int) Rewrite {
	switch {
	case in[0].IsFill(0):
		return useFill(0)
	case in[1].IsFill(1):
		return useInput(0)
	}
	return Rewrite{}
}

// Neg is -x: elementwise, a linear map.
type Neg struct{}

// Name implements ir.Primitive.
func (Neg) Name() string { return "neg" }

// OutShape implements ir.Primitive.
func (Neg) OutShape(in [][]int) ([]int, error) { return sameShapes(in, 1) }

// Kernel implements Elementwise.
func (Neg) Kernel() RowKernel {
	return func(d, a, _, _ []float64) { kernels.Neg(d, a[:len(d)]) }
}

// Kernel32 implements Elementwise.
func (Neg) Kernel32() RowKernel32 {
	return func(d, a, _, _ []float32) { kernels.Neg32(d, a[:len(d)]) }
}

// ElementFLOPs implements Elementwise.
func (Neg) ElementFLOPs() float64 { return 1 }

func (Neg) linearMap() {}

// Eval implements Evaluator.
func (Neg) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	return mapUnary(in, func(x float64) float64 { return -x })
}

// LinearIn implements Linear.
func (Neg) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (Neg) Transpose(b *ir.Builder, ct *ir.Var, _ []*ir.Var, _ [][]int, _ []bool) []*ir.Var {
	return []*ir.Var{b.Emit(Neg{}, ct)}
}
