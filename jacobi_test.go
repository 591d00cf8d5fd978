package jacobi_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// seedMLP is the seed case: Linear(5,2) → Sigmoid → Linear(2,10).
func seedMLP(t testing.TB) *nn.MLP {
	m, err := nn.RandomMLP(tensor.NewRand(7), []int{5, 2, 10}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// row returns sample i of x as a (1, in) batch.
func row(x *tensor.Tensor, i int) *tensor.Tensor {
	n := x.Shape()[1]
	return tensor.MustNew([]int{1, n}, append([]float64{}, x.Data()[i*n:(i+1)*n]...))
}

// fdJacobian is the finite-difference Jacobian (out, in) of f at one sample.
func fdJacobian(t *testing.T, f jacobi.Fn, xi []float64, out int) *mat.Dense {
	t.Helper()
	var ferr error
	g := func(y, x []float64) {
		v, err := jacobi.Eval(f, tensor.MustNew([]int{1, len(x)}, append([]float64{}, x...)))
		if err != nil {
			ferr = err
			return
		}
		copy(y, v.Data())
	}
	j := mat.NewDense(out, len(xi), nil)
	fd.Jacobian(j, g, xi, &fd.JacobianSettings{Formula: fd.Central})
	if ferr != nil {
		t.Fatal(ferr)
	}
	return j
}

func assertClose(t *testing.T, what string, got, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= atol+rtol*math.Abs(want[i])) {
			t.Fatalf("%s: element %d is %.12g, want %.12g (diff %.3g)", what, i, got[i], want[i], d)
		}
	}
}

