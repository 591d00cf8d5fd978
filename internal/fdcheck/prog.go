package fdcheck

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// ProgCase is a program of one output built with an ir.Builder.
type ProgCase struct {
	Name string
	// Build emits the program's equations on its inputs (of Shapes).
	Build  func(b *ir.Builder, in []*ir.Var) *ir.Var
	Shapes [][]int
	// Domains gives each input's domain (missing: the zero Domain).
	Domains []Domain
	// Accept, when set, must hold for the inputs drawn.
	Accept func(in [][]float64) bool
	// Ref, when set, computes the output independently (plain Go).
	Ref func(in [][]float64) []float64
}

// Program builds c's program.
func (c ProgCase) Program(t testing.TB) *ir.Program {
	t.Helper()
	b := ir.NewBuilder(nil)
	in := make([]*ir.Var, len(c.Shapes))
	for i, s := range c.Shapes {
		in[i] = b.Input(s)
	}
	p, err := b.Build(c.Build(b, in))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return p
}

// Sample draws c's inputs.
func (c ProgCase) Sample(t testing.TB, rng *rand.Rand) []*tensor.Tensor {
	t.Helper()
	for try := 0; try < 1000; try++ {
		xs := make([]*tensor.Tensor, len(c.Shapes))
		data := make([][]float64, len(c.Shapes))
		for i, s := range c.Shapes {
			var d Domain
			if i < len(c.Domains) {
				d = c.Domains[i]
			}
			xs[i] = d.Sample(rng, s)
			data[i] = xs[i].Data()
		}
		if c.Accept == nil || c.Accept(data) {
			return xs
		}
	}
	t.Fatalf("%s: no acceptable random inputs in 1000 draws", c.Name)
	return nil
}

// plans caches compiled programs: fd runs one program many times.
var plans = struct {
	sync.Mutex
	m map[*ir.Program]*exec.Plan
}{m: map[*ir.Program]*exec.Plan{}}

// Run runs p and fails the test on error. Outputs are copied (a program's
// output may share its input's storage).
func Run(t testing.TB, p *ir.Program, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	plans.Lock()
	pl, ok := plans.m[p]
	plans.Unlock()
	if !ok {
		var err error
		if pl, err = exec.Compile(p); err != nil {
			t.Fatalf("compile: %v\n%v", err, p)
		}
		plans.Lock()
		if len(plans.m) > 64 {
			plans.m = map[*ir.Program]*exec.Plan{}
		}
		plans.m[p] = pl
		plans.Unlock()
	}
	out, err := pl.Run(in)
	if err != nil {
		t.Fatalf("run: %v\n%v", err, p)
	}
	for i, o := range out {
		out[i] = o.Clone()
	}
	return out
}

// Valid fails the test when p does not validate.
func Valid(t testing.TB, what string, p *ir.Program, err error) *ir.Program {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("%s: invalid program: %v\n%v", what, err, p)
	}
	return p
}

// Must returns a function that fails the test when a transform returns an
// error or an invalid program, and otherwise passes the program on.
func Must(t testing.TB, what string) func(*ir.Program, error) *ir.Program {
	return func(p *ir.Program, err error) *ir.Program {
		t.Helper()
		return Valid(t, what, p, err)
	}
}

// flatten concatenates the data of ts.
func flatten(ts []*tensor.Tensor) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Data()...)
	}
	return out
}

// split cuts flat data into tensors of the given shapes (copies).
func split(x []float64, shapes [][]int) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(shapes))
	off := 0
	for i, s := range shapes {
		n := tensor.Size(s)
		out[i] = tensor.MustNew(s, append([]float64{}, x[off:off+n]...))
		off += n
	}
	return out
}

func shapesOf(vs []*ir.Var) [][]int {
	s := make([][]int, len(vs))
	for i, v := range vs {
		s[i] = v.Shape
	}
	return s
}

