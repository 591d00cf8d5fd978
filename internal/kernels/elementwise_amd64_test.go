//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The AVX-512 maps do the scalar code's operations lane by lane: the
// results must agree bit for bit, tails included.
func TestAVX512MapsMatchGo(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(21, 22))
	xs := testInputs(r, 50000, 30, 1e300)
	for i := 0; i < 50000; i++ {
		xs = append(xs, (r.Float64()*2-1)*800, (r.Float64()*2-1)*0.7, math.Exp((r.Float64()*2-1)*700))
	}
	for _, c := range []struct {
		name   string
		vec, g func(dst, src []float64)
	}{
		{"exp", expAVX512, expSliceGo},
		{"sigmoid", sigmoidAVX512, sigmoidSliceGo},
		{"tanh", tanhAVX512, tanhSliceGo},
		{"sin", sinSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = sin(x)
			}
		}},
		{"log", logSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = log(x)
			}
		}},
		{"erf", erfAVX512, func(d, s []float64) {
			for i, x := range s {
				d[i] = erf(x)
			}
		}},
		{"log|x|", func(d, s []float64) { logSlice(d, absAll(s)) }, func(d, s []float64) {
			for i, x := range s {
				d[i] = log(math.Abs(x))
			}
		}},
		{"cos", cosSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = cos(x)
			}
		}},
	} {
		for _, n := range []int{len(xs), len(xs) - 1, 7, 3, 1, 0} {
			in := xs[len(xs)-n:]
			got, want := make([]float64, n+1), make([]float64, n)
			got[n] = 42
			c.vec(got[:n], in)
			c.g(want, in)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%s(%v): vector %v, scalar %v", c.name, in[i], got[i], want[i])
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s: wrote past the end (n=%d)", c.name, n)
			}
		}
	}
}

// The accuracy tests again on the lower paths.
func TestElementwiseAccuracyLowerPaths(t *testing.T) {
	defer func(l int) { mapLevel = l }(mapLevel)
	for l := mapLevel - 1; l >= mapsGo; l-- {
		mapLevel = l
		TestElementwiseAccuracy(t)
		TestElementwiseLengths(t)
		TestFusedMaps(t)
	}
}

// The AVX2 routines agree bit for bit with the Go loops.
func TestAVX2MatchesGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	defer func(l int) { mapLevel = l }(mapLevel)
	mapLevel = mapsAVX2
	r := rand.New(rand.NewPCG(25, 26))
	xs := testInputs(r, 50000, 30, 1e300)
	for i := 0; i < 50000; i++ {
		xs = append(xs, (r.Float64()*2-1)*800, (r.Float64()*2-1)*0.7)
	}
	for _, c := range []struct {
		name   string
		vec, g func(dst, src []float64)
	}{
		{"exp", expAVX2, expSliceGo},
		{"sigmoid", sigmoidAVX2, sigmoidSliceGo},
		{"tanh", tanhAVX2, tanhSliceGo},
		{"erf", erfAVX2, func(d, s []float64) {
			for i, x := range s {
				d[i] = erf(x)
			}
		}},
		{"sin", sinSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = sin(x)
			}
		}},
		{"cos", cosSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = cos(x)
			}
		}},
		{"log", logSlice, func(d, s []float64) {
			for i, x := range s {
				d[i] = log(x)
			}
		}},
		{"log|x|", func(d, s []float64) { logSlice(d, absAll(s)) }, func(d, s []float64) {
			for i, x := range s {
				d[i] = log(math.Abs(x))
			}
		}},
	} {
		for _, n := range []int{len(xs), len(xs) - 1, len(xs) - 2, 3, 2, 1, 0} {
			in := xs[len(xs)-n:]
			got, want := make([]float64, n+1), make([]float64, n)
			got[n] = 42
			c.vec(got[:n], in)
			c.g(want, in)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%s(%v): AVX2 %v, Go %v", c.name, in[i], got[i], want[i])
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s: wrote past the end (n=%d)", c.name, n)
			}
		}
	}
	testStreamsMatchGo(t)
}

// The vector streaming ops and row sums agree bit for bit with the Go
// loops, at every tail length.
func TestAVX512StreamsMatchGo(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	defer func(l int) { mapLevel = l }(mapLevel)
	mapLevel = mapsAVX512
	testStreamsMatchGo(t)
}

// On ordinary arguments the vector sin, cos and log do every element
// themselves (they hand back only special vectors).
func TestVectorTrigLogNoBail(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	xs, pos := make([]float64, 1003), make([]float64, 1003)
	for i := range xs {
		xs[i] = (r.Float64()*2 - 1) * 1000
		pos[i] = math.Exp((r.Float64()*2 - 1) * 700)
	}
	out := make([]float64, len(xs))
	type fn = func(dst, src []float64) int
	var cases []struct {
		name string
		f    fn
		in   []float64
	}
	if hasAVX2 {
		cases = append(cases, []struct {
			name string
			f    fn
			in   []float64
		}{{"sinAVX2", sinAVX2, xs}, {"cosAVX2", cosAVX2, xs}, {"logAVX2", logAVX2, pos}}...)
	}
	if hasAVX512 {
		cases = append(cases, []struct {
			name string
			f    fn
			in   []float64
		}{{"sinAVX512", sinAVX512, xs}, {"cosAVX512", cosAVX512, xs}, {"logAVX512", logAVX512, pos}}...)
	}
	for _, c := range cases {
		if n := c.f(out, c.in); n != len(c.in) {
			t.Errorf("%s did %d of %d elements", c.name, n, len(c.in))
		}
	}
	// And they stop at a special value.
	if hasAVX2 {
		xs[500] = math.Inf(1)
		if n := sinAVX2(out, xs); n != 500 {
			t.Errorf("sinAVX2 stopped at %d, want 500", n)
		}
	}
}
