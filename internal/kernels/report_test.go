package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReport prints best-of-N GFLOP/s for the benchmark shapes on 1 and 2
// workers; it runs only with JACOBI_REPORT=trials (noisy machines need the
// best of several short runs). Not an assertion: a measuring tool.
func TestReport(t *testing.T) {
	v := os.Getenv("JACOBI_REPORT")
	if v == "" {
		t.Skip("set JACOBI_REPORT=<trials> to run")
	}
	trials, _ := strconv.Atoi(v)
	shapes := benchShapes
	if s := os.Getenv("JACOBI_SHAPES"); s != "" {
		shapes = nil
		for _, f := range strings.Split(s, ",") {
			var m, n, k int
			fmt.Sscanf(f, "%dx%dx%d", &m, &n, &k)
			shapes = append(shapes, [3]int{m, n, k})
		}
	}
	defer SetWorkers(0)
	for _, w := range []int{1, 2} {
		SetWorkers(w)
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			r := rand.New(rand.NewPCG(1, 1))
			a, b, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			flops := 2 * float64(m) * float64(n) * float64(k)
			reps := max(3, int(2e8/flops))
			best := 0.0
			for tr := 0; tr < trials; tr++ {
				t0 := time.Now()
				for i := 0; i < reps; i++ {
					Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				}
				best = max(best, flops*float64(reps)/time.Since(t0).Seconds()/1e9)
			}
			fmt.Printf("jacobi threads=%d %dx%dx%d %.1f GFLOP/s\n", w, m, n, k, best)
		}
	}
}

// BenchmarkDgemmTrans covers the transpose combinations the runtime uses
// (VJP: G·Wᵀ; weight gradients: Xᵀ·G).
func BenchmarkDgemmTrans(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, s := range [][3]int{{1024, 1024, 1024}, {8192, 256, 256}, {256, 256, 8192}} {
		for _, tr := range [][2]bool{{false, true}, {true, false}, {true, true}} {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("tA=%v,tB=%v/%dx%dx%d", tr[0], tr[1], m, n, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a, bb, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				for i := 0; i < b.N; i++ {
					Dgemm(tr[0], tr[1], m, n, k, 1, a, lda, bb, ldb, 0, c, n)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestTune prints best-of-N GFLOP/s of the blocked algorithm for a grid of
// blocking parameters (JACOBI_TUNE=trials; JACOBI_SHAPES as for TestReport;
// JACOBI_WORKERS). A measuring tool, not an assertion.
func TestTune(t *testing.T) {
	v := os.Getenv("JACOBI_TUNE")
	if v == "" {
		t.Skip("set JACOBI_TUNE=<trials> to run")
	}
	trials, _ := strconv.Atoi(v)
	workers, _ := strconv.Atoi(os.Getenv("JACOBI_WORKERS"))
	workers = max(1, workers)
	shapes := [][3]int{{1024, 1024, 1024}}
	if s := os.Getenv("JACOBI_SHAPES"); s != "" {
		shapes = nil
		for _, f := range strings.Split(s, ",") {
			var m, n, k int
			fmt.Sscanf(f, "%dx%dx%d", &m, &n, &k)
			shapes = append(shapes, [3]int{m, n, k})
		}
	}
	SetWorkers(workers)
	defer SetWorkers(0)
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 1))
		a, b, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
		flops := 2 * float64(m) * float64(n) * float64(k)
		reps := max(3, int(2e8/flops))
		for _, mc := range []int{96, 144, 192, 288} {
			for _, kc := range []int{128, 192, 256, 384} {
				kn := *kernel
				kn.mc, kn.kc = mc, kc
				best := 0.0
				for tr := 0; tr < trials; tr++ {
					t0 := time.Now()
					for i := 0; i < reps; i++ {
						g := gemmArgs{false, false, m, n, k, 1, a, k, b, n, 0, c, n}
						gemm(&g, &kn, workers)
					}
					best = max(best, flops*float64(reps)/time.Since(t0).Seconds()/1e9)
				}
				fmt.Printf("%dx%dx%d workers=%d mc=%d kc=%d %.1f GFLOP/s\n", m, n, k, workers, mc, kc, best)
			}
		}
	}
}
