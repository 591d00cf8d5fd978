package fdcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Float32 programs are checked against the same programs in float64 within
// a bound on float32's rounding errors, derived for each case from
// float32's unit roundoff and the case's own condition: the first-order
// forward error bound of running error analysis,
//
//	|ŷᵢ − yᵢ| ≤ Σ_e Σ_j |∂yᵢ/∂v_ej| · r_ej,
//
// where v_e is the value of equation e and r_e what one evaluation of e in
// float32 may add to it: u·|v| for a correctly rounded operation (u = 2⁻²⁴,
// half float32's epsilon), a few ulps for the vectorised transcendental
// maps, k·u·(|A|·|B|) for a matrix product over k terms and
// k·u·Σ|x| for a sum of k terms (their error depends on the terms, not on
// the result, which may cancel), nothing for copies, views and selections.
// The sensitivities ∂yᵢ/∂v_e come from reverse mode itself: each equation's
// value gets a perturbation input δ_e·r_e, and the VJP with respect to the
// δs at δ = 0 gives every |∂yᵢ/∂v_ej|·r_ej at once. The float32 result must
// be within twice that bound (the factor covers the second-order terms) of
// the float64 one; where the bound is 0 (copies of exactly representable
// inputs) they must be equal.

// Unit roundoffs of float32 kernels, as multiples of u = 2⁻²⁴: correctly
// rounded arithmetic and square root, and the transcendental maps (at most
// 2.4 ulps, an ulp being at most 2u relative).
const (
	roundedUnits       = 1
	transcendentalUnit = 6
)

// Retype returns p with its inputs, constants and conversions in dtype dt
// (a float64 program as a float32 one, or back): the same equations in the
// same order.
func Retype(p *ir.Program, dt tensor.DType) (*ir.Program, error) {
	b := ir.NewBuilder(nil)
	env := map[*ir.Var]*ir.Var{}
	for _, v := range p.In {
		env[v] = b.InputOf(dt, v.Shape)
	}
	for _, e := range p.Eqns {
		in := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		prim := e.Prim
		switch q := prim.(type) {
		case op.Constant:
			prim = op.Constant{Value: q.Value.Convert(dt)}
		case op.Basis:
			prim = op.Basis{Shape: q.Shape, DType: dt}
		case op.Convert:
			prim = op.Convert{From: dt, To: dt}
		}
		b.Src = e.Src
		env[e.Out] = b.Emit(prim, in...)
	}
	outs := make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		outs[i] = env[v]
	}
	return b.Build(outs...)
}

