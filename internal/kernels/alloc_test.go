package kernels

import (
	"runtime/debug"
	"testing"
)

// A product on the calling goroutine alone allocates nothing once its
// scratch buffers exist: runners that keep every core busy with products
// of their own (a training step run in chunks) allocate nothing per run.
func TestGemmSerialAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // keep the scratch pools
	for _, c := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"square", false, false, 64, 64, 64},
		{"thin", false, true, 300, 8, 16},
		{"matrix-vector", false, false, 100, 1, 50},
		{"transposed matrix-vector", true, false, 100, 1, 50},
		{"large", false, false, 200, 200, 300},
	} {
		lda, ldb := c.k, c.n
		if c.transA {
			lda = c.m
		}
		if c.transB {
			ldb = c.k
		}
		a, b, out := make([]float64, c.m*c.k), make([]float64, c.k*c.n), make([]float64, c.m*c.n)
		run := func() { DgemmSerial(true, c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, out, c.n) }
		run()
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%s: %v allocations per product", c.name, n)
		}
		a32, b32, out32 := make([]float32, c.m*c.k), make([]float32, c.k*c.n), make([]float32, c.m*c.n)
		run32 := func() { SgemmSerial(true, c.transA, c.transB, c.m, c.n, c.k, 1, a32, lda, b32, ldb, 0, out32, c.n) }
		run32()
		if n := testing.AllocsPerRun(20, run32); n != 0 {
			t.Errorf("%s: %v allocations per float32 product", c.name, n)
		}
	}
}
