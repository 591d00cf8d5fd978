package main

import (
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

var streamMax = flag.Int("stream.max", 100000, "largest batch of BenchmarkStreamedJacobian (powers of 10 from 10³; 10000000 for the 10⁷-sample figure)")

// streamedPeak runs jacobi jacobian on the test MLP Linear(5,2) → Sigmoid →
// Linear(2,10) (as a model file: the built-in one would also compare with
// the naive way) with a random batch of n samples, in float64, streamed to a .npy file in dir, and
// returns the process's peak resident memory in bytes.
func streamedPeak(tb testing.TB, n int, dir string) int64 {
	tb.Helper()
	cmd := exec.Command(bin, "jacobian", "--model", "../../testdata/models/mlp/model.onnx", "--batch", fmt.Sprint(n), "--dtype", "float64", "--output", filepath.Join(dir, "j.npy"), "--quiet")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("jacobi jacobian --batch %d: %v\n%s", n, err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // kB on Linux
}

// The peak memory of a run streamed to its output file does not grow with
// the batch: 10⁴ samples (a 4 MB result) and 10⁶ (400 MB) take about the
// same. (Held whole, the larger result alone would take 400 MB more.)
func TestStreamedMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 400 MB file")
	}
	dir := t.TempDir()
	small, large := streamedPeak(t, 10_000, dir), streamedPeak(t, 1_000_000, dir)
	if large > small+100<<20 {
		t.Errorf("peak memory %.0f MB at 10⁶ samples, %.0f MB at 10⁴: it grows with the batch", float64(large)/1e6, float64(small)/1e6)
	}
}

// BenchmarkStreamedJacobian reports the peak resident memory of jacobi
// jacobian streaming the per-sample Jacobians (b, 10, 5) of the test MLP on a random batch of b samples to a .npy file, for b = 10³ up to
// -stream.max: flat in b.
//
//	go test ./cmd/jacobi -run '^$' -bench StreamedJacobian -benchtime 1x -stream.max 10000000
func BenchmarkStreamedJacobian(b *testing.B) {
	for n := 1000; n <= *streamMax; n *= 10 {
		b.Run(fmt.Sprintf("b=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			var peak int64
			for b.Loop() {
				peak = max(peak, streamedPeak(b, n, dir))
			}
			b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
			b.ReportMetric(float64(n)*400/1e6, "result-MB")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
