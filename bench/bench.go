package bench

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Result is the measurement of one method on one case.
type Result struct {
	Case   string // the case's name
	Method string // the method's name (MethodJacobi is the library's default)
	DType  string // the case's dtype, "float64" or "float32"
	// Seconds is the median wall time of one run on the whole batch.
	Seconds float64
	// GFLOPs is the cost model's FLOP count for the run divided by Seconds,
	// in 1e9 FLOP/s; 0 when the method has no program to count.
	GFLOPs float64
	// PeakBytes is how far the Go heap's objects rose, during the method's
	// first run, above their level before the method was prepared (right
	// after a garbage collection); sampled every 100µs and at the end of the
	// run. It counts the compiled program, the buffers its runtime keeps
	// between runs, the output, and garbage not yet collected.
	PeakBytes uint64
	// Err is the largest absolute difference between this method's result
	// and the MethodJacobi result of the same case (0 for MethodJacobi).
	Err float64
	// Kernels is the kernel path the run used (see Machine).
	Kernels string
	// OfDGEMM is GFLOPs as a fraction of the machine's GEMM rate in the
	// case's dtype measured in the same run (Machine.DGEMM, or SGEMM for a
	// float32 case); 0 when either is unknown.
	OfDGEMM float64
}

// Options adjust Run.
type Options struct {
	// Only restricts the run to the cases with these names (all when empty).
	Only []string
	// Methods restricts the methods run to these names (all when empty).
	// MethodJacobi always runs: it is the reference of every Err.
	Methods []string
	// Budget is roughly how long each method is timed (default 2s): after
	// warming up for a tenth of it (at least one run), at least 3 runs and
	// at most 50, stopping once the budget is spent.
	Budget time.Duration
	// Seed seeds the weights and the batch (default 0).
	Seed uint64
	// Progress, when set, receives a line of text after every method.
	Progress func(string)
	// Machine, when set, receives the description of the machine, with the
	// DGEMM rate Run measures before the cases (the reference of OfDGEMM).
	Machine *Machine
}

// MinRuns and MaxRuns bound the number of timed runs of a method.
const (
	MinRuns = 3
	MaxRuns = 50
)