// ErrorBound returns, for every output element of p32 (a program in
// float32, or mixing dtypes), the first-order bound on its rounding error
// described above, evaluated at args (float64 tensors) through p64, the
// same program in float64 (Retype).
func ErrorBound(t testing.TB, p64, p32 *ir.Program, args []*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	if len(p64.Eqns) != len(p32.Eqns) {
		t.Fatalf("error bound: the programs have %d and %d equations", len(p64.Eqns), len(p32.Eqns))
	}
	vals, err := intermediates(p64, args)
	if err != nil {
		t.Fatalf("error bound: %v", err)
	}
	// The rounding of every equation, r_e, from the float64 values.
	radii := make([]*tensor.Tensor, len(p64.Eqns))
	for k, e := range p64.Eqns {
		e32 := p32.Eqns[k]
		if e32.Prim.Name() != e.Prim.Name() {
			t.Fatalf("error bound: equation %d is %s and %s", k, e.Prim.Name(), e32.Prim.Name())
		}
		in := make([]*tensor.Tensor, len(e.In))
		for i, v := range e.In {
			in[i] = vals[v]
		}
		radii[k], err = roundingRadius(e, e32, in, vals[e.Out])
		if err != nil {
			t.Fatalf("error bound: equation %d (%s): %v", k, e.Prim.Name(), err)
		}
	}
	// The program with a perturbation δ_e·r_e on every rounded equation.
	b := ir.NewBuilder(nil)
	env := map[*ir.Var]*ir.Var{}
	for _, v := range p64.In {
		env[v] = b.InputLike(v)
	}
	var deltas []*ir.Var
	for k, e := range p64.Eqns {
		in := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		out := b.Emit(e.Prim, in...)
		if radii[k] != nil {
			d := b.InputLike(out)
			deltas = append(deltas, d)
			out = b.Emit(op.Add{}, out, b.Emit(op.Mul{}, d, op.Const(b, radii[k])))
		}
		env[e.Out] = out
	}
	outs := make([]*ir.Var, len(p64.Out))
	for i, v := range p64.Out {
		outs[i] = env[v]
	}
	bounds := make([]*tensor.Tensor, len(p64.Out))
	for i, v := range p64.Out {
		bounds[i] = tensor.Zeros(v.Shape...)
	}
	if len(deltas) == 0 {
		return bounds // nothing rounds
	}
	pert := Must(t, "perturbed program")(b.Build(outs...))
	wrt := make([]bool, len(pert.In))
	for i := len(p64.In); i < len(pert.In); i++ {
		wrt[i] = true
	}
	vp := Must(t, "vjp of the perturbed program")(transform.VJP(pert, wrt))
	base := append([]*tensor.Tensor{}, args...)
	for _, d := range deltas {
		base = append(base, tensor.Zeros(d.Shape...))
	}
	cts := make([]*tensor.Tensor, len(p64.Out))
	for i, v := range p64.Out {
		cts[i] = tensor.Zeros(v.Shape...)
	}
	for o := range p64.Out {
		for j := range cts[o].Data() {
			cts[o].Data()[j] = 1
			res := Run(t, vp, append(append([]*tensor.Tensor{}, base...), cts...)...)
			cts[o].Data()[j] = 0
			s := 0.0
			for _, g := range res[len(p64.Out):] {
				for _, x := range g.Data() {
					s += math.Abs(x)
				}
			}
			bounds[o].Data()[j] = s
		}
	}
	return bounds
}

// intermediates evaluates p with the primitives' Eval and returns every
// value.
func intermediates(p *ir.Program, args []*tensor.Tensor) (map[*ir.Var]*tensor.Tensor, error) {
	env := map[*ir.Var]*tensor.Tensor{}
	for i, v := range p.In {
		env[v] = args[i]
	}
	for _, e := range p.Eqns {
		in := make([]*tensor.Tensor, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		out, err := e.Prim.(op.Evaluator).Eval(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Prim.Name(), err)
		}
		env[e.Out] = out
	}
	return env, nil
}

// roundingRadius returns r_e for equation e (of the float64 program) as
// e32 computes it, given e's float64 inputs and value; nil when e32 adds no
// rounding error.
func roundingRadius(e, e32 *ir.Eqn, in []*tensor.Tensor, v *tensor.Tensor) (*tensor.Tensor, error) {
	dt := e32.Out.DType
	u := dt.Epsilon() / 2
	abs := func(x *tensor.Tensor) *tensor.Tensor { return x.Map(math.Abs) }
	// An infinite value (max pooling's −∞ padding) is infinite in both
	// precisions: it carries no rounding error (and u·∞ would make the
	// bound of every output NaN, through the zero sensitivity of an
	// unselected pad).
	scaled := func(x *tensor.Tensor, c float64) *tensor.Tensor {
		return x.Map(func(a float64) float64 {
			if math.IsInf(a, 0) {
				return 0
			}
			return c * math.Abs(a)
		})
	}
	switch p := e.Prim.(type) {
	case op.Add, op.Sub, op.Mul, op.Div, op.Sqrt:
		return scaled(v, roundedUnits*u), nil
	case op.Exp, op.Log, op.Log1p, op.Tanh, op.Sigmoid, op.Sin, op.Cos, op.Erf:
		return scaled(v, transcendentalUnit*u), nil
	case op.IntPow:
		n := p.N
		if n < 0 {
			n = -n
		}
		if n <= 1 && p.N >= 0 {
			return nil, nil // x⁰ = 1 and x¹ = x are exact
		}
		return scaled(v, float64(n+1)*u), nil
	case op.Constant:
		if dt == tensor.Float64 {
			return nil, nil
		}
		return scaled(v, u), nil
	case op.Basis:
		return nil, nil // zeros and ones: exact
	case op.Convert:
		if q := e32.Prim.(op.Convert); q.To == tensor.Float32 && q.From == tensor.Float64 {
			return scaled(v, u), nil
		}
		return nil, nil
	case op.MatMul:
		k := in[0].Shape()[in[0].Rank()-1]
		s, err := p.Eval([]*tensor.Tensor{abs(in[0]), abs(in[1])})
		if err != nil {
			return nil, err
		}
		return s.Scale(float64(k) * u), nil
	case op.ReduceSum:
		k := 1
		for _, a := range p.Axes {
			k *= in[0].Shape()[a]
		}
		if k <= 1 {
			return nil, nil
		}
		s, err := p.Eval([]*tensor.Tensor{abs(in[0])})
		if err != nil {
			return nil, err
		}
		return s.Scale(float64(k) * u), nil
	case op.Neg, op.Compare, op.Select, op.Transpose, op.Reshape, op.Broadcast, op.Slice, op.Pad, op.Concat:
		return nil, nil
	}
	return nil, fmt.Errorf("no rounding model for %s", e.Prim.Name())
}

