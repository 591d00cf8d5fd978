package op

import (
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
		w := t.W
		if w.DType != v.DType { // a program that converts between dtypes
			w = t.B.Emit(Convert{From: w.DType, To: v.DType}, w)
		}
		w = t.B.Emit(Broadcast{Shape: v.Shape, Dims: dims}, w)
		v = t.B.Emit(Mul{}, v, w)
	}
	return t.B.Emit(ReduceSum{Axes: []int{0}}, v)
}

// batched applies p along the direction axis of the stacks among in
// (flags say which); used for the first-order coefficients.
func (t *TaylorCtx) batched(p ir.Primitive, in []*ir.Var, flags []bool) *ir.Var {
	return batchOf(p).Batch(t.B, in, flags, t.K)
}

// taylorUnary is the rule for y = g(x) with g' = d1 (nil: zero, g is
// constant), g” = d2:
// y1 = g'·x1, y2 = g'·x2 + g”·Σ_k w_k x1_k².
func taylorUnary(t *TaylorCtx, x1, x2 *ir.Var, d1, d2 func() *ir.Var) (*ir.Var, *ir.Var) {
	if x1 == nil && x2 == nil {
		return nil, nil
	}
	g1 := d1()
	if g1 == nil {
		return nil, nil // g is constant
	}
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

// taylorLinear is the rule for a linear map p (x0 ignored but at the
// selector positions): both coefficients go through p. Missing
// coefficients of multi-input primitives become zeros.
func taylorLinear(t *TaylorCtx, p LinearMap, x0 []*ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	var y1, y2 *ir.Var
	if anyLinear(p, x1) {
		in := make([]*ir.Var, len(x1))
		flags := make([]bool, len(x1))
		for i, v := range x1 {
			switch {
			case !p.LinearIn(i):
				in[i] = x0[i]
			case v != nil:
				in[i], flags[i] = v, true
			default:
				in[i] = ZerosLike(t.B, x0[i])
			}
		}
		y1 = t.batched(p, in, flags)
	}
	if anyLinear(p, x2) {
		in, _ := linearArgs(t.B, p, x0, x2, func(i int) []int { return x0[i].Shape })
		y2 = t.B.Emit(p, in...)
	}
	return y1, y2
}

// anyLinear reports whether a coefficient at a linear position of p is not
// nil.
func anyLinear(p Linear, c []*ir.Var) bool {
	for i, v := range c {
		if v != nil && p.LinearIn(i) {
			return true
		}
	}
	return false
}

// taylorBilinear is the rule for y = a ∘ c with ∘ bilinear (mul, matmul):
// y1 = a1∘c0 + a0∘c1, y2 = a2∘c0 + a0∘c2 + 2·Σ_k w_k a1_k∘c1_k.
func taylorBilinear(t *TaylorCtx, p Bilinear, x0 []*ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
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
