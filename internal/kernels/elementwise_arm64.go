//go:build !purego

package kernels

// NEON code for the elementwise maps, streaming ops and reductions (all of
// them: every arm64 CPU has ASIMD). Every vector routine does the Go
// code's operations lane by lane, so the result does not depend on the
// path (tests check this bit for bit).

// mapsNEON: the maps' level of the NEON code (above mapsGo, path.go).
const mapsNEON = mapsGo + 1

// mapLevel selects the vector code (set by the kernel path; tests lower it
// to compare paths).
var mapLevel = mapsGo

func setMapLevel(l int) { mapLevel = l }

//go:noescape
func expNEON(dst, src []float64)

//go:noescape
func sigmoidNEON(dst, src []float64)

//go:noescape
func tanhNEON(dst, src []float64)

//go:noescape
func erfNEON(dst, src []float64)

func expSlice(dst, src []float64) {
	if mapLevel == mapsNEON {
		expNEON(dst, src[:len(dst)])
		return
	}
	expSliceGo(dst, src)
}

func sigmoidSlice(dst, src []float64) {
	if mapLevel == mapsNEON {
		sigmoidNEON(dst, src[:len(dst)])
		return
	}
	sigmoidSliceGo(dst, src)
}

func tanhSlice(dst, src []float64) {
	if mapLevel == mapsNEON {
		tanhNEON(dst, src[:len(dst)])
		return
	}
	tanhSliceGo(dst, src)
}

func erfSlice(dst, src []float64) {
	if mapLevel == mapsNEON {
		erfNEON(dst, src[:len(dst)])
		return
	}
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = erf(x)
	}
}

// sinNEON, cosNEON and logNEON return how many elements they did: they
// stop at the first pair with an element that needs the math package
// (sin, cos: |x| >= 2^29, Inf, NaN; log: x <= 0, subnormal, Inf, NaN).
//
//go:noescape
func sinNEON(dst, src []float64) int

//go:noescape
func cosNEON(dst, src []float64) int

//go:noescape
func logNEON(dst, src []float64) int

// bailSlice runs vec over dst/src, doing the pairs it stops at with the
// scalar function, which computes the same values (or the math package's
// for the special arguments).
func bailSlice(dst, src []float64, vec func(dst, src []float64) int, scalar func(float64) float64) {
	src = src[:len(dst)]
	if mapLevel == mapsGo {
		for i, x := range src {
			dst[i] = scalar(x)
		}
		return
	}
	for len(dst) > 0 {
		n := vec(dst, src)
		dst, src = dst[n:], src[n:]
		m := min(2, len(dst))
		for i := 0; i < m; i++ {
			dst[i] = scalar(src[i])
		}
		dst, src = dst[m:], src[m:]
	}
}

func sinSlice(dst, src []float64) { bailSlice(dst, src, sinNEON, sin) }
func cosSlice(dst, src []float64) { bailSlice(dst, src, cosNEON, cos) }
func logSlice(dst, src []float64) { bailSlice(dst, src, logNEON, log) }

// Streaming ops: func(n int, d, a, b, c *float64, alpha float64).

func ptr(s []float64) *float64 { return &s[0] }

//go:noescape
func vecAddToNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecMulNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecAddNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecMulAddNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecOneMinusSqNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecTanhBackwardNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecSigmoidDerivNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecSigmoidBackwardNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecAxpyNEON(n int, d, a, b, c *float64, alpha float64)

//go:noescape
func vecScaleNEON(n int, d, a, b, c *float64, alpha float64)

func addToSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		addToGo(d, a)
		return
	}
	_ = a[len(d)-1]
	vecAddToNEON(len(d), ptr(d), ptr(a), nil, nil, 0)
}

func mulSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		mulGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	vecMulNEON(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
}

func addSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		addGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	vecAddNEON(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
}

func mulAddSlice(d, a, b, c []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		mulAddGo(d, a, b, c)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	_ = c[len(d)-1]
	vecMulAddNEON(len(d), ptr(d), ptr(a), ptr(b), ptr(c), 0)
}

func oneMinusSqSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		oneMinusSqGo(d, a)
		return
	}
	_ = a[len(d)-1]
	vecOneMinusSqNEON(len(d), ptr(d), ptr(a), nil, nil, 0)
}

func tanhBackwardSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		tanhBackwardGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	vecTanhBackwardNEON(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
}

func sigmoidDerivSlice(d, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		sigmoidDerivGo(d, a)
		return
	}
	_ = a[len(d)-1]
	vecSigmoidDerivNEON(len(d), ptr(d), ptr(a), nil, nil, 0)
}

func sigmoidBackwardSlice(d, a, b []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		sigmoidBackwardGo(d, a, b)
		return
	}
	_ = a[len(d)-1]
	_ = b[len(d)-1]
	vecSigmoidBackwardNEON(len(d), ptr(d), ptr(a), ptr(b), nil, 0)
}

func axpySlice(d []float64, alpha float64, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		axpyGo(d, alpha, a)
		return
	}
	_ = a[len(d)-1]
	vecAxpyNEON(len(d), ptr(d), ptr(a), nil, nil, alpha)
}

func scaleSlice(d []float64, alpha float64, a []float64) {
	if mapLevel == mapsGo || len(d) == 0 {
		scaleGo(d, alpha, a)
		return
	}
	_ = a[len(d)-1]
	vecScaleNEON(len(d), ptr(d), ptr(a), nil, nil, alpha)
}

//go:noescape
func vecSumRowNEON(x []float64) float64

func sumRowSlice(x []float64) float64 {
	if mapLevel == mapsNEON {
		return vecSumRowNEON(x)
	}
	return sumRow(x)
}

//go:noescape
func vecDotNEON(a, b []float64) float64

func dotSlice(a, b []float64) float64 {
	if mapLevel == mapsNEON {
		return vecDotNEON(a, b[:len(a)])
	}
	return dotGo(a, b)
}

// dotRows sets dst[i] = dot(a[i*lda:i*lda+k], x) for i < len(dst).
func dotRows(dst, a []float64, lda int, x []float64, k int) {
	for i := range dst {
		dst[i] = dotSlice(a[i*lda:i*lda+k], x)
	}
}
