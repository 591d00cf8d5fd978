//go:build !purego

package kernels

import "unsafe"

//go:noescape
func interleaveNEON_D6(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func interleaveNEON_D8(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func interleaveNEON_S8(dst, src unsafe.Pointer, ld, kb int)

//go:noescape
func interleaveNEON_S12(dst, src unsafe.Pointer, ld, kb int)

// interleaveVec is interleave of full panels (h == w, kb > 0, bounds
// checked by the caller) in NEON code, for the NEON kernels' panel widths
// (A: 6 float64, 12 float32; Bᵀ: 8); it reports whether it did the work.
func interleaveVec[T float](dst, src []T, ld, w, kb int) bool {
	if !hasNEON {
		return false
	}
	d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	switch {
	case !is32[T]() && w == 6:
		interleaveNEON_D6(d, s, ld, kb)
	case !is32[T]() && w == 8:
		interleaveNEON_D8(d, s, ld, kb)
	case is32[T]() && w == 8:
		interleaveNEON_S8(d, s, ld, kb)
	case is32[T]() && w == 12:
		interleaveNEON_S12(d, s, ld, kb)
	default:
		return false
	}
	return true
}

// copyPanelVec: the Go copies (memmove of each row) are as good here.
func copyPanelVec[T float](dst, src []T, ld, w, kb int) bool { return false }
