package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ord32 maps float32 to integers in order, ±0 to 0 and +Inf just above
// MaxFloat32, so that the difference of two ords counts the float32 steps
// between them.
func ord32(x float32) int64 {
	b := math.Float32bits(x)
	if b&signBit32 != 0 {
		return -int64(b &^ signBit32)
	}
	return int64(b)
}

// ulpDist32 is the number of float32 steps between got and want; NaN
// against NaN is 0, NaN against anything else +Inf.
func ulpDist32(got, want float32) float64 {
	gn, wn := got != got, want != want
	if gn || wn {
		if gn && wn {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(ord32(got) - ord32(want)))
}

// ulpErr32 is |got - want| in units of the float32 spacing at want (a
// float64 reference, not rounded). Where want rounds to ±Inf or NaN it is
// ulpDist32 against the rounded value.
func ulpErr32(got float32, want float64) float64 {
	w32 := float32(want)
	if math.IsInf(float64(w32), 0) || w32 != w32 || math.IsInf(float64(got), 0) || got != got {
		return ulpDist32(got, w32)
	}
	_, e := math.Frexp(math.Abs(want)) // |want| in [2^(e-1), 2^e)
	ulp := math.Ldexp(1, max(e-1, -126)-23)
	return math.Abs(float64(got)-want) / ulp
}

func sigmoid64(x float64) float64 {
	if x < 0 {
		e := math.Exp(x)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(-x))
}

type map32Case struct {
	name   string
	fn     func(dst, src []float32) // the public map
	scalar func(float32) float32    // the Go code, element by element
	ref    func(float64) float64    // the math package, in float64
	// Bounds: maxUlp against the reference rounded to float32, maxErr
	// against the reference itself (both in float32 ulps).
	maxUlp, maxErr float64
	positive       bool // the domain is x > 0 (for random inputs)
}

var map32Cases = []map32Case{
	{"Exp32", Exp32, exp32, math.Exp, 1, 1, false},
	{"Sigmoid32", Sigmoid32, sigmoid32, sigmoid64, 2, 2.5, false},
	{"Tanh32", Tanh32, tanh32, math.Tanh, 1, 1.4, false},
	{"Log32", Log32, log32, math.Log, 1, 0.85, true},
	{"Log1p32", Log1p32, log1p32, math.Log1p, 1, 0.9, true},
	{"Sin32", Sin32, sin32, math.Sin, 1, 1.3, false},
	{"Cos32", Cos32, cos32, math.Cos, 1, 1.3, false},
	{"Erf32", Erf32, erf32, math.Erf, 1, 1.05, false},
	{"Sqrt32", Sqrt32, sqrt32, math.Sqrt, 0, 0.5, true},
}

// edges32 are arguments at the edges of the float32 range and of the
// algorithms' branches (with their neighbours, added by edgeInputs32).
var edges32 = []float32{0, 1, 0.5, 2, math.MaxFloat32, math.SmallestNonzeroFloat32, 0x1p-126, 0x1p-127,
	float32(math.Inf(1)), 88.72283, 88.7, 89, 103.97, 104, 87.33654, 86, 0.625, 9.01, 9.1, 22,
	0.84375, 3.85, 3.9, 3.92, 4, 6, trigReduceMax32, math.Pi / 4, math.Pi / 2, math.Pi, 3 * math.Pi / 2,
	1e-20, 1e20, 0.70710677, 1.4142135, 0x1p-24, 0x1p-12, 1e-4,
	// float32 arguments closest to multiples of pi/2 (hardest reductions)
	8248.251, 1.5707964, 4.712389, 7.853982, 10.995574, 14.137167, 3.1415927, 6.2831855, 12.566371, 25.132742,
	43998.77, 102.10176, 355, 710, 1.5e6, 1e30}

func edgeInputs32() []float32 {
	var xs []float32
	for _, e := range edges32 {
		b := math.Float32bits(e)
		for d := -3; d <= 3; d++ {
			x := math.Float32frombits(uint32(int64(b) + int64(d)))
			if x != x || math.IsInf(float64(x), 0) && d != 0 {
				continue
			}
			xs = append(xs, x, -x)
		}
	}
	return append(xs, float32(math.NaN()), math.Float32frombits(0xffc00001), float32(math.Inf(-1)))
}

// sweepInputs32 returns every step-th float32 bit pattern (both signs,
// NaNs included), the edges, and random values in [-lim, lim].
func sweepInputs32(step uint32, r *rand.Rand, nrand int, lim float32) []float32 {
	xs := edgeInputs32()
	for b := uint64(0); b < 1<<32; b += uint64(step) {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for i := 0; i < nrand; i++ {
		xs = append(xs, (r.Float32()*2-1)*lim)
	}
	return xs
}

type accStats struct {
	ulp, err     float64
	ulpAt, errAt float32
}

func (s *accStats) add(x, got float32, want float64) {
	if d := ulpDist32(got, float32(want)); d > s.ulp {
		s.ulp, s.ulpAt = d, x
	}
	if d := ulpErr32(got, want); d > s.err {
		s.err, s.errAt = d, x
	}
}

func (s *accStats) merge(o accStats) {
	if o.ulp > s.ulp {
		s.ulp, s.ulpAt = o.ulp, o.ulpAt
	}
	if o.err > s.err {
		s.err, s.errAt = o.err, o.errAt
	}
}

func checkAcc32(t *testing.T, c map32Case, s accStats, n uint64) {
	t.Helper()
	if s.ulp > c.maxUlp || s.err > c.maxErr {
		t.Errorf("%s: %v ulp at x=%v (bound %v), %.3g ulp from the float64 value at x=%v (bound %v)",
			c.name, s.ulp, s.ulpAt, c.maxUlp, s.err, s.errAt, c.maxErr)
	} else {
		t.Logf("%s: max %v ulp (at %v), %.3g from the float64 value (at %v), over %d inputs",
			c.name, s.ulp, s.ulpAt, s.err, s.errAt, n)
	}
}

// The float32 maps against the math package, over a sweep of the whole
// float32 range (every 1021st bit pattern, every 65521st with -short), the
// edges and random values; and in place.
func TestElementwise32Accuracy(t *testing.T) {
	step, nrand := uint32(1021), 100000
	if testing.Short() {
		step, nrand = 65521, 20000
	}
	r := rand.New(rand.NewPCG(31, 32))
	xs := sweepInputs32(step, r, nrand, 30)
	got := make([]float32, len(xs))
	for _, c := range map32Cases {
		c.fn(got, xs)
		var s accStats
		for i, x := range xs {
			s.add(x, got[i], c.ref(float64(x)))
		}
		checkAcc32(t, c, s, uint64(len(xs)))
		cp := append([]float32(nil), xs...)
		c.fn(cp, cp)
		for i := range cp {
			if !sameBits32(cp[i], got[i]) {
				t.Fatalf("%s: in-place result differs at x=%v", c.name, xs[i])
			}
		}
	}
}

// With JACOBI_EXHAUSTIVE=1 (or a comma-separated list of maps, such as
// Exp32,Log32), every float32 argument: 2^32 of them, a minute or more per
// map on two cores. The bounds in the documentation come from this run.
func TestElementwise32Exhaustive(t *testing.T) {
	env := os.Getenv("JACOBI_EXHAUSTIVE")
	if env == "" {
		t.Skip("set JACOBI_EXHAUSTIVE=1 to check every float32 argument")
	}
	workers := runtime.GOMAXPROCS(0)
	for _, c := range map32Cases {
		if env != "1" && !slices.Contains(strings.Split(env, ","), c.name) {
			continue
		}
		const block = 1 << 16
		stats := make([]accStats, workers)
		var wg sync.WaitGroup
		for wk := 0; wk < workers; wk++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				xs, got := make([]float32, block), make([]float32, block)
				for b := uint64(wk) * block; b < 1<<32; b += uint64(workers) * block {
					for i := range xs {
						xs[i] = math.Float32frombits(uint32(b) + uint32(i))
					}
					c.fn(got, xs)
					for i, x := range xs {
						stats[wk].add(x, got[i], c.ref(float64(x)))
					}
				}
			}()
		}
		wg.Wait()
		var s accStats
		for _, o := range stats {
			s.merge(o)
		}
		checkAcc32(t, c, s, 1<<32)
	}
}

