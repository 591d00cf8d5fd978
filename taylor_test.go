package jacobi_test

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

func relClose(a, b, rtol float64) bool {
	return math.Abs(a-b) <= rtol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// Collapsed Taylor Laplacians and uncollapsed Taylor diagonals equal the
// trace and diagonal of the nested Hessian, for every activation and for
// outputs wider than one.
func TestTaylorMatchesHessian(t *testing.T) {
	for _, act := range nn.ActivationNames() {
		t.Run(act, func(t *testing.T) {
			rng := tensor.NewRand(21)
			m, err := nn.RandomMLP(rng, []int{4, 9, 7, 3}, act)
			if err != nil {
				t.Fatal(err)
			}
			x := tensor.Randn(rng, 5, 4)
			h, err := jacobi.BatchHessian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			lap, err := jacobi.BatchLaplacian(m.Apply, x, jacobi.WithMethod(jacobi.MethodTaylor))
			if err != nil {
				t.Fatal(err)
			}
			diag, err := jacobi.BatchHessianDiag(m.Apply, x, jacobi.WithMethod(jacobi.MethodTaylor))
			if err != nil {
				t.Fatal(err)
			}
			nestedLap, err := jacobi.BatchLaplacian(m.Apply, x, jacobi.WithMethod(jacobi.MethodNested))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				for o := 0; o < 3; o++ {
					tr := 0.0
					for k := 0; k < 4; k++ {
						hk := h.At(i, o, k, k)
						tr += hk
						if !relClose(diag.At(i, o, k), hk, 1e-10) {
							t.Fatalf("diag[%d,%d,%d] = %.15g, hessian has %.15g", i, o, k, diag.At(i, o, k), hk)
						}
					}
					if !relClose(lap.At(i, o), tr, 1e-10) || !relClose(nestedLap.At(i, o), tr, 1e-10) {
						t.Fatalf("laplacian[%d,%d]: taylor %.15g, nested %.15g, trace %.15g", i, o, lap.At(i, o), nestedLap.At(i, o), tr)
					}
				}
			}
		})
	}
}

