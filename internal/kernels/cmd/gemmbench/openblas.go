//go:build openblas && cgo

package main

/*
#cgo LDFLAGS: -l:libopenblas.so.0
void cblas_dgemm(int order, int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc);
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
char *openblas_get_corename(void);
char *openblas_get_config(void);
*/
import "C"

import (
	"fmt"
	"os"
)

const (
	rowMajor = 101
	noTrans  = 111
)

type openBLAS struct{}

func init() { blas = openBLAS{} }

func (openBLAS) name() string { return "OpenBLAS" }

func (openBLAS) describe() string {
	env := ""
	for _, v := range []string{"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"} {
		if s, ok := os.LookupEnv(v); ok {
			env += fmt.Sprintf(" %s=%s", v, s)
		}
	}
	if env == "" {
		env = " OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset"
	}
	return fmt.Sprintf("%s, %s kernels (%s)", C.GoString(C.openblas_get_config()), C.GoString(C.openblas_get_corename()), env[1:])
}

func (openBLAS) setThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func (openBLAS) dgemm(m, n, k int, a, b, c []float64) {
	C.cblas_dgemm(rowMajor, noTrans, noTrans, C.int(m), C.int(n), C.int(k), 1, (*C.double)(&a[0]), C.int(k), (*C.double)(&b[0]), C.int(n), 0, (*C.double)(&c[0]), C.int(n))
}

func (openBLAS) sgemm(m, n, k int, a, b, c []float32) {
	C.cblas_sgemm(rowMajor, noTrans, noTrans, C.int(m), C.int(n), C.int(k), 1, (*C.float)(&a[0]), C.int(k), (*C.float)(&b[0]), C.int(n), 0, (*C.float)(&c[0]), C.int(n))
}
