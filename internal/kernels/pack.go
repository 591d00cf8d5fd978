package kernels

// Packing: op(A) into panels of MR rows (element (i, p) at p*MR+i) and
// op(B) into panels of NR columns (element (p, j) at p*NR+j), zero-padded
// to full panels. Whether a panel comes from rows or columns of the stored
// matrix, it is either an interleave (each of the panel's w lines is a
// stored row: dst[p*w+i] = src[i*ld+p]) or a copy (each k step is a stored
// row: dst[p*w+i] = src[p*ld+i]); both have unrolled versions for the
// micro-kernels' widths.

// packA packs op(A)[ic:ic+mb, pc:pc+kb] into panels of mr rows; vec
// allows vector code.
func packA[T float](g *gemmArgs[T], ap []T, ic, mb, pc, kb, mr int, vec bool) {
	for i0 := 0; i0 < mb; i0 += mr {
		dst := ap[i0*kb : i0*kb+mr*kb]
		h := min(mr, mb-i0)
		if g.transA {
			copyPanel(dst, g.a[pc*g.lda+ic+i0:], g.lda, h, mr, kb, vec)
		} else {
			interleave(dst, g.a[(ic+i0)*g.lda+pc:], g.lda, h, mr, kb, vec)
		}
	}
}

// packB packs panels lo..hi-1 of op(B)[pc:pc+kb, jc:jc+nb], nr columns
// each; vec allows vector code.
func packB[T float](g *gemmArgs[T], bp []T, pc, kb, jc, nb, nr, lo, hi int, vec bool) {
	for pan := lo; pan < hi; pan++ {
		j0 := pan * nr
		dst := bp[pan*nr*kb : (pan+1)*nr*kb]
		h := min(nr, nb-j0)
		if g.transB {
			interleave(dst, g.b[(jc+j0)*g.ldb+pc:], g.ldb, h, nr, kb, vec)
		} else {
			copyPanel(dst, g.b[pc*g.ldb+jc+j0:], g.ldb, h, nr, kb, vec)
		}
	}
}

// interleave sets dst[p*w+i] = src[i*ld+p] for i < h, p < kb, and zero for
// h <= i < w; vec allows vector code.
func interleave[T float](dst, src []T, ld, h, w, kb int, vec bool) {
	dst = dst[:w*kb]
	if h == w && kb > 0 {
		_ = src[(h-1)*ld+kb-1]
		if vec && interleaveVec(dst, src, ld, w, kb) {
			return
		}
		switch w {
		case 4:
			interleave4(dst, src, ld, kb)
			return
		case 6:
			interleave6(dst, src, ld, kb)
			return
		case 8:
			interleave8(dst, src, ld, kb)
			return
		case 16:
			interleave16(dst, src, ld, 16, kb)
			return
		case 32:
			interleave16(dst, src, ld, 32, kb)
			interleave16(dst[16:], src[16*ld:], ld, 32, kb)
			return
		}
	}
	for i := 0; i < h; i++ {
		row := src[i*ld : i*ld+kb]
		for p, v := range row {
			dst[p*w+i] = v
		}
	}
	if h < w {
		for p := 0; p < kb; p++ {
			clear(dst[p*w+h : p*w+w])
		}
	}
}

func interleave4[T float](dst, src []T, ld, kb int) {
	r0 := src[:kb]
	r1 := src[ld : ld+kb][:len(r0)]
	r2 := src[2*ld : 2*ld+kb][:len(r0)]
	r3 := src[3*ld : 3*ld+kb][:len(r0)]
	for p := range r0 {
		d := dst[p*4 : p*4+4 : p*4+4]
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
	}
}

func interleave6[T float](dst, src []T, ld, kb int) {
	r0 := src[:kb]
	r1 := src[ld : ld+kb][:len(r0)]
	r2 := src[2*ld : 2*ld+kb][:len(r0)]
	r3 := src[3*ld : 3*ld+kb][:len(r0)]
	r4 := src[4*ld : 4*ld+kb][:len(r0)]
	r5 := src[5*ld : 5*ld+kb][:len(r0)]
	for p := range r0 {
		d := dst[p*6 : p*6+6 : p*6+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

func interleave8[T float](dst, src []T, ld, kb int) {
	r0 := src[:kb]
	r1 := src[ld : ld+kb][:len(r0)]
	r2 := src[2*ld : 2*ld+kb][:len(r0)]
	r3 := src[3*ld : 3*ld+kb][:len(r0)]
	r4 := src[4*ld : 4*ld+kb][:len(r0)]
	r5 := src[5*ld : 5*ld+kb][:len(r0)]
	r6 := src[6*ld : 6*ld+kb][:len(r0)]
	r7 := src[7*ld : 7*ld+kb][:len(r0)]
	for p := range r0 {
		d := dst[p*8 : p*8+8 : p*8+8]
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
	}
}

// interleave16 interleaves 16 lines into the first 16 of every w elements
// of dst (w = 16, or 32 in two calls).
func interleave16[T float](dst, src []T, ld, w, kb int) {
	var rows [16][]T
	for j := range rows {
		rows[j] = src[j*ld : j*ld+kb]
	}
	for p := 0; p < kb; p++ {
		d := dst[p*w : p*w+16 : p*w+16]
		d[0], d[1], d[2], d[3] = rows[0][p], rows[1][p], rows[2][p], rows[3][p]
		d[4], d[5], d[6], d[7] = rows[4][p], rows[5][p], rows[6][p], rows[7][p]
		d[8], d[9], d[10], d[11] = rows[8][p], rows[9][p], rows[10][p], rows[11][p]
		d[12], d[13], d[14], d[15] = rows[12][p], rows[13][p], rows[14][p], rows[15][p]
	}
}

// copyPanel sets dst[p*w+i] = src[p*ld+i] for i < h, p < kb, and zero for
// h <= i < w; vec allows vector code.
func copyPanel[T float](dst, src []T, ld, h, w, kb int, vec bool) {
	dst = dst[:w*kb]
	if h == w && kb > 0 {
		_ = src[(kb-1)*ld+w-1]
		if vec && copyPanelVec(dst, src, ld, w, kb) {
			return
		}
		switch w {
		case 4:
			for p := 0; p < kb; p++ {
				*(*[4]T)(dst[p*4:]) = *(*[4]T)(src[p*ld:])
			}
			return
		case 6:
			for p := 0; p < kb; p++ {
				*(*[6]T)(dst[p*6:]) = *(*[6]T)(src[p*ld:])
			}
			return
		case 8:
			for p := 0; p < kb; p++ {
				*(*[8]T)(dst[p*8:]) = *(*[8]T)(src[p*ld:])
			}
			return
		case 16:
			for p := 0; p < kb; p++ {
				*(*[16]T)(dst[p*16:]) = *(*[16]T)(src[p*ld:])
			}
			return
		case 32:
			for p := 0; p < kb; p++ {
				*(*[32]T)(dst[p*32:]) = *(*[32]T)(src[p*ld:])
			}
			return
		}
	}
	for p := 0; p < kb; p++ {
		copy(dst[p*w:p*w+h], src[p*ld:p*ld+h])
		clear(dst[p*w+h : p*w+w])
	}
}