// Special values as the math package (rounded), signs of zeros included.
func TestElementwise32Specials(t *testing.T) {
	for _, c := range map32Cases {
		for _, x := range []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
			float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32} {
			got := []float32{0}
			c.fn(got, []float32{x})
			want := float32(c.ref(float64(x)))
			if ulpDist32(got[0], want) > c.maxUlp || want == want && math.Signbit(float64(got[0])) != math.Signbit(float64(want)) {
				t.Errorf("%s(%v) = %v, math says %v", c.name, x, got[0], want)
			}
		}
	}
}

// Where a function saturates in float32, the maps give the limit exactly
// from the first argument where the rounded value is the limit on (erf:
// from 1.001 times it; just past it, erf is within an ulp of the limit).
func TestElementwise32Saturation(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		name  string
		fn    func(dst, src []float32)
		ref   func(float64) float64
		from  float32 // where the math package's value rounds to the limit
		slack float32 // the maps reach it from from*slack on
		limit float32
	}{
		{"Erf32", Erf32, math.Erf, 3.9192059, 1.001, 1},
		{"Tanh32", Tanh32, math.Tanh, 9.01091385, 1, 1},
		{"Sigmoid32", Sigmoid32, sigmoid64, 17.32868, 1, 1},
		{"Exp32", Exp32, math.Exp, 88.7228394, 1, inf},
	} {
		if below := math.Nextafter32(c.from, 0); float32(c.ref(float64(c.from))) != c.limit || float32(c.ref(float64(below))) == c.limit {
			t.Fatalf("%s: the math package does not round to %v from %v on", c.name, c.limit, c.from)
		}
		x0 := c.from * c.slack
		xs := []float32{x0, math.Nextafter32(x0, inf), x0 * 1.01, 2 * x0, 1e4, math.MaxFloat32, inf}
		got := make([]float32, len(xs))
		c.fn(got, xs)
		for i, x := range xs {
			if got[i] != c.limit {
				t.Errorf("%s(%v) = %v, want %v", c.name, x, got[i], c.limit)
			}
			// odd functions: the negative limit
			if c.name == "Erf32" || c.name == "Tanh32" {
				neg := []float32{0}
				c.fn(neg, []float32{-x})
				if neg[0] != -c.limit {
					t.Errorf("%s(%v) = %v, want %v", c.name, -x, neg[0], -c.limit)
				}
			}
		}
	}
	// exp rounds to 0 from -103.972084 on; sigmoid follows exp.
	for _, x := range []float32{-103.972084, -103.98, -104, -200, -math.MaxFloat32, float32(math.Inf(-1))} {
		got := []float32{1, 1}
		Exp32(got[:1], []float32{x})
		Sigmoid32(got[1:], []float32{x})
		if got[0] != 0 || got[1] != 0 || math.Signbit(float64(got[0])) {
			t.Errorf("Exp32/Sigmoid32(%v) = %v, %v, want +0", x, got[0], got[1])
		}
	}
}

