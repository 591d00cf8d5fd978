package jacobi_test

import (
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// pinnFormulation is one way to write a physics-informed residual (b, 1) of
// a network u at points x (b, 2) with jacobi's derivatives; ex is the
// tangent (0, 1) in every row. Formulations of the same group compute the
// same residual.
type pinnFormulation struct {
	name     string
	group    string
	residual func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node
}

// pinnFormulations are the natural ways to write the residual of Burgers'
// equation, u_t + u·u_x − ν·u_xx (x = (t, x)), and of a Poisson equation,
// Δu − sin(x₀), with each derivative jacobi has, alone and combined, as a
// user writes them: per-sample derivatives in every mode and method,
// derivatives of derivatives, derivatives of slices that capture the other
// coordinates, and PyTorch's gradient of the sum over the samples.
func pinnFormulations() []pinnFormulation {
	const nu = 0.01 / math.Pi
	heat := tensor.MustNew([]int{2, 2}, []float64{0, 0, 0, -nu})
	dt := tensor.MustNew([]int{2}, []float64{1, 0})
	d2x := tensor.MustNew([]int{2, 2}, []float64{0, 0, 0, 1})
	col := func(v *jacobi.Node, axis, k int) *jacobi.Node { return v.Slice(axis, k, k+1) }
	n := func(x *jacobi.Node) int { return x.Shape()[0] }
	sum := func(f jacobi.Fn) jacobi.Fn { return func(x *jacobi.Node) *jacobi.Node { return f(x).Sum() } }
	burgers := func(u jacobi.Fn, x *jacobi.Node, g, uxx *jacobi.Node) *jacobi.Node { // g: (b, 2) = (u_t, u_x)
		return col(g, 1, 0).Add(u(x).Mul(col(g, 1, 1))).Sub(uxx.Scale(nu))
	}
	poisson := func(x, lap *jacobi.Node) *jacobi.Node { return lap.Sub(col(x, 1, 0).Sin()) }
	hessDiag := func(opts ...jacobi.HessianDiagOption) func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
		return func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			uxx := col(jacobi.BatchHessianDiagOf(u, x, opts...), 2, 1).Reshape(n(x), 1) // (b, 1, 2) → u_xx
			return burgers(u, x, jacobi.BatchGradOf(u, x), uxx)
		}
	}
	jacobian := func(opts ...jacobi.JacobianOption) func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
		return func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			g := jacobi.BatchJacobianOf(u, x, opts...).Reshape(n(x), 2)
			return burgers(u, x, g, jacobi.BatchOperatorOf(u, x, d2x, nil))
		}
	}
	laplacian := func(opts ...jacobi.LaplacianOption) func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
		return func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			return poisson(x, jacobi.BatchLaplacianOf(u, x, opts...))
		}
	}
	// u as a function of x alone, t captured from the points (b, 1).
	ofX := func(u jacobi.Fn, x *jacobi.Node) jacobi.Fn {
		return func(xc *jacobi.Node) *jacobi.Node { return u(jacobi.Concat(1, col(x, 1, 0), xc)) }
	}
	return []pinnFormulation{
		{"operator and JVP", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			uf, ux := jacobi.JVPOf(u, x, ex)
			return jacobi.BatchOperatorOf(u, x, heat, dt).Add(uf.Mul(ux))
		}},
		{"jet", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			// u, u_x along e_x and −ν·u_xx + u_t, from one Taylor pass.
			uf, ux, lf := jacobi.BatchJetOf(u, x, tensor.MustNew([]int{1, 2}, []float64{0, 1}), []float64{-nu}, dt)
			return lf.Add(uf.Mul(ux.Reshape(n(x), 1)))
		}},
		{"grad and operator", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			return burgers(u, x, jacobi.BatchGradOf(u, x), jacobi.BatchOperatorOf(u, x, d2x, nil))
		}},
		{"grad and Hessian diagonal", "burgers", hessDiag()},
		{"grad and Hessian diagonal, Taylor", "burgers", hessDiag(jacobi.WithMethod(jacobi.MethodTaylor))},
		{"grad and Hessian diagonal, nested", "burgers", hessDiag(jacobi.WithMethod(jacobi.MethodNested))},
		{"grad and Hessian", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			uxx := jacobi.BatchHessianOf(u, x).Slice(2, 1, 2).Slice(3, 1, 2).Reshape(n(x), 1)
			return burgers(u, x, jacobi.BatchGradOf(u, x), uxx)
		}},
		{"grad of grad", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			ux := func(x *jacobi.Node) *jacobi.Node { return col(jacobi.BatchGradOf(u, x), 1, 1) }
			return burgers(u, x, jacobi.BatchGradOf(u, x), col(jacobi.BatchGradOf(ux, x), 1, 1))
		}},
		{"Jacobian, auto", "burgers", jacobian()},
		{"Jacobian, forward", "burgers", jacobian(jacobi.WithMode(jacobi.ModeForward))},
		{"Jacobian, reverse", "burgers", jacobian(jacobi.WithMode(jacobi.ModeReverse))},
		{"Jacobian of the gradient", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			h := jacobi.BatchJacobianOf(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchGradOf(u, x) }, x) // (b, 2, 2)
			return burgers(u, x, jacobi.BatchGradOf(u, x), h.Slice(1, 1, 2).Slice(2, 1, 2).Reshape(n(x), 1))
		}},
		{"VJP, and the Laplacian in x alone", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			_, g := jacobi.VJPOf(u, x, jacobi.Const(tensor.Full(1, n(x), 1)))
			return burgers(u, x, g, jacobi.BatchLaplacianOf(ofX(u, x), col(x, 1, 1)))
		}},
		{"grad and Hessian diagonal in x alone", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			ux := jacobi.BatchGradOf(ofX(u, x), col(x, 1, 1))
			uxx := jacobi.BatchHessianDiagOf(ofX(u, x), col(x, 1, 1)).Reshape(n(x), 1)
			ut := jacobi.BatchGradOf(func(t *jacobi.Node) *jacobi.Node { return u(jacobi.Concat(1, t, col(x, 1, 1))) }, col(x, 1, 0))
			return burgers(u, x, jacobi.Concat(1, ut, ux), uxx)
		}},
		{"GradOf of the sum (PyTorch's trick)", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			ux := func(x *jacobi.Node) *jacobi.Node { return col(jacobi.GradOf(sum(u), x), 1, 1) }
			return burgers(u, x, jacobi.GradOf(sum(u), x), col(jacobi.GradOf(sum(ux), x), 1, 1))
		}},
		{"JacobianOf of the sum, reverse", "burgers", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			g := jacobi.JacobianOf(sum(u), x, jacobi.WithMode(jacobi.ModeReverse))
			return burgers(u, x, g, jacobi.BatchOperatorOf(u, x, d2x, nil))
		}},
		{"Laplacian", "poisson", laplacian()},
		{"Laplacian, Taylor", "poisson", laplacian(jacobi.WithMethod(jacobi.MethodTaylor))},
		{"Laplacian, nested", "poisson", laplacian(jacobi.WithMethod(jacobi.MethodNested))},
		{"sum of the Hessian diagonal", "poisson", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			return poisson(x, jacobi.BatchHessianDiagOf(u, x).Sum(2))
		}},
		{"trace of the Hessian", "poisson", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			return poisson(x, jacobi.BatchHessianOf(u, x).Mul(jacobi.Const(tensor.Eye(2))).Sum(2, 3))
		}},
		{"operator with the identity", "poisson", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			return poisson(x, jacobi.BatchOperatorOf(u, x, tensor.Eye(2), nil))
		}},
		{"divergence of the gradient", "poisson", func(u jacobi.Fn, x, ex *jacobi.Node) *jacobi.Node {
			h := jacobi.BatchJacobianOf(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchGradOf(u, x) }, x, jacobi.WithMode(jacobi.ModeForward))
			return poisson(x, h.Mul(jacobi.Const(tensor.Eye(2))).Sum(1, 2).Reshape(n(x), 1))
		}},
		{"Laplacian, Hutchinson", "hutchinson", laplacian(jacobi.WithEstimator(jacobi.Hutchinson(4, 1)))},
		{"Laplacian, sampled dimensions", "sampled", laplacian(jacobi.WithEstimator(jacobi.SampledDims(1, 1)))},
	}
}

