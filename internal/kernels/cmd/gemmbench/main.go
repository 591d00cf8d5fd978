// Command gemmbench measures jacobi's GEMM (kernels.Dgemm, kernels.Sgemm)
// on the kernels benchmark's shapes, on 1 and 2 workers, and — built with
// `-tags openblas` (cgo, linking Debian's libopenblas.so.0) — OpenBLAS's
// cblas_dgemm/cblas_sgemm in the same process, interleaved trial by trial
// so that both see the same load on a shared machine:
//
//	go run -tags openblas ./internal/kernels/cmd/gemmbench -trials 20
//
// Each trial times one library for about -dur, after one untimed call that
// wakes its threads; the table holds the best trial of each (best-of is the
// least noisy statistic on a shared machine). OpenBLAS's helper threads
// spin after a call, so a pause follows every trial of either library. JACOBI_KERNEL picks jacobi's
// kernel path as everywhere; OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE pick
// OpenBLAS's kernels (the tool prints which it used). -tune mc,kc grids the
// blocking instead.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jacobi-ad/jacobi/internal/kernels"
)

// blas is the library compared with (nil without the openblas tag).
var blas interface {
	name() string
	describe() string
	setThreads(n int)
	dgemm(m, n, k int, a, b, c []float64)
	sgemm(m, n, k int, a, b, c []float32)
}

var defaultShapes = "1024x1024x1024,256x256x256,64x64x64,8192x64x64,4096x64x2,8192x256x256,2560x784x256"

func main() {
	shapesFlag := flag.String("shapes", defaultShapes, "comma-separated `MxNxK` shapes")
	threadsFlag := flag.String("threads", "1,2", "comma-separated worker `counts`")
	dtype := flag.String("dtype", "float64", "element type: float64 (Dgemm) or float32 (Sgemm)")
	trials := flag.Int("trials", 10, "timed trials per library, shape and thread count")
	dur := flag.Duration("dur", 30*time.Millisecond, "length of one trial")
	cpuTime := flag.Bool("cputime", false, "rate by the thread's CPU time instead of wall time (one thread only: on a loaded machine, time waiting for a core is not counted)")
	tune := flag.String("tune", "", "instead of comparing, time jacobi with each blocking of a grid `mc1:mc2:...,kc1:kc2:...` (0 keeps the cache-derived value)")
	flag.Parse()
	shapes, err := parseShapes(*shapesFlag)
	if err != nil {
		fatal(err)
	}
	var threads []int
	for _, s := range strings.Split(*threadsFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fatal(fmt.Errorf("bad thread count %q", s))
		}
		threads = append(threads, n)
	}
	if *cpuTime {
		if len(threads) != 1 || threads[0] != 1 {
			fatal(fmt.Errorf("-cputime needs -threads 1"))
		}
		runtime.LockOSThread()
		clock = threadCPUTime
	}
	if *dtype != "float64" && *dtype != "float32" {
		fatal(fmt.Errorf("bad -dtype %q", *dtype))
	}
	if err := kernels.PathError(); err != nil {
		fatal(err)
	}
	fmt.Printf("CPU: %s\n", kernels.CPU())
	fmt.Printf("jacobi: %s kernels, %s\n", kernels.Path(), kernels.Blocking(*dtype == "float32"))
	if blas != nil {
		fmt.Printf("compared with: %s\n", blas.describe())
	}
	fmt.Printf("%s, best of %d trials of %v, interleaved; %s\n\n", *dtype, *trials, *dur, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if *tune != "" {
		if err := runTune(*tune, shapes, threads, *dtype, *trials, *dur); err != nil {
			fatal(err)
		}
		return
	}
	runCompare(shapes, threads, *dtype, *trials, *dur)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "gemmbench: %v\n", err)
	os.Exit(1)
}

func parseShapes(s string) ([][3]int, error) {
	var shapes [][3]int
	for _, f := range strings.Split(s, ",") {
		var m, n, k int
		if _, err := fmt.Sscanf(f, "%dx%dx%d", &m, &n, &k); err != nil || m < 1 || n < 1 || k < 1 {
			return nil, fmt.Errorf("bad shape %q (want MxNxK)", f)
		}
		shapes = append(shapes, [3]int{m, n, k})
	}
	return shapes, nil
}

// operands returns a product's operands; run does C = A·B once.
type product struct {
	m, n, k int
	run     func()
	blas    func()
}

