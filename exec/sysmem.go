package exec

import (
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Results are checked against the memory there is before they are
// allocated: a result larger than memory would otherwise end the process
// (the runtime's "out of memory", or the kernel's OOM killer once the run
// touches its pages) instead of returning an error.

// checkedBytes is the size from which an output's allocation is checked:
// below it, reading how much memory there is would cost more than it saves.
const checkedBytes = 64 << 20

// A MemoryError reports an output, or the working memory of a run, that
// does not fit in the memory there is.
type MemoryError struct {
	Working   bool // the working memory of a run (Shape and DType unset), not an output
	Shape     []int
	DType     tensor.DType
	Bytes     float64 // the output's size (it may not fit an int)
	Available int64   // the memory available for it
	Limit     string  // what bounds it: the machine's available memory or GOMEMLIMIT
}

// Error names the output's size and the memory there is, and how to
// compute such a result anyway.
func (e *MemoryError) Error() string {
	if e.Working {
		return fmt.Sprintf("a run of the program needs %s of working memory, more than the %s of %s: run it on fewer samples at a time (WithChunk), or choose a method that holds less per sample (a nested Laplacian holds each sample's whole Hessian; Taylor mode does not)",
			FormatBytes(e.Bytes), FormatBytes(float64(e.Available)), e.Limit)
	}
	return fmt.Sprintf("an output of shape %v (%v) needs %s, more than the %s of %s: compute it into memory of your own (RunInto, on a tensor over a memory-mapped file) or in pieces of the batch (the jacobi command streams results to its output file)",
		e.Shape, e.DType, FormatBytes(e.Bytes), FormatBytes(float64(e.Available)), e.Limit)
}

// FormatBytes writes a number of bytes in B, kB, MB, GB or TB (powers of
// 1000, one decimal).
func FormatBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for b >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// CheckOutput returns a *MemoryError when an output of the given dtype and
// shape does not fit in the memory available, nil when it does (or when
// it is small enough not to ask).
func CheckOutput(dt tensor.DType, shape []int) error {
	bytes := float64(dt.Size())
	for _, d := range shape {
		bytes *= float64(d)
	}
	if bytes < checkedBytes {
		return nil
	}
	avail, limit := availableMemory()
	if bytes > float64(math.MaxInt) || bytes > float64(avail) {
		return &MemoryError{Shape: append([]int{}, shape...), DType: dt, Bytes: bytes, Available: avail, Limit: limit}
	}
	return nil
}

// checkWorkingMemory returns a *MemoryError when the working memory of a
// run (its slab) does not fit in the memory available.
func checkWorkingMemory(bytes float64) error {
	if bytes < checkedBytes {
		return nil
	}
	avail, limit := availableMemory()
	if bytes > float64(math.MaxInt) || bytes > float64(avail) {
		return &MemoryError{Working: true, Bytes: bytes, Available: avail, Limit: limit}
	}
	return nil
}

// availableMemory returns how many bytes a new allocation may take, and
// what bounds it: the memory the system has available (where it says),
// plus the heap memory the Go runtime holds free, within the runtime's
// memory limit (GOMEMLIMIT or debug.SetMemoryLimit) when one is set.
func availableMemory() (int64, string) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	value := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	total, released, free := value(0), value(1), value(2)
	avail, limit := int64(math.MaxInt64), "memory"
	if sys, ok := systemAvailable(); ok {
		avail, limit = sys+free, "memory available on this machine"
	}
	if lim := debug.SetMemoryLimit(-1); lim < math.MaxInt64 {
		if inLimit := lim - (total - released) + free; inLimit < avail {
			avail, limit = max(inLimit, 0), fmt.Sprintf("memory left within the Go memory limit of %s (GOMEMLIMIT)", FormatBytes(float64(lim)))
		}
	}
	return avail, limit
}
