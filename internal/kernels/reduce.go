package kernels

// SumAxis views src as (outer, axis, inner), row-major, and sets dst,
// viewed as (outer, inner), to the sum over the middle axis. The order of
// the additions depends only on the shape (never on the number of workers):
// for inner > 1, dst[o][i] = ((src[o][0][i] + src[o][1][i]) + ...) in
// increasing axis index; for inner == 1 (a contiguous row), eight
// interleaved partial sums are combined pairwise.
func SumAxis(dst, src []float64, outer, axis, inner int) {
	if outer < 0 || axis < 0 || inner < 0 {
		panic("kernels: SumAxis: negative dimension")
	}
	if len(src) != outer*axis*inner || len(dst) != outer*inner {
		panic("kernels: SumAxis: length mismatch")
	}
	if outer == 0 || inner == 0 {
		return
	}
	if axis == 0 {
		clear(dst)
		return
	}
	if inner == 1 {
		work := outer * axis
		f := func(lo, hi int) {
			for o := lo; o < hi; o++ {
				dst[o] = sumRowSlice(src[o*axis : (o+1)*axis])
			}
		}
		if work < 1<<15 || pool.size() == 1 {
			f(0, outer)
			return
		}
		tasks := min(outer, 4*pool.size())
		pool.parallelFor(tasks, func(t int) { f(t*outer/tasks, (t+1)*outer/tasks) })
		return
	}
	// Split over outer and over chunks of inner; each dst element is
	// summed by one task, in axis order.
	const chunk = 4096
	nchunks := ceilDiv(inner, chunk)
	f := func(t int) {
		o, c := t/nchunks, t%nchunks
		lo, hi := c*chunk, min(inner, (c+1)*chunk)
		d := dst[o*inner+lo : o*inner+hi]
		base := o * axis * inner
		copy(d, src[base+lo:base+hi])
		for a := 1; a < axis; a++ {
			addToSlice(d, src[base+a*inner+lo:base+a*inner+hi])
		}
	}
	if outer*axis*inner < 1<<15 || pool.size() == 1 {
		for t := 0; t < outer*nchunks; t++ {
			f(t)
		}
		return
	}
	pool.parallelFor(outer*nchunks, f)
}

// sumRow sums a contiguous row with eight interleaved accumulators.
func sumRow(x []float64) float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	n := len(x) &^ 7
	for i := 0; i < n; i += 8 {
		v := x[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	for _, v := range x[n:] {
		s += v
	}
	return s
}
