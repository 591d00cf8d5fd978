package kernels

import "math"

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
//	Erf      = math.Erf
//
// ("ulp" is the spacing of float64 at the reference value; the exact
// reference is computed with math/big; see elementwise_test.go. Note that
// on amd64 math.Exp returns +Inf from about x = 709.43 on, while the true
// overflow is at 709.78: Exp here is right there.) Large maps are split over the worker pool; each
// element is computed the same way whatever the split.

func checkLen(dst []float64, srcs ...[]float64) {
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
	if n <= 2*mapChunk || pool.size() == 1 {
		f(0, n)
		return
	}
	pool.parallelFor(ceilDiv(n, mapChunk), func(t int) {
		f(t*mapChunk, min(n, (t+1)*mapChunk))
	})
}

func map1(dst, src []float64, fn func(float64) float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		s = s[:len(d)]
		for i := range d {
			d[i] = fn(s[i])
		}
	})
}

// Exp sets dst[i] = exp(src[i]).
func Exp(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { expSlice(dst[lo:hi], src[lo:hi]) })
}

// Sigmoid sets dst[i] = 1/(1+exp(-src[i])).
func Sigmoid(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { sigmoidSlice(dst[lo:hi], src[lo:hi]) })
}

// Tanh sets dst[i] = tanh(src[i]).
func Tanh(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { tanhSlice(dst[lo:hi], src[lo:hi]) })
}

// Log sets dst[i] = log(src[i]).
func Log(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { logSlice(dst[lo:hi], src[lo:hi]) })
}

// Sin sets dst[i] = sin(src[i]).
func Sin(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { sinSlice(dst[lo:hi], src[lo:hi]) })
}

// Cos sets dst[i] = cos(src[i]).
func Cos(dst, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) { cosSlice(dst[lo:hi], src[lo:hi]) })
}

// Erf sets dst[i] = erf(src[i]).
func Erf(dst, src []float64) { map1(dst, src, math.Erf) }

// Derivative expressions and fused chains, the shapes derivative programs
// produce most.

// TanhDeriv sets dst[i] = 1 - y[i]², the derivative of tanh given y = tanh(x).
func TanhDeriv(dst, y []float64) {
	checkLen(dst, y)
	parallelMap(len(dst), func(lo, hi int) {
		d, s := dst[lo:hi], y[lo:hi]
		s = s[:len(d)]
		for i := range d {
			d[i] = 1 - s[i]*s[i]
		}
	})
}

// TanhBackward sets dst[i] = g[i] * (1 - y[i]²): the cotangent through tanh.
func TanhBackward(dst, g, y []float64) {
	checkLen(dst, g, y)
	parallelMap(len(dst), func(lo, hi int) {
		d, gg, s := dst[lo:hi], g[lo:hi], y[lo:hi]
		gg, s = gg[:len(d)], s[:len(d)]
		for i := range d {
			d[i] = gg[i] * (1 - s[i]*s[i])
		}
	})
}

// TanhWithDeriv sets y[i] = tanh(x[i]) and dy[i] = 1 - y[i]² in one pass.
func TanhWithDeriv(y, dy, x []float64) {
	checkLen(y, dy, x)
	parallelMap(len(y), func(lo, hi int) {
		tanhSlice(y[lo:hi], x[lo:hi])
		yy, d := y[lo:hi], dy[lo:hi]
		d = d[:len(yy)]
		for i := range yy {
			d[i] = 1 - yy[i]*yy[i]
		}
	})
}

// SigmoidDeriv sets dst[i] = s[i] * (1 - s[i]), the derivative of the
// sigmoid given s = sigmoid(x).
func SigmoidDeriv(dst, s []float64) {
	checkLen(dst, s)
	parallelMap(len(dst), func(lo, hi int) {
		d, ss := dst[lo:hi], s[lo:hi]
		ss = ss[:len(d)]
		for i := range d {
			d[i] = ss[i] * (1 - ss[i])
		}
	})
}

// SigmoidBackward sets dst[i] = g[i] * s[i] * (1 - s[i]).
func SigmoidBackward(dst, g, s []float64) {
	checkLen(dst, g, s)
	parallelMap(len(dst), func(lo, hi int) {
		d, gg, ss := dst[lo:hi], g[lo:hi], s[lo:hi]
		gg, ss = gg[:len(d)], ss[:len(d)]
		for i := range d {
			d[i] = gg[i] * (ss[i] * (1 - ss[i]))
		}
	})
}

// Mul sets dst[i] = a[i] * b[i].
func Mul(dst, a, b []float64) {
	checkLen(dst, a, b)
	parallelMap(len(dst), func(lo, hi int) {
		d, x, y := dst[lo:hi], a[lo:hi], b[lo:hi]
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] * y[i]
		}
	})
}

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float64) {
	checkLen(dst, a, b)
	parallelMap(len(dst), func(lo, hi int) {
		d, x, y := dst[lo:hi], a[lo:hi], b[lo:hi]
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] + y[i]
		}
	})
}

// MulAdd sets dst[i] = a[i]*b[i] + c[i] (rounded twice, not fused, so the
// result is the same on every architecture).
func MulAdd(dst, a, b, c []float64) {
	checkLen(dst, a, b, c)
	parallelMap(len(dst), func(lo, hi int) {
		d, x, y, z := dst[lo:hi], a[lo:hi], b[lo:hi], c[lo:hi]
		x, y, z = x[:len(d)], y[:len(d)], z[:len(d)]
		for i := range d {
			d[i] = float64(x[i]*y[i]) + z[i]
		}
	})
}

// Axpy sets dst[i] += alpha * x[i].
func Axpy(dst []float64, alpha float64, x []float64) {
	checkLen(dst, x)
	parallelMap(len(dst), func(lo, hi int) {
		d, s := dst[lo:hi], x[lo:hi]
		s = s[:len(d)]
		for i := range d {
			d[i] += float64(alpha * s[i])
		}
	})
}

// Scale sets dst[i] = alpha * src[i].
func Scale(dst []float64, alpha float64, src []float64) {
	checkLen(dst, src)
	parallelMap(len(dst), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		s = s[:len(d)]
		for i := range d {
			d[i] = alpha * s[i]
		}
	})
}
