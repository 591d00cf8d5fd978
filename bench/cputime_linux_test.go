package bench

import (
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi/internal/kernels"
)

// cpuTime is the CPU time the process has used (all its threads).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSeconds is the CPU time of one call of fn.
func cpuSeconds(b *testing.B, fn func() error) float64 {
	start := cpuTime(b)
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	return (cpuTime(b) - start).Seconds()
}

// BenchmarkDTypesByCPUTime runs every standard case's default method in
// float32 and in float64, one call of each in turns per iteration, and
// reports the fastest call of each by CPU time (time spent waiting for a
// core on a shared machine is not counted), as GFLOP/s and as the fraction
// of the product of its dtype (SGEMM, DGEMM 512³, by CPU time too), with
// the float32 speed-up. Meant for one worker, where CPU time is the time
// of the work:
//
//	GOMAXPROCS=1 go test ./bench -run - -bench DTypesByCPUTime -benchtime 15x
func BenchmarkDTypesByCPUTime(b *testing.B) {
	const n = 512
	a, bb, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	a32, b32, c32 := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], bb[i] = float64(i%7)-3, float64(i%5)-2
		a32[i], b32[i] = float32(a[i]), float32(bb[i])
	}
	gemmFlops := 2.0 * n * n * n
	var dgemm, sgemm float64 // GFLOP/s
	b.Run("gemm", func(b *testing.B) {
		d, s := math.Inf(1), math.Inf(1)
		for range b.N {
			d = min(d, cpuSeconds(b, func() error { kernels.Dgemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n); return nil }))
			s = min(s, cpuSeconds(b, func() error { kernels.Sgemm(false, false, n, n, n, 1, a32, n, b32, n, 0, c32, n); return nil }))
		}
		dgemm, sgemm = gemmFlops/d/1e9, gemmFlops/s/1e9
		b.ReportMetric(dgemm, "DGEMM-GFLOP/s")
		b.ReportMetric(sgemm, "SGEMM-GFLOP/s")
	})
	for _, c64 := range DefaultCases() {
		c32 := InFloat32([]Case{c64})[0]
		b.Run(c64.Name, func(b *testing.B) {
			var ps [2]*prepared
			for i, c := range []Case{c32, c64} {
				s, err := newSetup(c, 1)
				if err != nil {
					b.Fatal(err)
				}
				if ps[i], err = methodsFor(c.Derivative)[0].prepare(s); err != nil {
					b.Fatal(err)
				}
				if _, err := ps[i].run(); err != nil { // warm up
					b.Fatal(err)
				}
			}
			best := [2]float64{math.Inf(1), math.Inf(1)}
			for range b.N {
				for i, p := range ps {
					best[i] = min(best[i], cpuSeconds(b, func() error { _, err := p.run(); return err }))
				}
			}
			g32, g64 := ps[0].flops/best[0]/1e9, ps[1].flops/best[1]/1e9
			b.ReportMetric(g32, "f32-GFLOP/s")
			b.ReportMetric(g64, "f64-GFLOP/s")
			if sgemm > 0 && dgemm > 0 {
				b.ReportMetric(100*g32/sgemm, "f32-%SGEMM")
				b.ReportMetric(100*g64/dgemm, "f64-%DGEMM")
			}
			b.ReportMetric(best[1]/best[0], "f32-speedup")
		})
	}
}
