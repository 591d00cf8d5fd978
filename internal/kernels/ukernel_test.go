package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The assembly micro-kernels keep the contract of gemmKernel exactly:
// C[i][j] = alpha·s rounded, then beta·C added in one fused multiply-add
// (C not read when beta == 0), where s is the sum over p, in increasing
// p, of one fused multiply-add per term starting from zero. So they give
// the same bits as one another, whatever the strides (fn of a kernel with
// packedA takes packed A only). (The Go kernel rounds products on their
// own where the compiler does not fuse.)
func TestMicroKernelsExact(t *testing.T) {
	for _, kn := range availableKernels() {
		if kn != goKernel {
			testMicroKernelExact(t, kn, math.FMA)
		}
	}
	for _, kn := range availableKernels32() {
		if kn != goKernel32 {
			testMicroKernelExact(t, kn, fma32)
		}
	}
}

// fma32 is a float32 fused multiply-add: x·y+z rounded once.
func fma32(x, y, z float32) float32 {
	var p, s big.Float
	p.SetPrec(1000).Mul(big.NewFloat(float64(x)), big.NewFloat(float64(y)))
	s.SetPrec(1000).Add(&p, big.NewFloat(float64(z)))
	f, _ := s.Float32()
	return f
}

func testMicroKernelExact[T float](t *testing.T, kn *gemmKernel[T], fma func(x, y, z T) T) {
	r := rand.New(rand.NewPCG(41, 42))
	mr, nr := kn.mr, kn.nr
	if kn.packedA && kn.fnSmallK == nil {
		t.Errorf("%s: fn takes packed A only, but there is no fnSmallK for A in place", kn.name)
	}
	type variant struct {
		name string
		call func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T, npan, bps int)
	}
	variants := []variant{{"fn", func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T, npan, bps int) {
		kn.fn(kc, a, ars, aks, b, bks, c, ldc, alpha, beta)
	}}}
	if kn.fnSmallK != nil {
		variants = append(variants, variant{"fnSmallK", func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T, npan, bps int) {
			kn.fnSmallK(kc, a, ars, aks, b, bks, c, ldc, alpha, beta)
		}})
	}
	if kn.fnRow != nil {
		variants = append(variants, variant{"fnRow", kn.fnRow})
	}
	if kn.fnCol != nil {
		testColumnKernelExact(t, kn, fma)
	}
	for _, v := range variants {
		npan := 1
		if v.name == "fnRow" {
			npan = 3
		}
		for _, kc := range []int{1, 2, 3, 7, 64} {
			for _, layout := range []string{"packed", "transposed", "rows", "packed, B in place"} {
				if v.name == "fn" && kn.packedA && layout != "packed" && layout != "packed, B in place" {
					continue
				}
				for _, beta := range []T{0, 1.5} {
					// A: element (i, p) at a[i*ars + p*aks].
					var ars, aks int
					switch layout {
					case "packed", "packed, B in place":
						ars, aks = 1, mr
					case "transposed":
						ars, aks = 1, mr+3
					default:
						ars, aks = kc+2, 1
					}
					a := randT[T](r, (mr-1)*ars+(kc-1)*aks+1)
					// B: panel q, element (p, j) at b[q*bps + p*bks + j].
					bks := nr
					if layout != "packed" {
						bks = npan*nr + 5 // B read in place
					}
					bps := nr * kc
					if layout != "packed" {
						bps = nr
					}
					b := randT[T](r, (npan-1)*bps+(kc-1)*bks+nr)
					ldc := npan*nr + 3
					c := randT[T](r, mr*ldc)
					if beta == 0 {
						for i := range c {
							c[i] = T(math.NaN())
						}
					}
					for i := 0; i < mr; i++ {
						c[i*ldc+npan*nr] = 42 // guards
					}
					c0 := append([]T(nil), c...)
					alpha := T(-0.75)
					v.call(kc, &a[0], ars, aks, &b[0], bks, &c[0], ldc, alpha, beta, npan, bps)
					for i := 0; i < mr; i++ {
						for q := 0; q < npan; q++ {
							for j := 0; j < nr; j++ {
								var s T
								for p := 0; p < kc; p++ {
									s = fma(a[i*ars+p*aks], b[q*bps+p*bks+j], s)
								}
								want := alpha * s
								if beta != 0 {
									want = fma(beta, c0[i*ldc+q*nr+j], want)
								}
								if got := c[i*ldc+q*nr+j]; got != want {
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

// testColumnKernelExact checks fnCol against the definition: npan tiles one
// below the other, from packed A panels aps apart.
func testColumnKernelExact[T float](t *testing.T, kn *gemmKernel[T], fma func(x, y, z T) T) {
	r := rand.New(rand.NewPCG(43, 44))
	mr, nr := kn.mr, kn.nr
	const npan = 3
	for _, kc := range []int{1, 5, 64} {
		for _, bks := range []int{nr, nr + 3} {
			for _, beta := range []T{0, -2} {
				aps := mr*kc + 7
				a := randT[T](r, (npan-1)*aps+mr*kc)
				b := randT[T](r, (kc-1)*bks+nr)
				ldc := nr + 2
				c := randT[T](r, npan*mr*ldc)
				if beta == 0 {
					for i := range c {
						if i%ldc < nr {
							c[i] = T(math.NaN())
						}
					}
				}
				c0 := append([]T(nil), c...)
				alpha := T(1.25)
				kn.fnCol(kc, &a[0], 1, mr, &b[0], bks, &c[0], ldc, alpha, beta, npan, aps)
				for q := 0; q < npan; q++ {
					for i := 0; i < mr; i++ {
						row := q*mr + i
						for j := 0; j < ldc; j++ {
							got := c[row*ldc+j]
							if j >= nr {
								if got != c0[row*ldc+j] {
									t.Fatalf("%s.fnCol: wrote C[%d][%d] past the tile", kn.name, row, j)
								}
								continue
							}
							var s T
							for p := 0; p < kc; p++ {
								s = fma(a[q*aps+p*mr+i], b[p*bks+j], s)
							}
							want := alpha * s
							if beta != 0 {
								want = fma(beta, c0[row*ldc+j], want)
							}
							if got != want {
								t.Fatalf("%s.fnCol kc=%d bks=%d beta=%v: C[%d][%d] = %v, want %v", kn.name, kc, bks, beta, row, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}
