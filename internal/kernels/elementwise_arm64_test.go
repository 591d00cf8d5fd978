//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The NEON maps do the scalar code's operations lane by lane: the results
// must agree bit for bit with the Go loops, tails and special values
// included.
func TestNEONMapsMatchGo(t *testing.T) {
	if !hasNEON {
		t.Skip("no ASIMD")
	}
	defer func(l int) { mapLevel = l }(mapLevel)
	mapLevel = mapsNEON
	r := rand.New(rand.NewPCG(31, 32))
	n := 50000
	if testing.Short() {
		n = 10000
	}
	xs := testInputs(r, n, 30, 1e300)
	for i := 0; i < n; i++ {
		xs = append(xs, (r.Float64()*2-1)*800, (r.Float64()*2-1)*0.7, (r.Float64()*2-1)*7, math.Exp((r.Float64()*2-1)*700))
	}
	scalar := func(f func(float64) float64) func(d, s []float64) {
		return func(d, s []float64) {
			for i, x := range s {
				d[i] = f(x)
			}
		}
	}
	for _, c := range []struct {
		name   string
		vec, g func(dst, src []float64)
	}{
		{"exp", expNEON, expSliceGo},
		{"sigmoid", sigmoidNEON, sigmoidSliceGo},
		{"tanh", tanhNEON, tanhSliceGo},
		{"erf", erfNEON, scalar(erf)},
		{"sin", sinSlice, scalar(sin)},
		{"cos", cosSlice, scalar(cos)},
		{"log", logSlice, scalar(log)},
		{"log|x|", func(d, s []float64) { logSlice(d, absAll(s)) }, func(d, s []float64) { scalar(log)(d, absAll(s)) }},
	} {
		for _, n := range []int{len(xs), len(xs) - 1, len(xs) - 2, 3, 2, 1, 0} {
			in := xs[len(xs)-n:]
			got, want := make([]float64, n+1), make([]float64, n)
			got[n] = 42
			c.vec(got[:n], in)
			c.g(want, in)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%s(%v): NEON %v, Go %v", c.name, in[i], got[i], want[i])
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s: wrote past the end (n=%d)", c.name, n)
			}
		}
	}
	testStreamsMatchGo(t)
}

// The accuracy tests again on the Go path.
func TestElementwiseAccuracyGoPath(t *testing.T) {
	defer func(l int) { mapLevel = l }(mapLevel)
	mapLevel = mapsGo
	TestElementwiseAccuracy(t)
	TestElementwiseLengths(t)
	TestFusedMaps(t)
}

// On ordinary arguments the vector sin, cos and log do every element
// themselves (they hand back only the pairs with special arguments).
func TestNEONTrigLogNoBail(t *testing.T) {
	if !hasNEON {
		t.Skip("no ASIMD")
	}
	r := rand.New(rand.NewPCG(33, 34))
	xs, pos := make([]float64, 1003), make([]float64, 1003)
	for i := range xs {
		xs[i] = (r.Float64()*2 - 1) * 1000
		pos[i] = math.Exp((r.Float64()*2 - 1) * 700)
	}
	out := make([]float64, len(xs))
	for _, c := range []struct {
		name string
		f    func(dst, src []float64) int
		in   []float64
	}{{"sinNEON", sinNEON, xs}, {"cosNEON", cosNEON, xs}, {"logNEON", logNEON, pos}} {
		if n := c.f(out, c.in); n != len(c.in) {
			t.Errorf("%s did %d of %d elements", c.name, n, len(c.in))
		}
		// And they stop at the pair with a special value.
		in := append([]float64(nil), c.in...)
		in[501] = math.NaN()
		if n := c.f(out, in); n != 500 {
			t.Errorf("%s with NaN at 501 stopped at %d, want 500", c.name, n)
		}
	}
}
