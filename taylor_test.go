package jacobi_test

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

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