func TestSeedBatchJacobian(t *testing.T) {
	m := seedMLP(t)
	x := tensor.Randn(tensor.NewRand(1), 3, 5)
	full, err := jacobi.Jacobian(m.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	if s := full.Shape(); !tensor.SameShape(s, []int{3, 10, 3, 5}) {
		t.Fatalf("full jacobian shape %v", s)
	}
	for _, mode := range []jacobi.Mode{jacobi.ModeAuto, jacobi.ModeForward, jacobi.ModeReverse} {
		t.Run(mode.String(), func(t *testing.T) {
			j, err := jacobi.BatchJacobian(m.Apply, x, jacobi.WithMode(mode))
			if err != nil {
				t.Fatal(err)
			}
			if s := j.Shape(); !tensor.SameShape(s, []int{3, 10, 5}) {
				t.Fatalf("shape %v, want [3 10 5]", s)
			}
			for i := 0; i < 3; i++ {
				// A loop over samples: the full Jacobian of one sample.
				ji, err := jacobi.Jacobian(m.Apply, row(x, i), jacobi.WithMode(mode))
				if err != nil {
					t.Fatal(err)
				}
				got := j.Data()[i*50 : (i+1)*50]
				assertClose(t, "per-sample loop", got, ji.Data(), 1e-13, 1e-15)
				// The diagonal block of the full Jacobian.
				for o := 0; o < 10; o++ {
					for k := 0; k < 5; k++ {
						want := full.At(i, o, i, k)
						if d := math.Abs(j.At(i, o, k) - want); d > 1e-14 {
							t.Fatalf("sample %d: J[%d,%d]=%g, diagonal block has %g", i, o, k, j.At(i, o, k), want)
						}
					}
				}
				// Finite differences.
				fj := fdJacobian(t, m.Apply, row(x, i).Data(), 10)
				assertClose(t, "finite differences", got, fj.RawMatrix().Data, 1e-6, 1e-9)
			}
			// Blocks between different samples are zero.
			for i := 0; i < 3; i++ {
				for k := 0; k < 3; k++ {
					if i == k {
						continue
					}
					for o := 0; o < 10; o++ {
						for c := 0; c < 5; c++ {
							if full.At(i, o, k, c) != 0 {
								t.Fatalf("cross-sample block (%d,%d) not zero", i, k)
							}
						}
					}
				}
			}
		})
	}
}

// secondOrderNets are networks with outputs wider than one.
var secondOrderNets = []struct {
	name  string
	sizes []int
	act   string
}{
	{"tanh", []int{3, 8, 8, 2}, "tanh"},
	{"sigmoid", []int{4, 6, 3}, "sigmoid"},
	{"softplus", []int{3, 5, 1}, "softplus"},
	{"sin", []int{2, 7, 2}, "sin"},
	{"gelu", []int{3, 6, 2}, "gelu"},
	{"silu", []int{3, 6, 2}, "silu"},
}

func TestBatchSecondOrder(t *testing.T) {
	for _, c := range secondOrderNets {
		t.Run(c.name, func(t *testing.T) {
			rng := tensor.NewRand(3)
			m, err := nn.RandomMLP(rng, c.sizes, c.act)
			if err != nil {
				t.Fatal(err)
			}
			b, in, out := 4, c.sizes[0], c.sizes[len(c.sizes)-1]
			x := tensor.Randn(rng, b, in)
			h, err := jacobi.BatchHessian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			if s := h.Shape(); !tensor.SameShape(s, []int{b, out, in, in}) {
				t.Fatalf("hessian shape %v", s)
			}
			// Symmetric.
			for i := 0; i < b; i++ {
				for o := 0; o < out; o++ {
					for p := 0; p < in; p++ {
						for q := 0; q < in; q++ {
							if d := math.Abs(h.At(i, o, p, q) - h.At(i, o, q, p)); d > 1e-12 {
								t.Fatalf("H[%d,%d] not symmetric at (%d,%d): %g", i, o, p, q, d)
							}
						}
					}
				}
			}
			// The Jacobian of the Jacobian, per sample, in the other order
			// (forward over forward) and by nesting the public API.
			jj, err := jacobi.BatchJacobian(func(x *jacobi.Node) *jacobi.Node {
				j := jacobi.BatchJacobianOf(m.Apply, x, jacobi.WithMode(jacobi.ModeForward))
				return j.Reshape(j.Shape()[0], out*in)
			}, x, jacobi.WithMode(jacobi.ModeForward))
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "jacobian of jacobian", jj.Data(), h.Data(), 1e-10, 1e-12)
			// Finite differences of the per-sample Jacobian.
			for i := 0; i < b; i++ {
				xi := row(x, i).Data()
				jf := func(y, z []float64) {
					j, err := jacobi.BatchJacobian(m.Apply, tensor.MustNew([]int{1, in}, append([]float64{}, z...)))
					if err != nil {
						panic(err)
					}
					copy(y, j.Data())
				}
				dj := mat.NewDense(out*in, in, nil)
				fd.Jacobian(dj, jf, xi, &fd.JacobianSettings{Formula: fd.Central})
				assertClose(t, "finite differences", h.Data()[i*out*in*in:(i+1)*out*in*in], dj.RawMatrix().Data, 1e-5, 1e-7)
			}
			diag, err := jacobi.BatchHessianDiag(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			lap, err := jacobi.BatchLaplacian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(diag.Shape(), []int{b, out, in}) || !tensor.SameShape(lap.Shape(), []int{b, out}) {
				t.Fatalf("diag %v, laplacian %v", diag.Shape(), lap.Shape())
			}
			for i := 0; i < b; i++ {
				for o := 0; o < out; o++ {
					tr := 0.0
					for p := 0; p < in; p++ {
						tr += h.At(i, o, p, p)
						if d := math.Abs(diag.At(i, o, p) - h.At(i, o, p, p)); d > 1e-12 {
							t.Fatalf("diag[%d,%d,%d]=%g, hessian has %g", i, o, p, diag.At(i, o, p), h.At(i, o, p, p))
						}
					}
					if d := math.Abs(lap.At(i, o) - tr); d > 1e-12*(1+math.Abs(tr)) {
						t.Fatalf("laplacian[%d,%d]=%g, trace is %g", i, o, lap.At(i, o), tr)
					}
				}
			}
		})
	}
}

// mixers are functions that mix samples along the batch axis.
var mixers = []struct {
	name, prim string
	f          jacobi.Fn
}{
	{"mean over batch", "reduce_sum", func(x *jacobi.Node) *jacobi.Node { return x.Sub(x.MeanKeep(0)).Tanh() }},
	{"sum over batch", "reduce_sum", func(x *jacobi.Node) *jacobi.Node { return x.Tanh().Mul(x.Sum(0)) }},
	{"batch norm (training)", "reduce_sum", func(x *jacobi.Node) *jacobi.Node {
		mu := x.MeanKeep(0)
		v := x.Sub(mu).Square().MeanKeep(0)
		return x.Sub(mu).Div(v.AddScalar(1e-5).Sqrt())
	}},
	{"reshape merging samples", "reshape", func(x *jacobi.Node) *jacobi.Node {
		return x.Reshape(-1).Tanh().Reshape(x.Shape()...)
	}},
	{"gram matrix", "matmul", func(x *jacobi.Node) *jacobi.Node { return x.MatMul(x.T()) }},
	{"first sample", "slice", func(x *jacobi.Node) *jacobi.Node { return x.Add(x.Slice(0, 0, 1)) }},
	{"rolled batch", "slice", func(x *jacobi.Node) *jacobi.Node {
		n := x.Shape()[0]
		return jacobi.Concat(0, x.Slice(0, 1, n), x.Slice(0, 0, 1))
	}},
	{"batch doubled", "concat", func(x *jacobi.Node) *jacobi.Node { return jacobi.Concat(0, x, x.Neg()).Slice(0, 0, 4) }},
}

func TestMixingIsAnError(t *testing.T) {
	x := tensor.Randn(tensor.NewRand(2), 4, 3)
	entries := []struct {
		name string
		run  func(jacobi.Fn, *tensor.Tensor) (*tensor.Tensor, error)
	}{
		{"BatchJacobian", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchJacobian(f, x) }},
		{"BatchJacobian/forward", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.ModeForward))
		}},
		{"BatchJacobian/reverse", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.ModeReverse))
		}},
		{"BatchHessian", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchHessian(f, x) }},
		{"BatchHessianDiag", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchHessianDiag(f, x) }},
		{"BatchLaplacian", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchLaplacian(f, x) }},
		{"BatchGrad", func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchGrad(func(x *jacobi.Node) *jacobi.Node { return f(x).Sum(1) }, x)
		}},
	}
	for _, m := range mixers {
		for _, e := range entries {
			t.Run(m.name+"/"+e.name, func(t *testing.T) {
				out, err := e.run(m.f, x)
				if err == nil {
					t.Fatalf("no error; got a result of shape %v", out.Shape())
				}
				msg := err.Error()
				if !strings.Contains(msg, "mixes samples along the batch axis") || !strings.Contains(msg, m.prim) || !strings.Contains(msg, "jacobi_test.go:") {
					t.Fatalf("error does not name the mixing and the %s in user code: %v", m.prim, msg)
				}
			})
		}
	}
}

