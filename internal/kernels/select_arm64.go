//go:build !purego

package kernels

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

//go:noescape
func kernNEON_6x8(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernNEON_6x8_nopf(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

//go:noescape
func kernNEON_6x8_row(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)

// hasNEON: ASIMD is part of every arm64 CPU Go runs on; the check keeps
// the selection honest should a platform report otherwise.
var hasNEON = cpu.ARM64.HasASIMD

// neonKernel: a 6×8 tile (24 accumulators of two float64; see
// internal/genarm64/gemm.go for the choice). Blocking for cores with
// 64 KiB or more of L1D and 1 MiB of L2 (Neoverse N1/V1/N2, Apple
// M-series): a kc×8 B panel (16 KiB) and a 6×kc A panel (12 KiB) share L1,
// an mc×kc block of A (288 KiB) sits in L2. Not tuned on hardware.
var neonKernel = &microKernel{
	name: "neon_6x8",
	mr:   6, nr: 8,
	mc: 144, kc: 256, nc: 4096,
	fn: kernNEON_6x8, fnSmallK: kernNEON_6x8_nopf, fnRow: kernNEON_6x8_row,
}

// archPaths lists arm64's kernel paths, best last.
func archPaths() []*kernelPath {
	neon := &kernelPath{name: "neon", dgemm: neonKernel, sgemm: goKernel32, maps: mapsNEON}
	if !hasNEON {
		neon.missing = "no ASIMD"
	}
	return []*kernelPath{goPath(), neon}
}

// availableKernels lists the micro-kernels this build and CPU can run.
func availableKernels() []*microKernel {
	ks := []*microKernel{goKernel}
	if hasNEON {
		ks = append(ks, neonKernel)
	}
	return ks
}

// availableKernels32 lists the float32 micro-kernels this build and CPU
// can run.
func availableKernels32() []*sgemmKernel { return []*sgemmKernel{goKernel32} }

// cpuFeatures lists the features the kernels look at (arm64 CPUs do not
// tell user code their name portably).
func cpuFeatures() string {
	var has []string
	for _, f := range []struct {
		name string
		ok   bool
	}{{"asimd", cpu.ARM64.HasASIMD}, {"fp", cpu.ARM64.HasFP}, {"sve", cpu.ARM64.HasSVE}, {"sve2", cpu.ARM64.HasSVE2}} {
		if f.ok {
			has = append(has, f.name)
		}
	}
	return fmt.Sprintf("%s arm64: %s", runtime.GOOS, strings.Join(has, " "))
}
