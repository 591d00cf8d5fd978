//go:build !purego

package kernels

// Vector code for the elementwise maps: AVX-512 (all maps) or AVX2 (the
// exp family and the streaming ops); the rest falls back to the Go loops.
// Every vector routine does the Go code's operations lane by lane, so the
// result does not depend on the path (tests check this bit for bit).

// Map levels above mapsGo (path.go): the vector code to use.
const (
	mapsAVX2 = mapsGo + 1 + iota
	mapsAVX512
)

// mapLevel selects the vector code (set by the kernel path; tests lower it
// to compare paths).
var mapLevel = mapsGo

func setMapLevel(l int) { mapLevel = l }

//go:noescape
func expAVX512(dst, src []float64)

//go:noescape
func sigmoidAVX512(dst, src []float64)

//go:noescape
func tanhAVX512(dst, src []float64)

//go:noescape
func expAVX2(dst, src []float64)

//go:noescape
func sigmoidAVX2(dst, src []float64)

//go:noescape
func tanhAVX2(dst, src []float64)

func expSlice(dst, src []float64) {
	switch mapLevel {
	case mapsAVX512:
		expAVX512(dst, src[:len(dst)])
	case mapsAVX2:
		expAVX2(dst, src[:len(dst)])
	default:
		expSliceGo(dst, src)
	}
}

func sigmoidSlice(dst, src []float64) {
	switch mapLevel {
	case mapsAVX512:
		sigmoidAVX512(dst, src[:len(dst)])
	case mapsAVX2:
		sigmoidAVX2(dst, src[:len(dst)])
	default:
		sigmoidSliceGo(dst, src)
	}
}

func tanhSlice(dst, src []float64) {
	switch mapLevel {
	case mapsAVX512:
		tanhAVX512(dst, src[:len(dst)])
	case mapsAVX2:
		tanhAVX2(dst, src[:len(dst)])
	default:
		tanhSliceGo(dst, src)
	}
}

// sinAVX512, cosAVX512 and logAVX512 (and their AVX2 versions) return how many elements they did:
// they stop at the first vector (of 8, or 4) with an element that needs the math
// package (sin, cos: |x| >= 2^29, Inf, NaN; log: x <= 0, subnormal, Inf,
// NaN).
//
//go:noescape
func sinAVX512(dst, src []float64) int

//go:noescape
func cosAVX512(dst, src []float64) int

//go:noescape
func logAVX512(dst, src []float64) int

//go:noescape
func sinAVX2(dst, src []float64) int

//go:noescape
func cosAVX2(dst, src []float64) int

//go:noescape
func logAVX2(dst, src []float64) int

// bailSlice runs vec over dst/src, doing the vectors it stops at with the
// scalar function, which computes the same values (or the math package's
// for the special arguments).
func bailSlice(dst, src []float64, vec512, vec2 func(dst, src []float64) int, scalar func(float64) float64) {
	src = src[:len(dst)]
	vec := vec512
	if mapLevel == mapsAVX2 {
		vec = vec2
	}
	if mapLevel == mapsGo {
		for i, x := range src {
			dst[i] = scalar(x)
		}
		return
	}
	for len(dst) > 0 {
		n := vec(dst, src)
		dst, src = dst[n:], src[n:]
		m := min(8, len(dst))
		for i := 0; i < m; i++ {
			dst[i] = scalar(src[i])
		}
		dst, src = dst[m:], src[m:]
	}
}

func sinSlice(dst, src []float64) { bailSlice(dst, src, sinAVX512, sinAVX2, sin) }
func cosSlice(dst, src []float64) { bailSlice(dst, src, cosAVX512, cosAVX2, cos) }
func logSlice(dst, src []float64) { bailSlice(dst, src, logAVX512, logAVX2, log) }

// Streaming ops: func(n int, d, a, b, c *float64, alpha float64).

func ptr(s []float64) *float64 { return &s[0] }

//go:noescape
func vecAddTo(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecAddToAVX2(n int, d, a, b, c *float64, alpha float64)

func addToSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		addToGo(d, a)
		return
	}
	_ = a[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecAddTo(len(d), ptr(d), ptr(a), nil, nil, 0)
	} else {
		vecAddToAVX2(len(d), ptr(d), ptr(a), nil, nil, 0)
	}
}

