package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The unrolled packings agree with the definition, for every width and
// height, row stride and element type.
func TestPack(t *testing.T) {
	testPack[float64](t)
	testPack[float32](t)
}

func testPack[T float](t *testing.T) {
	for _, vec := range []bool{false, true} {
		testPackVec[T](t, vec)
	}
}

func testPackVec[T float](t *testing.T, vec bool) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, w := range []int{3, 4, 6, 8, 12, 16, 24, 32} {
		for _, h := range []int{1, w / 2, w - 1, w} {
			for _, kb := range []int{1, 7, 8, 13, 64} {
				ld := max(w, kb) + r.IntN(3)
				src := make([]T, (max(w, kb)-1)*ld+max(w, kb))
				for i := range src {
					src[i] = T(r.Float64())
				}
				dst := make([]T, w*kb+1)
				for i := range dst {
					dst[i] = 7
				}
				interleave(dst[:w*kb], src, ld, h, w, kb, vec)
				check := func(what string, want func(i, p int) T) {
					for p := 0; p < kb; p++ {
						for i := 0; i < w; i++ {
							_ = vec
							v := T(0)
							if i < h {
								v = want(i, p)
							}
							if dst[p*w+i] != v {
								t.Fatalf("%T %s w=%d h=%d kb=%d: dst[%d*%d+%d] = %v, want %v", v, what, w, h, kb, p, w, i, dst[p*w+i], v)
							}
						}
					}
					if dst[w*kb] != 7 {
						t.Fatalf("%s w=%d h=%d kb=%d: wrote past the panel", what, w, h, kb)
					}
				}
				check("interleave", func(i, p int) T { return src[i*ld+p] })
				copyPanel(dst[:w*kb], src, ld, h, w, kb, vec)
				check("copyPanel", func(i, p int) T { return src[p*ld+i] })
			}
		}
	}
}

func BenchmarkPack(b *testing.B) {
	b.Run("float64", benchmarkPack[float64])
	b.Run("float32", benchmarkPack[float32])
}

func benchmarkPack[T float](b *testing.B) {
	for _, s := range [][3]int{{6, 64, 0}, {6, 256, 0}, {8, 256, 0}, {16, 256, 0}, {6, 64, 1}, {6, 256, 1}, {8, 256, 1}, {16, 256, 1}} {
		w, kb, vec := s[0], s[1], s[2] == 1
		src := make([]T, 64*kb)
		dst := make([]T, w*kb)
		b.Run(fmt.Sprintf("interleave/vec=%v/w=%d/kb=%d", vec, w, kb), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				interleave(dst, src, kb, w, w, kb, vec)
			}
			b.ReportMetric(float64(w*kb*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(fmt.Sprintf("copyPanel/vec=%v/w=%d/kb=%d", vec, w, kb), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				copyPanel(dst, src, 64, w, w, kb, vec)
			}
			b.ReportMetric(float64(w*kb*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