func newProduct(m, n, k int, dtype string) product {
	r := rand.New(rand.NewPCG(1, 1))
	p := product{m: m, n: n, k: k}
	if dtype == "float32" {
		a, b, c := rand32(r, m*k), rand32(r, k*n), make([]float32, m*n)
		p.run = func() { kernels.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
		if blas != nil {
			p.blas = func() { blas.sgemm(m, n, k, a, b, c) }
		}
		return p
	}
	a, b, c := rand64(r, m*k), rand64(r, k*n), make([]float64, m*n)
	p.run = func() { kernels.Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
	if blas != nil {
		p.blas = func() { blas.dgemm(m, n, k, a, b, c) }
	}
	return p
}

func rand64(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()*2 - 1
	}
	return s
}

func rand32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// timer measures one function: calibrate picks the repetitions that fill a
// trial, trial returns the GFLOP/s of one.
type timer struct {
	fn    func()
	flops float64
	reps  int
	best  float64
}

func (t *timer) calibrate(dur time.Duration) {
	t.fn()
	start := time.Now()
	n := 0
	for time.Since(start) < dur/2 {
		t.fn()
		n++
	}
	t.reps = max(1, 2*n)
}

func (t *timer) trial() {
	t.fn() // untimed: wakes the library's threads
	start := clock()
	for i := 0; i < t.reps; i++ {
		t.fn()
	}
	t.best = max(t.best, t.flops*float64(t.reps)/(clock()-start).Seconds()/1e9)
}

// clock is the time trials are measured in: wall time by default.
var clock = func() time.Duration { return time.Duration(time.Now().UnixNano()) }

// settle lets OpenBLAS's helper threads stop spinning before the other
// library runs.
func settle() { time.Sleep(150 * time.Millisecond) }

func runCompare(shapes [][3]int, threads []int, dtype string, trials int, dur time.Duration) {
	type row struct{ jac, other []float64 }
	rows := make([]row, len(shapes))
	for si, s := range shapes {
		p := newProduct(s[0], s[1], s[2], dtype)
		flops := 2 * float64(s[0]) * float64(s[1]) * float64(s[2])
		for _, nt := range threads {
			kernels.SetWorkers(nt)
			jac := &timer{fn: p.run, flops: flops}
			jac.calibrate(dur)
			var other *timer
			if p.blas != nil {
				blas.setThreads(nt)
				other = &timer{fn: p.blas, flops: flops}
				other.calibrate(dur)
				settle()
			}
			for t := 0; t < trials; t++ {
				jac.trial()
				if other != nil {
					settle()
					other.trial()
					settle()
				}
			}
			rows[si].jac = append(rows[si].jac, jac.best)
			if other != nil {
				rows[si].other = append(rows[si].other, other.best)
			}
			fmt.Fprintf(os.Stderr, "%dx%dx%d threads=%d: jacobi %.1f", s[0], s[1], s[2], nt, jac.best)
			if other != nil {
				fmt.Fprintf(os.Stderr, ", %s %.1f", blas.name(), other.best)
			}
			fmt.Fprintln(os.Stderr)
		}
	}
	kernels.SetWorkers(0)
	// The table.
	hdr, sep := "| shape (MxNxK) |", "|---|"
	for _, nt := range threads {
		if blas != nil {
			hdr += fmt.Sprintf(" jacobi %dT | OpenBLAS %dT | ratio |", nt, nt)
			sep += "--:|--:|--:|"
		} else {
			hdr += fmt.Sprintf(" jacobi %dT |", nt)
			sep += "--:|"
		}
	}
	fmt.Println(hdr)
	fmt.Println(sep)
	logSum := make([]float64, len(threads))
	worst := make([]float64, len(threads))
	for i := range worst {
		worst[i] = math.Inf(1)
	}
	for si, s := range shapes {
		line := fmt.Sprintf("| %dx%dx%d |", s[0], s[1], s[2])
		for ti := range threads {
			if blas != nil {
				ratio := rows[si].jac[ti] / rows[si].other[ti]
				logSum[ti] += math.Log(ratio)
				worst[ti] = min(worst[ti], ratio)
				line += fmt.Sprintf(" %.1f | %.1f | %.2f |", rows[si].jac[ti], rows[si].other[ti], ratio)
			} else {
				line += fmt.Sprintf(" %.1f |", rows[si].jac[ti])
			}
		}
		fmt.Println(line)
	}
	if blas != nil {
		fmt.Println()
		for ti, nt := range threads {
			fmt.Printf("%d thread(s): geometric mean of the ratios %.2f, lowest %.2f\n", nt, math.Exp(logSum[ti]/float64(len(shapes))), worst[ti])
		}
	}
}

func runTune(grid string, shapes [][3]int, threads []int, dtype string, trials int, dur time.Duration) error {
	parts := strings.Split(grid, ",")
	if len(parts) != 2 {
		return fmt.Errorf("bad -tune %q (want mc1:mc2:...,kc1:kc2:...)", grid)
	}
	list := func(s string) ([]int, error) {
		var v []int
		for _, f := range strings.Split(s, ":") {
			x, err := strconv.Atoi(f)
			if err != nil || x < 0 {
				return nil, fmt.Errorf("bad -tune value %q", f)
			}
			v = append(v, x)
		}
		return v, nil
	}
	mcs, err := list(parts[0])
	if err != nil {
		return err
	}
	kcs, err := list(parts[1])
	if err != nil {
		return err
	}
	f32 := dtype == "float32"
	defer kernels.SetBlocking(f32, 0, 0, 0)
	for _, s := range shapes {
		p := newProduct(s[0], s[1], s[2], dtype)
		flops := 2 * float64(s[0]) * float64(s[1]) * float64(s[2])
		for _, nt := range threads {
			kernels.SetWorkers(nt)
			type cfg struct {
				mc, kc int
				t      *timer
			}
			var cfgs []cfg
			for _, mc := range mcs {
				for _, kc := range kcs {
					kernels.SetBlocking(f32, mc, kc, 0)
					t := &timer{fn: p.run, flops: flops}
					t.calibrate(dur)
					cfgs = append(cfgs, cfg{mc, kc, t})
				}
			}
			for tr := 0; tr < trials; tr++ {
				for _, c := range cfgs {
					kernels.SetBlocking(f32, c.mc, c.kc, 0)
					c.t.trial()
				}
			}
			for _, c := range cfgs {
				kernels.SetBlocking(f32, c.mc, c.kc, 0)
				fmt.Printf("%dx%dx%d threads=%d %s: %.1f GFLOP/s\n", s[0], s[1], s[2], nt, kernels.Blocking(f32), c.t.best)
			}
		}
	}
	kernels.SetWorkers(0)
	return nil
}
