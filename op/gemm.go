package op

import (
	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major slices. It is the
// one place evaluation reaches a matrix-product kernel.
func Gemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	GemmSerial(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm on the calling goroutine alone when serial is set (for
// callers that run in parallel already); the result does not change.
func GemmSerial(serial, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if gemmTrivial(m, n, k, beta, c, ldc) {
		return
	}
	kernels.DgemmSerial(serial, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial32 is GemmSerial in float32 (SGEMM).
func GemmSerial32(serial, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmTrivial(m, n, k, beta, c, ldc) {
		return
	}
	kernels.SgemmSerial(serial, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmFunc is the signature of GemmSerial and GemmSerial32.
type GemmFunc[T tensor.Float] func(serial, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// GemmOf returns GemmSerial or GemmSerial32, by T.
func GemmOf[T tensor.Float]() GemmFunc[T] {
	if f, ok := any(GemmFunc[float64](GemmSerial)).(GemmFunc[T]); ok {
		return f
	}
	return any(GemmFunc[float32](GemmSerial32)).(GemmFunc[T])
}

// gemmTrivial does the products with nothing to multiply (m, n or k
// zero) and reports whether it did.
func gemmTrivial[T tensor.Float](m, n, k int, beta T, c []T, ldc int) bool {
	if m == 0 || n == 0 {
		return true
	}
	if k != 0 {
		return false
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row) // C is not read when beta == 0 (NaN there must not leak)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
	return true
}
