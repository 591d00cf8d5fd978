package fdcheck

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Case is a function of one input traced through jacobi's public API.
type Case struct {
	Name string
	// F maps an input of Shape to an output of any shape.
	F     jacobi.Fn
	Shape []int
	// Domain and Accept choose the random point: entries are drawn from
	// Domain and the point is redrawn until Accept (when set) holds.
	Domain Domain
	Accept func(x []float64) bool
	// Ref, when set, computes F's values independently (plain Go).
	Ref func(x []float64) []float64
	// RefTol is the tolerance for Ref (default Tol{1e-12, 1e-14}).
	RefTol Tol
	// NoVmap skips the Vmap and per-sample (Batch*) checks.
	NoVmap bool
}

// SamplePoint draws an input for c.
func (c Case) SamplePoint(t testing.TB, rng *rand.Rand) *tensor.Tensor {
	t.Helper()
	for try := 0; try < 1000; try++ {
		x := c.Domain.Sample(rng, c.Shape)
		if c.Accept == nil || c.Accept(x.Data()) {
			return x
		}
	}
	t.Fatalf("%s: no acceptable random point in 1000 draws", c.Name)
	return nil
}

// evaluator traces f once and returns a function computing its values on
// flat inputs of the given shape (a copy, safe to keep).
func evaluator(t testing.TB, f jacobi.Fn, shape []int) func(x []float64) []float64 {
	t.Helper()
	tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0])} }, [][]int{shape})
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	return func(x []float64) []float64 {
		xt := tensor.MustNew(shape, append([]float64{}, x...))
		out, err := tr.Run(xt)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return append([]float64{}, out[0].Data()...)
	}
}

// FDJacobian returns the central-difference Jacobian (m×n, flat) of f at x.
func FDJacobian(f func([]float64) []float64, x []float64, m int) []float64 {
	dst := mat.NewDense(m, len(x), nil)
	fd.Jacobian(dst, func(y, xv []float64) { copy(y, f(xv)) }, append([]float64{}, x...), &fd.JacobianSettings{Formula: fd.Central})
	return dst.RawMatrix().Data
}

// FDHessian returns the Hessian (n×n, flat) of the scalar function f at x
// by fd.Hessian with the central formula, at steps h and h/2 combined by
// Richardson extrapolation, (4·H(h/2) - H(h))/3, which cancels the h² term
// of the central formula's error (large for functions like x⁻³ whose
// fourth derivative is large).
func FDHessian(f func([]float64) float64, x []float64) []float64 {
	n := len(x)
	const h = 4e-3
	hess := func(step float64) *mat.SymDense {
		dst := mat.NewSymDense(n, nil)
		fd.Hessian(dst, f, append([]float64{}, x...), &fd.Settings{Formula: fd.Central, Step: step})
		return dst
	}
	coarse, fine := hess(h), hess(h/2)
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out[i*n+j] = (4*fine.At(i, j) - coarse.At(i, j)) / 3
		}
	}
	return out
}

