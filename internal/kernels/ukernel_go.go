package kernels

import "unsafe"

// goKernel and goKernel32 are the portable 4×4 micro-kernels, used where
// no assembly kernel applies (other architectures, the purego build tag,
// CPUs without AVX2).
var (
	goKernel   = blocked(&microKernel{name: "go4x4", mr: 4, nr: 4, fn: kernGo4x4[float64]})
	goKernel32 = blocked(&sgemmKernel{name: "go4x4_f32", mr: 4, nr: 4, fn: kernGo4x4[float32]})
)

// goPath is the portable path, on every architecture.
func goPath() *kernelPath {
	return &kernelPath{name: "purego", dgemm: goKernel, sgemm: goKernel32, maps: mapsGo}
}

func kernGo4x4[T float](kc int, ap *T, ars, aks int, bp *T, bks int, cp *T, ldc int, alpha, beta T) {
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	var c20, c21, c22, c23 T
	var c30, c31, c32, c33 T
	if ars == 1 && aks == 4 && bks == 4 {
		// Packed panels: constant strides, no bounds checks in the loop.
		a := unsafe.Slice((*[4]T)(unsafe.Pointer(ap)), kc)
		b := unsafe.Slice((*[4]T)(unsafe.Pointer(bp)), kc)
		for p := range a {
			av, bv := &a[p], &b[p]
			b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
			a0 := av[0]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := av[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := av[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := av[3]
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	} else {
		a := unsafe.Slice(ap, (kc-1)*aks+3*ars+1)
		b := unsafe.Slice(bp, (kc-1)*bks+4)
		for p := 0; p < kc; p++ {
			ap := a[p*aks:]
			bv := b[p*bks : p*bks+4 : p*bks+4]
			b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
			a0, a1, a2, a3 := ap[0], ap[ars], ap[2*ars], ap[3*ars]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	}
	c := unsafe.Slice(cp, 3*ldc+4)
	store4(c[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(c[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	store4(c[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	store4(c[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

func store4[T float](c []T, x0, x1, x2, x3, alpha, beta T) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = T(alpha*x0) + T(beta*c[0])
	c[1] = T(alpha*x1) + T(beta*c[1])
	c[2] = T(alpha*x2) + T(beta*c[2])
	c[3] = T(alpha*x3) + T(beta*c[3])
}
