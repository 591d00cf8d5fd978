package kernels

import "math"

// FALLBACK (float32 work, to be removed): scalar float32 maps in plain Go,
// computed in float64 and rounded, standing in for the vectorised float32
// maps that helper f32maps is writing (Exp32, Tanh32, … in
// elementwise32.go). Package op calls these until those land; then op
// calls the real ones and this file goes.

func map32Fallback(dst, src []float32, f func(float64) float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(f(float64(v)))
	}
}

// Exp32Fallback sets dst[i] = exp(src[i]) (scalar stand-in).
func Exp32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Exp) }

// Log32Fallback sets dst[i] = log(src[i]) (scalar stand-in).
func Log32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Log) }

// Log1p32Fallback sets dst[i] = log(1+src[i]) (scalar stand-in).
func Log1p32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Log1p) }

// Tanh32Fallback sets dst[i] = tanh(src[i]) (scalar stand-in).
func Tanh32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Tanh) }

// Sigmoid32Fallback sets dst[i] = 1/(1+exp(-src[i])) (scalar stand-in).
func Sigmoid32Fallback(dst, src []float32) {
	map32Fallback(dst, src, func(x float64) float64 {
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		e := math.Exp(x)
		return e / (1 + e)
	})
}

// Sin32Fallback sets dst[i] = sin(src[i]) (scalar stand-in).
func Sin32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Sin) }

// Cos32Fallback sets dst[i] = cos(src[i]) (scalar stand-in).
func Cos32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Cos) }

// Erf32Fallback sets dst[i] = erf(src[i]) (scalar stand-in).
func Erf32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Erf) }

// Sqrt32Fallback sets dst[i] = √src[i] (scalar stand-in).
func Sqrt32Fallback(dst, src []float32) { map32Fallback(dst, src, math.Sqrt) }

// Add32Fallback sets dst[i] = a[i] + b[i] (scalar stand-in).
func Add32Fallback(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul32Fallback sets dst[i] = a[i] · b[i] (scalar stand-in).
func Mul32Fallback(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}
