package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- plain Go references ----

func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

var acts = map[string]func(float64) float64{
	"tanh":     math.Tanh,
	"sigmoid":  func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	"relu":     func(x float64) float64 { return math.Max(x, 0) },
	"softplus": softplus,
	"sin":      math.Sin,
	"gelu":     gelu,
	"silu":     silu,
}

func ew(f func(float64) float64) func([]float64) []float64 {
	return func(x []float64) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = f(v)
		}
		return out
	}
}

// refLayerNorm normalises rows of length c.
func refLayerNorm(x []float64, c int, eps float64, gamma, beta []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/c; r++ {
		row := x[r*c : (r+1)*c]
		m := 0.0
		for _, v := range row {
			m += v
		}
		m /= float64(c)
		v := 0.0
		for _, a := range row {
			v += (a - m) * (a - m)
		}
		v /= float64(c)
		for j, a := range row {
			y := (a - m) / math.Sqrt(v+eps)
			if gamma != nil {
				y *= gamma[j]
			}
			if beta != nil {
				y += beta[j]
			}
			out[r*c+j] = y
		}
	}
	return out
}

// refMLP runs m on the rows of x (width in) and returns the outputs and
// the smallest |pre-activation| seen (the distance to relu's kink).
func refMLP(m *nn.MLP, x []float64) ([]float64, float64) {
	act := acts[m.Activation]
	in := m.In()
	minPre := math.Inf(1)
	var out []float64
	for r := 0; r < len(x)/in; r++ {
		h := append([]float64{}, x[r*in:(r+1)*in]...)
		for l, w := range m.Weights {
			o, k := w.Shape()[0], w.Shape()[1]
			z := make([]float64, o)
			for i := 0; i < o; i++ {
				s := m.Biases[l].Data()[i]
				for j := 0; j < k; j++ {
					s += w.Data()[i*k+j] * h[j]
				}
				z[i] = s
			}
			if l+1 < len(m.Weights) {
				for i := range z {
					minPre = math.Min(minPre, math.Abs(z[i]))
					z[i] = act(z[i])
				}
			}
			h = z
		}
		out = append(out, h...)
	}
	return out, minPre
}