// Run times every method of every selected case and returns the results in
// order, the MethodJacobi result first within each case. A method that
// fails is left out of the results and its error (naming the case and the
// method) is joined into the returned error; the other methods still run.
// Methods whose work grows out of proportion (the full Jacobian, a loop
// over samples) are skipped on large cases by the same rules as
// torch_anchor.py.
func Run(cases []Case, opts Options) ([]Result, error) {
	if opts.Budget <= 0 {
		opts.Budget = 2 * time.Second
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	for _, name := range opts.Only {
		if !slices.ContainsFunc(cases, func(c Case) bool { return c.Name == name }) {
			return nil, fmt.Errorf("bench: no case named %q", name)
		}
	}
	f32 := slices.ContainsFunc(cases, func(c Case) bool {
		return c.dtype() == tensor.Float32 && (len(opts.Only) == 0 || slices.Contains(opts.Only, c.Name))
	})
	mc := MeasureMachine(min(opts.Budget/2, time.Second), f32)
	if opts.Machine != nil {
		*opts.Machine = mc
	}
	if f32 {
		progress(fmt.Sprintf("DGEMM %d³ on %d workers: %.1f GFLOP/s, SGEMM %.1f GFLOP/s (%s kernels)", dgemmSize, mc.Workers, mc.DGEMM, mc.SGEMM, mc.Kernels))
	} else {
		progress(fmt.Sprintf("DGEMM %d³ on %d workers: %.1f GFLOP/s (%s kernels)", dgemmSize, mc.Workers, mc.DGEMM, mc.Kernels))
	}
	var results []Result
	var errs []error
	for _, c := range cases {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, c.Name) {
			continue
		}
		if err := c.validate(); err != nil {
			errs = append(errs, fmt.Errorf("bench: case %q: %w", c.Name, err))
			continue
		}
		rs, err := runCase(c, opts, progress)
		for i := range rs {
			rs[i].Kernels = mc.Kernels
			if g := mc.GEMMRate(rs[i].DType); g > 0 {
				rs[i].OfDGEMM = rs[i].GFLOPs / g
			}
		}
		results = append(results, rs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return results, errors.Join(errs...)
}

// runCase prepares the case's methods one after the other (measuring each
// one's memory and result), then warms them up and times them in turns, a
// run of each per round, so that all see the same state of the machine: a
// method timed on its own first or last was 10-30% off on a loaded machine
// (Auto once looked slower than the forward program it had chosen).
func runCase(c Case, opts Options, progress func(string)) ([]Result, error) {
	s, err := newSetup(c, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("bench: case %q: %w", c.Name, err)
	}
	var errs []error
	var ts []*timed
	for _, m := range methodsFor(c.Derivative) {
		if len(opts.Methods) > 0 && m.name != MethodJacobi && !slices.Contains(opts.Methods, m.name) {
			continue
		}
		if m.skip != nil {
			if why := m.skip(c); why != "" {
				progress(fmt.Sprintf("%s/%s: skipped: %s", c.Name, m.name, why))
				continue
			}
		}
		t, err := prepareMethod(s, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("bench: case %q, method %s: %w", c.Name, m.name, err))
			if m.name == MethodJacobi {
				return nil, errors.Join(errs...) // nothing to compare the others with
			}
			continue
		}
		ts = append(ts, t)
	}
	// Warm up past the first runs, which pay for the heap growing to its
	// steady size (measured first, the same program timed 5-10% slower).
	inTurns(ts, func(t *timed) bool { return t.spent >= opts.Budget/10 })
	for _, t := range ts {
		t.spent, t.times = 0, nil
	}
	// Time.
	inTurns(ts, timedEnough(opts.Budget))
	var results []Result
	var ref []float64
	for _, t := range ts {
		if t.err != nil {
			errs = append(errs, fmt.Errorf("bench: case %q, method %s: %w", c.Name, t.r.Method, t.err))
			continue
		}
		r := t.r
		r.Seconds = median(t.times)
		if t.p.flops > 0 && r.Seconds > 0 {
			r.GFLOPs = t.p.flops / r.Seconds / 1e9
		}
		if r.Method == MethodJacobi {
			ref = t.out
		}
		r.Err = maxAbsDiff(t.out, ref)
		results = append(results, r)
		progress(fmt.Sprintf("%s/%s: %.4gs, %.3g GFLOP/s, peak %.1f MiB, err %.2g",
			c.Name, r.Method, r.Seconds, r.GFLOPs, float64(r.PeakBytes)/(1<<20), r.Err))
	}
	return results, errors.Join(errs...)
}

// timedEnough says when a method has been timed enough: at least MinRuns
// runs and at most MaxRuns, stopping once the budget is spent or after a
// single run longer than the budget — as torch_anchor.py's median_seconds.
func timedEnough(budget time.Duration) func(*timed) bool {
	return func(t *timed) bool {
		n := len(t.times)
		return n >= MaxRuns || n >= MinRuns && t.spent >= budget || n > 0 && t.times[n-1] > budget.Seconds()
	}
}

// timed is a prepared method being timed.
type timed struct {
	r      Result // the method's result so far (name, memory)
	p      *prepared
	out    []float64 // its result, flattened
	times  []float64 // seconds of the runs timed
	spent  time.Duration
	err    error
	finish bool
}

// prepareMethod prepares a method (not timed) and runs it once while
// sampling the heap, once more to get its result (so that the result is
// not part of the memory measured).
func prepareMethod(s *setup, m method) (*timed, error) {
	base := heapAfterGC()
	p, err := m.prepare(s)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	high, err := sampleHeap(func() error { _, err := p.run(); return err })
	if err != nil {
		return nil, err
	}
	var peak uint64
	if high > base {
		peak = high - base
	}
	out, err := p.run()
	if err != nil {
		return nil, err
	}
	return &timed{r: Result{Case: s.c.Name, Method: m.name, DType: s.c.dtype().String(), PeakBytes: peak}, p: p, out: flatten(out)}, nil
}

// inTurns runs every method once per round, in order, recording its time,
// until done says each has had enough. A method that fails stops there
// (its error kept), the others go on.
func inTurns(ts []*timed, done func(*timed) bool) {
	for _, t := range ts {
		t.finish = t.err != nil
	}
	for {
		left := 0
		for _, t := range ts {
			if t.finish {
				continue
			}
			start := time.Now()
			if _, err := t.p.run(); err != nil {
				t.err, t.finish = err, true
				continue
			}
			d := time.Since(start)
			t.spent += d
			t.times = append(t.times, d.Seconds())
			if t.finish = done(t); !t.finish {
				left++
			}
		}
		if left == 0 {
			return
		}
	}
}

// median returns the median (the mean of the two middle values for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

const heapObjects = "/memory/classes/heap/objects:bytes"

// heapBytes returns the bytes of heap objects, live or not yet swept.
func heapBytes(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// heapAfterGC collects garbage and returns the live heap bytes.
func heapAfterGC() uint64 {
	// Twice: the first collection only moves sync.Pool contents to the
	// pools' victim caches, which the next one frees. Left there, they would
	// count in the base and could be freed in the middle of the run sampled,
	// making its peak look smaller than what it allocated.
	runtime.GC()
	runtime.GC()
	return heapBytes([]metrics.Sample{{Name: heapObjects}})
}

// sampleHeap runs fn once and returns the highest heap object bytes seen,
// sampled every 100µs and at the end of the run.
func sampleHeap(fn func() error) (uint64, error) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: heapObjects}}
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if v := heapBytes(s); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	err := fn()
	end := heapBytes([]metrics.Sample{{Name: heapObjects}})
	close(done)
	wg.Wait()
	return max(peak.Load(), end), err
}

// flatten concatenates the values of ts as float64 (outside the timed runs).
func flatten(ts []*tensor.Tensor) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Float64s()...)
	}
	return out
}

// maxAbsDiff returns the largest |a[i]-b[i]|, +Inf when the lengths differ
// and NaN when either holds a NaN.
func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}
