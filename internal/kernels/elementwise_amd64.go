//go:build !purego

package kernels

//go:noescape
func expAVX512(dst, src []float64)

//go:noescape
func sigmoidAVX512(dst, src []float64)

//go:noescape
func tanhAVX512(dst, src []float64)

// useAVX512Maps selects the vector maps; tests switch it off to compare.
var useAVX512Maps = hasAVX512

func expSlice(dst, src []float64) {
	if useAVX512Maps {
		expAVX512(dst, src[:len(dst)])
		return
	}
	expSliceGo(dst, src)
}

func sigmoidSlice(dst, src []float64) {
	if useAVX512Maps {
		sigmoidAVX512(dst, src[:len(dst)])
		return
	}
	sigmoidSliceGo(dst, src)
}

func tanhSlice(dst, src []float64) {
	if useAVX512Maps {
		tanhAVX512(dst, src[:len(dst)])
		return
	}
	tanhSliceGo(dst, src)
}

// sinAVX512 and cosAVX512 return how many elements they did: they stop at
// the first vector of 8 with an element that needs the math package
// (|x| >= 2^29, Inf, NaN).
//
//go:noescape
func sinAVX512(dst, src []float64) int

//go:noescape
func cosAVX512(dst, src []float64) int

func trigSlice(dst, src []float64, vec func(dst, src []float64) int, scalar func(float64) float64) {
	src = src[:len(dst)]
	for len(dst) > 0 {
		if useAVX512Maps {
			n := vec(dst, src)
			dst, src = dst[n:], src[n:]
		}
		m := min(8, len(dst))
		if !useAVX512Maps {
			m = len(dst)
		}
		for i := 0; i < m; i++ {
			dst[i] = scalar(src[i])
		}
		dst, src = dst[m:], src[m:]
	}
}

func sinSlice(dst, src []float64) { trigSlice(dst, src, sinAVX512, sin) }
func cosSlice(dst, src []float64) { trigSlice(dst, src, cosAVX512, cos) }

// logAVX512 returns how many elements it did: it stops at the first vector
// of 8 with an element <= 0, subnormal, Inf or NaN.
//
//go:noescape
func logAVX512(dst, src []float64) int

func logSlice(dst, src []float64) { trigSlice(dst, src, logAVX512, log) }
