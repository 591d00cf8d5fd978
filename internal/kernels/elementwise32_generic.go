package kernels

// Portable float32 slice loops (every architecture). The vector code does
// the same operations lane by lane, with the same roundings; float32()
// conversions keep the compiler from fusing multiply-adds.

func exp32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = exp32(x)
	}
}

func sigmoid32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sigmoid32(x)
	}
}

func tanh32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = tanh32(x)
	}
}

func log32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = log32(x)
	}
}

func log1p32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = log1p32(x)
	}
}

func sin32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sin32(x)
	}
}

func cos32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = cos32(x)
	}
}

func erf32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = erf32(x)
	}
}

func sqrt32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sqrt32(x)
	}
}

func addTo32Go(d, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] += a[i]
	}
}

func mul32Go(d, a, b []float32) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * b[i]
	}
}

func add32Go(d, a, b []float32) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] + b[i]
	}
}

func mulAdd32Go(d, a, b, c []float32) {
	a = a[:len(d)]
	b = b[:len(d)]
	c = c[:len(d)]
	for i := range d {
		d[i] = float32(a[i]*b[i]) + c[i]
	}
}

func oneMinusSq32Go(d, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] = 1 - float32(a[i]*a[i])
	}
}

func tanhBackward32Go(d, a, b []float32) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * (1 - float32(b[i]*b[i]))
	}
}

func sigmoidDeriv32Go(d, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] * (1 - a[i])
	}
}

func sigmoidBackward32Go(d, a, b []float32) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * (b[i] * (1 - b[i]))
	}
}

func axpy32Go(d []float32, alpha float32, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] += float32(alpha * a[i])
	}
}

func scale32Go(d []float32, alpha float32, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] = alpha * a[i]
	}
}

// sumRow32Go sums a contiguous row in float64, with sixteen interleaved
// accumulators s[i%16] (four AVX2 or two AVX-512 vectors of float64, so
// that the vector adds overlap), combined as m[j] = s[j]+s[j+8] and then
// ((m0+m1)+(m2+m3))+((m4+m5)+(m6+m7)); the tail is added in order, and
// the sum is rounded to float32 once.
func sumRow32Go(x []float32) float32 {
	n := len(x) &^ 15
	return float32(sumRow32Tail(sumRow32Blocks(x[:n]), x[n:]))
}

// sumRow32Blocks is the combined sum of the sixteen accumulators over x
// (len(x) a multiple of 16).
func sumRow32Blocks(x []float32) float64 {
	// Sixteen named accumulators: an array would live in memory.
	var s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15 float64
	for i := 0; i+16 <= len(x); i += 16 {
		v := x[i : i+16 : i+16]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
		s4 += float64(v[4])
		s5 += float64(v[5])
		s6 += float64(v[6])
		s7 += float64(v[7])
		s8 += float64(v[8])
		s9 += float64(v[9])
		s10 += float64(v[10])
		s11 += float64(v[11])
		s12 += float64(v[12])
		s13 += float64(v[13])
		s14 += float64(v[14])
		s15 += float64(v[15])
	}
	m0, m1, m2, m3 := s0+s8, s1+s9, s2+s10, s3+s11
	m4, m5, m6, m7 := s4+s12, s5+s13, s6+s14, s7+s15
	return ((m0 + m1) + (m2 + m3)) + ((m4 + m5) + (m6 + m7))
}

func sumRow32Tail(s float64, tail []float32) float64 {
	for _, v := range tail {
		s += float64(v)
	}
	return s
}

func widen32Go(d []float64, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] = float64(a[i])
	}
}

func addWiden32Go(d []float64, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] += float64(a[i])
	}
}

func narrow32Go(d []float32, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] = float32(a[i])
	}
}
