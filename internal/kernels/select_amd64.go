//go:build !purego

package kernels

import (
	"fmt"
	"strings"

	"golang.org/x/sys/cpu"
)

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
func kernAVX2_6x8_col(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, aps int)

//go:noescape
func kernAVX2_6x8_row(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)

//go:noescape
func kernAVX512_8x16(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernAVX2_6x16_f32(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2_6x16_f32_nopf(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2_6x16_f32_col(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32, npan, aps int)

//go:noescape
func kernAVX2_6x16_f32_row(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32, npan, bps int)

//go:noescape
func kernAVX512_8x32_f32(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512_8x32_f32_nopf(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512_8x32_f32_row(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32, npan, bps int)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
)

var avx2Kernel = blocked(&microKernel{
	name: "avx2_6x8",
	mr:   6, nr: 8,
	fn: kernAVX2_6x8, fnSmallK: kernAVX2_6x8_nopf, fnRow: kernAVX2_6x8_row, fnCol: kernAVX2_6x8_col, vecPack: true, packedA: true,
})

var avx512Kernels = []*microKernel{
	blocked(&microKernel{name: "avx512_8x16", mr: 8, nr: 16, fn: kernAVX512_8x16, fnSmallK: kernAVX512_8x16_nopf, fnRow: kernAVX512_8x16_row, vecPack: true}),
}

var avx2Kernel32 = blocked(&sgemmKernel{
	name: "avx2_6x16_f32",
	mr:   6, nr: 16,
	fn: kernAVX2_6x16_f32, fnSmallK: kernAVX2_6x16_f32_nopf, fnRow: kernAVX2_6x16_f32_row, fnCol: kernAVX2_6x16_f32_col, vecPack: true, packedA: true,
})

var avx512Kernel32 = blocked(&sgemmKernel{
	name: "avx512_8x32_f32",
	mr:   8, nr: 32,
	fn: kernAVX512_8x32_f32, fnSmallK: kernAVX512_8x32_f32_nopf, fnRow: kernAVX512_8x32_f32_row, vecPack: true,
})

// archPaths lists amd64's kernel paths, best last.
func archPaths() []*kernelPath {
	avx2 := &kernelPath{name: "avx2", dgemm: avx2Kernel, sgemm: avx2Kernel32, maps: mapsAVX2}
	if !hasAVX2 {
		avx2.missing = "no AVX2 and FMA"
	}
	avx512 := &kernelPath{name: "avx512", dgemm: avx512Kernels[0], sgemm: avx512Kernel32, maps: mapsAVX512}
	if !hasAVX512 {
		avx512.missing = "no AVX-512 (F and VL)"
	}
	return []*kernelPath{goPath(), avx2, avx512}
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

// availableKernels32 lists the float32 micro-kernels this build and CPU
// can run.
func availableKernels32() []*sgemmKernel {
	ks := []*sgemmKernel{goKernel32}
	if hasAVX2 {
		ks = append(ks, avx2Kernel32)
	}
	if hasAVX512 {
		ks = append(ks, avx512Kernel32)
	}
	return ks
}

// cpuFeatures lists the CPU's name and the features the kernels look at.
func cpuFeatures() string {
	var brand []byte
	if max, _, _, _ := cpuid(0x80000000, 0); max >= 0x80000004 {
		for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
			a, b, c, d := cpuid(leaf, 0)
			for _, r := range []uint32{a, b, c, d} {
				brand = append(brand, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
			}
		}
	}
	name := strings.TrimSpace(strings.TrimRight(string(brand), "\x00"))
	if name == "" {
		name = "unknown x86-64"
	}
	var has, lacks []string
	for _, f := range []struct {
		name string
		ok   bool
	}{{"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA}, {"avx512f", cpu.X86.HasAVX512F}, {"avx512vl", cpu.X86.HasAVX512VL}} {
		if f.ok {
			has = append(has, f.name)
		} else {
			lacks = append(lacks, f.name)
		}
	}
	s := fmt.Sprintf("%s: %s", name, strings.Join(has, " "))
	if len(lacks) > 0 {
		s += " (no " + strings.Join(lacks, ", ") + ")"
	}
	return s
}
