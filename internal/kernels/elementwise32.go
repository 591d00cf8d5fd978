package kernels

// float32 elementwise maps: the float64 maps' contract (dst and the
// sources have the same length, and may alias; long slices are split over
// the worker pool; a length mismatch panics) with float32 algorithms
// (mathfn32.go) on 16 lanes (AVX-512), 8 (AVX2) or in Go loops on every
// architecture, all giving the same bits.

// Exp32 sets dst[i] = exp(src[i]).
//
// Accuracy of the float32 maps, over all 2^32 float32 arguments (the
// tests sweep every 1021st bit pattern and the edges on each run; every
// argument with JACOBI_EXHAUSTIVE=1). "ulp" is the distance in float32
// steps from the math package's float64 result rounded to float32;
// "exact" is the error against the float64 result itself, in float32 ulps
// at that value:
//
//	         ulp   exact
//	Exp32     1    0.98
//	Sigmoid32 2    2.4
//	Tanh32    1    1.33
//	Log32     1    0.84
//	Log1p32   1    0.87
//	Sin32     1    1.26   (|x| < 2^14; beyond, and ±Inf and NaN, float64 math.Sin)
//	Cos32     1    1.26   (likewise)
//	Erf32     1    1.01
//	Sqrt32    0    0.5    (correctly rounded)
//
// Special values are the math package's: Exp32(+Inf) = +Inf and 0 for
// arguments below -103.97; Log32(0) = -Inf, Log32(x < 0) = NaN; Log1p32(-1)
// = -Inf; Sigmoid32, Tanh32 and Erf32 reach their limits ±1 exactly where
// the rounded float64 values do (Erf32 from 1.001 times that point, below
// it within an ulp); odd functions keep the sign of zero; NaN stays NaN.
func Exp32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, exp32Slice)
}

// Sigmoid32 sets dst[i] = 1/(1+exp(-src[i])).
func Sigmoid32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, sigmoid32Slice)
}

// Tanh32 sets dst[i] = tanh(src[i]).
func Tanh32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, tanh32Slice)
}

// Log32 sets dst[i] = log(src[i]).
func Log32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, log32Slice)
}

// Log1p32 sets dst[i] = log(1 + src[i]), accurate for small src[i].
func Log1p32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, log1p32Slice)
}

// Sin32 sets dst[i] = sin(src[i]).
func Sin32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, sin32Slice)
}

// Cos32 sets dst[i] = cos(src[i]).
func Cos32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, cos32Slice)
}

// Erf32 sets dst[i] = erf(src[i]).
func Erf32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, erf32Slice)
}

// Sqrt32 sets dst[i] = sqrt(src[i]), correctly rounded (NaN for
// negative arguments, -0 for -0).
func Sqrt32(dst, src []float32) {
	checkLen(dst, src)
	map1(dst, src, sqrt32Slice)
}

// Derivative expressions and fused chains, as the float64 ones: products
// rounded before sums (never fused).

// TanhDeriv32 sets dst[i] = 1 - y[i]², the derivative of tanh given y = tanh(x).
func TanhDeriv32(dst, y []float32) {
	checkLen(dst, y)
	map1(dst, y, oneMinusSq32Slice)
}

// TanhBackward32 sets dst[i] = g[i] * (1 - y[i]²): the cotangent through tanh.
func TanhBackward32(dst, g, y []float32) {
	checkLen(dst, g, y)
	map2(dst, g, y, tanhBackward32Slice)
}

// TanhWithDeriv32 sets y[i] = tanh(x[i]) and dy[i] = 1 - y[i]² in one pass
// (chunk by chunk, while the chunk is in cache).
func TanhWithDeriv32(y, dy, x []float32) {
	checkLen(y, dy, x)
	if serialMap(len(y)) {
		tanhWithDeriv32(y, dy, x)
		return
	}
	parallelMap(len(y), func(lo, hi int) { tanhWithDeriv32(y[lo:hi], dy[lo:hi], x[lo:hi]) })
}

func tanhWithDeriv32(y, dy, x []float32) {
	for l := 0; l < len(y); l += 1024 {
		h := min(len(y), l+1024)
		tanh32Slice(y[l:h], x[l:h])
		oneMinusSq32Slice(dy[l:h], y[l:h])
	}
}

// SigmoidDeriv32 sets dst[i] = s[i] * (1 - s[i]), the derivative of the
// sigmoid given s = sigmoid(x).
func SigmoidDeriv32(dst, s []float32) {
	checkLen(dst, s)
	map1(dst, s, sigmoidDeriv32Slice)
}

// SigmoidBackward32 sets dst[i] = g[i] * (s[i] * (1 - s[i])).
func SigmoidBackward32(dst, g, s []float32) {
	checkLen(dst, g, s)
	map2(dst, g, s, sigmoidBackward32Slice)
}

// Mul32 sets dst[i] = a[i] * b[i].
func Mul32(dst, a, b []float32) {
	checkLen(dst, a, b)
	map2(dst, a, b, mul32Slice)
}

// Add32 sets dst[i] = a[i] + b[i].
func Add32(dst, a, b []float32) {
	checkLen(dst, a, b)
	map2(dst, a, b, add32Slice)
}

// MulAdd32 sets dst[i] = a[i]*b[i] + c[i] (rounded twice, not fused).
func MulAdd32(dst, a, b, c []float32) {
	checkLen(dst, a, b, c)
	map3(dst, a, b, c, mulAdd32Slice)
}

// Axpy32 sets dst[i] += alpha * x[i] (rounded twice, not fused).
func Axpy32(dst []float32, alpha float32, x []float32) {
	checkLen(dst, x)
	mapScaled(dst, alpha, x, axpy32Slice)
}

// Scale32 sets dst[i] = alpha * src[i].
func Scale32(dst []float32, alpha float32, src []float32) {
	checkLen(dst, src)
	mapScaled(dst, alpha, src, scale32Slice)
}