func allTrue(n int) []bool {
	f := make([]bool, n)
	for i := range f {
		f[i] = true
	}
	return f
}

// CheckProgram checks, for c's program p at random inputs: values against
// Ref; the Jacobian by transform.JVP and by transform.VJP against
// fd.Jacobian; <u, J v> = <Jᵀ u, v>; the Hessian of a random weighting of
// the output by JVP∘VJP against fd.Hessian and against fd.Jacobian of the
// gradient; Vmap against a loop (every input batched, and each input alone
// batched); Unbatch of the Vmap against p; Simplify of every derived
// program against the unsimplified one; Validate on every program.
func CheckProgram(t *testing.T, c ProgCase, rng *rand.Rand) {
	t.Helper()
	p := Valid(t, "program", c.Program(t), nil)
	xs := c.Sample(t, rng)
	shapes := shapesOf(p.In)
	outShape := p.Out[0].Shape
	y := Run(t, p, xs...)[0]
	if !sameInts(y.Shape(), outShape) {
		t.Fatalf("output shape %v, program says %v", y.Shape(), outShape)
	}
	if c.Ref != nil {
		in := make([][]float64, len(xs))
		for i, x := range xs {
			in[i] = x.Data()
		}
		Compare(t, "value against the reference", y.Data(), c.Ref(in), outShape, Tol{Rel: 1e-12, Abs: 1e-14})
	}
	x := flatten(xs)
	n, m := len(x), y.Len()
	eval := func(xv []float64) []float64 { return Run(t, p, split(xv, shapes)...)[0].Data() }
	fdJ := FDJacobian(eval, x, m)
	jshape := []int{m, n}

	// Forward mode: column k of J from the tangent e_k.
	jp := Must(t, "jvp")(transform.JVP(p, allTrue(len(p.In))))
	jcols := make([]float64, m*n)
	e := make([]float64, n)
	for k := 0; k < n; k++ {
		e[k] = 1
		out := Run(t, jp, append(append([]*tensor.Tensor{}, xs...), split(e, shapes)...)...)
		e[k] = 0
		if k == 0 {
			Compare(t, "jvp primal output", out[0].Data(), y.Data(), outShape, Tight)
		}
		for i, v := range out[1].Data() {
			jcols[i*n+k] = v
		}
	}
	Compare(t, "jacobian by transform.JVP against fd.Jacobian", jcols, fdJ, jshape, First)

	// Reverse mode: row i of J from the cotangent e_i.
	vp := Must(t, "vjp")(transform.VJP(p, allTrue(len(p.In))))
	jrows := make([]float64, 0, m*n)
	ct := make([]float64, m)
	for i := 0; i < m; i++ {
		ct[i] = 1
		out := Run(t, vp, append(append([]*tensor.Tensor{}, xs...), tensor.MustNew(outShape, append([]float64{}, ct...)))...)
		ct[i] = 0
		if i == 0 {
			Compare(t, "vjp primal output", out[0].Data(), y.Data(), outShape, Tight)
		}
		jrows = append(jrows, flatten(out[1:])...)
	}
	Compare(t, "jacobian by transform.VJP against fd.Jacobian", jrows, fdJ, jshape, First)
	Compare(t, "jacobian by transform.VJP against transform.JVP", jrows, jcols, jshape, Tight)

	// <u, J v> = <Jᵀ u, v> for random u, v.
	u, v := Vec(rng, outShape), Vec(rng, []int{n})
	jv := Run(t, jp, append(append([]*tensor.Tensor{}, xs...), split(v.Data(), shapes)...)...)[1]
	vj := Run(t, vp, append(append([]*tensor.Tensor{}, xs...), u)...)[1:]
	a, s1 := Dot(u.Data(), jv.Data())
	b, s2 := Dot(flatten(vj), v.Data())
	if !(Tol{Rel: 1e-10, Abs: 1e-12 * (s1 + s2)}).Close(a, b) {
		t.Errorf("<u, J v> = %.15g by transform.JVP but <Jᵀ u, v> = %.15g by transform.VJP", a, b)
	}

	// Second derivatives of g = Σ w ⊙ p(x): H by JVP of VJP.
	w := Vec(rng, outShape)
	gb := ir.NewBuilder(nil)
	gin := make([]*ir.Var, len(shapes))
	for i, s := range shapes {
		gin[i] = gb.Input(s)
	}
	gy := gb.Inline(p, gin)[0]
	axes := make([]int, len(outShape))
	for i := range axes {
		axes[i] = i
	}
	gs := gb.Emit(op.ReduceSum{Axes: axes}, gb.Emit(op.Mul{}, gy, op.Const(gb, w)))
	g := Must(t, "weighted sum")(gb.Build(gs))
	gv := Must(t, "vjp of weighted sum")(transform.VJP(g, allTrue(len(g.In))))
	wrt := append(allTrue(len(g.In)), false)
	hv := Must(t, "jvp of vjp")(transform.JVP(gv, wrt))
	one := tensor.Scalar(1)
	K := len(g.In)
	hcols := make([]float64, n*n)
	for k := 0; k < n; k++ {
		e[k] = 1
		args := append(append(append([]*tensor.Tensor{}, xs...), one), split(e, shapes)...)
		out := Run(t, hv, args...)
		e[k] = 0
		// outputs: g, grads (K), tangent of g, tangents of grads (K).
		for i, val := range flatten(out[K+2 : 2*K+2]) {
			hcols[i*n+k] = val
		}
	}
	geval := func(xv []float64) float64 { return Run(t, g, split(xv, shapes)...)[0].Data()[0] }
	fdH := FDHessian(geval, x)
	Compare(t, "hessian by transform.JVP∘VJP against fd.Hessian", hcols, fdH, []int{n, n}, Second)
	grad := func(xv []float64) []float64 {
		out := Run(t, gv, append(split(xv, shapes), one)...)
		return flatten(out[1:])
	}
	fdJG := FDJacobian(grad, x, n)
	Compare(t, "hessian by transform.JVP∘VJP against fd.Jacobian of the gradient", hcols, fdJG, []int{n, n}, Tol{Rel: 1e-6, Abs: 1e-7})

	// Collapsed second-order Taylor mode in the first input.
	CheckTaylor(t, p, xs, jcols, rng)

	// Simplify keeps every program's results.
	for _, pr := range []struct {
		name string
		p    *ir.Program
		args []*tensor.Tensor
	}{
		{"program", p, xs},
		{"jvp", jp, append(append([]*tensor.Tensor{}, xs...), split(v.Data(), shapes)...)},
		{"vjp", vp, append(append([]*tensor.Tensor{}, xs...), u)},
		{"jvp of vjp", hv, append(append(append([]*tensor.Tensor{}, xs...), one), split(v.Data(), shapes)...)},
	} {
		CheckSimplify(t, pr.name, pr.p, pr.args)
		CheckEval(t, pr.name, pr.p, pr.args)
	}

	// Vmap against a loop, and Unbatch of the Vmap against the original.
	CheckVmap(t, "program", p, allTrue(len(p.In)), func() []*tensor.Tensor { return c.Sample(t, rng) })
	if len(p.In) > 1 {
		for i := range p.In {
			flags := make([]bool, len(p.In))
			flags[i] = true
			CheckVmap(t, "program", p, flags, func() []*tensor.Tensor { return c.Sample(t, rng) })
		}
	}
	CheckVmap(t, "jvp", jp, allTrue(len(jp.In)), func() []*tensor.Tensor {
		return append(c.Sample(t, rng), split(Vec(rng, []int{n}).Data(), shapes)...)
	})
	tanOnly := make([]bool, len(jp.In))
	for i := len(p.In); i < len(jp.In); i++ {
		tanOnly[i] = true
	}
	CheckVmap(t, "jvp", jp, tanOnly, func() []*tensor.Tensor {
		return append(c.Sample(t, rng), split(Vec(rng, []int{n}).Data(), shapes)...)
	})
	ctOnly := make([]bool, len(vp.In))
	ctOnly[len(ctOnly)-1] = true
	CheckVmap(t, "vjp", vp, ctOnly, func() []*tensor.Tensor { return append(c.Sample(t, rng), Vec(rng, outShape)) })
}

