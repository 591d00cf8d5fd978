package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestSumAxis(t *testing.T) {
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(19, 20))
	dims := []int{0, 1, 3, 17, 129, 1000}
	for _, outer := range dims {
		for _, axis := range dims {
			for _, inner := range dims {
				if outer*axis*inner > 2e6 {
					continue
				}
				src := randSlice(r, outer*axis*inner)
				var ref []float64
				for _, w := range []int{1, 2, 3} {
					SetWorkers(w)
					dst := randSlice(r, outer*inner)
					SumAxis(dst, src, outer, axis, inner)
					if ref == nil {
						ref = dst
						for o := 0; o < outer; o++ {
							for i := 0; i < inner; i++ {
								var s, sa float64
								for a := 0; a < axis; a++ {
									v := src[(o*axis+a)*inner+i]
									s += v
									sa += math.Abs(v)
								}
								if got := dst[o*inner+i]; math.Abs(got-s) > float64(axis)*0x1p-52*sa {
									t.Fatalf("(%d,%d,%d) [%d][%d]: %v want %v", outer, axis, inner, o, i, got, s)
								}
							}
						}
						continue
					}
					for i := range dst {
						if math.Float64bits(dst[i]) != math.Float64bits(ref[i]) {
							t.Fatalf("(%d,%d,%d): workers=%d differs", outer, axis, inner, w)
						}
					}
				}
			}
		}
	}
}

func BenchmarkSumAxis(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, s := range [][3]int{{1, 4096, 1024}, {4096, 1024, 1}, {64, 64, 256}} {
		src, dst := make([]float64, s[0]*s[1]*s[2]), make([]float64, s[0]*s[2])
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			b.SetBytes(int64(8 * len(src)))
			for i := 0; i < b.N; i++ {
				SumAxis(dst, src, s[0], s[1], s[2])
			}
		})
	}
}
