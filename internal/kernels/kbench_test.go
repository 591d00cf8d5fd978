package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKernels compares the available micro-kernels through the whole
// blocked algorithm on one worker.
func BenchmarkKernels(b *testing.B) {
	for _, kn := range availableKernels() {
		for _, s := range [][3]int{{1024, 1024, 1024}, {8192, 64, 64}, {64, 64, 64}} {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kn.name, m, n, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a, bb, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
				g := gemmArgs{false, false, m, n, k, 1, a, k, bb, n, 0, c, n}
				for i := 0; i < b.N; i++ {
					gemm(&g, kn, 1)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
