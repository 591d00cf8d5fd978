//go:build purego || !(amd64 || arm64)

package kernels

import "runtime"

// archPaths lists this architecture's kernel paths: the portable Go one.
func archPaths() []*kernelPath { return []*kernelPath{goPath()} }

// availableKernels lists the micro-kernels this build and CPU can run.
func availableKernels() []*microKernel { return []*microKernel{goKernel} }

// availableKernels32 lists the float32 micro-kernels this build and CPU
// can run.
func availableKernels32() []*sgemmKernel { return []*sgemmKernel{goKernel32} }

// setMapLevel has nothing to choose: the maps are the Go loops.
func setMapLevel(int) {}

// cpuFeatures describes the CPU as far as the kernels know it.
func cpuFeatures() string { return runtime.GOARCH + ": portable Go kernels" }
