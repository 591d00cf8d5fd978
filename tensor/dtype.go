package tensor

import "fmt"

// DType is the element type of a tensor: Float64 (the zero value) or Float32.
type DType uint8

// The element types.
const (
	Float64 DType = iota
	Float32
)

// String returns "float64" or "float32", the names numpy and PyTorch use.
func (d DType) String() string {
	switch d {
	case Float64:
		return "float64"
	case Float32:
		return "float32"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Short returns "f64" or "f32", as programs print their variables' types.
func (d DType) Short() string {
	switch d {
	case Float64:
		return "f64"
	case Float32:
		return "f32"
	}
	return d.String()
}

// Size returns the number of bytes of one element.
func (d DType) Size() int {
	if d == Float32 {
		return 4
	}
	return 8
}

// Valid reports whether d is Float64 or Float32.
func (d DType) Valid() bool { return d == Float64 || d == Float32 }

// Epsilon returns the difference between 1 and the next larger
// representable number: 2⁻⁵² for Float64, 2⁻²³ for Float32.
func (d DType) Epsilon() float64 {
	if d == Float32 {
		return 0x1p-23
	}
	return 0x1p-52
}

// ParseDType reads "float64" or "float32" (also "f64", "f32", "double",
// "float").
func ParseDType(s string) (DType, error) {
	switch s {
	case "float64", "f64", "double":
		return Float64, nil
	case "float32", "f32", "float":
		return Float32, nil
	}
	return 0, fmt.Errorf("tensor: %q is not a dtype (want float64 or float32)", s)
}

// Float is the constraint satisfied by the Go types of the dtypes, for
// code written once for both (the runtime's kernels and copies).
type Float interface{ float32 | float64 }