// Every map agrees with its Go code element by element, bit for bit, on
// every path this machine has, at every tail length.
func TestElementwise32PathsMatchGo(t *testing.T) {
	defer func(p *kernelPath) { usePath(p) }(active)
	r := rand.New(rand.NewPCG(33, 34))
	xs := sweepInputs32(65521, r, 50000, 12)
	for i := 0; i < 50000; i++ {
		xs = append(xs, (r.Float32()*2-1)*120, (r.Float32()*2-1)*0.8, float32(math.Exp(r.Float64()*180-90)))
	}
	for _, l := range Paths() {
		if err := UsePath(l); err != nil {
			t.Fatal(err)
		}
		for _, c := range map32Cases {
			for _, n := range []int{len(xs), len(xs) - 1, 17, 16, 15, 9, 8, 7, 1, 0} {
				in := xs[len(xs)-n:]
				got := make([]float32, n+1)
				got[n] = 42
				c.fn(got[:n], in)
				for i, x := range in {
					if want := c.scalar(x); !sameBits32(got[i], want) {
						t.Fatalf("%s path %s n=%d: f(%v) = %v, Go code %v", c.name, l, n, x, got[i], want)
					}
				}
				if got[n] != 42 {
					t.Fatalf("%s path %s: wrote past the end (n=%d)", c.name, l, n)
				}
			}
		}
		testStreams32MatchGo(t, l)
	}
}

