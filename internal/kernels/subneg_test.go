package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Sub and Neg give the scalar operations' bits, for every length around
// the vector widths, with dst a separate slice, a or b.
func TestSubNeg(t *testing.T) {
	testSubNeg(t, Sub, Neg)
	testSubNeg(t, Sub32, Neg32)
}

func testSubNeg[T float](t *testing.T, sub func(d, a, b []T), neg func(d, s []T)) {
	r := rand.New(rand.NewPCG(51, 52))
	for n := 0; n < 70; n++ {
		a, b := randT[T](r, n), randT[T](r, n)
		if n > 2 {
			a[1], b[2] = 0, 0 // −0 and a − 0
		}
		for alias := 0; alias < 4; alias++ {
			d := make([]T, n+1)
			d[n] = 42
			x, y := append([]T(nil), a...), append([]T(nil), b...)
			dst := d[:n]
			switch alias {
			case 1:
				dst = x
			case 2:
				dst = y
			case 3:
				y = x // a − a
			}
			want := make([]T, n)
			for i := range want {
				want[i] = x[i] - y[i]
			}
			sub(dst, x, y)
			for i := range want {
				if dst[i] != want[i] || (dst[i] == 0 && 1/dst[i] != 1/want[i]) {
					t.Fatalf("%T Sub len %d alias %d: element %d = %v, want %v", dst[i], n, alias, i, dst[i], want[i])
				}
			}
			if d[n] != 42 {
				t.Fatalf("Sub len %d: wrote past the end", n)
			}
		}
		for _, inPlace := range []bool{false, true} {
			x := append([]T(nil), a...)
			dst := make([]T, n)
			if inPlace {
				dst = x
			}
			neg(dst, x)
			for i := range dst {
				if w := -a[i]; dst[i] != w || 1/dst[i] != 1/w {
					t.Fatalf("%T Neg len %d in place %v: element %d = %v, want %v", w, n, inPlace, i, dst[i], w)
				}
			}
		}
	}
	{ // long enough to be split over the pool
		n := 1 << 20
		a, b := randT[T](r, n), randT[T](r, n)
		d := make([]T, n)
		sub(d, a, b)
		for i := range d {
			if d[i] != a[i]-b[i] {
				t.Fatalf("Sub of %d elements: element %d", n, i)
			}
		}
	}
	// Overlapping otherwise: element by element.
	s := randT[T](r, 10)
	want := append([]T(nil), s...)
	for i := range 5 {
		want[1+i] = want[i] - want[5+i]
	}
	sub(s[1:6], s[0:5], s[5:10])
	for i := range s {
		if s[i] != want[i] {
			t.Fatalf("Sub into a slice overlapping an operand: element %d = %v, want %v", i, s[i], want[i])
		}
	}
}

func BenchmarkSub32(b *testing.B) {
	for _, n := range []int{64, 1024, 16384} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y, d := randT[float32](r, n), randT[float32](r, n), make([]float32, n)
		b.Run(fmt.Sprintf("loop/%d", n), func(b *testing.B) {
			for range b.N {
				for i := range d {
					d[i] = x[i] - y[i]
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(fmt.Sprintf("Sub32/%d", n), func(b *testing.B) {
			for range b.N {
				Sub32(d, x, y)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(fmt.Sprintf("Sub32inPlace/%d", n), func(b *testing.B) {
			for range b.N {
				Sub32(x, x, y)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
