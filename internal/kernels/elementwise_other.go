//go:build purego || !(amd64 || arm64)

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

func addToSlice(d, a []float64)                          { addToGo(d, a) }
func mulSlice(d, a, b []float64)                         { mulGo(d, a, b) }
func addSlice(d, a, b []float64)                         { addGo(d, a, b) }
func mulAddSlice(d, a, b, c []float64)                   { mulAddGo(d, a, b, c) }
func oneMinusSqSlice(d, a []float64)                     { oneMinusSqGo(d, a) }
func tanhBackwardSlice(d, a, b []float64)                { tanhBackwardGo(d, a, b) }
func sigmoidDerivSlice(d, a []float64)                   { sigmoidDerivGo(d, a) }
func sigmoidBackwardSlice(d, a, b []float64)             { sigmoidBackwardGo(d, a, b) }
func axpySlice(d []float64, alpha float64, a []float64)  { axpyGo(d, alpha, a) }
func scaleSlice(d []float64, alpha float64, a []float64) { scaleGo(d, alpha, a) }
func sumRowSlice(x []float64) float64                    { return sumRow(x) }

func erfSlice(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = erf(x)
	}
}

func dotSlice(a, b []float64) float64 { return dotGo(a, b) }

func dotRows(dst, a []float64, lda int, x []float64, k int) {
	for i := range dst {
		dst[i] = dotGo(a[i*lda:i*lda+k], x)
	}
}
