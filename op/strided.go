package op

import "github.com/jacobi-ad/jacobi/tensor"

// ---- strided copies ----

// gatherOf returns src's values at off + Σ idx[d]*st[d] for the indices of
// shape, in src's dtype.
func gatherOf(src *tensor.Tensor, shape, st []int, off int) *tensor.Tensor {
	out := tensor.ZerosOf(src.DType(), shape...)
	if src.DType() == tensor.Float32 {
		gather(out.Data32(), src.Data32(), shape, st, off)
	} else {
		gather(out.Data(), src.Data(), shape, st, off)
	}
	return out
}

// scatterAddOf returns a tensor of the given shape in src's dtype, zero
// but where src's values (row-major over src's shape) are added at
// off + Σ idx[d]*st[d].
func scatterAddOf(src *tensor.Tensor, shape []int, st []int, off int) *tensor.Tensor {
	out := tensor.ZerosOf(src.DType(), shape...)
	if src.DType() == tensor.Float32 {
		scatterAdd(out.Data32()[off:], src.Data32(), src.Shape(), st)
	} else {
		scatterAdd(out.Data()[off:], src.Data(), src.Shape(), st)
	}
	return out
}

// gather fills out (row-major over shape) with src[off + Σ idx[d]*st[d]].
func gather[T tensor.Float](out, src []T, shape, st []int, off int) {
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
func scatterAdd[T tensor.Float](dst, src []T, shape, st []int) {
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