// sameBits32 reports whether a and b are the same float32 (any NaN is the
// same as any other).
func sameBits32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func randSlice32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func testStreams32MatchGo(t *testing.T, level string) {
	r := rand.New(rand.NewPCG(35, 36))
	for n := 0; n < 70; n++ {
		a, b, c := randSlice32(r, n), randSlice32(r, n), randSlice32(r, n)
		d0 := randSlice32(r, n)
		for _, o := range []struct {
			name   string
			vec, g func(d []float32)
		}{
			{"addTo", func(d []float32) { addTo32Slice(d, a) }, func(d []float32) { addTo32Go(d, a) }},
			{"mul", func(d []float32) { mul32Slice(d, a, b) }, func(d []float32) { mul32Go(d, a, b) }},
			{"add", func(d []float32) { add32Slice(d, a, b) }, func(d []float32) { add32Go(d, a, b) }},
			{"mulAdd", func(d []float32) { mulAdd32Slice(d, a, b, c) }, func(d []float32) { mulAdd32Go(d, a, b, c) }},
			{"oneMinusSq", func(d []float32) { oneMinusSq32Slice(d, a) }, func(d []float32) { oneMinusSq32Go(d, a) }},
			{"tanhBackward", func(d []float32) { tanhBackward32Slice(d, a, b) }, func(d []float32) { tanhBackward32Go(d, a, b) }},
			{"sigmoidDeriv", func(d []float32) { sigmoidDeriv32Slice(d, a) }, func(d []float32) { sigmoidDeriv32Go(d, a) }},
			{"sigmoidBackward", func(d []float32) { sigmoidBackward32Slice(d, a, b) }, func(d []float32) { sigmoidBackward32Go(d, a, b) }},
			{"axpy", func(d []float32) { axpy32Slice(d, 0.3, a) }, func(d []float32) { axpy32Go(d, 0.3, a) }},
			{"scale", func(d []float32) { scale32Slice(d, -1.7, a) }, func(d []float32) { scale32Go(d, -1.7, a) }},
			{"aliased mul", func(d []float32) { mul32Slice(d, d, d) }, func(d []float32) { mul32Go(d, d, d) }},
		} {
			got := append(append([]float32(nil), d0...), 42)
			want := append([]float32(nil), d0...)
			o.vec(got[:n])
			o.g(want)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s path %s n=%d: element %d: %v, Go %v", o.name, level, n, i, got[i], want[i])
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s path %s n=%d: wrote past the end", o.name, level, n)
			}
		}
		if s, g := sumRow32Slice(a), sumRow32Go(a); math.Float32bits(s) != math.Float32bits(g) {
			t.Fatalf("sumRow32 path %s n=%d: %v, Go %v", level, n, s, g)
		}
		d64, g64 := make([]float64, n+1), make([]float64, n)
		d64[n] = 42
		widen32Slice(d64[:n], a)
		widen32Go(g64, a)
		addWiden32Slice(d64[:n], b)
		addWiden32Go(g64, b)
		for i := range g64 {
			if d64[i] != g64[i] {
				t.Fatalf("widen/addWiden path %s n=%d: element %d: %v, Go %v", level, n, i, d64[i], g64[i])
			}
		}
		d32, g32 := make([]float32, n+1), make([]float32, n)
		d32[n] = 42
		narrow32Slice(d32[:n], g64)
		narrow32Go(g32, g64)
		for i := range g32 {
			if math.Float32bits(d32[i]) != math.Float32bits(g32[i]) {
				t.Fatalf("narrow path %s n=%d: element %d: %v, Go %v", level, n, i, d32[i], g32[i])
			}
		}
		if d64[n] != 42 || d32[n] != 42 {
			t.Fatalf("widen/narrow path %s n=%d: wrote past the end", level, n)
		}
	}
}

// Slices of every length up to a few vector widths, against the math
// package (tails of the vector loops).
func TestElementwise32Lengths(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, c := range map32Cases {
		for n := 0; n < 70; n++ {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = (r.Float32()*2 - 1) * 5
				if c.positive {
					xs[i] = abs32(xs[i])
				}
			}
			got := make([]float32, n+1)
			got[n] = 42
			c.fn(got[:n], xs)
			for i, x := range xs {
				if d := ulpDist32(got[i], float32(c.ref(float64(x)))); d > c.maxUlp {
					t.Fatalf("%s len %d: element %d off by %v ulp", c.name, n, i, d)
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s len %d: wrote past the end", c.name, n)
			}
		}
	}
}