// Every formulation of a physics-informed loss keeps its training step
// (the loss and its gradient with respect to every parameter, the network
// also capturing a traced input that is not differentiated) split into
// per-sample chunks; the split step computes what the whole program
// computes, and formulations of the same residual the same loss.
func TestPINNFormulationsSplit(t *testing.T) {
	m, err := nn.NewMLPFrom([]int{2, 8, 8, 1}, "tanh", nn.XavierNormal, 3)
	if err != nil {
		t.Fatal(err)
	}
	const b = 300
	rng := tensor.NewRand(5)
	x := tensor.Uniform(rng, -1, 1, b, 2)
	ex := tensor.Zeros(b, 2)
	for i := 0; i < b; i++ {
		ex.Data()[2*i+1] = 1
	}
	scale := tensor.MustNew([]int{2}, []float64{2, 1})
	np := len(m.Params())
	in := append(m.Params(), scale, x, ex)
	shapes := make([][]int, len(in))
	for i, v := range in {
		shapes[i] = v.Shape()
	}
	loss := map[string]float64{}
	for _, c := range pinnFormulations() {
		t.Run(c.name, func(t *testing.T) {
			step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
				scale, x, ex := in[np], in[np+1], in[np+2]
				v, g := jacobi.ValueAndGradOf(func(ps []*jacobi.Node) *jacobi.Node {
					u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x.Mul(scale)) }
					return c.residual(u, x, ex).Square().Mean()
				}, in[:np])
				return append([]*jacobi.Node{v}, g...)
			}, shapes, jacobi.WithChunk(32))
			if err != nil {
				t.Fatal(err)
			}
			if why := step.WhyNotSplit(); why != nil {
				t.Errorf("the step does not split: %v", why)
			}
			// However many derivatives the residual takes, the step runs
			// the network forward once: Simplify shares the primal passes
			// of the derivative programs before the reverse pass is built
			// (two tanh layers). The networks of x alone concatenate t
			// back in, an expression of their own: one pass more.
			want := 2
			if strings.Contains(c.name, "in x alone") {
				want = 4
			}
			if n := strings.Count(step.String(), "= tanh "); n > want {
				t.Errorf("the step has %d tanh equations, want at most %d", n, want)
			}
			whole, err := step.RunWhole(in...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := step.Run(in...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range whole {
				for k, w := range whole[i].Data() {
					if g := got[i].Data()[k]; math.Abs(g-w) > 1e-12*(1+math.Abs(w)) {
						t.Fatalf("output %d element %d: split %v, whole %v", i, k, g, w)
					}
				}
			}
			l := got[0].Data()[0]
			if first, ok := loss[c.group]; ok && math.Abs(l-first) > 1e-12*math.Abs(first) {
				t.Errorf("loss %v, the first of group %s %v", l, c.group, first)
			} else if !ok {
				loss[c.group] = l
			}
		})
	}
}

