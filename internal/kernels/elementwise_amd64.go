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