// A function that is per-sample despite batch-shaped constants and
// broadcasting is accepted.
func TestPerSampleWithBroadcastsIsAccepted(t *testing.T) {
	x := tensor.Randn(tensor.NewRand(5), 4, 3)
	w := tensor.Randn(tensor.NewRand(6), 3, 3)
	f := func(x *jacobi.Node) *jacobi.Node {
		ones := jacobi.Const(tensor.Ones(4, 3)) // rows all equal: a broadcast in disguise
		y := x.MatMul(jacobi.Const(w)).Add(ones).Tanh()
		return y.Mul(x.SumKeep(1)).Add(x.T().T())
	}
	j, err := jacobi.BatchJacobian(f, x)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		fj := fdJacobian(t, func(x *jacobi.Node) *jacobi.Node {
			ones := jacobi.Const(tensor.Ones(1, 3))
			y := x.MatMul(jacobi.Const(w)).Add(ones).Tanh()
			return y.Mul(x.SumKeep(1)).Add(x)
		}, row(x, i).Data(), 3)
		assertClose(t, "finite differences", j.Data()[i*9:(i+1)*9], fj.RawMatrix().Data, 1e-6, 1e-9)
	}
}

// The physics-informed loss mean((Δu + u)²) + mean(|∇u|²) of an MLP,
// differentiated with respect to every weight and bias.
func TestPINNLossGradient(t *testing.T) {
	rng := tensor.NewRand(11)
	m, err := nn.RandomMLP(rng, []int{2, 6, 6, 1}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(rng, 5, 2)
	params := m.Params()
	loss := func(in []*jacobi.Node) *jacobi.Node {
		ps, x := in[:len(in)-1], in[len(in)-1]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x) }
		lap := jacobi.BatchLaplacianOf(u, x) // (b, 1)
		g := jacobi.BatchGradOf(u, x)        // (b, 2)
		res := lap.Add(u(x))                 // (b, 1)
		return res.Square().Mean().Add(g.Square().Sum(1).Mean())
	}
	args := append(append([]*tensor.Tensor{}, params...), x)
	val, grads, err := jacobi.ValueAndGrad(loss, args...)
	if err != nil {
		t.Fatal(err)
	}
	// Flatten the parameters for finite differences.
	var flat []float64
	for _, p := range params {
		flat = append(flat, p.Data()...)
	}
	unflat := func(v []float64) []*tensor.Tensor {
		var out []*tensor.Tensor
		off := 0
		for _, p := range params {
			n := p.Len()
			out = append(out, tensor.MustNew(p.Shape(), append([]float64{}, v[off:off+n]...)))
			off += n
		}
		return append(out, x)
	}
	tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{loss(in)} }, shapesOf(args))
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func(v []float64) float64 {
		out, err := tr.Run(unflat(v)...)
		if err != nil {
			panic(err)
		}
		return out[0].Data()[0]
	}
	if d := math.Abs(lossAt(flat) - val.Data()[0]); d > 1e-13 {
		t.Fatalf("value differs by %g", d)
	}
	want := fd.Gradient(nil, lossAt, flat, &fd.Settings{Formula: fd.Central})
	var got []float64
	for _, g := range grads[:len(params)] {
		got = append(got, g.Data()...)
	}
	assertClose(t, "loss gradient", got, want, 1e-6, 1e-8)
}