// BenchmarkBurgersFormulations times the training step of Raissi's Burgers
// problem (2 → 8×20 tanh → 1, N_f = 10 000 collocation points and N_u =
// 100 initial and boundary points, as examples/burgers) with the residual
// written in each of its formulations: the loss and the gradient of every
// parameter, run as Trace prepares it (split: in per-sample chunks where
// the step allows) into the same outputs every time, and run whole. split
// is 1 when the step runs in per-sample chunks; cpu-ms/step is the
// process's CPU time, less sensitive than wall time to other processes on
// a shared machine.
func BenchmarkBurgersFormulations(b *testing.B) {
	m, err := nn.NewMLPFrom([]int{2, 20, 20, 20, 20, 20, 20, 20, 20, 1}, "tanh", nn.XavierNormal, 1234)
	if err != nil {
		b.Fatal(err)
	}
	rng := tensor.NewRand(7)
	const nf, nu = 10000, 100
	xf, xu := tensor.Uniform(rng, -1, 1, nf+nu, 2), tensor.Uniform(rng, -1, 1, nu, 2)
	uu := tensor.Randn(rng, nu, 1)
	ex := tensor.Zeros(nf+nu, 2)
	for i := 0; i < nf+nu; i++ {
		ex.Data()[2*i+1] = 1
	}
	scale := tensor.MustNew([]int{2}, []float64{2, 1})
	np := len(m.Params())
	in := append(m.Params(), scale, xu, uu, xf, ex)
	shapes := make([][]int, len(in))
	for i, v := range in {
		shapes[i] = v.Shape()
	}
	for _, c := range pinnFormulations() {
		if c.group != "burgers" {
			continue
		}
		step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
			scale, xu, uu, xf, ex := in[np], in[np+1], in[np+2], in[np+3], in[np+4]
			v, g := jacobi.ValueAndGradOf(func(ps []*jacobi.Node) *jacobi.Node {
				u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x.Mul(scale)) }
				return u(xu).Sub(uu).Square().Mean().Add(c.residual(u, xf, ex).Square().Mean())
			}, in[:np])
			return append([]*jacobi.Node{v}, g...)
		}, shapes)
		if err != nil {
			b.Fatal(err)
		}
		var out []*tensor.Tensor
		for _, s := range step.OutShapes() {
			out = append(out, tensor.Zeros(s...))
		}
		split := 0.0
		if step.WhyNotSplit() == nil {
			split = 1
		}
		for _, r := range []struct {
			name string
			run  func() error
		}{
			{"split", func() error { return step.RunInto(in, out) }},
			{"whole", func() error { _, err := step.RunWhole(in...); return err }},
		} {
			b.Run(c.name+"/"+r.name, func(b *testing.B) {
				if err := r.run(); err != nil { // compiles the chunks' plans
					b.Fatal(err)
				}
				cpu0 := cpuTime()
				for b.Loop() {
					if err := r.run(); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(sec*1e3, "ms/step")
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/step")
				b.ReportMetric(step.Cost().FLOPs/sec/1e9, "GFLOP/s")
				b.ReportMetric(split, "split")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
