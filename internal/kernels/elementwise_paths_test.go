//go:build !purego && (amd64 || arm64)

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Helpers shared by the tests of the vector paths (elementwise_*_test.go).

func absAll(s []float64) []float64 {
	a := make([]float64, len(s))
	for i, x := range s {
		a[i] = math.Abs(x)
	}
	return a
}

// testStreamsMatchGo checks that the streaming ops, dot products and row
// sums of the current path agree bit for bit with the Go loops, at every
// tail length.
func testStreamsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for n := 0; n < 70; n++ {
		a, b, c := randSlice(r, n), randSlice(r, n), randSlice(r, n)
		d0 := randSlice(r, n)
		type op struct {
			name   string
			vec, g func(d []float64)
		}
		for _, o := range []op{
			{"addTo", func(d []float64) { addToSlice(d, a) }, func(d []float64) { addToGo(d, a) }},
			{"mul", func(d []float64) { mulSlice(d, a, b) }, func(d []float64) { mulGo(d, a, b) }},
			{"add", func(d []float64) { addSlice(d, a, b) }, func(d []float64) { addGo(d, a, b) }},
			{"mulAdd", func(d []float64) { mulAddSlice(d, a, b, c) }, func(d []float64) { mulAddGo(d, a, b, c) }},
			{"oneMinusSq", func(d []float64) { oneMinusSqSlice(d, a) }, func(d []float64) { oneMinusSqGo(d, a) }},
			{"tanhBackward", func(d []float64) { tanhBackwardSlice(d, a, b) }, func(d []float64) { tanhBackwardGo(d, a, b) }},
			{"sigmoidDeriv", func(d []float64) { sigmoidDerivSlice(d, a) }, func(d []float64) { sigmoidDerivGo(d, a) }},
			{"sigmoidBackward", func(d []float64) { sigmoidBackwardSlice(d, a, b) }, func(d []float64) { sigmoidBackwardGo(d, a, b) }},
			{"axpy", func(d []float64) { axpySlice(d, 0.3, a) }, func(d []float64) { axpyGo(d, 0.3, a) }},
			{"scale", func(d []float64) { scaleSlice(d, -1.7, a) }, func(d []float64) { scaleGo(d, -1.7, a) }},
			{"aliased mul", func(d []float64) { mulSlice(d, d, d) }, func(d []float64) { mulGo(d, d, d) }},
		} {
			got := append(append([]float64(nil), d0...), 42)
			want := append([]float64(nil), d0...)
			o.vec(got[:n])
			o.g(want)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s n=%d: element %d: vector %v, Go %v", o.name, n, i, got[i], want[i])
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s n=%d: wrote past the end", o.name, n)
			}
		}
		if s, g := dotSlice(a, b), dotGo(a, b); math.Float64bits(s) != math.Float64bits(g) {
			t.Fatalf("dot n=%d: vector %v, Go %v", n, s, g)
		}
		if n > 0 {
			// Three rows of length n-1 with row stride n.
			rowsA := randSlice(r, 3*n)
			got := make([]float64, 3)
			dotRows(got, rowsA, n, b, n-1)
			for i := range got {
				if g := dotGo(rowsA[i*n:i*n+n-1], b); math.Float64bits(got[i]) != math.Float64bits(g) {
					t.Fatalf("dotRows k=%d row %d: %v, Go %v", n-1, i, got[i], g)
				}
			}
		}
		if s, g := sumRowSlice(a), sumRow(a); math.Float64bits(s) != math.Float64bits(g) {
			t.Fatalf("sumRow n=%d: vector %v, Go %v", n, s, g)
		}
	}
}