func shapesOf(ts []*tensor.Tensor) [][]int {
	s := make([][]int, len(ts))
	for i, t := range ts {
		s[i] = t.Shape()
	}
	return s
}

// Compile once, run at several batch sizes and chunkings: same numbers.
func TestCompileAnyBatch(t *testing.T) {
	m := seedMLP(t)
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{5}, jacobi.WithChunk(7))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []int{1, 3, 7, 20, 100} {
		x := tensor.Randn(tensor.NewRand(uint64(b)), b, 5)
		got, err := c.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := jacobi.BatchJacobian(m.Apply, x)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "compiled", got.Data(), want.Data(), 1e-14, 1e-16)
	}
	if _, err := c.Run(tensor.Zeros(3, 4)); err == nil {
		t.Fatal("wrong sample shape accepted")
	}
}

func TestJVPVJPGrad(t *testing.T) {
	rng := tensor.NewRand(4)
	m, err := nn.RandomMLP(rng, []int{3, 5, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(rng, 4, 3)
	v := tensor.Randn(rng, 4, 3)
	u := tensor.Randn(rng, 4, 2)
	y, jv, err := jacobi.JVP(m.Apply, x, v)
	if err != nil {
		t.Fatal(err)
	}
	y2, vj, err := jacobi.VJP(m.Apply, x, u)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "primal", y.Data(), y2.Data(), 0, 0)
	// <u, J v> == <uᵀ J, v>
	a, b := 0.0, 0.0
	for i := range u.Data() {
		a += u.Data()[i] * jv.Data()[i]
	}
	for i := range v.Data() {
		b += vj.Data()[i] * v.Data()[i]
	}
	if math.Abs(a-b) > 1e-12*(1+math.Abs(a)) {
		t.Fatalf("<u,Jv>=%g but <uJ,v>=%g", a, b)
	}
	// Grad of a scalar against finite differences; Hessian against fd.
	f := func(x *jacobi.Node) *jacobi.Node { return m.Apply(x).Tanh().Sum() }
	g, err := jacobi.Grad(f, x)
	if err != nil {
		t.Fatal(err)
	}
	h, err := jacobi.Hessian(f, x)
	if err != nil {
		t.Fatal(err)
	}
	scalar := func(z []float64) float64 {
		out, err := jacobi.Eval(f, tensor.MustNew(x.Shape(), append([]float64{}, z...)))
		if err != nil {
			panic(err)
		}
		return out.Data()[0]
	}
	assertClose(t, "grad", g.Data(), fd.Gradient(nil, scalar, x.Data(), &fd.Settings{Formula: fd.Central}), 1e-6, 1e-9)
	fh := mat.NewSymDense(12, nil)
	fd.Hessian(fh, scalar, x.Data(), &fd.Settings{Formula: fd.Central})
	want := make([]float64, 0, 144)
	for i := 0; i < 12; i++ {
		for j := 0; j < 12; j++ {
			want = append(want, fh.At(i, j))
		}
	}
	assertClose(t, "hessian", h.Data(), want, 1e-4, 1e-6)
}

// Vmap of a per-sample function equals applying it sample by sample.
func TestVmap(t *testing.T) {
	w := tensor.Randn(tensor.NewRand(8), 3, 4)
	perSample := func(x *jacobi.Node) *jacobi.Node { // x: (3)
		return x.MatMul(jacobi.Const(w)).Sin().Mul(x.Sum()) // (4)
	}
	x := tensor.Randn(tensor.NewRand(9), 6, 3)
	got, err := jacobi.Eval(jacobi.Vmap(perSample), x)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		xi := tensor.MustNew([]int{3}, append([]float64{}, x.Data()[i*3:i*3+3]...))
		want, err := jacobi.Eval(perSample, xi)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "vmap", got.Data()[i*4:i*4+4], want.Data(), 1e-14, 0)
	}
}