// FDSecondDirectional returns d²/dt² f(x + t·v) at t = 0 for every output
// of f, by fd.Derivative with the Central2nd formula at steps h and h/2
// combined by Richardson extrapolation.
func FDSecondDirectional(f func([]float64) []float64, x, v []float64, m int) []float64 {
	out := make([]float64, m)
	for i := 0; i < m; i++ {
		g := func(s float64) float64 {
			xv := make([]float64, len(x))
			for j := range x {
				xv[j] = x[j] + s*v[j]
			}
			return f(xv)[i]
		}
		const h = 2e-3
		coarse := fd.Derivative(g, 0, &fd.Settings{Formula: fd.Central2nd, Step: h})
		fine := fd.Derivative(g, 0, &fd.Settings{Formula: fd.Central2nd, Step: h / 2})
		out[i] = (4*fine - coarse) / 3
	}
	return out
}

// CheckTaylor checks transform.Taylor of p (one output) in its first input
// along random directions V with random weights w and a random
// second-order input X2: the first-order outputs against J·V_k (jac, the
// m×n Jacobian over all inputs flattened, already checked against fd) and
// every second-order output against Σ_k w_k d²/dt² y(x + t·V_k), by
// fd.Derivative, plus J·X2.
func CheckTaylor(t *testing.T, p *ir.Program, xs []*tensor.Tensor, jac []float64, rng *rand.Rand) {
	t.Helper()
	const k = 3
	shapes := shapesOf(p.In)
	outShape := p.Out[0].Shape
	n0 := tensor.Size(shapes[0])
	n := len(jac) / max(tensor.Size(outShape), 1)
	m := tensor.Size(outShape)
	if m == 0 || n0 == 0 {
		return
	}
	V := Vec(rng, append([]int{k}, shapes[0]...))
	X2 := Vec(rng, shapes[0])
	for _, w := range [][]float64{nil, Vec(rng, []int{k}).Data()} {
		tp := Must(t, "taylor")(transform.Taylor(p, k, w))
		args := append(append([]*tensor.Tensor{}, xs...), V, X2)
		out := Run(t, tp, args...)
		CheckSimplify(t, "taylor", tp, args)
		CheckEval(t, "taylor", tp, args)
		if len(out) != 3 {
			t.Fatalf("taylor: %d outputs, want 3", len(out))
		}
		// J·V_k from the Jacobian's first-input block.
		c1 := make([]float64, 0, k*m)
		for d := 0; d < k; d++ {
			vk := V.Data()[d*n0 : (d+1)*n0]
			for i := 0; i < m; i++ {
				s := 0.0
				for j := 0; j < n0; j++ {
					s += jac[i*n+j] * vk[j]
				}
				c1 = append(c1, s)
			}
		}
		Compare(t, "taylor first-order coefficients against J·V", out[1].Data(), c1, append([]int{k}, outShape...), Tol{Rel: 1e-9, Abs: 1e-11})
		eval := func(x0 []float64) []float64 {
			a := append([]*tensor.Tensor{tensor.MustNew(shapes[0], append([]float64{}, x0...))}, xs[1:]...)
			return Run(t, p, a...)[0].Data()
		}
		c2 := make([]float64, m)
		for i := 0; i < m; i++ {
			for j := 0; j < n0; j++ {
				c2[i] += jac[i*n+j] * X2.Data()[j]
			}
		}
		for d := 0; d < k; d++ {
			wd := 1.0
			if w != nil {
				wd = w[d]
			}
			sd := FDSecondDirectional(eval, xs[0].Data(), V.Data()[d*n0:(d+1)*n0], m)
			for i := range c2 {
				c2[i] += wd * sd[i]
			}
		}
		Compare(t, "taylor second-order coefficients against fd.Derivative", out[2].Data(), c2, outShape, Second)
	}
}

