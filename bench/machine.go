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
}

// dgemmSize is the reference product's size.
const dgemmSize = 1024

// MeasureMachine describes this machine and times the reference product
// for about budget (at least 3 runs).
func MeasureMachine(budget time.Duration) Machine {
	mc := Machine{CPU: kernels.CPU(), Kernels: kernels.Path(), GEMM: kernels.Blocking(false), Workers: kernels.Workers()}
	n := dgemmSize
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	for i := range a {
		a[i], b[i] = r.Float64()*2-1, r.Float64()*2-1
	}
	flops := 2 * float64(n) * float64(n) * float64(n)
	kernels.Dgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up
	start := time.Now()
	for runs := 0; runs < 3 || time.Since(start) < budget; runs++ {
		t := time.Now()
		kernels.Dgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		mc.DGEMM = max(mc.DGEMM, flops/time.Since(t).Seconds()/1e9)
	}
	return mc
}

// String is the machine in a few lines, for the head of a report.
func (m Machine) String() string {
	return fmt.Sprintf("CPU: %s\nkernels: %s (%s), %d workers\nDGEMM %d×%d×%d: %.1f GFLOP/s (the reference of the \"of DGEMM\" column)",
		m.CPU, m.Kernels, m.GEMM, m.Workers, dgemmSize, dgemmSize, dgemmSize, m.DGEMM)
}
