package op

import (
	"math"

	"github.com/jacobi-ad/jacobi/ir"
)

// Second-order Taylor rules. A value x(t) = x0 + t·x1_k + ½t²·x2 travels as
// its primal x0, K first-order coefficients x1 (shape (K, x...), one per
// direction k) and a collapsed second-order coefficient x2 (shape x...):
// the weighted sum over directions of d²x/dt², so that only one
// second-order vector is carried however many directions there are
// ("collapsed Taylor mode"). For an input x2 = 0, the output's x2 is
// Σ_k w_k v_kᵀ H v_k — with v_k the basis and w = 1, the Laplacian.
//
// The rules, like all rules, emit primitives; nil coefficients are zero.

// TaylorCtx is what every Taylor rule needs: where to emit, the number of
// directions and their weights (nil: all 1).
type TaylorCtx struct {
	B *ir.Builder
	K int
	W *ir.Var // (K) weights of the collapsed sum, or nil
}

// TaylorRule propagates first- and collapsed second-order coefficients.
type TaylorRule interface {
	Taylor(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (y1, y2 *ir.Var)
}

// Pair returns Σ_k w_k a_k ⊙ c_k for coefficient stacks a, c of shape (K, s...).
func (t *TaylorCtx) Pair(a, c *ir.Var) *ir.Var {
	if a == nil || c == nil {
		return nil
	}
	prod := t.B.Emit(Mul{}, a, c)
	return t.weightedSum(prod)
}

// weightedSum sums a (K, s...) stack over k with the weights.
func (t *TaylorCtx) weightedSum(v *ir.Var) *ir.Var {
	if t.W != nil {
		dims := []int{0}
		w := t.B.Emit(Broadcast{Shape: v.Shape, Dims: dims}, t.W)
		v = t.B.Emit(Mul{}, v, w)
	}
	return t.B.Emit(ReduceSum{Axes: []int{0}}, v)
}

// batched applies p along the direction axis of the stacks among in
// (flags say which); used for the first-order coefficients.
func (t *TaylorCtx) batched(p BatchRule, in []*ir.Var, flags []bool) *ir.Var {
	return p.Batch(t.B, in, flags, t.K)
}

// taylorUnary is the rule for y = g(x) with g' = d1, g” = d2:
// y1 = g'·x1, y2 = g'·x2 + g”·Σ_k w_k x1_k².
func taylorUnary(t *TaylorCtx, x1, x2 *ir.Var, d1, d2 func() *ir.Var) (*ir.Var, *ir.Var) {
	if x1 == nil && x2 == nil {
		return nil, nil
	}
	g1 := d1()
	var y1, y2 *ir.Var
	if x1 != nil {
		y1 = t.batched(Mul{}, []*ir.Var{x1, g1}, []bool{true, false})
		y2 = t.B.Emit(Mul{}, d2(), t.Pair(x1, x1))
	}
	if x2 != nil {
		y2 = AddZ(t.B, y2, t.B.Emit(Mul{}, g1, x2))
	}
	return y1, y2
}

// taylorLinear is the rule for a primitive p linear in all its inputs
// jointly (x0 ignored): both coefficients go through p. Missing
// coefficients of multi-input primitives become zeros.
func taylorLinear(t *TaylorCtx, p interface {
	ir.Primitive
	BatchRule
}, x0 []*ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	var y1, y2 *ir.Var
	if anyVar(x1) {
		in := make([]*ir.Var, len(x1))
		flags := make([]bool, len(x1))
		for i, v := range x1 {
			if v != nil {
				in[i], flags[i] = v, true
			} else {
				in[i] = Zeros(t.B, x0[i].Shape)
			}
		}
		y1 = t.batched(p, in, flags)
	}
	if anyVar(x2) {
		in := make([]*ir.Var, len(x2))
		for i, v := range x2 {
			in[i] = OrZeros(t.B, v, x0[i].Shape)
		}
		y2 = t.B.Emit(p, in...)
	}
	return y1, y2
}

// taylorBilinear is the rule for y = a ∘ c with ∘ bilinear (mul, matmul):
// y1 = a1∘c0 + a0∘c1, y2 = a2∘c0 + a0∘c2 + 2·Σ_k w_k a1_k∘c1_k.
func taylorBilinear(t *TaylorCtx, p interface {
	ir.Primitive
	BatchRule
}, x0 []*ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	a0, c0 := x0[0], x0[1]
	var y1, y2 *ir.Var
	if x1[0] != nil {
		y1 = t.batched(p, []*ir.Var{x1[0], c0}, []bool{true, false})
	}
	if x1[1] != nil {
		y1 = AddZ(b, y1, t.batched(p, []*ir.Var{a0, x1[1]}, []bool{false, true}))
	}
	if x2[0] != nil {
		y2 = b.Emit(p, x2[0], c0)
	}
	if x2[1] != nil {
		y2 = AddZ(b, y2, b.Emit(p, a0, x2[1]))
	}
	if x1[0] != nil && x1[1] != nil {
		a1 := x1[0]
		if t.W != nil {
			a1 = b.Emit(Mul{}, a1, b.Emit(Broadcast{Shape: a1.Shape, Dims: []int{0}}, t.W))
		}
		cross := b.Emit(ReduceSum{Axes: []int{0}}, t.batched(p, []*ir.Var{a1, x1[1]}, []bool{true, true}))
		y2 = AddZ(b, y2, Scale(b, 2, cross))
	}
	return y1, y2
}

func anyVar(vs []*ir.Var) bool {
	for _, v := range vs {
		if v != nil {
			return true
		}
	}
	return false
}

// ---- the rules ----

// Taylor implements TaylorRule.
func (p Add) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Sub) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Neg) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Mul) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorBilinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p MatMul) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorBilinear(t, p, x0, x1, x2)
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