// CompareBound checks every element of got (float32) against want
// (float64) within twice the bound.
func CompareBound(t testing.TB, what string, got, want, bound *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	g, w, b := got.Float64s(), want.Float64s(), bound.Data()
	bad := 0
	for i := range g {
		if d := math.Abs(g[i] - w[i]); !(d <= 2*b[i]) {
			if bad < 5 {
				t.Errorf("%s: element %d: float32 %.9g, float64 %.17g: error %.3g, bound %.3g", what, i, g[i], w[i], d, 2*b[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d elements in all out of bounds", what, bad)
	}
}

// Float32Report is how close a float32 check came to its bounds: the
// largest error over bound seen (for tests that show the bounds are not
// loose).
type Float32Report struct{ MaxRatio float64 }

// CheckFloat32 checks c's program computed in float32 — the program
// itself, its JVP, its VJP, the JVP of the VJP of a weighted sum of its
// output (second derivatives) and its collapsed Taylor program in the first
// input — against the same derivatives of the float64 program at the same
// inputs (drawn in float32), each output element within twice the
// first-order bound of its float32 rounding errors (see ErrorBound).
func CheckFloat32(t *testing.T, c ProgCase, rng *rand.Rand) Float32Report {
	t.Helper()
	p64 := Valid(t, "program", c.Program(t), nil)
	p32 := Must(t, "float32 program")(Retype(p64, tensor.Float32))
	return CheckLowPrecision(t, p32, c.Sample(t, rng), rng)
}

// CheckLowPrecision is CheckFloat32 for a program p whose values are
// float32 or float64 (a program that converts between them), at inputs xs
// (rounded to p's input dtypes), against the same program all in float64.
func CheckLowPrecision(t *testing.T, p *ir.Program, xs []*tensor.Tensor, rng *rand.Rand) Float32Report {
	t.Helper()
	p32 := Valid(t, "program", p, nil)
	p64 := Must(t, "float64 program")(Retype(p32, tensor.Float64))
	var rep Float32Report
	// Values exactly representable in the program's dtypes, as float64
	// (the reference's) and in those dtypes.
	pair := func(x *tensor.Tensor, dt tensor.DType) (*tensor.Tensor, *tensor.Tensor) {
		v := x.Convert(dt)
		return v, v.Convert(tensor.Float64)
	}
	xs32 := make([]*tensor.Tensor, len(xs))
	xs64 := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		xs32[i], xs64[i] = pair(x, p32.In[i].DType)
	}
	all := allTrue(len(p64.In))
	type derived struct {
		name        string
		d64, d32    *ir.Program
		args64, a32 []*tensor.Tensor
	}
	var ds []derived
	ds = append(ds, derived{"value", p64, p32, xs64, xs32})

	jp64 := Must(t, "jvp")(transform.JVP(p64, all))
	jp32 := Must(t, "low-precision jvp")(transform.JVP(p32, all))
	a64, a32 := append([]*tensor.Tensor{}, xs64...), append([]*tensor.Tensor{}, xs32...)
	for _, v := range p32.In {
		t32, t64 := pair(Vec(rng, v.Shape), v.DType)
		a64, a32 = append(a64, t64), append(a32, t32)
	}
	ds = append(ds, derived{"jvp", jp64, jp32, a64, a32})

	y := p32.Out[0]
	vp64 := Must(t, "vjp")(transform.VJP(p64, all))
	vp32 := Must(t, "low-precision vjp")(transform.VJP(p32, all))
	u32, u64 := pair(Vec(rng, y.Shape), y.DType)
	ds = append(ds, derived{"vjp", vp64, vp32, append(append([]*tensor.Tensor{}, xs64...), u64), append(append([]*tensor.Tensor{}, xs32...), u32)})

	// Second derivatives: the JVP of the VJP of Σ w ⊙ p(x).
	w32, w64 := pair(Vec(rng, y.Shape), y.DType)
	hv := func(p *ir.Program, w *tensor.Tensor) *ir.Program {
		gb := ir.NewBuilder(nil)
		gin := make([]*ir.Var, len(p.In))
		for i, v := range p.In {
			gin[i] = gb.InputLike(v)
		}
		gy := gb.Inline(p, gin)[0]
		axes := make([]int, gy.Rank())
		for i := range axes {
			axes[i] = i
		}
		g := Must(t, "weighted sum")(gb.Build(gb.Emit(op.ReduceSum{Axes: axes}, gb.Emit(op.Mul{}, gy, op.Const(gb, w)))))
		gv := Must(t, "vjp of weighted sum")(transform.VJP(g, allTrue(len(g.In))))
		return Must(t, "jvp of vjp")(transform.JVP(gv, append(allTrue(len(g.In)), false)))
	}
	h64, h32 := hv(p64, w64), hv(p32, w32)
	one32, one64 := pair(tensor.Scalar(1), y.DType)
	ha64 := append(append([]*tensor.Tensor{}, xs64...), one64)
	ha32 := append(append([]*tensor.Tensor{}, xs32...), one32)
	for _, v := range p32.In {
		t32, t64 := pair(Vec(rng, v.Shape), v.DType)
		ha64, ha32 = append(ha64, t64), append(ha32, t32)
	}
	ds = append(ds, derived{"jvp of vjp", h64, h32, ha64, ha32})

	// Collapsed Taylor mode in the first input, 2 directions.
	const k = 2
	if x := p32.In[0]; y.Size() > 0 && x.Size() > 0 {
		ww := []float64{0.75, -1.25}
		tp64 := Must(t, "taylor")(transform.Taylor(p64, k, ww))
		tp32 := Must(t, "low-precision taylor")(transform.Taylor(p32, k, ww))
		V32, V64 := pair(Vec(rng, append([]int{k}, x.Shape...)), x.DType)
		X32, X64 := pair(Vec(rng, x.Shape), x.DType)
		ds = append(ds, derived{"taylor", tp64, tp32,
			append(append([]*tensor.Tensor{}, xs64...), V64, X64), append(append([]*tensor.Tensor{}, xs32...), V32, X32)})
	}

	for _, d := range ds {
		got := Run(t, d.d32, d.a32...)
		want := Run(t, d.d64, d.args64...)
		// The bound follows the low-precision program equation by
		// equation, in float64 (its rules may add conversions that the
		// float64 program's do not need).
		same := Must(t, d.name+" in float64")(Retype(d.d32, tensor.Float64))
		bounds := ErrorBound(t, same, d.d32, d.args64)
		for i := range want {
			if got[i].DType() != d.d32.Out[i].DType {
				t.Errorf("%s: output %d is %v, the program says %v", d.name, i, got[i].DType(), d.d32.Out[i].DType)
			}
			CompareBound(t, fmt.Sprintf("%s output %d", d.name, i), got[i], want[i], bounds[i])
			g, w, b := got[i].Float64s(), want[i].Data(), bounds[i].Data()
			for j := range g {
				if b[j] > 0 {
					rep.MaxRatio = math.Max(rep.MaxRatio, math.Abs(g[j]-w[j])/b[j])
				}
			}
		}
	}
	return rep
}
