package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// ulpDiff returns |got-want| in units of the spacing of float64 at want.
// Equal values (also both NaN, or equal infinities) give 0; a NaN or
// infinity against anything else gives +Inf.
func ulpDiff(got, want float64) float64 {
	if got == want || (math.IsNaN(got) && math.IsNaN(want)) {
		return 0
	}
	if math.IsNaN(got) || math.IsNaN(want) || math.IsInf(got, 0) || math.IsInf(want, 0) {
		return math.Inf(1)
	}
	a := math.Abs(want)
	ulp := math.Nextafter(a, math.Inf(1)) - a
	if a == math.MaxFloat64 {
		ulp = a - math.Nextafter(a, 0)
	}
	return math.Abs(got-want) / ulp
}

var specials = []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
	math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
	0x1p-1022, -0x1p-1022, 1, -1, 0.5, -0.5, 0.625, -0.625, 22, -22, 1e300, -1e300,
	709.782712893384, 709.79, -745.1332191019411, -745.14, -708.4, -708.39, 1 << 29, -(1 << 29), 1e22, math.Pi, 2 * math.Pi}

// testInputs returns specials plus random values: uniform on [-lim, lim]
// and log-uniform magnitudes from 1e-300 up to maxMag, both signs.
func testInputs(r *rand.Rand, n int, lim, maxMag float64) []float64 {
	xs := append([]float64(nil), specials...)
	for i := 0; i < n; i++ {
		xs = append(xs, (r.Float64()*2-1)*lim)
		mag := math.Exp(r.Float64()*(math.Log(maxMag)-math.Log(1e-300)) + math.Log(1e-300))
		if r.IntN(2) == 0 {
			mag = -mag
		}
		xs = append(xs, mag)
	}
	return xs
}

type mapCase struct {
	name   string
	fn     func(dst, src []float64)
	ref    func(float64) float64
	maxUlp float64
	lim    float64 // uniform range
	// exact, if set, is a correctly rounded reference (slow: checked on
	// a subsample), with its own bound.
	exact    func(float64) float64
	exactUlp float64
}

var mapCases = []mapCase{
	{"Exp", Exp, mathExp, 2, 750, refExp, 1},
	{"Sigmoid", Sigmoid, mathSigmoid, 3, 750, refSigmoid, 2},
	{"Tanh", Tanh, math.Tanh, 2, 25, nil, 0},
	{"Log", Log, math.Log, 1, 1e6, nil, 0},
	{"Sin", Sin, math.Sin, 1, 100, nil, 0},
	{"Cos", Cos, math.Cos, 1, 100, nil, 0},
	{"Erf", Erf, math.Erf, 2, 7, nil, 0},
}

// mathSigmoid is the sigmoid from the math package's exp.
func mathSigmoid(x float64) float64 {
	if x < 0 {
		e := mathExp(x)
		return e / (1 + e)
	}
	return 1 / (1 + mathExp(-x))
}

// mathExp is math.Exp, except in the range where the amd64 math.Exp
// overflows too early (x in [709.43, 709.7827]): there the correctly
// rounded reference stands in.
func mathExp(x float64) float64 {
	if x > 709 && x <= expOver {
		return refExp(x)
	}
	return math.Exp(x)
}

func TestElementwiseAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for _, c := range mapCases {
		xs := testInputs(r, n, c.lim, 1e300)
		// Also the positive domain of log, densely.
		if c.name == "Log" {
			for i := 0; i < n; i++ {
				xs = append(xs, math.Exp(r.Float64()*1400-700), 1+(r.Float64()-0.5)*1e-3)
			}
		}
		got := make([]float64, len(xs))
		c.fn(got, xs)
		worst, worstX := 0.0, 0.0
		for i, x := range xs {
			want := c.ref(x)
			if d := ulpDiff(got[i], want); d > worst {
				worst, worstX = d, x
			}
		}
		if worst > c.maxUlp {
			t.Errorf("%s: error %.3g ulp at x=%v (got %v, math %v), bound %v ulp",
				c.name, worst, worstX, got[indexOf(xs, worstX)], c.ref(worstX), c.maxUlp)
		} else {
			t.Logf("%s: max error %.3g ulp over %d inputs (bound %v)", c.name, worst, len(xs), c.maxUlp)
		}
		if c.exact != nil {
			worst, worstX := 0.0, 0.0
			step := 1 + len(xs)/20000
			if testing.Short() {
				step = 1 + len(xs)/3000
			}
			for i := 0; i < len(xs); i += step {
				for _, j := range []int{i, i % len(specials)} {
					if d := ulpDiff(got[j], c.exact(xs[j])); d > worst {
						worst, worstX = d, xs[j]
					}
				}
			}
			if worst > c.exactUlp {
				t.Errorf("%s: error %.3g ulp at x=%v against the exact value, bound %v", c.name, worst, worstX, c.exactUlp)
			} else {
				t.Logf("%s: max error %.3g ulp against the exact value (bound %v)", c.name, worst, c.exactUlp)
			}
		}
		// In place (dst aliases src) gives the same.
		cp := append([]float64(nil), xs...)
		c.fn(cp, cp)
		for i := range cp {
			if math.Float64bits(cp[i]) != math.Float64bits(got[i]) && !(math.IsNaN(cp[i]) && math.IsNaN(got[i])) {
				t.Fatalf("%s: in-place result differs at x=%v", c.name, xs[i])
			}
		}
	}
}

func indexOf(xs []float64, x float64) int {
	for i, v := range xs {
		if math.Float64bits(v) == math.Float64bits(x) {
			return i
		}
	}
	return 0
}

// Special values exactly as the math package.
func TestElementwiseSpecials(t *testing.T) {
	for _, c := range mapCases {
		for _, x := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e300, -1e300, 1e22} {
			got := []float64{0}
			c.fn(got, []float64{x})
			want := c.ref(x)
			if ulpDiff(got[0], want) > c.maxUlp || math.Signbit(got[0]) != math.Signbit(want) && !math.IsNaN(want) {
				t.Errorf("%s(%v) = %v, math says %v", c.name, x, got[0], want)
			}
		}
	}
}

// Slices of every length up to a few vector widths (tails of vector loops).
func TestElementwiseLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range mapCases {
		for n := 0; n < 40; n++ {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = (r.Float64()*2 - 1) * 5
			}
			if c.name == "Log" {
				for i := range xs {
					xs[i] = math.Abs(xs[i])
				}
			}
			got := make([]float64, n+1)
			got[n] = 42
			c.fn(got[:n], xs)
			for i, x := range xs {
				if d := ulpDiff(got[i], c.ref(x)); d > c.maxUlp {
					t.Fatalf("%s len %d: element %d off by %v ulp", c.name, n, i, d)
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s len %d: wrote past the end", c.name, n)
			}
		}
	}
}

func TestLargeMapsParallel(t *testing.T) {
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(15, 16))
	n := 5*mapChunk + 123
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = (r.Float64()*2 - 1) * 10
	}
	for _, c := range mapCases {
		SetWorkers(1)
		a := make([]float64, n)
		c.fn(a, xs)
		SetWorkers(3)
		b := make([]float64, n)
		c.fn(b, xs)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				t.Fatalf("%s: result depends on workers at %d", c.name, i)
			}
		}
	}
}

func TestFusedMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	n := 1000
	x, g, c := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = (r.Float64()*2 - 1) * 4
		g[i] = r.Float64()*2 - 1
		c[i] = r.Float64()*2 - 1
	}
	y, dy, d2 := make([]float64, n), make([]float64, n), make([]float64, n)
	TanhWithDeriv(y, dy, x)
	TanhDeriv(d2, y)
	for i := range x {
		// (float64 rounds the product: arm64 would fuse it into the
		// subtraction, which the kernels do not.)
		if y[i] != tanh(x[i]) || dy[i] != d2[i] || dy[i] != 1-float64(y[i]*y[i]) {
			t.Fatalf("TanhWithDeriv at %d", i)
		}
		// d/dx tanh = 1/cosh², within a few ulp (of 1) of the formula.
		if e := math.Abs(dy[i] - 1/(math.Cosh(x[i])*math.Cosh(x[i]))); e > 1e-15 {
			t.Fatalf("tanh' at %v: %v", x[i], e)
		}
	}
	TanhBackward(d2, g, y)
	for i := range x {
		if d2[i] != g[i]*(1-float64(y[i]*y[i])) {
			t.Fatalf("TanhBackward at %d", i)
		}
	}
	s := make([]float64, n)
	Sigmoid(s, x)
	SigmoidDeriv(d2, s)
	for i := range x {
		e := math.Exp(-x[i])
		if want := e / ((1 + e) * (1 + e)); math.Abs(d2[i]-want) > 5e-16 {
			t.Fatalf("SigmoidDeriv at %v", x[i])
		}
	}
	SigmoidBackward(d2, g, s)
	for i := range x {
		if d2[i] != g[i]*(s[i]*(1-s[i])) {
			t.Fatalf("SigmoidBackward at %d", i)
		}
	}
	MulAdd(d2, x, g, c)
	for i := range x {
		if d2[i] != float64(x[i]*g[i])+c[i] {
			t.Fatalf("MulAdd at %d", i)
		}
	}
	Mul(d2, x, g)
	Add(dy, d2, c)
	Scale(d2, 2, dy)
	Axpy(d2, -2, dy)
	for i := range d2 {
		if d2[i] != 0 {
			t.Fatalf("Scale/Axpy at %d: %v", i, d2[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("length mismatch did not panic")
		}
	}()
	Exp(make([]float64, 3), make([]float64, 4))
}

func BenchmarkCopy(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, n := range []int{1 << 12, 1 << 16, 1 << 22} {
		src, dst := make([]float64, n), make([]float64, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(16 * n))
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
		})
	}
}