// CheckSimplify checks that transform.Simplify(p) validates, has no more
// FLOPs than p by the cost model, and gives p's outputs on args.
func CheckSimplify(t *testing.T, name string, p *ir.Program, args []*tensor.Tensor) *ir.Program {
	t.Helper()
	s := Must(t, "simplify of "+name)(transform.Simplify(p))
	if len(s.In) != len(p.In) || len(s.Out) != len(p.Out) {
		t.Fatalf("simplify of %s: %d inputs and %d outputs, want %d and %d", name, len(s.In), len(s.Out), len(p.In), len(p.Out))
	}
	if cs, cp := transform.CostOf(s).FLOPs, transform.CostOf(p).FLOPs; cs > cp {
		t.Errorf("simplify of %s: %g FLOPs, more than the original's %g", name, cs, cp)
	}
	want := Run(t, p, args...)
	got := Run(t, s, args...)
	for i := range want {
		if !sameInts(got[i].Shape(), want[i].Shape()) {
			t.Errorf("simplify of %s: output %d has shape %v, want %v", name, i, got[i].Shape(), want[i].Shape())
			continue
		}
		Compare(t, "simplify of "+name, got[i].Data(), want[i].Data(), want[i].Shape(), Tight)
	}
	return s
}

// Interpret evaluates p equation by equation with the primitives' own Eval
// methods (what constant folding uses), independently of package exec.
func Interpret(p *ir.Program, args []*tensor.Tensor) ([]*tensor.Tensor, error) {
	env := map[*ir.Var]*tensor.Tensor{}
	for i, v := range p.In {
		env[v] = args[i]
	}
	for _, e := range p.Eqns {
		in := make([]*tensor.Tensor, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		ev, ok := e.Prim.(op.Evaluator)
		if !ok {
			return nil, fmt.Errorf("%s has no Eval", e.Prim.Name())
		}
		out, err := ev.Eval(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Prim.Name(), err)
		}
		if !sameInts(out.Shape(), e.Out.Shape) {
			return nil, fmt.Errorf("%s: Eval gives shape %v, the shape rule %v", e.Prim.Name(), out.Shape(), e.Out.Shape)
		}
		env[e.Out] = out
	}
	outs := make([]*tensor.Tensor, len(p.Out))
	for i, v := range p.Out {
		outs[i] = env[v]
	}
	return outs, nil
}

