package kernels

import "unsafe"

// Subtraction and negation from the vector maps: −x is (−1)·x, exact, and
// a − b is a + (−1)·b, so both give the correctly rounded results of the
// scalar operations (NaNs aside: their sign and payload may differ), at
// the speed of the vectorised Scale and Axpy instead of a Go loop's.

// Sub sets dst[i] = a[i] - b[i]. dst may be a or b; if it overlaps one
// otherwise, the elements are computed one by one in increasing i.
func Sub(dst, a, b []float64) { sub(dst, a, b, Scale, Add, Axpy) }

// Sub32 is Sub in float32.
func Sub32(dst, a, b []float32) { sub(dst, a, b, Scale32, Add32, Axpy32) }

// Neg sets dst[i] = -src[i]; dst may be src.
func Neg(dst, src []float64) { Scale(dst, -1, src) }

// Neg32 is Neg in float32.
func Neg32(dst, src []float32) { Scale32(dst, -1, src) }

func sub[T float](dst, a, b []T, scale func(d []T, alpha T, s []T), add func(d, x, y []T), axpy func(d []T, alpha T, x []T)) {
	checkLen(dst, a, b)
	if len(dst) == 0 {
		return
	}
	switch {
	case same(dst, a):
		axpy(dst, -1, b) // a − b = a + (−b), even when b is a too
	case same(dst, b):
		scale(dst, -1, dst)
		add(dst, dst, a)
	case overlap(dst, a) || overlap(dst, b):
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	default:
		copy(dst, a)
		axpy(dst, -1, b)
	}
}

// same reports whether x and y start at the same element.
func same[T float](x, y []T) bool { return &x[0] == &y[0] }

// overlap reports whether the memory of x and y overlaps.
func overlap[T float](x, y []T) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	es := unsafe.Sizeof(x[0])
	x0, y0 := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return x0 < y0+uintptr(len(y))*es && y0 < x0+uintptr(len(x))*es
}