// The general operator Σ A_ij ∂²f/∂x_i∂x_j + Σ b_i ∂f/∂x_i against its
// definition from the Hessian and the Jacobian.
func TestOperator(t *testing.T) {
	rng := tensor.NewRand(5)
	m, err := nn.RandomMLP(rng, []int{3, 8, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(rng, 4, 3)
	a := tensor.Randn(rng, 3, 3) // not symmetric, indefinite
	bv := tensor.Randn(rng, 3)
	h, err := jacobi.BatchHessian(m.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jacobi.BatchJacobian(m.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, withB := range []bool{false, true} {
		var b *tensor.Tensor
		if withB {
			b = bv
		}
		got, err := jacobi.BatchOperator(m.Apply, x, a, b)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			for o := 0; o < 2; o++ {
				want := 0.0
				for p := 0; p < 3; p++ {
					for q := 0; q < 3; q++ {
						want += a.At(p, q) * h.At(i, o, p, q)
					}
					if withB {
						want += bv.At(p) * j.At(i, o, p)
					}
				}
				if !relClose(got.At(i, o), want, 1e-10) {
					t.Fatalf("operator[%d,%d] = %.15g, definition gives %.15g", i, o, got.At(i, o), want)
				}
			}
		}
	}
	if _, err := jacobi.BatchOperator(m.Apply, x, tensor.Zeros(2, 2), nil); err == nil {
		t.Fatal("a matrix of the wrong shape was accepted")
	}
}

// The estimators are unbiased: over many seeds the mean lies within a few
// standard errors of the exact Laplacian.
func TestEstimatorsUnbiased(t *testing.T) {
	rng := tensor.NewRand(9)
	m, err := nn.RandomMLP(rng, []int{12, 16, 1}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(rng, 3, 12)
	exact, err := jacobi.BatchLaplacian(m.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []jacobi.EstimatorKind{jacobi.EstimatorHutchinson, jacobi.EstimatorSampledDims} {
		t.Run(kind.String(), func(t *testing.T) {
			const seeds = 300
			sum := make([]float64, 3)
			sq := make([]float64, 3)
			differs := false
			for s := 0; s < seeds; s++ {
				est := jacobi.Estimator{Kind: kind, Samples: 3, Seed: uint64(s)}
				e, err := jacobi.BatchLaplacian(m.Apply, x, jacobi.WithEstimator(est))
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range e.Data() {
					sum[i] += v
					sq[i] += v * v
					differs = differs || math.Abs(v-exact.Data()[i]) > 1e-9
				}
			}
			if !differs {
				t.Fatal("every estimate equals the exact value: not an estimator")
			}
			for i := range sum {
				mean := sum[i] / seeds
				sd := math.Sqrt(math.Max(sq[i]/seeds-mean*mean, 0))
				se := sd / math.Sqrt(seeds)
				if d := math.Abs(mean - exact.Data()[i]); d > 4*se+1e-12 {
					t.Fatalf("sample %d: mean estimate %.6g, exact %.6g, %0.1f standard errors away", i, mean, exact.Data()[i], d/se)
				}
			}
		})
	}
}

// peakHeap runs f while sampling the live heap (runtime/metrics, which does
// not stop the world) and returns its peak above the level before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if h := read(); h > base && h-base > peak.Load() {
				peak.Store(h - base)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// BenchmarkLaplacian compares collapsed Taylor mode with nested
// forward-over-reverse on the lap50 case (50 → 768 → 768 → 512 → 512 → 1,
// tanh, b = 128) and a 100-input network, with the peak heap of each.
func BenchmarkLaplacian(b *testing.B) {
	cases := []struct {
		name  string
		sizes []int
		batch int
	}{
		{"lap50", []int{50, 768, 768, 512, 512, 1}, 128},
		{"in100", []int{100, 256, 256, 1}, 256},
	}
	for _, c := range cases {
		rng := tensor.NewRand(1)
		m, err := nn.RandomMLP(rng, c.sizes, "tanh")
		if err != nil {
			b.Fatal(err)
		}
		x := tensor.Randn(rng, c.batch, c.sizes[0])
		for _, method := range []jacobi.Method{jacobi.MethodTaylor, jacobi.MethodNested} {
			comp, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchLaplacianOf(m.Apply, x, jacobi.WithMethod(method))
			}, []int{c.sizes[0]})
			if err != nil {
				b.Fatal(err)
			}
			cost, err := comp.Cost(c.batch)
			if err != nil {
				b.Fatal(err)
			}
			// The heap is sampled on the first run (plans, working slabs
			// and output all new), outside the timing: the sampler would
			// compete with the workers for the cores.
			peak := peakHeap(func() {
				if _, err := comp.Run(x); err != nil {
					b.Fatal(err)
				}
			})
			b.Run(fmt.Sprintf("%s/%s", c.name, method), func(b *testing.B) {
				for b.Loop() {
					if _, err := comp.Run(x); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(cost.FLOPs/sec/1e9, "GFLOP/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			})
		}
	}
}

// Samples that are not vectors: the Laplacian sums over all their elements
// and the diagonal takes the sample's shape.
func TestSecondOrderOnMatrixSamples(t *testing.T) {
	rng := tensor.NewRand(31)
	w := tensor.Randn(rng, 6, 2)
	f := func(x *jacobi.Node) *jacobi.Node { // x: (b, 2, 3)
		return x.Reshape(x.Shape()[0], 6).MatMul(jacobi.Const(w)).Tanh()
	}
	flat := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)).Tanh() }
	x := tensor.Randn(rng, 4, 2, 3)
	xf, _ := x.Reshape(4, 6)
	lap, err := jacobi.BatchLaplacian(f, x)
	if err != nil {
		t.Fatal(err)
	}
	lapFlat, err := jacobi.BatchLaplacian(flat, xf)
	if err != nil {
		t.Fatal(err)
	}
	diag, err := jacobi.BatchHessianDiag(f, x)
	if err != nil {
		t.Fatal(err)
	}
	diagFlat, err := jacobi.BatchHessianDiag(flat, xf)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(lap.Shape(), []int{4, 2}) || !tensor.SameShape(diag.Shape(), []int{4, 2, 2, 3}) {
		t.Fatalf("shapes %v and %v", lap.Shape(), diag.Shape())
	}
	assertClose(t, "laplacian", lap.Data(), lapFlat.Data(), 1e-13, 1e-15)
	assertClose(t, "diagonal", diag.Data(), diagFlat.Data(), 1e-13, 1e-15)
}

// BatchJetOf's three results against independent computations: the value
// against Eval, the directional derivatives against the reverse-mode
// Jacobian, the operator against its definition from the nested Hessian
// and against finite differences of f along each direction; float32
// models and samples of any shape; and bad directions, weights and drift
// are errors.
func TestBatchJet(t *testing.T) {
	rng := tensor.NewRand(41)
	m, err := nn.RandomMLP(rng, []int{3, 8, 7, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	const b, n, k, out = 5, 3, 2, 2
	x := tensor.Randn(rng, b, n)
	dirs := tensor.Randn(rng, k, n)
	weights := []float64{0.7, -1.3}
	drift := tensor.Randn(rng, n)
	for _, tc := range []struct {
		name    string
		weights []float64
		drift   *tensor.Tensor
	}{{"weights and drift", weights, drift}, {"unit weights, no drift", nil, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			y, dy, lf, err := jacobi.BatchJet(m.Apply, x, dirs, tc.weights, tc.drift)
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(y.Shape(), []int{b, out}) || !tensor.SameShape(dy.Shape(), []int{b, out, k}) || !tensor.SameShape(lf.Shape(), []int{b, out}) {
				t.Fatalf("shapes %v, %v, %v", y.Shape(), dy.Shape(), lf.Shape())
			}
			val, err := jacobi.Eval(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			jac, err := jacobi.BatchJacobian(m.Apply, x, jacobi.WithMode(jacobi.ModeReverse))
			if err != nil {
				t.Fatal(err)
			}
			hess, err := jacobi.BatchHessian(m.Apply, x)
			if err != nil {
				t.Fatal(err)
			}
			w := func(j int) float64 {
				if tc.weights == nil {
					return 1
				}
				return tc.weights[j]
			}
			for i := 0; i < b; i++ {
				for o := 0; o < out; o++ {
					if !relClose(y.At(i, o), val.At(i, o), 1e-14) {
						t.Fatalf("y[%d,%d] = %v, Eval %v", i, o, y.At(i, o), val.At(i, o))
					}
					want := 0.0
					for j := 0; j < k; j++ {
						d := 0.0
						for p := 0; p < n; p++ {
							d += jac.At(i, o, p) * dirs.At(j, p)
							for q := 0; q < n; q++ {
								want += w(j) * dirs.At(j, p) * hess.At(i, o, p, q) * dirs.At(j, q)
							}
						}
						if !relClose(dy.At(i, o, j), d, 1e-12) {
							t.Fatalf("dy[%d,%d,%d] = %v, J·v %v", i, o, j, dy.At(i, o, j), d)
						}
					}
					for p := 0; tc.drift != nil && p < n; p++ {
						want += tc.drift.At(p) * jac.At(i, o, p)
					}
					if !relClose(lf.At(i, o), want, 1e-11) {
						t.Fatalf("operator[%d,%d] = %v, from the Hessian %v", i, o, lf.At(i, o), want)
					}
				}
			}
			// Finite differences of f along each direction (sample 0,
			// output 0): second derivatives and the drift's first.
			f0 := func(v []float64, s float64) float64 {
				xs := tensor.Zeros(1, n)
				for p := range n {
					xs.Data()[p] = x.At(0, p) + s*v[p]
				}
				r, err := jacobi.Eval(m.Apply, xs)
				if err != nil {
					t.Fatal(err)
				}
				return r.At(0, 0)
			}
			fdOp := 0.0
			for j := 0; j < k; j++ {
				v := dirs.Data()[j*n : (j+1)*n]
				fdOp += w(j) * fd.Derivative(func(s float64) float64 { return f0(v, s) }, 0, &fd.Settings{Formula: fd.Central2nd, Step: 1e-4})
			}
			if tc.drift != nil {
				fdOp += fd.Derivative(func(s float64) float64 { return f0(tc.drift.Data(), s) }, 0, &fd.Settings{Formula: fd.Central, Step: 1e-6})
			}
			if !relClose(lf.At(0, 0), fdOp, 1e-6) {
				t.Errorf("operator[0,0] = %v, finite differences %v", lf.At(0, 0), fdOp)
			}
		})
	}
	t.Run("float32", func(t *testing.T) {
		// A float32 model's jet runs in float32 and stays within float32's
		// rounding of the float64 one.
		m32 := m.Convert(tensor.Float32)
		y, dy, lf, err := jacobi.BatchJet(m32.Apply, x.Convert(tensor.Float32), dirs, weights, drift)
		if err != nil {
			t.Fatal(err)
		}
		y64, dy64, lf64, err := jacobi.BatchJet(m.Apply, x, dirs, weights, drift)
		if err != nil {
			t.Fatal(err)
		}
		for i, pair := range [][2]*tensor.Tensor{{y, y64}, {dy, dy64}, {lf, lf64}} {
			if pair[0].DType() != tensor.Float32 {
				t.Fatalf("result %d is %v, want float32", i, pair[0].DType())
			}
			assertClose(t, fmt.Sprint("result ", i), pair[0].Convert(tensor.Float64).Data(), pair[1].Data(), 1e-4, 1e-5)
		}
	})
	t.Run("matrix samples", func(t *testing.T) {
		wm := tensor.Randn(rng, 6, 2)
		f := func(x *jacobi.Node) *jacobi.Node { return x.Reshape(x.Shape()[0], 6).MatMul(jacobi.Const(wm)).Tanh() }
		flat := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(wm)).Tanh() }
		xm := tensor.Randn(rng, 4, 2, 3)
		xf, _ := xm.Reshape(4, 6)
		d6, dr6 := tensor.Randn(rng, 2, 6), tensor.Randn(rng, 6)
		y, dy, lf, err := jacobi.BatchJet(f, xm, d6, []float64{1, -2}, dr6)
		if err != nil {
			t.Fatal(err)
		}
		yf, dyf, lff, err := jacobi.BatchJet(flat, xf, d6, []float64{1, -2}, dr6)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(dy.Shape(), []int{4, 2, 2}) || !tensor.SameShape(lf.Shape(), []int{4, 2}) {
			t.Fatalf("shapes %v and %v", dy.Shape(), lf.Shape())
		}
		assertClose(t, "value", y.Data(), yf.Data(), 1e-13, 1e-15)
		assertClose(t, "derivatives", dy.Data(), dyf.Data(), 1e-13, 1e-15)
		assertClose(t, "operator", lf.Data(), lff.Data(), 1e-13, 1e-15)
	})
	for _, bad := range []struct {
		name    string
		dirs    *tensor.Tensor
		weights []float64
		drift   *tensor.Tensor
		want    string
	}{
		{"directions of the wrong width", tensor.Zeros(2, 4), nil, nil, "directions have shape [2 4]"},
		{"no directions", nil, nil, nil, "directions have shape []"},
		{"weights of the wrong length", dirs, []float64{1}, nil, "1 weights for 2 directions"},
		{"drift of the wrong shape", dirs, nil, tensor.Zeros(2), "drift has shape [2]"},
		{"a NaN weight", dirs, []float64{1, math.NaN()}, nil, "NaN"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, _, _, err := jacobi.BatchJet(m.Apply, x, bad.dirs, bad.weights, bad.drift)
			if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "BatchJetOf") {
				t.Errorf("got %v, want an error naming BatchJetOf and saying %q", err, bad.want)
			}
		})
	}
}
