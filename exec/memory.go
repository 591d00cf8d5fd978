package exec

import (
	"slices"

	"github.com/jacobi-ad/jacobi/tensor"
)

type bufKind int

const (
	bufInput bufKind = iota
	bufConst
	bufSlab
)

type bufInfo struct {
	kind      bufKind
	dtype     tensor.DType
	input     int    // bufInput: which input
	data      Values // bufConst
	size      int    // bufSlab: elements
	def, last int    // bufSlab: steps that write it first and read it last
	off       int    // bufSlab: offset in its dtype's slab
}

// placeSlab assigns slab offsets to the slab buffers of dtype dt by
// liveness (first fit) and returns the slab size.
func placeSlab(bufs []bufInfo, dt tensor.DType) int {
	type live struct{ off, size, last int }
	var act []live
	top := 0
	for i := range bufs {
		b := &bufs[i]
		if b.kind != bufSlab || b.dtype != dt {
			continue
		}
		// Drop regions whose last reader ran before this buffer is written.
		kept := act[:0]
		for _, a := range act {
			if a.last >= b.def {
				kept = append(kept, a)
			}
		}
		act = kept
		slices.SortFunc(act, func(x, y live) int { return x.off - y.off })
		off := 0
		for _, a := range act {
			if a.off-off >= b.size {
				break
			}
			off = max(off, a.off+a.size)
		}
		b.off = off
		act = append(act, live{off, b.size, b.last})
		top = max(top, off+b.size)
	}
	return top
}
