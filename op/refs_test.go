package op_test

import (
	"math"

	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- plain Go references ----

// forEach calls fn with every multi-index of shape in row-major order.
func forEach(shape []int, fn func(idx []int, flat int)) {
	n := tensor.Size(shape)
	idx := make([]int, len(shape))
	for f := 0; f < n; f++ {
		fn(idx, f)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

func offset(shape, idx []int) int {
	o := 0
	for d := range shape {
		o = o*shape[d] + idx[d]
	}
	return o
}

func refTranspose(x []float64, shape, perm []int) []float64 {
	out := make([]int, len(perm))
	for i, a := range perm {
		out[i] = shape[a]
	}
	res := make([]float64, len(x))
	src := make([]int, len(shape))
	forEach(out, func(idx []int, f int) {
		for i, a := range perm {
			src[a] = idx[i]
		}
		res[f] = x[offset(shape, src)]
	})
	return res
}

func refBroadcast(x []float64, shape, out, dims []int) []float64 {
	res := make([]float64, tensor.Size(out))
	src := make([]int, len(shape))
	forEach(out, func(idx []int, f int) {
		for i, d := range dims {
			if shape[i] == 1 {
				src[i] = 0
			} else {
				src[i] = idx[d]
			}
		}
		res[f] = x[offset(shape, src)]
	})
	return res
}

func refReduce(x []float64, shape, axes []int) []float64 {
	var out []int
	keep := map[int]bool{}
	for d, n := range shape {
		red := false
		for _, a := range axes {
			red = red || a == d
		}
		if !red {
			out = append(out, n)
			keep[d] = true
		}
	}
	res := make([]float64, tensor.Size(out))
	dst := make([]int, len(out))
	forEach(shape, func(idx []int, f int) {
		j := 0
		for d := range shape {
			if keep[d] {
				dst[j] = idx[d]
				j++
			}
		}
		res[offset(out, dst)] += x[f]
	})
	return res
}

func refMatMul(x []float64, xs []int, y []float64, ys []int) []float64 {
	m, k, n := xs[len(xs)-2], xs[len(xs)-1], ys[len(ys)-1]
	batch := tensor.Size(xs[:len(xs)-2])
	res := make([]float64, batch*m*n)
	for b := 0; b < batch; b++ {
		yo := 0
		if len(ys) > 2 {
			yo = b * k * n
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := 0.0
				for l := 0; l < k; l++ {
					s += x[b*m*k+i*k+l] * y[yo+l*n+j]
				}
				res[b*m*n+i*n+j] = s
			}
		}
	}
	return res
}

func refSlice(x []float64, shape, start, limit []int) []float64 {
	out := make([]int, len(shape))
	for d := range shape {
		out[d] = limit[d] - start[d]
	}
	res := make([]float64, tensor.Size(out))
	src := make([]int, len(shape))
	forEach(out, func(idx []int, f int) {
		for d := range idx {
			src[d] = idx[d] + start[d]
		}
		res[f] = x[offset(shape, src)]
	})
	return res
}

func refPad(x []float64, shape, lo, hi []int) []float64 {
	out := make([]int, len(shape))
	for d := range shape {
		out[d] = shape[d] + lo[d] + hi[d]
	}
	res := make([]float64, tensor.Size(out))
	dst := make([]int, len(shape))
	forEach(shape, func(idx []int, f int) {
		for d := range idx {
			dst[d] = idx[d] + lo[d]
		}
		res[offset(out, dst)] = x[f]
	})
	return res
}

func refConcat(xs [][]float64, shapes [][]int, axis int) []float64 {
	out := append([]int{}, shapes[0]...)
	out[axis] = 0
	for _, s := range shapes {
		out[axis] += s[axis]
	}
	res := make([]float64, tensor.Size(out))
	off := 0
	dst := make([]int, len(out))
	for i, s := range shapes {
		forEach(s, func(idx []int, f int) {
			copy(dst, idx)
			dst[axis] += off
			res[offset(out, dst)] = xs[i][f]
		})
		off += s[axis]
	}
	return res
}

func mulRef(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] * b[i]
	}
	return out
}

func mapRef(f func(float64) float64) func(in [][]float64) []float64 {
	return func(in [][]float64) []float64 {
		out := make([]float64, len(in[0]))
		for i, v := range in[0] {
			out[i] = f(v)
		}
		return out
	}
}

func mapRef2(f func(a, b float64) float64) func(in [][]float64) []float64 {
	return func(in [][]float64) []float64 {
		out := make([]float64, len(in[0]))
		for i := range in[0] {
			out[i] = f(in[0][i], in[1][i])
		}
		return out
	}
}

func powRef(n int) func(float64) float64 {
	return func(x float64) float64 { return math.Pow(x, float64(n)) }
}