func mustMLP(t *testing.T, seed uint64, sizes []int, act string) *nn.MLP {
	t.Helper()
	m, err := nn.RandomMLP(tensor.NewRand(seed), sizes, act)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ---- composites against finite differences ----

func composites(t *testing.T) []fdcheck.Case {
	s := []int{2, 3}
	gamma := tensor.MustNew([]int{4}, []float64{0.5, 1.5, -1, 2})
	beta := tensor.MustNew([]int{4}, []float64{0.1, -0.2, 0.3, 0})
	target := tensor.MustNew(s, []float64{0.3, -1, 2, 0.5, 0, -0.7})
	w := tensor.MustNew([]int{2, 3}, []float64{0.5, -1, 0.25, 1.5, 0.75, -0.5})
	bias := tensor.MustNew([]int{2}, []float64{0.1, -0.3})
	cases := []fdcheck.Case{
		{Name: "softplus", F: nn.Softplus, Shape: s, Domain: fdcheck.Domain{Lo: -4, Hi: 4, Avoid: []float64{0}, Gap: 0.01}, Ref: ew(softplus)},
		{Name: "softplus_wide", F: nn.Softplus, Shape: s, Domain: fdcheck.Domain{Lo: -20, Hi: 20, Avoid: []float64{0}, Gap: 0.01}, Ref: ew(softplus)},
		{Name: "gelu", F: nn.GELU, Shape: s, Domain: fdcheck.Domain{Lo: -3, Hi: 3}, Ref: ew(gelu)},
		{Name: "gelu_tanh", F: nn.GELUTanh, Shape: s, Domain: fdcheck.Domain{Lo: -3, Hi: 3}, Ref: ew(geluTanh)},
		{Name: "silu", F: nn.SiLU, Shape: s, Domain: fdcheck.Domain{Lo: -4, Hi: 4}, Ref: ew(silu)},
		{Name: "relu", F: nn.Relu, Shape: s, Domain: fdcheck.AwayFromZero, Ref: ew(acts["relu"])},
		{Name: "mean", F: func(x *jacobi.Node) *jacobi.Node { return x.Exp().Mean() }, Shape: s, Ref: func(x []float64) []float64 {
			m := 0.0
			for _, v := range x {
				m += math.Exp(v)
			}
			return []float64{m / float64(len(x))}
		}},
		{Name: "mean_axis", F: func(x *jacobi.Node) *jacobi.Node { return x.Square().Mean(-1) }, Shape: s, Ref: func(x []float64) []float64 {
			return []float64{(x[0]*x[0] + x[1]*x[1] + x[2]*x[2]) / 3, (x[3]*x[3] + x[4]*x[4] + x[5]*x[5]) / 3}
		}},
		{Name: "layer_norm", F: func(x *jacobi.Node) *jacobi.Node { return nn.LayerNorm(x, nil, nil, 1e-5) }, Shape: []int{2, 4}, Ref: func(x []float64) []float64 {
			return refLayerNorm(x, 4, 1e-5, nil, nil)
		}},
		{Name: "layer_norm_affine", F: func(x *jacobi.Node) *jacobi.Node {
			return nn.LayerNorm(x, jacobi.Const(gamma), jacobi.Const(beta), 1e-3)
		}, Shape: []int{3, 4}, Ref: func(x []float64) []float64 {
			return refLayerNorm(x, 4, 1e-3, gamma.Data(), beta.Data())
		}},
		{Name: "layer_norm_rank3", F: func(x *jacobi.Node) *jacobi.Node {
			return nn.LayerNorm(x, jacobi.Const(gamma), nil, 1e-5)
		}, Shape: []int{2, 2, 4}, Ref: func(x []float64) []float64 {
			return refLayerNorm(x, 4, 1e-5, gamma.Data(), nil)
		}},
		{Name: "mse_const", F: func(x *jacobi.Node) *jacobi.Node { return nn.MSE(x, jacobi.Const(target)) }, Shape: s, Ref: func(x []float64) []float64 {
			m := 0.0
			for i, v := range x {
				m += (v - target.Data()[i]) * (v - target.Data()[i])
			}
			return []float64{m / 6}
		}},
		{Name: "mse_of_nonlinear", F: func(x *jacobi.Node) *jacobi.Node {
			return nn.MSE(x.Slice(1, 0, 2).Sin(), x.Slice(1, 1, 3).Exp())
		}, Shape: s, Ref: func(x []float64) []float64 {
			m := 0.0
			for r := 0; r < 2; r++ {
				for j := 0; j < 2; j++ {
					d := math.Sin(x[r*3+j]) - math.Exp(x[r*3+j+1])
					m += d * d
				}
			}
			return []float64{m / 4}
		}},
		{Name: "linear", F: func(x *jacobi.Node) *jacobi.Node {
			return nn.Linear(x, jacobi.Const(w), jacobi.Const(bias)).Tanh()
		}, Shape: []int{4, 3}, Ref: func(x []float64) []float64 {
			var out []float64
			for r := 0; r < 4; r++ {
				for i := 0; i < 2; i++ {
					s := bias.Data()[i]
					for j := 0; j < 3; j++ {
						s += w.Data()[i*3+j] * x[r*3+j]
					}
					out = append(out, math.Tanh(s))
				}
			}
			return out
		}},
		{Name: "linear_no_bias", F: func(x *jacobi.Node) *jacobi.Node {
			return nn.Linear(x, jacobi.Const(w), nil).Square()
		}, Shape: []int{2, 3}},
	}
	for _, a := range nn.ActivationNames() {
		m := mustMLP(t, 21, []int{3, 5, 4, 2}, a)
		c := fdcheck.Case{Name: "mlp_" + a, F: m.Apply, Shape: []int{2, 3}, Ref: func(x []float64) []float64 {
			y, _ := refMLP(m, x)
			return y
		}, RefTol: fdcheck.Tol{Rel: 1e-11, Abs: 1e-13}}
		if a == "relu" {
			c.Accept = func(x []float64) bool {
				_, gap := refMLP(m, x)
				return gap > 0.05
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestComposites checks every composite's values against plain Go, and
// first and second derivatives against gonum's finite differences, JVP
// against VJP, Vmap and the per-sample derivatives against loops.
func TestComposites(t *testing.T) {
	rng := tensor.NewRand(20)
	for _, c := range composites(t) {
		t.Run(c.Name, func(t *testing.T) { fdcheck.CheckFn(t, c, rng) })
	}
}

// TestSoftplusExtremes: softplus and its derivative neither overflow nor
// lose precision far from zero.
func TestSoftplusExtremes(t *testing.T) {
	x := tensor.MustNew([]int{6}, []float64{-800, -40, -1e-3, 1e-3, 40, 800})
	y, err := jacobi.Eval(nn.Softplus, x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, math.Exp(-40), math.Log1p(math.Exp(-1e-3)), 1e-3 + math.Log1p(math.Exp(-1e-3)), 40 + math.Exp(-40), 800}
	fdcheck.Compare(t, "softplus", y.Data(), want, []int{6}, fdcheck.Tol{Rel: 1e-14, Abs: 1e-16})
	g, err := jacobi.Grad(func(x *jacobi.Node) *jacobi.Node { return nn.Softplus(x).Sum() }, x)
	if err != nil {
		t.Fatal(err)
	}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	wantG := []float64{0, sig(-40), sig(-1e-3), sig(1e-3), sig(40), 1}
	fdcheck.Compare(t, "softplus'", g.Data(), wantG, []int{6}, fdcheck.Tol{Rel: 1e-13, Abs: 1e-300})
}

// TestSoftplusRelativePrecision: for very negative x, softplus(x) ≈ e^x is
// tiny but not zero: torch.nn.functional.softplus(-40) = log1p(e^-40) =
// 4.248e-18. Computed as log(1 + e^-|x|), 1 + e^-40 rounds to 1 and every
// digit is lost; log1p keeps them.
func TestSoftplusRelativePrecision(t *testing.T) {
	x := tensor.MustNew([]int{3}, []float64{-40, -60, -100})
	y, err := jacobi.Eval(nn.Softplus, x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Log1p(math.Exp(-40)), math.Log1p(math.Exp(-60)), math.Log1p(math.Exp(-100))}
	fdcheck.Compare(t, "softplus of very negative x, relative", y.Data(), want, []int{3}, fdcheck.Tol{Rel: 1e-12})
}

// ---- MLPs: per-sample derivatives against finite differences of the
// plain Go reference ----

// TestMLPPerSample checks BatchJacobian (both modes), BatchHessian,
// BatchHessianDiag and BatchLaplacian of MLPs of every activation against
// gonum's fd applied to the plain Go reference network, sample by sample.
func TestMLPPerSample(t *testing.T) {
	const b, in, out = 4, 3, 2
	for _, a := range nn.ActivationNames() {
		t.Run(a, func(t *testing.T) {
			m := mustMLP(t, 22, []int{in, 6, 5, out}, a)
			rng := tensor.NewRand(23)
			var x *tensor.Tensor
			for {
				x = tensor.Uniform(rng, -2, 2, b, in)
				if _, gap := refMLP(m, x.Data()); a != "relu" || gap > 0.05 {
					break
				}
			}
			y, err := jacobi.Eval(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			ry, _ := refMLP(m, x.Data())
			fdcheck.Compare(t, "values", y.Data(), ry, []int{b, out}, fdcheck.Tol{Rel: 1e-11, Abs: 1e-13})

			var fdJ, fdH []float64 // (b, out, in) and (b, out, in, in)
			for i := 0; i < b; i++ {
				xi := x.Data()[i*in : (i+1)*in]
				f := func(v []float64) []float64 { y, _ := refMLP(m, v); return y }
				fdJ = append(fdJ, fdcheck.FDJacobian(f, xi, out)...)
				for j := 0; j < out; j++ {
					fdH = append(fdH, fdcheck.FDHessian(func(v []float64) float64 { return f(v)[j] }, xi)...)
				}
			}
			for _, mode := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse, jacobi.ModeAuto} {
				j, err := jacobi.BatchJacobian(m.Apply, x, jacobi.WithMode(mode))
				if err != nil {
					t.Fatal(err)
				}
				if !tensor.SameShape(j.Shape(), []int{b, out, in}) {
					t.Fatalf("batch jacobian shape %v", j.Shape())
				}
				fdcheck.Compare(t, "batch jacobian ("+mode.String()+")", j.Data(), fdJ, j.Shape(), fdcheck.First)
			}
			h, err := jacobi.BatchHessian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(h.Shape(), []int{b, out, in, in}) {
				t.Fatalf("batch hessian shape %v", h.Shape())
			}
			fdcheck.Compare(t, "batch hessian", h.Data(), fdH, h.Shape(), fdcheck.Second)
			var diag, lap []float64
			for k := 0; k < b*out; k++ {
				tr := 0.0
				for i := 0; i < in; i++ {
					v := fdH[k*in*in+i*in+i]
					diag = append(diag, v)
					tr += v
				}
				lap = append(lap, tr)
			}
			d, err := jacobi.BatchHessianDiag(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			fdcheck.Compare(t, "batch hessian diagonal", d.Data(), diag, []int{b, out, in}, fdcheck.Second)
			l, err := jacobi.BatchLaplacian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			fdcheck.Compare(t, "batch laplacian", l.Data(), lap, []int{b, out}, fdcheck.Second)

			// One output: BatchGrad.
			m1 := mustMLP(t, 24, []int{in, 4, 1}, a)
			g, err := jacobi.BatchGrad(m1.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			var fdG []float64
			for i := 0; i < b; i++ {
				f := func(v []float64) []float64 { y, _ := refMLP(m1, v); return y }
				fdG = append(fdG, fdcheck.FDJacobian(f, x.Data()[i*in:(i+1)*in], 1)...)
			}
			fdcheck.Compare(t, "batch grad", g.Data(), fdG, []int{b, in}, fdcheck.First)
		})
	}
}

// TestMLPParameterGradient checks ValueAndGrad of an MSE training loss with
// respect to the input and every weight and bias against fd.Gradient of
// the plain Go loss.
func TestMLPParameterGradient(t *testing.T) {
	for _, a := range []string{"tanh", "gelu", "softplus", "silu"} {
		t.Run(a, func(t *testing.T) {
			m := mustMLP(t, 25, []int{3, 4, 2}, a)
			rng := tensor.NewRand(26)
			x := tensor.Uniform(rng, -1, 1, 5, 3)
			target := tensor.Uniform(rng, -1, 1, 5, 2)
			params := m.Params()
			in := append([]*tensor.Tensor{x}, params...)
			loss := func(nodes []*jacobi.Node) *jacobi.Node {
				return nn.MSE(m.ApplyWith(nodes[1:], nodes[0]), jacobi.Const(target))
			}
			val, grads, err := jacobi.ValueAndGrad(loss, in...)
			if err != nil {
				t.Fatal(err)
			}
			// The plain Go loss of all inputs flattened.
			shapes := make([][]int, len(in))
			var flat []float64
			for i, p := range in {
				shapes[i] = p.Shape()
				flat = append(flat, p.Data()...)
			}
			ref := func(v []float64) float64 {
				off := 0
				ts := make([]*tensor.Tensor, len(shapes))
				for i, s := range shapes {
					n := tensor.Size(s)
					ts[i] = tensor.MustNew(s, append([]float64{}, v[off:off+n]...))
					off += n
				}
				var ws, bs []*tensor.Tensor
				for l := 1; l < len(ts); l += 2 {
					ws, bs = append(ws, ts[l]), append(bs, ts[l+1])
				}
				mm, err := nn.NewMLP(ws, bs, a)
				if err != nil {
					t.Fatal(err)
				}
				y, _ := refMLP(mm, ts[0].Data())
				s := 0.0
				for i, yv := range y {
					d := yv - target.Data()[i]
					s += d * d
				}
				return s / float64(len(y))
			}
			fdcheck.Compare(t, "loss", val.Data(), []float64{ref(flat)}, nil, fdcheck.Tol{Rel: 1e-12, Abs: 1e-14})
			if len(grads) != len(in) {
				t.Fatalf("%d gradients for %d inputs", len(grads), len(in))
			}
			var got []float64
			for i, g := range grads {
				if !tensor.SameShape(g.Shape(), in[i].Shape()) {
					t.Fatalf("gradient %d has shape %v, want %v", i, g.Shape(), in[i].Shape())
				}
				got = append(got, g.Data()...)
			}
			fdG := fdcheck.FDJacobian(func(v []float64) []float64 { return []float64{ref(v)} }, flat, 1)
			fdcheck.Compare(t, "gradient", got, fdG, nil, fdcheck.First)
		})
	}
}

// TestMLPConstruction checks NewMLP's validation and the accessors.
func TestMLPConstruction(t *testing.T) {
	w1, b1 := tensor.Zeros(4, 3), tensor.Zeros(4)
	w2, b2 := tensor.Zeros(2, 4), tensor.Zeros(2)
	m, err := nn.NewMLP([]*tensor.Tensor{w1, w2}, []*tensor.Tensor{b1, b2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	if m.In() != 3 || m.Out() != 2 {
		t.Errorf("In, Out = %d, %d; want 3, 2", m.In(), m.Out())
	}
	ps := m.Params()
	if len(ps) != 4 || ps[0] != w1 || ps[1] != b1 || ps[2] != w2 || ps[3] != b2 {
		t.Errorf("Params is not W0, b0, W1, b1")
	}
	bad := []struct {
		name   string
		ws, bs []*tensor.Tensor
		act    string
	}{
		{"unknown activation", []*tensor.Tensor{w1}, []*tensor.Tensor{b1}, "swish2"},
		{"no layers", nil, nil, "tanh"},
		{"bias count", []*tensor.Tensor{w1, w2}, []*tensor.Tensor{b1}, "tanh"},
		{"nil weight", []*tensor.Tensor{nil}, []*tensor.Tensor{b1}, "tanh"},
		{"weight rank", []*tensor.Tensor{tensor.Zeros(4)}, []*tensor.Tensor{b1}, "tanh"},
		{"bias shape", []*tensor.Tensor{w1}, []*tensor.Tensor{b2}, "tanh"},
		{"layer sizes", []*tensor.Tensor{w1, tensor.Zeros(2, 5)}, []*tensor.Tensor{b1, b2}, "tanh"},
	}
	for _, c := range bad {
		if _, err := nn.NewMLP(c.ws, c.bs, c.act); err == nil {
			t.Errorf("NewMLP with %s: no error", c.name)
		}
	}
	if _, err := nn.RandomMLP(tensor.NewRand(1), []int{3}, "tanh"); err == nil {
		t.Error("RandomMLP with one size: no error")
	}
	r := mustMLP(t, 1, []int{4, 7, 2}, "sin")
	if r.In() != 4 || r.Out() != 2 || !tensor.SameShape(r.Weights[0].Shape(), []int{7, 4}) || !tensor.SameShape(r.Biases[1].Shape(), []int{2}) {
		t.Errorf("RandomMLP shapes: in %d out %d W0 %v b1 %v", r.In(), r.Out(), r.Weights[0].Shape(), r.Biases[1].Shape())
	}
	for _, w := range r.Weights[:1] {
		bound := 1 / math.Sqrt(4)
		for _, v := range w.Data() {
			if math.Abs(v) > bound {
				t.Errorf("RandomMLP weight %g outside ±%g", v, bound)
			}
		}
	}
	names := nn.ActivationNames()
	if len(names) != len(acts) {
		t.Errorf("activations %v, this test knows %d", names, len(acts))
	}
	for i, n := range names {
		if _, ok := acts[n]; !ok {
			t.Errorf("activation %q has no reference in this test", n)
		}
		if i > 0 && names[i-1] >= n {
			t.Errorf("ActivationNames not sorted: %v", names)
		}
	}
}

// TestPerSampleDeterminism: per-sample derivatives do not depend on the
// chunk size or the number of workers, bit for bit (DESIGN.md).
func TestPerSampleDeterminism(t *testing.T) {
	m := mustMLP(t, 27, []int{3, 16, 16, 2}, "tanh")
	x := tensor.Uniform(tensor.NewRand(28), -2, 2, 37, 3)
	type entry struct {
		name string
		f    func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error)
	}
	entries := []entry{
		{"values", func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error) {
			c, err := jacobi.Compile(m.Apply, []int{3}, chunk, workers)
			if err != nil {
				return nil, err
			}
			return c.Run(x)
		}},
		{"batch jacobian (forward)", func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(m.Apply, x, chunk, workers, jacobi.WithMode(jacobi.ModeForward))
		}},
		{"batch jacobian (reverse)", func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(m.Apply, x, chunk, workers, jacobi.WithMode(jacobi.ModeReverse))
		}},
		{"batch hessian", func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error) {
			return jacobi.BatchHessian(m.Apply, x, chunk, workers)
		}},
		{"batch laplacian", func(chunk, workers jacobi.RunOption) (*tensor.Tensor, error) {
			return jacobi.BatchLaplacian(m.Apply, x, chunk, workers)
		}},
	}
	for _, e := range entries {
		ref, err := e.f(jacobi.WithChunk(1), jacobi.WithWorkers(1))
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		for _, chunk := range []int{4, 7, 16, 64} {
			for _, workers := range []int{1, 3} {
				got, err := e.f(jacobi.WithChunk(chunk), jacobi.WithWorkers(workers))
				if err != nil {
					t.Fatalf("%s: %v", e.name, err)
				}
				if !tensor.SameShape(got.Shape(), ref.Shape()) {
					t.Fatalf("%s: shape %v with chunk %d, %v with chunk 1", e.name, got.Shape(), chunk, ref.Shape())
				}
				for i, v := range got.Data() {
					if v != ref.Data()[i] {
						t.Errorf("%s with chunk %d, %d workers: element %d is %.17g, with chunk 1 %.17g", e.name, chunk, workers, i, v, ref.Data()[i])
						break
					}
				}
			}
		}
	}
}

// TestPINNLossGradient: derivatives stay differentiable. A physics-style
// loss built from per-sample Laplacians and Jacobians of an MLP is
// differentiated with respect to the inputs and every parameter
// (ValueAndGrad) and checked against fd.Gradient of the traced loss; the
// loss's value is checked against BatchLaplacian and BatchJacobian.
func TestPINNLossGradient(t *testing.T) {
	for _, a := range []string{"tanh", "sin", "gelu"} {
		t.Run(a, func(t *testing.T) {
			m := mustMLP(t, 29, []int{2, 5, 1}, a)
			x := tensor.Uniform(tensor.NewRand(30), -1, 1, 4, 2)
			loss := func(in []*jacobi.Node) *jacobi.Node {
				params := in[1:]
				u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
				lap := jacobi.BatchLaplacianOf(u, in[0]) // (b, 1)
				j := jacobi.BatchJacobianOf(u, in[0])    // (b, 1, 2)
				return lap.Square().Mean().Add(j.Square().Mean())
			}
			in := append([]*tensor.Tensor{x}, m.Params()...)
			val, grads, err := jacobi.ValueAndGrad(loss, in...)
			if err != nil {
				t.Fatal(err)
			}

			// The value from the one-shot per-sample derivatives.
			lap, err := jacobi.BatchLaplacian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			jac, err := jacobi.BatchJacobian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			want := 0.0
			for _, v := range lap.Data() {
				want += v * v / float64(lap.Len())
			}
			for _, v := range jac.Data() {
				want += v * v / float64(jac.Len())
			}
			fdcheck.Compare(t, "loss", val.Data(), []float64{want}, nil, fdcheck.Tol{Rel: 1e-11, Abs: 1e-14})

			shapes := make([][]int, len(in))
			var flat []float64
			for i, p := range in {
				shapes[i] = p.Shape()
				flat = append(flat, p.Data()...)
			}
			tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{loss(in)} }, shapes)
			if err != nil {
				t.Fatal(err)
			}
			f := func(v []float64) []float64 {
				args := make([]*tensor.Tensor, len(shapes))
				off := 0
				for i, s := range shapes {
					n := tensor.Size(s)
					args[i] = tensor.MustNew(s, append([]float64{}, v[off:off+n]...))
					off += n
				}
				out, err := tr.Run(args...)
				if err != nil {
					t.Fatal(err)
				}
				return []float64{out[0].Data()[0]}
			}
			var got []float64
			for _, g := range grads {
				got = append(got, g.Data()...)
			}
			fdcheck.Compare(t, "gradient of the loss", got, fdcheck.FDJacobian(f, flat, 1), nil, fdcheck.First)
		})
	}
}

// TestBatchMixingRefused: per-sample derivatives of functions that mix
// samples (normalising over the batch axis, a loss over the batch) are
// errors naming the operation, not silently wrong numbers; layer norm
// over features is per-sample and accepted.
func TestBatchMixingRefused(t *testing.T) {
	x := tensor.Uniform(tensor.NewRand(31), -1, 1, 4, 3)
	mixing := map[string]jacobi.Fn{
		"batch norm": func(x *jacobi.Node) *jacobi.Node { return nn.LayerNorm(x.T(), nil, nil, 1e-5).T() },
		"mean over the batch": func(x *jacobi.Node) *jacobi.Node {
			return x.Sub(x.MeanKeep(0)).Tanh()
		},
		"mse over the batch": func(x *jacobi.Node) *jacobi.Node {
			return x.Tanh().Mul(nn.MSE(x, jacobi.Const(tensor.Zeros(4, 3))))
		},
	}
	for name, f := range mixing {
		for what, run := range map[string]func() (*tensor.Tensor, error){
			"jacobian":  func() (*tensor.Tensor, error) { return jacobi.BatchJacobian(f, x) },
			"hessian":   func() (*tensor.Tensor, error) { return jacobi.BatchHessian(f, x) },
			"laplacian": func() (*tensor.Tensor, error) { return jacobi.BatchLaplacian(f, x) },
		} {
			if _, err := run(); err == nil {
				t.Errorf("batch %s of %s: no error", what, name)
			} else if !strings.Contains(err.Error(), "mixes samples") {
				t.Errorf("batch %s of %s: error %q does not say that the function mixes samples", what, name, err)
			}
		}
	}
	ln := func(x *jacobi.Node) *jacobi.Node { return nn.LayerNorm(x, nil, nil, 1e-5) }
	if _, err := jacobi.BatchJacobian(ln, x); err != nil {
		t.Errorf("batch jacobian of layer norm over features: %v", err)
	}
}
