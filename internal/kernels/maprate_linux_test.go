package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time of the calling thread (locked to it).
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// TestMapRates (JACOBI_MAPRATES=rounds) prints, for the kernel path in use
// (JACOBI_KERNEL), each float64 map and its float32 twin on one worker:
// bytes read and written per second of the thread's CPU time (on a shared
// machine, time spent waiting for a core is not counted), best of the
// rounds, the two precisions timed in turns, and the ratio of elements per
// second, float32 over float64.
func TestMapRates(t *testing.T) {
	rounds := 0
	fmt.Sscan(os.Getenv("JACOBI_MAPRATES"), &rounds)
	if rounds <= 0 {
		t.Skip("set JACOBI_MAPRATES to a number of rounds")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	SetWorkers(1)
	defer SetWorkers(0)
	// rate returns the bytes per second of CPU time of f, which moves
	// bytes per call, timed over at least 20 ms.
	rate := func(f func(), bytes int) float64 {
		f()
		n := 1
		for {
			start := threadCPUTime()
			for i := 0; i < n; i++ {
				f()
			}
			if d := threadCPUTime() - start; d > 20*time.Millisecond {
				return float64(bytes) * float64(n) / d.Seconds()
			}
			n *= 2
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	var out strings.Builder
	fmt.Fprintf(&out, "\npath %s, one worker, GB/s of CPU time (float64 | float32 | elements/s ratio)\n\n", Path())
	fmt.Fprintf(&out, "| op | 64Ki f64 | 64Ki f32 | ratio | 4Mi f64 | 4Mi f32 | ratio |\n|---|---|---|---|---|---|---|\n")
	type pair struct {
		name         string
		streams      int // vectors read + written
		f64          func(d, x, g, c []float64)
		f32          func(d, x, g, c []float32)
		positiveOnly bool
	}
	pairs := []pair{
		{"Exp", 2, func(d, x, g, c []float64) { Exp(d, x) }, func(d, x, g, c []float32) { Exp32(d, x) }, false},
		{"Sigmoid", 2, func(d, x, g, c []float64) { Sigmoid(d, x) }, func(d, x, g, c []float32) { Sigmoid32(d, x) }, false},
		{"Tanh", 2, func(d, x, g, c []float64) { Tanh(d, x) }, func(d, x, g, c []float32) { Tanh32(d, x) }, false},
		{"Log", 2, func(d, x, g, c []float64) { Log(d, x) }, func(d, x, g, c []float32) { Log32(d, x) }, true},
		{"Sin", 2, func(d, x, g, c []float64) { Sin(d, x) }, func(d, x, g, c []float32) { Sin32(d, x) }, false},
		{"Cos", 2, func(d, x, g, c []float64) { Cos(d, x) }, func(d, x, g, c []float32) { Cos32(d, x) }, false},
		{"Erf", 2, func(d, x, g, c []float64) { Erf(d, x) }, func(d, x, g, c []float32) { Erf32(d, x) }, false},
		{"Log1p (float64: math.Log1p loop)", 2, func(d, x, g, c []float64) {
			for i, v := range x {
				d[i] = math.Log1p(v)
			}
		}, func(d, x, g, c []float32) { Log1p32(d, x) }, true},
		{"Sqrt (float64: math.Sqrt loop)", 2, func(d, x, g, c []float64) {
			for i, v := range x {
				d[i] = math.Sqrt(v)
			}
		}, func(d, x, g, c []float32) { Sqrt32(d, x) }, true},
		{"TanhBackward", 3, func(d, x, g, c []float64) { TanhBackward(d, g, x) }, func(d, x, g, c []float32) { TanhBackward32(d, g, x) }, false},
		{"SigmoidBackward", 3, func(d, x, g, c []float64) { SigmoidBackward(d, g, x) }, func(d, x, g, c []float32) { SigmoidBackward32(d, g, x) }, false},
		{"MulAdd", 4, func(d, x, g, c []float64) { MulAdd(d, x, g, c) }, func(d, x, g, c []float32) { MulAdd32(d, x, g, c) }, false},
		{"Axpy", 3, func(d, x, g, c []float64) { Axpy(d, 0.5, x) }, func(d, x, g, c []float32) { Axpy32(d, 0.5, x) }, false},
		{"TanhWithDeriv", 3, func(d, x, g, c []float64) { TanhWithDeriv(d, c, x) }, func(d, x, g, c []float32) { TanhWithDeriv32(d, c, x) }, false},
		{"SumAxis (1, 256, n/256)", 1, func(d, x, g, c []float64) { SumAxis(d[:len(x)/256], x, 1, 256, len(x)/256) },
			func(d, x, g, c []float32) { SumAxis32(d[:len(x)/256], x, 1, 256, len(x)/256) }, false},
		{"SumAxis (n/256, 256, 1)", 1, func(d, x, g, c []float64) { SumAxis(d[:len(x)/256], x, len(x)/256, 256, 1) },
			func(d, x, g, c []float32) { SumAxis32(d[:len(x)/256], x, len(x)/256, 256, 1) }, false},
	}
	type cell struct{ f64, f32 float64 }
	best := make([][2]cell, len(pairs))
	for round := 0; round < rounds; round++ {
		for si, n := range []int{1 << 16, 1 << 22} {
			x, x32 := make([]float64, n), make([]float32, n)
			pos, pos32 := make([]float64, n), make([]float32, n)
			g, c, d := make([]float64, n), make([]float64, n), make([]float64, n)
			g32, c32, d32 := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = (r.Float64()*2 - 1) * 5
				pos[i] = math.Abs(x[i]) + 1e-3
				x32[i], pos32[i] = float32(x[i]), float32(pos[i])
				g[i], c[i], g32[i], c32[i] = 1, 0.5, 1, 0.5
			}
			for pi, p := range pairs {
				in, in32 := x, x32
				if p.positiveOnly {
					in, in32 = pos, pos32
				}
				a := rate(func() { p.f64(d, in, g, c) }, 8*p.streams*n)
				b := rate(func() { p.f32(d32, in32, g32, c32) }, 4*p.streams*n)
				best[pi][si].f64 = max(best[pi][si].f64, a)
				best[pi][si].f32 = max(best[pi][si].f32, b)
			}
		}
	}
	for pi, p := range pairs {
		fmt.Fprintf(&out, "| %s |", p.name)
		for si := range 2 {
			b := best[pi][si]
			fmt.Fprintf(&out, " %.1f | %.1f | %.2f |", b.f64/1e9, b.f32/1e9, 2*b.f32/b.f64)
		}
		fmt.Fprintln(&out)
	}
	t.Log(out.String())
}
