//go:build purego || !(amd64 || arm64)

package kernels

func exp32Slice(dst, src []float32)     { exp32Go(dst, src) }
func sigmoid32Slice(dst, src []float32) { sigmoid32Go(dst, src) }
func tanh32Slice(dst, src []float32)    { tanh32Go(dst, src) }
func log32Slice(dst, src []float32)     { log32Go(dst, src) }
func log1p32Slice(dst, src []float32)   { log1p32Go(dst, src) }
func sin32Slice(dst, src []float32)     { sin32Go(dst, src) }
func cos32Slice(dst, src []float32)     { cos32Go(dst, src) }
func erf32Slice(dst, src []float32)     { erf32Go(dst, src) }
func sqrt32Slice(dst, src []float32)    { sqrt32Go(dst, src) }

func addTo32Slice(d, a []float32)                          { addTo32Go(d, a) }
func mul32Slice(d, a, b []float32)                         { mul32Go(d, a, b) }
func add32Slice(d, a, b []float32)                         { add32Go(d, a, b) }
func mulAdd32Slice(d, a, b, c []float32)                   { mulAdd32Go(d, a, b, c) }
func oneMinusSq32Slice(d, a []float32)                     { oneMinusSq32Go(d, a) }
func tanhBackward32Slice(d, a, b []float32)                { tanhBackward32Go(d, a, b) }
func sigmoidDeriv32Slice(d, a []float32)                   { sigmoidDeriv32Go(d, a) }
func sigmoidBackward32Slice(d, a, b []float32)             { sigmoidBackward32Go(d, a, b) }
func axpy32Slice(d []float32, alpha float32, a []float32)  { axpy32Go(d, alpha, a) }
func scale32Slice(d []float32, alpha float32, a []float32) { scale32Go(d, alpha, a) }
func sumRow32Slice(x []float32) float32                    { return sumRow32Go(x) }
func widen32Slice(d []float64, a []float32)                { widen32Go(d, a) }
func addWiden32Slice(d []float64, a []float32)             { addWiden32Go(d, a) }
func narrow32Slice(d []float32, a []float64)               { narrow32Go(d, a) }