// Long maps split over the pool give the same bits for any number of
// workers, sin and cos with scattered arguments beyond the reduction
// range included.
func TestLargeMaps32Parallel(t *testing.T) {
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(39, 40))
	n := 5*mapChunk + 123
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = (r.Float32()*2 - 1) * 10
		if i%1000 == 7 {
			xs[i] = 3e5
		}
	}
	for _, c := range map32Cases {
		SetWorkers(1)
		a := make([]float32, n)
		c.fn(a, xs)
		SetWorkers(3)
		b := make([]float32, n)
		c.fn(b, xs)
		for i := range a {
			if !sameBits32(a[i], b[i]) {
				t.Fatalf("%s: result depends on workers at %d", c.name, i)
			}
		}
	}
}

func TestFusedMaps32(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	n := 1000
	x, g, c := make([]float32, n), randSlice32(r, n), randSlice32(r, n)
	for i := range x {
		x[i] = (r.Float32()*2 - 1) * 4
	}
	y, dy, d2 := make([]float32, n), make([]float32, n), make([]float32, n)
	TanhWithDeriv32(y, dy, x)
	TanhDeriv32(d2, y)
	for i := range x {
		if y[i] != tanh32(x[i]) || dy[i] != d2[i] || dy[i] != 1-float32(y[i]*y[i]) {
			t.Fatalf("TanhWithDeriv32 at %d", i)
		}
		// d/dx tanh = 1/cosh²: 1 - y² loses the relative error of y
		// times 2y²/(1-y²) (plus an ulp of 1).
		want := 1 / (math.Cosh(float64(x[i])) * math.Cosh(float64(x[i])))
		yy := float64(y[i]) * float64(y[i])
		if e := math.Abs(float64(dy[i]) - want); e > 2e-7+yy*4e-7 {
			t.Fatalf("tanh' at %v: %v (error %v)", x[i], dy[i], e)
		}
	}
	TanhBackward32(d2, g, y)
	for i := range x {
		if d2[i] != g[i]*(1-float32(y[i]*y[i])) {
			t.Fatalf("TanhBackward32 at %d", i)
		}
	}
	s := make([]float32, n)
	Sigmoid32(s, x)
	SigmoidDeriv32(d2, s)
	for i := range x {
		e := math.Exp(-float64(x[i]))
		// s is within 2 ulp; s(1-s) adds two roundings.
		if want := e / ((1 + e) * (1 + e)); math.Abs(float64(d2[i])-want) > 1.3e-7+2*ulp32(want) {
			t.Fatalf("SigmoidDeriv32 at %v: %v, want %v", x[i], d2[i], want)
		}
	}
	SigmoidBackward32(d2, g, s)
	for i := range x {
		if d2[i] != g[i]*(s[i]*(1-s[i])) {
			t.Fatalf("SigmoidBackward32 at %d", i)
		}
	}
	MulAdd32(d2, x, g, c)
	for i := range x {
		if d2[i] != float32(x[i]*g[i])+c[i] {
			t.Fatalf("MulAdd32 at %d", i)
		}
	}
	Mul32(d2, x, g)
	Add32(dy, d2, c)
	Scale32(d2, 2, dy)
	Axpy32(d2, -2, dy)
	for i := range d2 {
		if d2[i] != 0 {
			t.Fatalf("Scale32/Axpy32 at %d: %v", i, d2[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("length mismatch did not panic")
		}
	}()
	Exp32(make([]float32, 3), make([]float32, 4))
}

// SumAxis32 is within half an ulp (plus the float64 rounding of the sum)
// of the exact sum rounded to float32, and the same for any number of
// workers.
func TestSumAxis32(t *testing.T) {
	defer SetWorkers(0)
	defer func(p *kernelPath) { usePath(p) }(active)
	r := rand.New(rand.NewPCG(43, 44))
	dims := []int{0, 1, 3, 17, 129, 1000}
	for _, outer := range dims {
		for _, axis := range dims {
			for _, inner := range dims {
				if outer*axis*inner > 2e6 {
					continue
				}
				src := randSlice32(r, outer*axis*inner)
				var ref []float32
				for _, l := range Paths() {
					if err := UsePath(l); err != nil {
						t.Fatal(err)
					}
					for _, w := range []int{1, 2, 3} {
						SetWorkers(w)
						dst := randSlice32(r, outer*inner)
						SumAxis32(dst, src, outer, axis, inner)
						if ref == nil {
							ref = dst
							for o := 0; o < outer; o++ {
								for i := 0; i < inner; i++ {
									var s, sa float64 // exact enough: 2^-53 per term
									for a := 0; a < axis; a++ {
										v := float64(src[(o*axis+a)*inner+i])
										s += v
										sa += math.Abs(v)
									}
									got := dst[o*inner+i]
									if e := math.Abs(float64(got) - s); e > 0.5*ulp32(s)+float64(2*axis)*0x1p-53*sa {
										t.Fatalf("(%d,%d,%d) [%d][%d]: %v want %v", outer, axis, inner, o, i, got, s)
									}
								}
							}
							continue
						}
						for i := range dst {
							if math.Float32bits(dst[i]) != math.Float32bits(ref[i]) {
								t.Fatalf("(%d,%d,%d): path %s workers=%d differs", outer, axis, inner, l, w)
							}
						}
					}
				}
			}
		}
	}
}

// ulp32 is the float32 spacing at |x|.
func ulp32(x float64) float64 {
	_, e := math.Frexp(math.Abs(x))
	return math.Ldexp(1, max(e-1, -126)-23)
}

// Maps over short rows allocate nothing.
func TestShortMaps32AllocateNothing(t *testing.T) {
	a, b, c, d := make([]float32, 512), make([]float32, 512), make([]float32, 512), make([]float32, 512)
	for i := range b {
		b[i] = 1
	}
	src, dst := make([]float32, 64*64), make([]float32, 64)
	maps := map[string]func(){
		"Exp32": func() { Exp32(d, a) }, "Tanh32": func() { Tanh32(d, a) }, "Sigmoid32": func() { Sigmoid32(d, a) },
		"Log32": func() { Log32(d, b) }, "Log1p32": func() { Log1p32(d, b) }, "Sin32": func() { Sin32(d, a) }, "Cos32": func() { Cos32(d, a) },
		"Erf32": func() { Erf32(d, a) }, "Sqrt32": func() { Sqrt32(d, b) },
		"Mul32": func() { Mul32(d, a, b) }, "Add32": func() { Add32(d, a, b) }, "MulAdd32": func() { MulAdd32(d, a, b, c) },
		"TanhWithDeriv32": func() { TanhWithDeriv32(c, d, a) },
		"SumAxis32 rows":  func() { SumAxis32(dst, src, 64, 64, 1) },
		"SumAxis32 cols":  func() { SumAxis32(dst, src, 1, 64, 64) },
	}
	for name, f := range maps {
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

// BenchmarkMap32 reports bytes read+written per second (8 bytes per
// element: half of BenchmarkMap's for the same number of elements) and
// elements per second.
func BenchmarkMap32(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1 << 12, 1 << 16, 1 << 22} {
		src, dst, pos := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range src {
			src[i] = (r.Float32()*2 - 1) * 5
			pos[i] = abs32(src[i]) + 1e-3
		}
		for _, c := range map32Cases {
			in := src
			if c.positive {
				in = pos
			}
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				for i := 0; i < b.N; i++ {
					c.fn(dst, in)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}

// BenchmarkFused32 reports bytes read+written per second for the
// derivative expressions and chains.
func BenchmarkFused32(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, n := range []int{1 << 16, 1 << 22} {
		x, g, c, d := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], g[i], c[i] = float32(i%17)/17, 1, 0.5
		}
		for _, f := range []struct {
			name    string
			streams int
			fn      func()
		}{
			{"TanhBackward32", 3, func() { TanhBackward32(d, g, x) }},
			{"SigmoidBackward32", 3, func() { SigmoidBackward32(d, g, x) }},
			{"MulAdd32", 4, func() { MulAdd32(d, x, g, c) }},
			{"Axpy32", 3, func() { Axpy32(d, 0.5, x) }},
			{"TanhWithDeriv32", 3, func() { TanhWithDeriv32(d, c, x) }},
			{"SumAxis32", 1, func() { SumAxis32(d[:n/256], x, 1, 256, n/256) }},
			{"SumAxisRows32", 1, func() { SumAxis32(d[:n/256], x, n/256, 256, 1) }},
		} {
			b.Run(fmt.Sprintf("%s/%d", f.name, n), func(b *testing.B) {
				b.SetBytes(int64(4 * f.streams * n))
				for i := 0; i < b.N; i++ {
					f.fn()
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
