package kernels

// Elementwise maps. In all of them dst and the sources may alias (the same
// slice, element for element) and must have the same length; they panic
// otherwise. Accuracy against the math package, tested over wide ranges
// and at ±Inf, NaN, ±0, subnormals and huge arguments:
//
//	Exp      ≤ 2 ulp (≤ 1 ulp from the exact value)
//	Sigmoid  ≤ 3 ulp (≤ 2 ulp from the exact value)
//	Tanh     ≤ 2 ulp
//	Log      ≤ 1 ulp
//	Sin, Cos ≤ 1 ulp (|x| < 2^29; beyond, and for Inf/NaN: math.Sin/Cos)
//	Erf      ≤ 2 ulp
//
// ("ulp" is the spacing of float64 at the reference value; the exact
// reference is computed with math/big; see elementwise_test.go. Note that
// on amd64 math.Exp returns +Inf from about x = 709.43 on, while the true
// overflow is at 709.78: Exp here is right there.) Large maps are split over the worker pool; each
// element is computed the same way whatever the split.

func checkLen[T float32 | float64](dst []T, srcs ...[]T) {
	for _, s := range srcs {
		if len(s) != len(dst) {
			panic("kernels: elementwise: length mismatch")
		}
	}
}

// mapChunk is the number of elements one task of a parallel map handles.
const mapChunk = 1 << 14

// parallelMap runs f over [0, n) in chunks, on the pool when n is large.
func parallelMap(n int, f func(lo, hi int)) {
	if serialMap(n) {
		f(0, n)
		return
	}
	pool.parallelFor(ceilDiv(n, mapChunk), func(t int) {
		f(t*mapChunk, min(n, (t+1)*mapChunk))
	})
}

// serialMap reports whether a map over n elements runs on the calling
// goroutine. The maps below test it before making the closure that
// parallelMap takes, so that short rows (the runtime's blocks) allocate
// nothing.
func serialMap(n int) bool { return n <= 2*mapChunk || pool.workers.Load() == 1 }

// map1, map2, map3 and mapScaled apply a slice kernel to dst and its
// operands, in parallel chunks when they are long.
func map1[T float32 | float64](dst, a []T, f func(dst, a []T)) {
	if serialMap(len(dst)) {
		f(dst, a)
		return
	}
	parallelMap(len(dst), func(lo, hi int) { f(dst[lo:hi], a[lo:hi]) })
}

func map2[T float32 | float64](dst, a, b []T, f func(dst, a, b []T)) {
	if serialMap(len(dst)) {
		f(dst, a, b)
		return
	}
	parallelMap(len(dst), func(lo, hi int) { f(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

func map3[T float32 | float64](dst, a, b, c []T, f func(dst, a, b, c []T)) {
	if serialMap(len(dst)) {
		f(dst, a, b, c)
		return
	}
	parallelMap(len(dst), func(lo, hi int) { f(dst[lo:hi], a[lo:hi], b[lo:hi], c[lo:hi]) })
}

func mapScaled[T float32 | float64](dst []T, alpha T, a []T, f func(dst []T, alpha T, a []T)) {
	if serialMap(len(dst)) {
		f(dst, alpha, a)
		return
	}
	parallelMap(len(dst), func(lo, hi int) { f(dst[lo:hi], alpha, a[lo:hi]) })
}

// Exp sets dst[i] = exp(src[i]).
func Exp(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, expSlice)
}

// Sigmoid sets dst[i] = 1/(1+exp(-src[i])).
func Sigmoid(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, sigmoidSlice)
}

// Tanh sets dst[i] = tanh(src[i]).
func Tanh(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, tanhSlice)
}

// Log sets dst[i] = log(src[i]).
func Log(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, logSlice)
}

// Sin sets dst[i] = sin(src[i]).
func Sin(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, sinSlice)
}

// Cos sets dst[i] = cos(src[i]).
func Cos(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, cosSlice)
}

// Erf sets dst[i] = erf(src[i]).
func Erf(dst, src []float64) {
	checkLen(dst, src)
	map1(dst, src, erfSlice)
}

// Derivative expressions and fused chains, the shapes derivative programs
// produce most. Products are rounded before sums (never fused), so results
// are the same on every architecture and path.

// TanhDeriv sets dst[i] = 1 - y[i]², the derivative of tanh given y = tanh(x).
func TanhDeriv(dst, y []float64) {
	checkLen(dst, y)
	map1(dst, y, oneMinusSqSlice)
}

// TanhBackward sets dst[i] = g[i] * (1 - y[i]²): the cotangent through tanh.
func TanhBackward(dst, g, y []float64) {
	checkLen(dst, g, y)
	map2(dst, g, y, tanhBackwardSlice)
}

// TanhWithDeriv sets y[i] = tanh(x[i]) and dy[i] = 1 - y[i]² in one pass
// (chunk by chunk, while the chunk is in cache).
func TanhWithDeriv(y, dy, x []float64) {
	checkLen(y, dy, x)
	parallelMap(len(y), func(lo, hi int) {
		for l := lo; l < hi; l += 1024 {
			h := min(hi, l+1024)
			tanhSlice(y[l:h], x[l:h])
			oneMinusSqSlice(dy[l:h], y[l:h])
		}
	})
}

// SigmoidDeriv sets dst[i] = s[i] * (1 - s[i]), the derivative of the
// sigmoid given s = sigmoid(x).
func SigmoidDeriv(dst, s []float64) {
	checkLen(dst, s)
	map1(dst, s, sigmoidDerivSlice)
}

// SigmoidBackward sets dst[i] = g[i] * (s[i] * (1 - s[i])).
func SigmoidBackward(dst, g, s []float64) {
	checkLen(dst, g, s)
	map2(dst, g, s, sigmoidBackwardSlice)
}

// Mul sets dst[i] = a[i] * b[i].
func Mul(dst, a, b []float64) {
	checkLen(dst, a, b)
	map2(dst, a, b, mulSlice)
}

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float64) {
	checkLen(dst, a, b)
	map2(dst, a, b, addSlice)
}

// MulAdd sets dst[i] = a[i]*b[i] + c[i] (rounded twice, not fused).
func MulAdd(dst, a, b, c []float64) {
	checkLen(dst, a, b, c)
	map3(dst, a, b, c, mulAddSlice)
}

// Axpy sets dst[i] += alpha * x[i] (rounded twice, not fused).
func Axpy(dst []float64, alpha float64, x []float64) {
	checkLen(dst, x)
	mapScaled(dst, alpha, x, axpySlice)
}

// Scale sets dst[i] = alpha * src[i].
func Scale(dst []float64, alpha float64, src []float64) {
	checkLen(dst, src)
	mapScaled(dst, alpha, src, scaleSlice)
}
