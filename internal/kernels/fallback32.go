package kernels

// The names package op and exec used while the float32 maps were being
// written (scalar stand-ins computed in float64). They now forward to the
// float32 maps; once op and exec call Exp32, Tanh32, … directly, this file
// goes.

// Exp32Fallback is Exp32.
func Exp32Fallback(dst, src []float32) { Exp32(dst, src) }

// Log32Fallback is Log32.
func Log32Fallback(dst, src []float32) { Log32(dst, src) }

// Log1p32Fallback is Log1p32.
func Log1p32Fallback(dst, src []float32) { Log1p32(dst, src) }

// Tanh32Fallback is Tanh32.
func Tanh32Fallback(dst, src []float32) { Tanh32(dst, src) }

// Sigmoid32Fallback is Sigmoid32.
func Sigmoid32Fallback(dst, src []float32) { Sigmoid32(dst, src) }

// Sin32Fallback is Sin32.
func Sin32Fallback(dst, src []float32) { Sin32(dst, src) }

// Cos32Fallback is Cos32.
func Cos32Fallback(dst, src []float32) { Cos32(dst, src) }

// Erf32Fallback is Erf32.
func Erf32Fallback(dst, src []float32) { Erf32(dst, src) }

// Sqrt32Fallback is Sqrt32.
func Sqrt32Fallback(dst, src []float32) { Sqrt32(dst, src) }

// Add32Fallback is Add32.
func Add32Fallback(dst, a, b []float32) { Add32(dst, a, b) }

// Mul32Fallback is Mul32.
func Mul32Fallback(dst, a, b []float32) { Mul32(dst, a, b) }
