package kernels

import "fmt"

// kernel is the micro-kernel Dgemm uses; chosen at init from the CPU.
var kernel *microKernel

// parallelMinFlops: below this many multiply-adds a product runs on the
// calling goroutine only.
const parallelMinFlops = 96 * 96 * 96

// Dgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is m×k,
// op(B) is k×n, C is m×n. lda, ldb, ldc are row strides. transA/transB say
// whether A/B are stored transposed (A stored k×m, B stored n×k).
// When beta == 0, C is not read. The result does not depend on the number
// of workers, bit for bit.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	DgemmSerial(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// DgemmSerial is Dgemm run on the calling goroutine alone when serial is
// set, for callers that already keep every core busy with products of
// their own; the result is the same, bit for bit.
func DgemmSerial(serial, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	g := newArgs(gemmArgs[float64]{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc})
	workers := 1
	if !serial {
		workers = pool.size()
	}
	gemm(g, kernel, workers)
	freeArgs(g)
}

// DgemmBatched computes count independent products
// C_i = alpha*op(A_i)*op(B_i) + beta*C_i where A_i = a[i*strideA:],
// B_i = b[i*strideB:], C_i = c[i*strideC:]. A stride of 0 shares the
// operand between all products (not allowed for C unless count <= 1).
func DgemmBatched(transA, transB bool, m, n, k int, alpha float64, a []float64, lda, strideA int, b []float64, ldb, strideB int, beta float64, c []float64, ldc, strideC int, count int) {
	gemmBatched(kernel, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, count)
}

// SgemmBatched is DgemmBatched in float32.
func SgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, count int) {
	gemmBatched(kernel32, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, count)
}

func gemmBatched[T float](kn *gemmKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda, strideA int, b []T, ldb, strideB int, beta T, c []T, ldc, strideC int, count int) {
	if count < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic("kernels: gemm batched: negative count or stride")
	}
	if count == 0 || m == 0 || n == 0 {
		return
	}
	if count > 1 && strideC < (m-1)*ldc+n {
		panic("kernels: gemm batched: C matrices overlap")
	}
	sub := func(s []T, off, size int) []T {
		if size == 0 {
			return s[:0]
		}
		return s[off : off+size]
	}
	aSize, bSize, cSize := gemmSizes(transA, transB, m, n, k, lda, ldb, ldc)
	if (count-1)*strideA+aSize > len(a) || (count-1)*strideB+bSize > len(b) || (count-1)*strideC+cSize > len(c) {
		panic("kernels: gemm batched: slice too short")
	}
	one := func(i int, workers int) {
		ai, bi, ci := sub(a, i*strideA, aSize), sub(b, i*strideB, bSize), sub(c, i*strideC, cSize)
		checkGemm(transA, transB, m, n, k, ai, lda, bi, ldb, ci, ldc)
		g := newArgs(gemmArgs[T]{transA, transB, m, n, k, alpha, ai, lda, bi, ldb, beta, ci, ldc})
		gemm(g, kn, workers)
		freeArgs(g)
	}
	w := pool.size()
	if w > 1 && count > 1 && m*n*k < 8*parallelMinFlops {
		// Small products: one product per task.
		pool.parallelFor(count, func(i int) { one(i, 1) })
		return
	}
	for i := 0; i < count; i++ {
		one(i, w)
	}
}

func gemmSizes(transA, transB bool, m, n, k, lda, ldb, ldc int) (aSize, bSize, cSize int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if ar > 0 && ac > 0 {
		aSize = (ar-1)*lda + ac
	}
	if br > 0 && bc > 0 {
		bSize = (br-1)*ldb + bc
	}
	if m > 0 && n > 0 {
		cSize = (m-1)*ldc + n
	}
	return
}

func checkGemm[T float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Dgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ac, bc := k, n
	if transA {
		ac = m
	}
	if transB {
		bc = k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic(fmt.Sprintf("kernels: Dgemm: bad leading dimension lda=%d ldb=%d ldc=%d", lda, ldb, ldc))
	}
	aSize, bSize, cSize := gemmSizes(transA, transB, m, n, k, lda, ldb, ldc)
	if len(a) < aSize || len(b) < bSize || len(c) < cSize {
		panic(fmt.Sprintf("kernels: Dgemm: slice too short: len(a)=%d need %d, len(b)=%d need %d, len(c)=%d need %d",
			len(a), aSize, len(b), bSize, len(c), cSize))
	}
}
