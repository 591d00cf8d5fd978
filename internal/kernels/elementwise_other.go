//go:build purego || !amd64

package kernels

func expSlice(dst, src []float64)     { expSliceGo(dst, src) }
func sigmoidSlice(dst, src []float64) { sigmoidSliceGo(dst, src) }
func tanhSlice(dst, src []float64)    { tanhSliceGo(dst, src) }

func sinSlice(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sin(x)
	}
}

func cosSlice(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = cos(x)
	}
}

func logSlice(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = log(x)
	}
}
