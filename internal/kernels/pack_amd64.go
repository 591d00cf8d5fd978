//go:build !purego

package kernels

import "unsafe"

//go:noescape
func interleaveD4(dst, src unsafe.Pointer, ld, w, kb int)

//go:noescape
func interleaveD6(dst, src unsafe.Pointer, ld, w, kb int)

//go:noescape
func interleaveD8(dst, src unsafe.Pointer, ld, w, kb int)

//go:noescape
func interleaveS6(dst, src unsafe.Pointer, ld, w, kb int)

//go:noescape
func copyRows24(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func copyRows32(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func copyRows48(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func copyRows64(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func copyRows128(dst, src unsafe.Pointer, ld, kb int)

// interleaveVec is interleave of full panels (h == w, kb > 0, bounds
// checked by the caller) in AVX2 code, for the widths it has; it reports
// whether it did the work.
func interleaveVec[T float](dst, src []T, ld, w, kb int) bool {
	if !hasAVX2 {
		return false
	}
	d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	if is32[T]() {
		if w != 6 || kb < 8 {
			return false
		}
		// Eight k steps at a time in assembly, the rest here.
		k8 := kb &^ 7
		interleaveS6(d, s, ld, 6, k8)
		for p := k8; p < kb; p++ {
			dp := dst[p*6 : p*6+6 : p*6+6]
			dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = src[p], src[ld+p], src[2*ld+p], src[3*ld+p], src[4*ld+p], src[5*ld+p]
		}
		return true
	}
	switch w {
	case 4:
		interleaveD4(d, s, ld, 4, kb)
	case 6:
		interleaveD6(d, s, ld, 6, kb)
	case 8:
		interleaveD8(d, s, ld, 8, kb)
	case 16:
		interleaveD8(d, s, ld, 16, kb)
		interleaveD8(unsafe.Add(d, 64), unsafe.Add(s, 8*8*ld), ld, 16, kb)
	default:
		return false
	}
	return true
}

// copyPanelVec is copyPanel of full panels in AVX2 code, for the row sizes
// it has; it reports whether it did the work.
func copyPanelVec[T float](dst, src []T, ld, w, kb int) bool {
	if !hasAVX2 {
		return false
	}
	es := int(unsafe.Sizeof(dst[0]))
	d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	switch w * es {
	case 24:
		copyRows24(d, s, ld*es, kb)
	case 32:
		copyRows32(d, s, ld*es, kb)
	case 48:
		copyRows48(d, s, ld*es, kb)
	case 64:
		copyRows64(d, s, ld*es, kb)
	case 128:
		copyRows128(d, s, ld*es, kb)
	default:
		return false
	}
	return true
}