// CheckEval checks that exec.Run and the primitives' Eval methods agree on p.
func CheckEval(t *testing.T, name string, p *ir.Program, args []*tensor.Tensor) {
	t.Helper()
	want, err := Interpret(p, args)
	if err != nil {
		t.Fatalf("interpret %s: %v", name, err)
	}
	got := Run(t, p, args...)
	for i := range want {
		if !sameInts(got[i].Shape(), want[i].Shape()) {
			t.Errorf("%s: exec gives output %d shape %v, Eval %v", name, i, got[i].Shape(), want[i].Shape())
			continue
		}
		Compare(t, name+": exec.Run against the primitives' Eval", got[i].Data(), want[i].Data(), want[i].Shape(), Tight)
	}
}

// CheckVmap checks transform.Vmap(p, flags, 3) (and, for name "program",
// also with a batch of one) against running p on each
// entry (inputs drawn by sample; unbatched ones shared), then that
// transform.Unbatch of the batched program recovers a program equal to p.
func CheckVmap(t *testing.T, name string, p *ir.Program, flags []bool, sample func() []*tensor.Tensor) {
	t.Helper()
	checkVmapN(t, name, p, flags, sample, 3)
	if name == "program" {
		// A batch of one: size-1 axes must not confuse the rules.
		checkVmapN(t, name, p, flags, sample, 1)
	}
}