func TestErrorsNotPanics(t *testing.T) {
	m := seedMLP(t)
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"wrong input width", func() error { _, err := jacobi.BatchJacobian(m.Apply, tensor.Zeros(3, 4)); return err }, "matmul"},
		{"nil input", func() error { _, err := jacobi.BatchJacobian(m.Apply, nil); return err }, "batch axis"},
		{"nil function", func() error { _, err := jacobi.BatchJacobian(nil, tensor.Zeros(3, 4)); return err }, "function is nil"},
		{"bad broadcast", func() error {
			_, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node { return x.Add(jacobi.Const(tensor.Zeros(7))) }, tensor.Zeros(2, 3))
			return err
		}, "do not broadcast"},
		{"panicking function", func() error {
			_, err := jacobi.BatchJacobian(func(x *jacobi.Node) *jacobi.Node { panic("boom") }, tensor.Zeros(2, 3))
			return err
		}, "boom"},
		{"grad of a vector", func() error {
			_, err := jacobi.Grad(func(x *jacobi.Node) *jacobi.Node { return x }, tensor.Zeros(2, 3))
			return err
		}, "grad needs one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// Auto picks the mode with fewer FLOPs: forward for few inputs, reverse for
// few outputs, and the widths inside the network move the crossover.
func TestAutoModeByCost(t *testing.T) {
	cases := []struct {
		sizes []int
		want  jacobi.Mode
	}{
		{[]int{2, 64, 64, 100}, jacobi.ModeForward},
		{[]int{100, 64, 64, 2}, jacobi.ModeReverse},
		{[]int{2, 64, 64, 64, 64, 1}, jacobi.ModeReverse},
		{[]int{784, 256, 10}, jacobi.ModeReverse},
		{[]int{32, 256, 256, 32}, jacobi.ModeReverse}, // equal FLOPs: reverse moves fewer bytes
		{[]int{5, 2, 10}, jacobi.ModeForward},         // the seed network
	}
	for _, c := range cases {
		m, err := nn.RandomMLP(tensor.NewRand(1), c.sizes, "tanh")
		if err != nil {
			t.Fatal(err)
		}
		mode, fwd, rev, err := jacobi.JacobianMode(m.Apply, []int{c.sizes[0]})
		if err != nil {
			t.Fatal(err)
		}
		if mode != c.want || (fwd != rev && (mode == jacobi.ModeForward) != (fwd < rev) && math.Abs(fwd-rev) > 0.1*math.Max(fwd, rev)) {
			t.Errorf("%v: auto chose %v (forward %.0f FLOPs, reverse %.0f), want %v", c.sizes, mode, fwd, rev, c.want)
		}
	}
}

// A per-sample derivative inside the function of another derivative: the
// inner function uses the outer derivative's variable (the parameters)
// while x comes from the enclosing trace.
func TestDerivativeInsideDerivative(t *testing.T) {
	rng := tensor.NewRand(12)
	w := tensor.Randn(rng, 2, 3)
	x := tensor.Randn(rng, 4, 2)
	lossOf := func(x *jacobi.Node) func(w *jacobi.Node) *jacobi.Node {
		return func(w *jacobi.Node) *jacobi.Node {
			u := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(w).Tanh().Sum(1) }
			return jacobi.BatchLaplacianOf(u, x).Square().Sum()
		}
	}
	tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		w, x := in[0], in[1]
		_, g := jacobi.VJPOf(lossOf(x), w, jacobi.Scalar(1))
		return []*jacobi.Node{g}
	}, [][]int{w.Shape(), x.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Run(w, x)
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func(v []float64) float64 {
		t2, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
			return []*jacobi.Node{lossOf(in[1])(in[0])}
		}, [][]int{w.Shape(), x.Shape()})
		if err != nil {
			panic(err)
		}
		o, err := t2.Run(tensor.MustNew(w.Shape(), append([]float64{}, v...)), x)
		if err != nil {
			panic(err)
		}
		return o[0].Data()[0]
	}
	want := fd.Gradient(nil, lossAt, w.Data(), &fd.Settings{Formula: fd.Central})
	assertClose(t, "gradient through an inner Laplacian", out[0].Data(), want, 1e-6, 1e-8)
}

