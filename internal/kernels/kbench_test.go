package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"unsafe"
)

// Benchmarks. The comparison with OpenBLAS, interleaved trial by trial in
// one process, is cmd/gemmbench (go run -tags openblas ./cmd/gemmbench).

// benchKernels returns the micro-kernels to compare: all the CPU can run,
// or, when JACOBI_KERNEL names a path, that path's.
func benchKernels[T float](all []*gemmKernel[T], forced *gemmKernel[T]) []*gemmKernel[T] {
	if os.Getenv(pathEnv) != "" {
		return []*gemmKernel[T]{forced}
	}
	return all
}

// BenchmarkKernels compares the micro-kernels through the whole blocked
// algorithm on one worker.
func BenchmarkKernels(b *testing.B) {
	for _, kn := range benchKernels(availableKernels(), kernel) {
		benchKernel(b, kn)
	}
	for _, kn := range benchKernels(availableKernels32(), kernel32) {
		benchKernel(b, kn)
	}
}

func benchKernel[T float](b *testing.B, kn *gemmKernel[T]) {
	for _, s := range [][3]int{{1024, 1024, 1024}, {8192, 64, 64}, {64, 64, 64}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%s/%dx%dx%d", kn.name, m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randT[T](r, m*k), randT[T](r, k*n), randT[T](r, m*n)
			g := gemmArgs[T]{false, false, m, n, k, 1, a, k, bb, n, 0, c, n}
			for i := 0; i < b.N; i++ {
				gemm(&g, kn, 1)
			}
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDgemm and BenchmarkSgemm time the kernels benchmark's shapes on
// GOMAXPROCS workers (-cpu 1,2 for both counts), on the kernel path in use.
func BenchmarkDgemm(b *testing.B) { benchGemm(b, Dgemm) }

func BenchmarkSgemm(b *testing.B) { benchGemm(b, Sgemm) }

var benchShapes = [][3]int{
	{1024, 1024, 1024}, {256, 256, 256}, {64, 64, 64}, {8192, 64, 64},
	{4096, 64, 2}, {8192, 256, 256}, {2560, 784, 256},
}

func benchGemm[T float](b *testing.B, gemmFn func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randT[T](r, m*k), randT[T](r, k*n), randT[T](r, m*n)
			var z T
			b.SetBytes(int64(int(unsafe.Sizeof(z)) * (m*k + k*n + m*n)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				gemmFn(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDgemmTrans covers the transpose combinations the runtime uses
// (VJP: G·Wᵀ; weight gradients: Xᵀ·G).
func BenchmarkDgemmTrans(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, s := range [][3]int{{1024, 1024, 1024}, {8192, 256, 256}, {256, 256, 8192}} {
		for _, tr := range [][2]bool{{false, true}, {true, false}, {true, true}} {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("tA=%v,tB=%v/%dx%dx%d", tr[0], tr[1], m, n, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a, bb, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				for i := 0; i < b.N; i++ {
					Dgemm(tr[0], tr[1], m, n, k, 1, a, lda, bb, ldb, 0, c, n)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
