package kernels

// kernel32 is the micro-kernel Sgemm uses (set with the kernel path).
var kernel32 *sgemmKernel

// Sgemm is Dgemm in float32: C = alpha*op(A)*op(B) + beta*C, row-major,
// with the same blocking, parallel split and guarantees (K summed in
// increasing order with one fused multiply-add per term in assembly
// kernels; results independent of the number of workers, bit for bit).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmSerial(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm run on the calling goroutine alone when serial is
// set; the result is the same, bit for bit.
func SgemmSerial(serial, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	g := newArgs(gemmArgs[float32]{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc})
	workers := 1
	if !serial {
		workers = pool.size()
	}
	gemm(g, kernel32, workers)
	freeArgs(g)
}
