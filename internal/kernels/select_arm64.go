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

//go:noescape
func kernNEON_12x8_f32(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernNEON_12x8_f32_nopf(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernNEON_12x8_f32_row(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, alpha, beta float32, npan, bps int)

// hasNEON: ASIMD is part of every arm64 CPU Go runs on; the check keeps
// the selection honest should a platform report otherwise.
var hasNEON = cpu.ARM64.HasASIMD

// neonKernel and neonKernel32: 6×8 float64 and 12×8 float32 tiles, 24
// accumulators each (see internal/genarm64/gemm.go for the choice), with
// the blocking derived from the cache sizes (blockSizes). Not tuned on
// hardware.
var (
	neonKernel = blocked(&microKernel{
		name: "neon_6x8", mr: 6, nr: 8,
		fn: kernNEON_6x8, fnSmallK: kernNEON_6x8_nopf, fnRow: kernNEON_6x8_row, vecPack: true,
	})
	neonKernel32 = blocked(&sgemmKernel{
		name: "neon_12x8_f32", mr: 12, nr: 8,
		fn: kernNEON_12x8_f32, fnSmallK: kernNEON_12x8_f32_nopf, fnRow: kernNEON_12x8_f32_row, vecPack: true,
	})
)

// archPaths lists arm64's kernel paths, best last.
func archPaths() []*kernelPath {
	neon := &kernelPath{name: "neon", dgemm: neonKernel, sgemm: neonKernel32, maps: mapsNEON}
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
func availableKernels32() []*sgemmKernel {
	ks := []*sgemmKernel{goKernel32}
	if hasNEON {
		ks = append(ks, neonKernel32)
	}
	return ks
}

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
