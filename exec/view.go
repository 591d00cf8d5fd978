package exec

type buffer struct {
	data []float64
}

// value is a strided view of a buffer: element idx sits at
// off + Σ idx[d]·strides[d].
type value struct {
	buf     *buffer
	shape   []int
	strides []int
	off     int
}

func rowMajor(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= shape[d]
	}
	return st
}

// gatherView copies v in row-major order into out.
func gatherView(out []float64, v value) {
	if len(out) == 0 {
		return
	}
	shape, strides := collapse(v.shape, [][]int{v.strides})
	st := strides[0]
	r := len(shape)
	if r == 0 {
		out[0] = v.buf.data[v.off]
		return
	}
	n, s := shape[r-1], st[r-1]
	idx := make([]int, r-1)
	base := v.off
	src := v.buf.data
	for o := 0; o < len(out); o += n {
		row := out[o : o+n]
		switch s {
		case 1:
			copy(row, src[base:base+n])
		case 0:
			x := src[base]
			for i := range row {
				row[i] = x
			}
		default:
			for i := range row {
				row[i] = src[base+i*s]
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < shape[d] {
				break
			}
			base -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}

// collapse merges adjacent axes that every operand walks as one, so inner
// loops run over long rows. Axes of size 1 are dropped.
func collapse(shape []int, strides [][]int) ([]int, [][]int) {
	outShape := []int{}
	outStrides := make([][]int, len(strides))
	for i := range outStrides {
		outStrides[i] = []int{}
	}
	for d := 0; d < len(shape); d++ {
		if shape[d] == 1 {
			continue
		}
		if last := len(outShape) - 1; last >= 0 {
			merge := true
			for i, st := range strides {
				if outStrides[i][last] != st[d]*shape[d] {
					merge = false
					break
				}
			}
			if merge {
				outShape[last] *= shape[d]
				for i, st := range strides {
					outStrides[i][last] = st[d]
				}
				continue
			}
		}
		outShape = append(outShape, shape[d])
		for i, st := range strides {
			outStrides[i] = append(outStrides[i], st[d])
		}
	}
	return outShape, outStrides
}