//go:noescape
func vecMul(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecMulAVX2(n int, d, a, b, c *float64, alpha float64)

func mulSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		mulGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecMul(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	} else {
		vecMulAVX2(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	}
}

//go:noescape
func vecAdd(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecAddAVX2(n int, d, a, b, c *float64, alpha float64)

func addSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		addGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecAdd(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	} else {
		vecAddAVX2(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	}
}

//go:noescape
func vecMulAdd(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecMulAddAVX2(n int, d, a, b, c *float64, alpha float64)

func mulAddSlice(d, a, b, c []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		mulAddGo(d, a, b, c)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	_ = c[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecMulAdd(len(d), ptr(d), ptr(a), ptr(b), ptr(c), 0)
	} else {
		vecMulAddAVX2(len(d), ptr(d), ptr(a), ptr(b), ptr(c), 0)
	}
}

//go:noescape
func vecOneMinusSq(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecOneMinusSqAVX2(n int, d, a, b, c *float64, alpha float64)

func oneMinusSqSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		oneMinusSqGo(d, a)
		return
	}
	_ = a[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecOneMinusSq(len(d), ptr(d), ptr(a), nil, nil, 0)
	} else {
		vecOneMinusSqAVX2(len(d), ptr(d), ptr(a), nil, nil, 0)
	}
}

//go:noescape
func vecTanhBackward(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecTanhBackwardAVX2(n int, d, a, b, c *float64, alpha float64)

func tanhBackwardSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		tanhBackwardGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecTanhBackward(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	} else {
		vecTanhBackwardAVX2(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	}
}

//go:noescape
func vecSigmoidDeriv(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecSigmoidDerivAVX2(n int, d, a, b, c *float64, alpha float64)

func sigmoidDerivSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		sigmoidDerivGo(d, a)
		return
	}
	_ = a[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecSigmoidDeriv(len(d), ptr(d), ptr(a), nil, nil, 0)
	} else {
		vecSigmoidDerivAVX2(len(d), ptr(d), ptr(a), nil, nil, 0)
	}
}

//go:noescape
func vecSigmoidBackward(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecSigmoidBackwardAVX2(n int, d, a, b, c *float64, alpha float64)

func sigmoidBackwardSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		sigmoidBackwardGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecSigmoidBackward(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	} else {
		vecSigmoidBackwardAVX2(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
	}
}

//go:noescape
func vecAxpy(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecAxpyAVX2(n int, d, a, b, c *float64, alpha float64)

func axpySlice(d []float64, alpha float64, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		axpyGo(d, alpha, a)
		return
	}
	_ = a[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecAxpy(len(d), ptr(d), ptr(a), nil, nil, alpha)
	} else {
		vecAxpyAVX2(len(d), ptr(d), ptr(a), nil, nil, alpha)
	}
}

//go:noescape
func vecScale(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecScaleAVX2(n int, d, a, b, c *float64, alpha float64)

func scaleSlice(d []float64, alpha float64, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		scaleGo(d, alpha, a)
		return
	}
	_ = a[len(d)-1]
	if mapLevel == mapsAVX512 {
		vecScale(len(d), ptr(d), ptr(a), nil, nil, alpha)
	} else {
		vecScaleAVX2(len(d), ptr(d), ptr(a), nil, nil, alpha)
	}
}

//go:noescape
func vecSumRow(x []float64) float64

//go:noescape
func vecSumRowAVX2(x []float64) float64

func sumRowSlice(x []float64) float64 {
	switch mapLevel {
	case mapsAVX512:
		return vecSumRow(x)
	case mapsAVX2:
		return vecSumRowAVX2(x)
	}
	return sumRow(x)
}

//go:noescape
func erfAVX512(dst, src []float64)

//go:noescape
func erfAVX2(dst, src []float64)

func erfSlice(dst, src []float64) {
	switch mapLevel {
	case mapsAVX512:
		erfAVX512(dst, src[:len(dst)])
		return
	case mapsAVX2:
		erfAVX2(dst, src[:len(dst)])
		return
	}
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = erf(x)
	}
}

//go:noescape
func vecDot(a, b []float64) float64

//go:noescape
func vecDotAVX2(a, b []float64) float64

func dotSlice(a, b []float64) float64 {
	switch mapLevel {
	case mapsAVX512:
		return vecDot(a, b[:len(a)])
	case mapsAVX2:
		return vecDotAVX2(a, b[:len(a)])
	}
	return dotGo(a, b)
}

//go:noescape
func vecDotRows(dst, a *float64, lda int, x *float64, k, rows int)

// dotRows sets dst[i] = dot(a[i*lda:i*lda+k], x) for i < len(dst).
func dotRows(dst, a []float64, lda int, x []float64, k int) {
	if len(dst) == 0 || k == 0 {
		clear(dst)
		return
	}
	if mapLevel == mapsAVX512 {
		_ = a[(len(dst)-1)*lda+k-1]
		_ = x[k-1]
		vecDotRows(&dst[0], &a[0], lda, &x[0], k, len(dst))
		return
	}
	for i := range dst {
		dst[i] = dotSlice(a[i*lda:i*lda+k], x)
	}
}
