package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jacobi-ad/jacobi/internal/kernels"
)

// Machine describes where a run happened, so that figures from different
// machines can be read against each other: the CPU, the kernels in use and
// the rate of a plain matrix product measured in the same run.
type Machine struct {
	CPU     string // the processor, the features the kernels use, its caches
	Kernels string // the kernel path (JACOBI_KERNEL, or the best the CPU runs)
	GEMM    string // the GEMM micro-kernel and its blocking
	Workers int    // the workers the cases run on
	// DGEMM is the GFLOP/s of a 1024×1024×1024 float64 product on Workers
	// workers, best of repeated runs: what a GEMM-bound case can approach.
	DGEMM float64
	// SGEMM is the same in float32, for float32 cases (0: not measured).
	SGEMM float64
}

// GEMMRate returns the reference product's rate in dtype dt ("float32":
// SGEMM, otherwise DGEMM).
func (m Machine) GEMMRate(dt string) float64 {
	if dt == "float32" {
		return m.SGEMM
	}
	return m.DGEMM
}

// dgemmSize is the reference product's size.
const dgemmSize = 1024

// MeasureMachine describes this machine and times the reference product
// for about budget (at least 3 runs); with f32, the float32 one too.
func MeasureMachine(budget time.Duration, f32 bool) Machine {
	mc := Machine{CPU: kernels.CPU(), Kernels: kernels.Path(), GEMM: kernels.Blocking(false), Workers: kernels.Workers()}
	n := dgemmSize
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	for i := range a {
		a[i], b[i] = r.Float64()*2-1, r.Float64()*2-1
	}
	mc.DGEMM = gemmRate(budget, func() { kernels.Dgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) })
	if f32 {
		a32, b32, c32 := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
		for i := range a {
			a32[i], b32[i] = float32(a[i]), float32(b[i])
		}
		mc.SGEMM = gemmRate(budget, func() { kernels.Sgemm(false, false, n, n, n, 1, a32, n, b32, n, 0, c32, n) })
	}
	return mc
}

// gemmRate times the reference product run by gemm: GFLOP/s, best of at
// least 3 runs within about budget, after one to warm up.
func gemmRate(budget time.Duration, gemm func()) float64 {
	n := float64(dgemmSize)
	flops := 2 * n * n * n
	gemm()
	best := 0.0
	start := time.Now()
	for runs := 0; runs < 3 || time.Since(start) < budget; runs++ {
		t := time.Now()
		gemm()
		best = max(best, flops/time.Since(t).Seconds()/1e9)
	}
	return best
}

// String is the machine in a few lines, for the head of a report.
func (m Machine) String() string {
	s := fmt.Sprintf("CPU: %s\nkernels: %s (%s), %d workers\nDGEMM %d×%d×%d: %.1f GFLOP/s (the reference of float64 cases' \"of GEMM\")",
		m.CPU, m.Kernels, m.GEMM, m.Workers, dgemmSize, dgemmSize, dgemmSize, m.DGEMM)
	if m.SGEMM > 0 {
		s += fmt.Sprintf("\nSGEMM %d×%d×%d: %.1f GFLOP/s (the reference of float32 cases' \"of GEMM\")", dgemmSize, dgemmSize, dgemmSize, m.SGEMM)
	}
	return s
}
