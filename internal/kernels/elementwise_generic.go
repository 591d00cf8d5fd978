package kernels

// Portable slice loops. The amd64 build may replace them with vector code
// (see elementwise_amd64.go) that does the same operations lane by lane,
// with the same roundings (float64() conversions keep the compiler from
// fusing multiply-adds, on every architecture).

func expSliceGo(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = exp(x)
	}
}

func sigmoidSliceGo(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sigmoid(x)
	}
}

func tanhSliceGo(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = tanh(x)
	}
}

func addToGo(d, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] += a[i]
	}
}

func mulGo(d, a, b []float64) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * b[i]
	}
}

func addGo(d, a, b []float64) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] + b[i]
	}
}

func mulAddGo(d, a, b, c []float64) {
	a = a[:len(d)]
	b = b[:len(d)]
	c = c[:len(d)]
	for i := range d {
		d[i] = float64(a[i]*b[i]) + c[i]
	}
}

func oneMinusSqGo(d, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] = 1 - float64(a[i]*a[i])
	}
}

func tanhBackwardGo(d, a, b []float64) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * (1 - float64(b[i]*b[i]))
	}
}

func sigmoidDerivGo(d, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] * (1 - a[i])
	}
}

func sigmoidBackwardGo(d, a, b []float64) {
	a = a[:len(d)]
	b = b[:len(d)]
	for i := range d {
		d[i] = a[i] * (b[i] * (1 - b[i]))
	}
}

func axpyGo(d []float64, alpha float64, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] += float64(alpha * a[i])
	}
}

func scaleGo(d []float64, alpha float64, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] = alpha * a[i]
	}
}
