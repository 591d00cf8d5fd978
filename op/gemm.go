package op

import "github.com/jacobi-ad/jacobi/internal/kernels"

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major slices. It is the
// one place evaluation reaches a matrix-product kernel.
func Gemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	GemmSerial(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm on the calling goroutine alone when serial is set (for
// callers that run in parallel already); the result does not change.
func GemmSerial(serial, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
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
		return
	}
	kernels.DgemmSerial(serial, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
