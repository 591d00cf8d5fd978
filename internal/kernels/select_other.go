//go:build purego || !amd64

package kernels

func init() {
	kernel = goKernel
}

// availableKernels lists the micro-kernels this build and CPU can run.
func availableKernels() []*microKernel { return []*microKernel{goKernel} }
