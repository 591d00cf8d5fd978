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

// Streaming ops: func(n int, d, a, b, c *float64, alpha float64).

//go:noescape
func vecAddTo(n int, d, a, b, c *float64, alpha float64)

func addToSlice(d, a []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		vecAddTo(len(d), ptr(d), ptr(a), nil, nil, 0)
		return
	}
	addToGo(d, a)
}

//go:noescape
func vecMul(n int, d, a, b, c *float64, alpha float64)

func mulSlice(d, a, b []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		_ = b[len(d)-1]
		vecMul(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
		return
	}
	mulGo(d, a, b)
}

//go:noescape
func vecAdd(n int, d, a, b, c *float64, alpha float64)

func addSlice(d, a, b []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		_ = b[len(d)-1]
		vecAdd(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
		return
	}
	addGo(d, a, b)
}

//go:noescape
func vecMulAdd(n int, d, a, b, c *float64, alpha float64)

func mulAddSlice(d, a, b, c []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		_ = b[len(d)-1]
		_ = c[len(d)-1]
		vecMulAdd(len(d), ptr(d), ptr(a), ptr(b), ptr(c), 0)
		return
	}
	mulAddGo(d, a, b, c)
}

//go:noescape
func vecOneMinusSq(n int, d, a, b, c *float64, alpha float64)

func oneMinusSqSlice(d, a []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		vecOneMinusSq(len(d), ptr(d), ptr(a), nil, nil, 0)
		return
	}
	oneMinusSqGo(d, a)
}

//go:noescape
func vecTanhBackward(n int, d, a, b, c *float64, alpha float64)

func tanhBackwardSlice(d, a, b []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		_ = b[len(d)-1]
		vecTanhBackward(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
		return
	}
	tanhBackwardGo(d, a, b)
}

//go:noescape
func vecSigmoidDeriv(n int, d, a, b, c *float64, alpha float64)

func sigmoidDerivSlice(d, a []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		vecSigmoidDeriv(len(d), ptr(d), ptr(a), nil, nil, 0)
		return
	}
	sigmoidDerivGo(d, a)
}

//go:noescape
func vecSigmoidBackward(n int, d, a, b, c *float64, alpha float64)

func sigmoidBackwardSlice(d, a, b []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		_ = b[len(d)-1]
		vecSigmoidBackward(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
		return
	}
	sigmoidBackwardGo(d, a, b)
}

//go:noescape
func vecAxpy(n int, d, a, b, c *float64, alpha float64)

func axpySlice(d []float64, alpha float64, a []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		vecAxpy(len(d), ptr(d), ptr(a), nil, nil, alpha)
		return
	}
	axpyGo(d, alpha, a)
}

//go:noescape
func vecScale(n int, d, a, b, c *float64, alpha float64)

func scaleSlice(d []float64, alpha float64, a []float64) {
	if useAVX512Maps && len(d) > 0 {
		_ = a[len(d)-1]
		vecScale(len(d), ptr(d), ptr(a), nil, nil, alpha)
		return
	}
	scaleGo(d, alpha, a)
}

func ptr(s []float64) *float64 { return &s[0] }

//go:noescape
func vecSumRow(x []float64) float64

func sumRowSlice(x []float64) float64 {
	if useAVX512Maps {
		return vecSumRow(x)
	}
	return sumRow(x)
}