// BenchmarkMap reports bytes read+written per second (16 bytes per element).
func BenchmarkMap(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1 << 12, 1 << 16, 1 << 22} {
		src, dst := make([]float64, n), make([]float64, n)
		for i := range src {
			src[i] = (r.Float64()*2 - 1) * 5
		}
		abs := make([]float64, n)
		for i := range abs {
			abs[i] = math.Abs(src[i]) + 1e-3
		}
		for _, c := range mapCases {
			in := src
			if c.name == "Log" {
				in = abs
			}
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(16 * n))
				for i := 0; i < b.N; i++ {
					c.fn(dst, in)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
		b.Run(fmt.Sprintf("MathExp/%d", n), func(b *testing.B) {
			b.SetBytes(int64(16 * n))
			for i := 0; i < b.N; i++ {
				for j, x := range src {
					dst[j] = math.Exp(x)
				}
			}
		})
	}
}

// BenchmarkFused reports bytes read+written per second for the derivative
// expressions and chains.
func BenchmarkFused(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, n := range []int{1 << 16, 1 << 22} {
		x, g, c, d := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], g[i], c[i] = float64(i%17)/17, 1, 0.5
		}
		for _, f := range []struct {
			name    string
			streams int
			fn      func()
		}{
			{"TanhBackward", 3, func() { TanhBackward(d, g, x) }},
			{"SigmoidBackward", 3, func() { SigmoidBackward(d, g, x) }},
			{"MulAdd", 4, func() { MulAdd(d, x, g, c) }},
			{"Axpy", 3, func() { Axpy(d, 0.5, x) }},
			{"TanhWithDeriv", 3, func() { TanhWithDeriv(d, c, x) }},
			{"SumAxis", 1, func() { SumAxis(d[:n/256], x, 1, 256, n/256) }},
			{"SumAxisRows", 1, func() { SumAxis(d[:n/256], x, n/256, 256, 1) }},
		} {
			b.Run(fmt.Sprintf("%s/%d", f.name, n), func(b *testing.B) {
				b.SetBytes(int64(8 * f.streams * n))
				for i := 0; i < b.N; i++ {
					f.fn()
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}

// Maps over short rows, which the runtime calls once per block, allocate
// nothing.
func TestShortMapsAllocateNothing(t *testing.T) {
	a, b, c, d := make([]float64, 512), make([]float64, 512), make([]float64, 512), make([]float64, 512)
	maps := map[string]func(){
		"Exp": func() { Exp(d, a) }, "Tanh": func() { Tanh(d, a) }, "Sigmoid": func() { Sigmoid(d, a) },
		"Log": func() { Log(d, b) }, "Sin": func() { Sin(d, a) }, "Cos": func() { Cos(d, a) }, "Erf": func() { Erf(d, a) },
		"Mul": func() { Mul(d, a, b) }, "Add": func() { Add(d, a, b) }, "MulAdd": func() { MulAdd(d, a, b, c) },
	}
	for name, f := range maps {
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s on 512 values: %v allocations per call", name, n)
		}
	}
}
