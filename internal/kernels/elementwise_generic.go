package kernels

// Portable slice loops for the exp family; the amd64 build may replace
// them with vector code (see elementwise_amd64.go).

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