// A function that fails its own trace with Fail makes every entry point
// built on it return that error.
func TestFail(t *testing.T) {
	unsupported := errors.New("unsupported operation")
	f := func(x *jacobi.Node) *jacobi.Node { return x.Tanh().Fail(unsupported).Exp() }
	x := tensor.Randn(tensor.NewRand(1), 4, 3)
	calls := map[string]func() error{
		"Trace": func() error {
			_, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0])} }, [][]int{x.Shape()})
			return err
		},
		"Eval":          func() error { _, err := jacobi.Eval(f, x); return err },
		"BatchJacobian": func() error { _, err := jacobi.BatchJacobian(f, x); return err },
		"BatchHessian": func() error {
			_, err := jacobi.BatchHessian(func(x *jacobi.Node) *jacobi.Node { return f(x).Sum(1) }, x)
			return err
		},
		"Compile": func() error {
			_, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f, x) }, []int{3})
			return err
		},
		"constant": func() error {
			_, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node { return x.Add(jacobi.Scalar(1).Fail(unsupported)) }, x)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, unsupported) {
			t.Errorf("%s: error %v, want %v", name, err, unsupported)
		}
	}
}

// Operations recorded under a Label name it in errors in place of the Go
// line; after restore, the Go line again.
func TestLabel(t *testing.T) {
	x := tensor.Randn(tensor.NewRand(1), 4, 3)
	mixing := func(label string) jacobi.Fn {
		return func(x *jacobi.Node) *jacobi.Node {
			h := x.Tanh()
			if label != "" {
				restore := x.Label(label)
				defer restore()
			}
			return h.Sub(h.MeanKeep(0)) // batch norm: mixes samples
		}
	}
	var mix *op.MixError
	if _, err := jacobi.BatchJacobian(mixing("layer 3 of net.onnx"), x); !errors.As(err, &mix) || mix.Src != "layer 3 of net.onnx" {
		t.Errorf("labelled: error %v, want a mix error at the label", err)
	}
	if _, err := jacobi.BatchJacobian(mixing(""), x); !errors.As(err, &mix) || !strings.Contains(mix.Src, "jacobi_test.go:") {
		t.Errorf("not labelled: error %v, want a mix error at a line of this file", err)
	}
	// Restored: a later trace of the same builder records Go lines.
	if _, err := jacobi.BatchJacobian(func(x *jacobi.Node) *jacobi.Node {
		restore := x.Label("gone")
		restore()
		return x.Sub(x.MeanKeep(0))
	}, x); !errors.As(err, &mix) || mix.Src == "gone" {
		t.Errorf("restored: error %v still names the label", err)
	}
	if restore := jacobi.Scalar(1).Label("constant"); restore == nil {
		t.Error("Label on a constant returned no restore function")
	}
}
