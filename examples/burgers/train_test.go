package main

import (
	"math"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/optim"
	"github.com/jacobi-ad/jacobi/tensor"
)

func setup(tb testing.TB, form string, nf int) (optim.Objective, []*tensor.Tensor, *problem) {
	tb.Helper()
	c := config{nf: nf, nu: 100}
	c.Seed = 1
	p, err := newProblem(c)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := nn.NewMLPFrom([]int{2, 20, 20, 20, 20, 20, 20, 20, 20, 1}, "tanh", nn.XavierNormal, 1)
	if err != nil {
		tb.Fatal(err)
	}
	obj, _, err := optim.NewObjective(loss(m, form), m.Params(), p.data()...)
	if err != nil {
		tb.Fatal(err)
	}
	return obj, m.Params(), p
}

// BenchmarkLossStep times one evaluation of the loss and its gradient with
// respect to all 3021 parameters on the paper's 10 100 points, with u_xx
// taken by each formulation.
func BenchmarkLossStep(b *testing.B) {
	for _, form := range []string{"jet", "operator", "grad", "hessdiag"} {
		b.Run(form, func(b *testing.B) {
			obj, params, _ := setup(b, form, 10000)
			grads := optim.ZerosLike(params)
			c0 := cpuTime()
			for b.Loop() {
				if _, err := obj(grads); err != nil {
					b.Fatal(err)
				}
			}
			// On a shared machine the CPU time is steadier than the wall time.
			b.ReportMetric((cpuTime()-c0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestFormsAgree checks that the four ways of writing the residual give
// the same loss and gradients, and against a finite-difference residual.
func TestFormsAgree(t *testing.T) {
	var ref []float64
	for _, form := range []string{"jet", "operator", "grad", "hessdiag"} {
		obj, params, _ := setup(t, form, 300)
		grads := optim.ZerosLike(params)
		l, err := obj(grads)
		if err != nil {
			t.Fatal(err)
		}
		flat := []float64{l}
		for _, g := range grads {
			flat = append(flat, g.Data()...)
		}
		if ref == nil {
			ref = flat
			continue
		}
		for i, v := range flat {
			if math.Abs(v-ref[i]) > 1e-12*math.Max(1, math.Abs(ref[i])) {
				t.Fatalf("%s: value %d is %.17g, jet form %.17g", form, i, v, ref[i])
			}
		}
	}
}

// TestResidualAgainstFiniteDifferences evaluates the loss of a network on
// a few points and compares it with the loss computed from finite
// differences of the network's values.
func TestResidualAgainstFiniteDifferences(t *testing.T) {
	c := config{nf: 5, nu: 3}
	c.Seed = 2
	p, err := newProblem(c)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := nn.NewMLPFrom([]int{2, 20, 20, 1}, "tanh", nn.XavierNormal, 3)
	obj, _, err := optim.NewObjective(loss(m, "jet"), m.Params(), p.data()...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := obj(optim.ZerosLike(m.Params()))
	if err != nil {
		t.Fatal(err)
	}
	u := func(tt, x float64) float64 {
		y, err := jacobi.Eval(func(z *jacobi.Node) *jacobi.Node { return network(m)(consts(m.Params()), z) }, tensor.MustNew([]int{1, 2}, []float64{tt, x}))
		if err != nil {
			t.Fatal(err)
		}
		return y.Data()[0]
	}
	const h = 1e-4
	res := 0.0
	n := p.xf.Shape()[0]
	for i := 0; i < n; i++ {
		tt, x := p.xf.At(i, 0), p.xf.At(i, 1)
		u0 := u(tt, x)
		ut := (u(tt+h, x) - u(tt-h, x)) / (2 * h)
		ux := (u(tt, x+h) - u(tt, x-h)) / (2 * h)
		uxx := (u(tt, x+h) - 2*u0 + u(tt, x-h)) / (h * h)
		f := ut + u0*ux - nu*uxx
		res += f * f / float64(n)
	}
	mis := 0.0
	for i := 0; i < p.xu.Shape()[0]; i++ {
		d := u(p.xu.At(i, 0), p.xu.At(i, 1)) - p.uu.Data()[i]
		mis += d * d / float64(p.xu.Shape()[0])
	}
	if want := res + mis; math.Abs(got-want) > 1e-6*math.Max(1, want) {
		t.Errorf("loss %.10g, finite differences %.10g", got, want)
	}
}

// TestTrainingReducesLoss takes a few Adam and L-BFGS steps on a small
// problem and checks that the loss falls and the error against the exact
// solution with it.
func TestTrainingReducesLoss(t *testing.T) {
	obj, params, _ := setup(t, "jet", 500)
	adam, _ := optim.NewAdam(params, optim.DefaultAdam())
	h, err := optim.Loop{Steps: 20}.Run(adam, obj)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := optim.NewLBFGS(params, optim.DefaultLBFGS())
	h2, err := lb.Run(obj, optim.Loop{Steps: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !(h.Final() < h.Loss[0]) || !(h2.Final() < h2.Loss[0]/2) {
		t.Errorf("Adam %v → %v, L-BFGS %v → %v", h.Loss[0], h.Final(), h2.Loss[0], h2.Final())
	}
}