// CheckFn checks c's first and second derivatives against finite
// differences at a random point, JVP against VJP, the three Jacobian modes
// against each other, and Vmap and the per-sample derivatives against loops.
func CheckFn(t *testing.T, c Case, rng *rand.Rand) {
	t.Helper()
	x := c.SamplePoint(t, rng)
	f := c.F
	eval := evaluator(t, f, c.Shape)
	y0, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	outShape := y0.Shape()
	y := eval(x.Data())
	Compare(t, "traced value against Eval", y, y0.Data(), outShape, Tight)
	if c.Ref != nil {
		tol := c.RefTol
		if tol == (Tol{}) {
			tol = Tol{Rel: 1e-12, Abs: 1e-14}
		}
		Compare(t, "value against the reference", y, c.Ref(x.Data()), outShape, tol)
	}
	n, m := x.Len(), len(y)
	jshape := concatShapes(outShape, c.Shape)

	// First derivatives: every mode against central differences.
	fdJ := FDJacobian(eval, x.Data(), m)
	var jf *tensor.Tensor
	for _, mode := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse, jacobi.ModeAuto} {
		j, err := jacobi.Jacobian(f, x, jacobi.WithMode(mode))
		if err != nil {
			t.Fatalf("jacobian (%v): %v", mode, err)
		}
		if !sameInts(j.Shape(), jshape) {
			t.Fatalf("jacobian (%v) has shape %v, want %v", mode, j.Shape(), jshape)
		}
		Compare(t, "jacobian ("+mode.String()+") against fd.Jacobian", j.Data(), fdJ, jshape, First)
		if mode == jacobi.ModeForward {
			jf = j
		} else {
			Compare(t, "jacobian ("+mode.String()+") against forward mode", j.Data(), jf.Data(), jshape, Tight)
		}
	}

	// JVP and VJP: <u, J v> = <Jᵀ u, v>, and J v against the Jacobian.
	v, u := Vec(rng, c.Shape), Vec(rng, outShape)
	yj, jv, err := jacobi.JVP(f, x, v)
	if err != nil {
		t.Fatalf("jvp: %v", err)
	}
	yv, vj, err := jacobi.VJP(f, x, u)
	if err != nil {
		t.Fatalf("vjp: %v", err)
	}
	Compare(t, "jvp primal output", yj.Data(), y, outShape, Tight)
	Compare(t, "vjp primal output", yv.Data(), y, outShape, Tight)
	if !sameInts(jv.Shape(), outShape) || !sameInts(vj.Shape(), c.Shape) {
		t.Fatalf("jvp shape %v (want %v), vjp shape %v (want %v)", jv.Shape(), outShape, vj.Shape(), c.Shape)
	}
	ujv, s1 := Dot(u.Data(), jv.Data())
	vjv, s2 := Dot(vj.Data(), v.Data())
	if !(Tol{Rel: 1e-10, Abs: 1e-12 * (s1 + s2)}).Close(ujv, vjv) {
		t.Errorf("<u, J v> = %.15g but <Jᵀ u, v> = %.15g", ujv, vjv)
	}
	want := make([]float64, m)
	for i := 0; i < m; i++ {
		for k := 0; k < n; k++ {
			want[i] += fdJ[i*n+k] * v.Data()[k]
		}
	}
	Compare(t, "jvp against fd.Jacobian times v", jv.Data(), want, outShape, Tol{Rel: First.Rel, Abs: First.Abs * float64(n) * 10})

	// Second derivatives: the Hessian of a random weighting of the outputs
	// against fd.Hessian, and the Jacobian of the Jacobian against
	// fd.Jacobian of the (exact) Jacobian.
	w := Vec(rng, outShape)
	wc := jacobi.Const(w)
	g := func(x *jacobi.Node) *jacobi.Node { return f(x).Mul(wc).Sum() }
	geval := evaluator(t, g, c.Shape)
	h, err := jacobi.Hessian(g, x)
	if err != nil {
		t.Fatalf("hessian: %v", err)
	}
	hshape := concatShapes(c.Shape, c.Shape)
	if !sameInts(h.Shape(), hshape) {
		t.Fatalf("hessian has shape %v, want %v", h.Shape(), hshape)
	}
	fdH := FDHessian(func(x []float64) float64 { return geval(x)[0] }, x.Data())
	Compare(t, "hessian against fd.Hessian", h.Data(), fdH, hshape, Second)
	ht := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			ht[i*n+k] = h.Data()[k*n+i]
		}
	}
	Compare(t, "hessian against its transpose", h.Data(), ht, hshape, Tol{Rel: 1e-9, Abs: 1e-11})

	jof := func(x *jacobi.Node) *jacobi.Node { return jacobi.JacobianOf(f, x) }
	jj, err := jacobi.Jacobian(jof, x)
	if err != nil {
		t.Fatalf("jacobian of jacobian: %v", err)
	}
	jjshape := concatShapes(jshape, c.Shape)
	if !sameInts(jj.Shape(), jjshape) {
		t.Fatalf("jacobian of jacobian has shape %v, want %v", jj.Shape(), jjshape)
	}
	fdJJ := FDJacobian(evaluator(t, jof, c.Shape), x.Data(), m*n)
	Compare(t, "jacobian of jacobian against fd.Jacobian of the jacobian", jj.Data(), fdJJ, jjshape, Tol{Rel: 1e-6, Abs: 1e-7})
	hw := make([]float64, n*n)
	for i := 0; i < m; i++ {
		for k := 0; k < n*n; k++ {
			hw[k] += w.Data()[i] * jj.Data()[i*n*n+k]
		}
	}
	Compare(t, "hessian against the weighted jacobian of the jacobian", h.Data(), hw, hshape, Tol{Rel: 1e-9, Abs: 1e-10})

	gof := func(x *jacobi.Node) *jacobi.Node { return jacobi.GradOf(g, x) }
	jg, err := jacobi.Jacobian(gof, x)
	if err != nil {
		t.Fatalf("jacobian of grad: %v", err)
	}
	fdJG := FDJacobian(evaluator(t, gof, c.Shape), x.Data(), n)
	Compare(t, "jacobian of grad against fd.Jacobian of the grad", jg.Data(), fdJG, hshape, Tol{Rel: 1e-6, Abs: 1e-7})
	Compare(t, "jacobian of grad against the hessian", jg.Data(), h.Data(), hshape, Tol{Rel: 1e-9, Abs: 1e-10})

	gr, err := jacobi.Grad(g, x)
	if err != nil {
		t.Fatalf("grad: %v", err)
	}
	fdG := make([]float64, n)
	fd.Gradient(fdG, func(x []float64) float64 { return geval(x)[0] }, append([]float64{}, x.Data()...), &fd.Settings{Formula: fd.Central})
	Compare(t, "grad against fd.Gradient", gr.Data(), fdG, c.Shape, First)

	if c.NoVmap {
		return
	}
	checkVmapFn(t, c, rng, outShape)
}

