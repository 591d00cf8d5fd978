package kernels

// SumAxis32 views src as (outer, axis, inner), row-major, and sets dst,
// viewed as (outer, inner), to the sum over the middle axis. The sums are
// accumulated in float64 and rounded to float32 once (a float32 sum of
// many terms would lose digits with the axis length), in an order that
// depends only on the shape: for inner > 1, in increasing axis index; for
// inner == 1 (a contiguous row), sixteen interleaved partial sums combined
// pairwise.
func SumAxis32(dst, src []float32, outer, axis, inner int) {
	if outer < 0 || axis < 0 || inner < 0 {
		panic("kernels: SumAxis32: negative dimension")
	}
	if len(src) != outer*axis*inner || len(dst) != outer*inner {
		panic("kernels: SumAxis32: length mismatch")
	}
	if outer == 0 || inner == 0 {
		return
	}
	if axis == 0 {
		clear(dst)
		return
	}
	if inner == 1 {
		if outer*axis < 1<<16 || pool.size() == 1 {
			sumRows32(dst, src, axis, 0, outer)
			return
		}
		tasks := min(outer, 4*pool.size())
		pool.parallelFor(tasks, func(t int) { sumRows32(dst, src, axis, t*outer/tasks, (t+1)*outer/tasks) })
		return
	}
	// Split over outer and over chunks of inner; each dst element is
	// summed by one task, in axis order, in a float64 buffer.
	nchunks := ceilDiv(inner, sumChunk32)
	if outer*axis*inner < 1<<16 || pool.size() == 1 {
		for t := 0; t < outer*nchunks; t++ {
			sumCols32(dst, src, axis, inner, t)
		}
		return
	}
	pool.parallelFor(outer*nchunks, func(t int) { sumCols32(dst, src, axis, inner, t) })
}

// sumRows32 sums rows lo..hi-1 of src (rows of axis elements) into dst.
func sumRows32(dst, src []float32, axis, lo, hi int) {
	for o := lo; o < hi; o++ {
		dst[o] = sumRow32Slice(src[o*axis : (o+1)*axis])
	}
}

const sumChunk32 = 1024

// sumCols32 does task t of a column sum: outer index t/nchunks, columns
// of chunk t%nchunks.
func sumCols32(dst, src []float32, axis, inner, t int) {
	nchunks := ceilDiv(inner, sumChunk32)
	o, c := t/nchunks, t%nchunks
	lo, hi := c*sumChunk32, min(inner, (c+1)*sumChunk32)
	var buf [sumChunk32]float64
	acc := buf[:hi-lo]
	base := o * axis * inner
	widen32Slice(acc, src[base+lo:base+hi])
	for a := 1; a < axis; a++ {
		addWiden32Slice(acc, src[base+a*inner+lo:base+a*inner+hi])
	}
	narrow32Slice(dst[o*inner+lo:o*inner+hi], acc)
}
