package tensor

import "fmt"

// Shape helpers: every layer of jacobi (primitives, transforms, the runtime,
// the ONNX importer) works on shapes as []int and uses these. None of them
// modifies its arguments.

// Size returns the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ResolveShape replaces a single -1 in shape so that it holds n elements and
// checks that the sizes agree.
func ResolveShape(n int, shape []int) ([]int, error) {
	s := append([]int(nil), shape...)
	free, prod := -1, 1
	for i, d := range s {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			return nil, fmt.Errorf("invalid dimension %d", d)
		default:
			prod *= d
		}
	}
	if free >= 0 {
		if prod == 0 || n%prod != 0 {
			return nil, fmt.Errorf("cannot infer -1 for %d elements", n)
		}
		s[free] = n / prod
		prod = n
	}
	if prod != n {
		return nil, fmt.Errorf("%d elements do not fit shape %v", n, shape)
	}
	return s, nil
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Strides returns the strides of a contiguous row-major array of the given
// shape: the last axis has stride 1.
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= shape[d]
	}
	return st
}

// BroadcastShapes returns numpy's broadcast of two shapes: trailing axes
// aligned, an axis of size 1 stretched to the other's size.
func BroadcastShapes(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// RemoveAxis returns shape without the given axis.
func RemoveAxis(shape []int, axis int) []int {
	out := make([]int, 0, len(shape)-1)
	out = append(out, shape[:axis]...)
	return append(out, shape[axis+1:]...)
}

// InsertAxis returns shape with a new axis of size n at position axis.
func InsertAxis(shape []int, axis, n int) []int {
	out := make([]int, 0, len(shape)+1)
	out = append(out, shape[:axis]...)
	out = append(out, n)
	return append(out, shape[axis:]...)
}
