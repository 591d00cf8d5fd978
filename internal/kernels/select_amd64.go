//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -out ukernel_amd64.s -maps elementwise_amd64.s

//go:noescape
func kernAVX2_6x8(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernAVX2_6x8_nopf(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernAVX512_8x16_nopf(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernAVX512_8x16_row(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)

//go:noescape
func kernAVX2_6x8_row(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)

//go:noescape
func kernAVX512_8x16(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
)

var avx2Kernel = &microKernel{
	name: "avx2_6x8",
	mr:   6, nr: 8,
	mc: 144, kc: 256, nc: 4096,
	fn: kernAVX2_6x8, fnSmallK: kernAVX2_6x8_nopf, fnRow: kernAVX2_6x8_row,
}

var avx512Kernels = []*microKernel{
	{name: "avx512_8x16", mr: 8, nr: 16, mc: 192, kc: 256, nc: 4096, fn: kernAVX512_8x16, fnSmallK: kernAVX512_8x16_nopf, fnRow: kernAVX512_8x16_row},
}

func init() {
	switch {
	case hasAVX512:
		kernel = avx512Kernels[0]
	case hasAVX2:
		kernel = avx2Kernel
	default:
		kernel = goKernel
	}
}

// availableKernels lists the micro-kernels this build and CPU can run.
func availableKernels() []*microKernel {
	ks := []*microKernel{goKernel}
	if hasAVX2 {
		ks = append(ks, avx2Kernel)
	}
	if hasAVX512 {
		ks = append(ks, avx512Kernels...)
	}
	return ks
}