// checkVmapFn checks jacobi.Vmap(F) against a loop over samples, and the
// per-sample derivatives of Vmap(F) against per-sample full derivatives.
func checkVmapFn(t *testing.T, c Case, rng *rand.Rand, outShape []int) {
	t.Helper()
	const b = 3
	xs := make([]*tensor.Tensor, b)
	var ys, js, jjs []*tensor.Tensor
	for i := range xs {
		xs[i] = c.SamplePoint(t, rng)
		y, err := jacobi.Eval(c.F, xs[i])
		if err != nil {
			t.Fatalf("eval: %v", err)
		}
		j, err := jacobi.Jacobian(c.F, xs[i])
		if err != nil {
			t.Fatalf("jacobian: %v", err)
		}
		jj, err := jacobi.Jacobian(func(x *jacobi.Node) *jacobi.Node { return jacobi.JacobianOf(c.F, x) }, xs[i])
		if err != nil {
			t.Fatalf("jacobian of jacobian: %v", err)
		}
		ys, js, jjs = append(ys, y), append(js, j), append(jjs, jj)
	}
	X := Stack(xs)
	vf := jacobi.Vmap(c.F)
	Y, err := jacobi.Eval(vf, X)
	if err != nil {
		t.Fatalf("vmap: %v", err)
	}
	want := Stack(ys)
	if !sameInts(Y.Shape(), want.Shape()) {
		t.Fatalf("vmap output shape %v, want %v", Y.Shape(), want.Shape())
	}
	Compare(t, "vmap against a loop", Y.Data(), want.Data(), want.Shape(), Tight)

	bj, err := jacobi.BatchJacobian(vf, X)
	if err != nil {
		t.Fatalf("batch jacobian: %v", err)
	}
	want = Stack(js)
	if !sameInts(bj.Shape(), want.Shape()) {
		t.Fatalf("batch jacobian shape %v, want %v", bj.Shape(), want.Shape())
	}
	Compare(t, "batch jacobian against per-sample jacobians", bj.Data(), want.Data(), want.Shape(), Tight)

	want = Stack(jjs)
	for _, m := range []jacobi.Method{jacobi.MethodAuto, jacobi.MethodNested, jacobi.MethodGram} {
		bh, err := jacobi.BatchHessian(vf, X, jacobi.WithMethod(m))
		if err != nil {
			t.Fatalf("batch hessian, method %v: %v", m, err)
		}
		if !sameInts(bh.Shape(), want.Shape()) {
			t.Fatalf("batch hessian shape %v, want %v", bh.Shape(), want.Shape())
		}
		Compare(t, fmt.Sprintf("batch hessian (method %v) against per-sample second derivatives", m), bh.Data(), want.Data(), want.Shape(), Tol{Rel: 1e-9, Abs: 1e-11})
	}

	if len(c.Shape) != 1 {
		return
	}
	n, m := c.Shape[0], tensor.Size(outShape)
	diag := make([]float64, 0, b*m*n)
	lap := make([]float64, 0, b*m)
	for _, jj := range jjs {
		d := jj.Data()
		for i := 0; i < m; i++ {
			tr := 0.0
			for k := 0; k < n; k++ {
				v := d[i*n*n+k*n+k]
				diag = append(diag, v)
				tr += v
			}
			lap = append(lap, tr)
		}
	}
	for _, m := range []jacobi.Method{jacobi.MethodAuto, jacobi.MethodTaylor, jacobi.MethodNested, jacobi.MethodGram} {
		bd, err := jacobi.BatchHessianDiag(vf, X, jacobi.WithMethod(m))
		if err != nil {
			t.Fatalf("batch hessian diagonal, method %v: %v", m, err)
		}
		Compare(t, fmt.Sprintf("batch hessian diagonal (method %v)", m), bd.Data(), diag, concatShapes(append([]int{b}, outShape...), c.Shape), Tol{Rel: 1e-9, Abs: 1e-11})
		bl, err := jacobi.BatchLaplacian(vf, X, jacobi.WithMethod(m))
		if err != nil {
			t.Fatalf("batch laplacian, method %v: %v", m, err)
		}
		Compare(t, fmt.Sprintf("batch laplacian (method %v)", m), bl.Data(), lap, append([]int{b}, outShape...), Tol{Rel: 1e-9, Abs: 1e-11})
	}
}
