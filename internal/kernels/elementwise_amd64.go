//go:build !purego

package kernels

func expSlice(dst, src []float64)     { expSliceGo(dst, src) }
func sigmoidSlice(dst, src []float64) { sigmoidSliceGo(dst, src) }
func tanhSlice(dst, src []float64)    { tanhSliceGo(dst, src) }
