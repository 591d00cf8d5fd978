package op

// ---- strided copies ----

// gather fills out (row-major over shape) with src[off + Σ idx[d]*st[d]].
func gather(out, src []float64, shape, st []int, off int) {
	if len(out) == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		out[0] = src[off]
		return
	}
	n, s := shape[r-1], st[r-1]
	idx := make([]int, r-1)
	base := off
	for o := 0; o < len(out); o += n {
		row := out[o : o+n]
		if s == 1 {
			copy(row, src[base:base+n])
		} else {
			for i := range row {
				row[i] = src[base+i*s]
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < shape[d] {
				break
			}
			base -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}

// scatterAdd adds src (row-major over shape) into dst[Σ idx[d]*st[d]], in
// source order, so sums are deterministic.
func scatterAdd(dst, src []float64, shape, st []int) {
	if len(src) == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		dst[0] += src[0]
		return
	}
	n, s := shape[r-1], st[r-1]
	idx := make([]int, r-1)
	base := 0
	for o := 0; o < len(src); o += n {
		row := src[o : o+n]
		if s == 0 {
			acc := dst[base]
			for _, v := range row {
				acc += v
			}
			dst[base] = acc
		} else {
			for i, v := range row {
				dst[base+i*s] += v
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < shape[d] {
				break
			}
			base -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}