// Taylor implements TaylorRule.
func (Exp) Taylor(t *TaylorCtx, _ []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorUnary(t, x1[0], x2[0], func() *ir.Var { return y }, func() *ir.Var { return y })
}

// Taylor implements TaylorRule.
func (Log) Taylor(t *TaylorCtx, x []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var inv *ir.Var
	d1 := func() *ir.Var {
		inv = b.Emit(Div{}, Full(b, 1, x[0].Shape), x[0])
		return inv
	}
	d2 := func() *ir.Var { return b.Emit(Neg{}, b.Emit(Mul{}, inv, inv)) }
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// tanh' = 1 - y², tanh” = -2y(1 - y²).
func (Tanh) Taylor(t *TaylorCtx, _ []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var g1 *ir.Var
	d1 := func() *ir.Var {
		g1 = b.Emit(Sub{}, Full(b, 1, y.Shape), b.Emit(Mul{}, y, y))
		return g1
	}
	d2 := func() *ir.Var { return Scale(b, -2, b.Emit(Mul{}, y, g1)) }
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// σ' = σ(1-σ), σ” = σ'(1-2σ).
func (Sigmoid) Taylor(t *TaylorCtx, _ []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var g1 *ir.Var
	d1 := func() *ir.Var {
		g1 = b.Emit(Mul{}, y, b.Emit(Sub{}, Full(b, 1, y.Shape), y))
		return g1
	}
	d2 := func() *ir.Var {
		return b.Emit(Mul{}, g1, b.Emit(Sub{}, Full(b, 1, y.Shape), Scale(b, 2, y)))
	}
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// Taylor implements TaylorRule.
func (Sin) Taylor(t *TaylorCtx, x []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	return taylorUnary(t, x1[0], x2[0], func() *ir.Var { return b.Emit(Cos{}, x[0]) }, func() *ir.Var { return b.Emit(Neg{}, y) })
}

// Taylor implements TaylorRule.
func (Cos) Taylor(t *TaylorCtx, x []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	return taylorUnary(t, x1[0], x2[0], func() *ir.Var { return b.Emit(Neg{}, b.Emit(Sin{}, x[0])) }, func() *ir.Var { return b.Emit(Neg{}, y) })
}

// erf' = 2/√π·e^(-x²), erf” = -2x·erf'.
func (Erf) Taylor(t *TaylorCtx, x []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var g1 *ir.Var
	d1 := func() *ir.Var {
		g1 = Scale(b, 2/math.SqrtPi, b.Emit(Exp{}, b.Emit(Neg{}, b.Emit(Mul{}, x[0], x[0]))))
		return g1
	}
	d2 := func() *ir.Var { return Scale(b, -2, b.Emit(Mul{}, x[0], g1)) }
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// √' = 1/(2y), √” = -1/(4y³) = -g1/(2x)... written as -g1²/y.
func (Sqrt) Taylor(t *TaylorCtx, _ []*ir.Var, y *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var g1 *ir.Var
	d1 := func() *ir.Var {
		g1 = b.Emit(Div{}, Full(b, 0.5, y.Shape), y)
		return g1
	}
	d2 := func() *ir.Var { return b.Emit(Neg{}, b.Emit(Div{}, b.Emit(Mul{}, g1, g1), y)) }
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// (xⁿ)' = n·xⁿ⁻¹, (xⁿ)” = n(n-1)·xⁿ⁻².
func (p IntPow) Taylor(t *TaylorCtx, x []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	pow := func(n int) *ir.Var {
		switch n {
		case 0:
			return Full(b, 1, x[0].Shape)
		case 1:
			return x[0]
		}
		return b.Emit(IntPow{N: n}, x[0])
	}
	n := p.N
	if n == 0 {
		return nil, nil
	}
	d1 := func() *ir.Var { return Scale(b, float64(n), pow(n-1)) }
	d2 := func() *ir.Var {
		if n == 1 {
			return Zeros(b, x[0].Shape)
		}
		return Scale(b, float64(n*(n-1)), pow(n-2))
	}
	return taylorUnary(t, x1[0], x2[0], d1, d2)
}

// Taylor implements TaylorRule.
func (Compare) Taylor(*TaylorCtx, []*ir.Var, *ir.Var, []*ir.Var, []*ir.Var) (*ir.Var, *ir.Var) {
	return nil, nil
}

// Select is linear in its branches, with the predicate held fixed.
func (p Select) Taylor(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	b := t.B
	var y1, y2 *ir.Var
	if x1[1] != nil || x1[2] != nil {
		k := append([]int{t.K}, y0.Shape...)
		y1 = t.batched(p, []*ir.Var{x0[0], OrZeros(b, x1[1], k), OrZeros(b, x1[2], k)}, []bool{false, true, true})
	}
	if x2[1] != nil || x2[2] != nil {
		y2 = b.Emit(p, x0[0], OrZeros(b, x2[1], y0.Shape), OrZeros(b, x2[2], y0.Shape))
	}
	return y1, y2
}

// Taylor implements TaylorRule.
func (p Transpose) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Reshape) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Broadcast) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p ReduceSum) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Concat) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Slice) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (p Pad) Taylor(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return taylorLinear(t, p, x0, x1, x2)
}

// Taylor implements TaylorRule.
func (Constant) Taylor(*TaylorCtx, []*ir.Var, *ir.Var, []*ir.Var, []*ir.Var) (*ir.Var, *ir.Var) {
	return nil, nil
}
