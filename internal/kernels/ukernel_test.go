package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The assembly micro-kernels keep the contract of microKernel exactly:
// C[i][j] = alpha·s rounded, then beta·C added in one fused multiply-add
// (C not read when beta == 0), where s is the sum over p, in increasing
// p, of one fused multiply-add per term starting from zero. So they give
// the same bits as one another, whatever the strides. (The Go kernel
// rounds products on their own where the compiler does not fuse.)
func TestMicroKernelsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, kn := range availableKernels() {
		if kn == goKernel {
			continue
		}
		mr, nr := kn.mr, kn.nr
		type variant struct {
			name string
			call func(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)
		}
		variants := []variant{{"fn", func(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int) {
			kn.fn(kc, a, ars, aks, b, bks, c, ldc, alpha, beta)
		}}}
		if kn.fnSmallK != nil {
			variants = append(variants, variant{"fnSmallK", func(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int) {
				kn.fnSmallK(kc, a, ars, aks, b, bks, c, ldc, alpha, beta)
			}})
		}
		if kn.fnRow != nil {
			variants = append(variants, variant{"fnRow", kn.fnRow})
		}
		for _, v := range variants {
			npan := 1
			if v.name == "fnRow" {
				npan = 3
			}
			for _, kc := range []int{1, 2, 3, 7, 64} {
				for _, layout := range []string{"packed", "transposed", "rows"} {
					for _, beta := range []float64{0, 1.5} {
						// A: element (i, p) at a[i*ars + p*aks].
						var ars, aks int
						switch layout {
						case "packed":
							ars, aks = 1, mr
						case "transposed":
							ars, aks = 1, mr+3
						default:
							ars, aks = kc+2, 1
						}
						a := randSlice(r, (mr-1)*ars+(kc-1)*aks+1)
						// B: panel q, element (p, j) at b[q*bps + p*bks + j].
						bks := nr
						if layout != "packed" {
							bks = npan*nr + 5 // B read in place
						}
						bps := nr * kc
						if layout != "packed" {
							bps = nr
						}
						b := randSlice(r, (npan-1)*bps+(kc-1)*bks+nr)
						ldc := npan*nr + 3
						c := randSlice(r, mr*ldc)
						if beta == 0 {
							for i := range c {
								c[i] = math.NaN()
							}
						}
						for i := 0; i < mr; i++ {
							c[i*ldc+npan*nr] = 42 // guards
						}
						c0 := append([]float64(nil), c...)
						alpha := -0.75
						v.call(kc, &a[0], ars, aks, &b[0], bks, &c[0], ldc, alpha, beta, npan, bps)
						for i := 0; i < mr; i++ {
							for q := 0; q < npan; q++ {
								for j := 0; j < nr; j++ {
									var s float64
									for p := 0; p < kc; p++ {
										s = math.FMA(a[i*ars+p*aks], b[q*bps+p*bks+j], s)
									}
									want := alpha * s
									if beta != 0 {
										want = math.FMA(beta, c0[i*ldc+q*nr+j], want)
									}
									if got := c[i*ldc+q*nr+j]; math.Float64bits(got) != math.Float64bits(want) {
										t.Fatalf("%s.%s kc=%d %s beta=%v: C[%d][%d] = %v, want %v",
											kn.name, v.name, kc, layout, beta, i, q*nr+j, got, want)
									}
								}
							}
							if c[i*ldc+npan*nr] != 42 {
								t.Fatalf("%s.%s: wrote past the tile in row %d", kn.name, v.name, i)
							}
						}
					}
				}
			}
		}
	}
}
