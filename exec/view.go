package exec

// rowMajor returns the strides of a contiguous row-major array.
func rowMajor(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= shape[d]
	}
	return st
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