func checkVmapN(t *testing.T, name string, p *ir.Program, flags []bool, sample func() []*tensor.Tensor, nb int) {
	t.Helper()
	vm := Must(t, "vmap of "+name)(transform.Vmap(p, flags, nb))
	per := make([][]*tensor.Tensor, nb)
	for j := range per {
		per[j] = sample()
	}
	// Shared inputs take entry 0's value.
	for j := 1; j < nb; j++ {
		for i, f := range flags {
			if !f {
				per[j][i] = per[0][i]
			}
		}
	}
	args := make([]*tensor.Tensor, len(p.In))
	for i, f := range flags {
		if f {
			col := make([]*tensor.Tensor, nb)
			for j := range col {
				col[j] = per[j][i]
			}
			args[i] = Stack(col)
		} else {
			args[i] = per[0][i]
		}
	}
	CheckEval(t, "vmap of "+name, vm, args)
	got := Run(t, vm, args...)
	wants := make([][]*tensor.Tensor, nb)
	for j := range wants {
		wants[j] = Run(t, p, per[j]...)
	}
	for o := range p.Out {
		col := make([]*tensor.Tensor, nb)
		for j := range col {
			col[j] = wants[j][o]
		}
		want := Stack(col)
		if !sameInts(got[o].Shape(), want.Shape()) {
			t.Errorf("vmap of %s (batched %v): output %d has shape %v, want %v", name, flags, o, got[o].Shape(), want.Shape())
			continue
		}
		Compare(t, "vmap of "+name+" against a loop", got[o].Data(), want.Data(), want.Shape(), Tight)
	}

	axes := make([]int, len(flags))
	for i, f := range flags {
		axes[i] = -1
		if f {
			axes[i] = 0
		}
	}
	ub, outAxes, err := transform.Unbatch(vm, axes)
	Valid(t, "unbatch of vmap of "+name, ub, err)
	if !sameShapeLists(shapesOf(ub.In), shapesOf(p.In)) {
		t.Fatalf("unbatch of vmap of %s: input shapes %v, want %v", name, shapesOf(ub.In), shapesOf(p.In))
	}
	// Recovered, not merely equivalent: once simplified, the per-sample
	// program does no more than the original's work (transposes and
	// broadcasts aside).
	sub := Must(t, "simplify of unbatch of vmap of "+name)(transform.Simplify(ub))
	sp := Must(t, "simplify of "+name)(transform.Simplify(p))
	if a, b := transform.CostOf(sub).FLOPs, transform.CostOf(sp).FLOPs; a > b {
		t.Errorf("unbatch of vmap of %s (batched %v): %g FLOPs once simplified, the original %g\n%v\n%v", name, flags, a, b, sub, sp)
	}
	got = Run(t, ub, per[nb-1]...)
	for o := range p.Out {
		if outAxes[o] != 0 && outAxes[o] != -1 {
			t.Errorf("unbatch of vmap of %s: output %d has batch axis %d, want 0 (or -1)", name, o, outAxes[o])
			continue
		}
		if !sameInts(got[o].Shape(), wants[nb-1][o].Shape()) {
			t.Errorf("unbatch of vmap of %s: output %d has shape %v, want %v", name, o, got[o].Shape(), wants[nb-1][o].Shape())
			continue
		}
		Compare(t, "unbatch of vmap of "+name+" against the original", got[o].Data(), wants[nb-1][o].Data(), wants[nb-1][o].Shape(), Tight)
	}
}

func sameShapeLists(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameInts(a[i], b[i]) {
			return false
		}
	}
	return true
}
