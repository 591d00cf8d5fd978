package exec

import (
	"slices"

	"github.com/jacobi-ad/jacobi/tensor"
)

// layout places a value: element idx sits at buf[off + Σ idx·strides].
type layout struct {
	buf     int
	off     int
	shape   []int
	strides []int
}

func sameLayout(a, b layout) bool {
	return a.buf == b.buf && a.off == b.off && slices.Equal(a.shape, b.shape) && slices.Equal(a.strides, b.strides)
}

func (l layout) contiguous() bool { return isRowMajor(l.shape, l.strides) }

// contiguousCopy returns l itself when contiguous, else a step copying it.
func (c *compiler) contiguousCopy(l layout) layout {
	if l.contiguous() {
		return l
	}
	n := tensor.Size(l.shape)
	dt := c.bufs[l.buf].dtype
	bi := c.newBuf(n, dt)
	c.use(l)
	src, g := l.buf, newGather(l)
	if dt == tensor.Float32 {
		c.steps = append(c.steps, func(s *state) { gatherRun(g, s.f32.bufs[bi][:n], s.f32.bufs[src]) })
	} else {
		c.steps = append(c.steps, func(s *state) { gatherRun(g, s.f64.bufs[bi][:n], s.f64.bufs[src]) })
	}
	return layout{buf: bi, shape: l.shape, strides: tensor.Strides(l.shape)}
}

// isRowMajor reports whether strides walk shape contiguously.
func isRowMajor(shape, strides []int) bool {
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] != 1 && strides[d] != acc {
			return false
		}
		acc *= shape[d]
	}
	return true
}

// gather is a strided copy with its axes collapsed ahead of time.
type gather struct {
	shape, strides []int
	off            int
}

func newGather(l layout) gather {
	cs, cst := collapse(l.shape, [][]int{l.strides})
	return gather{shape: cs, strides: cst[0], off: l.off}
}

// gatherRun copies the values g describes from src into out.
func gatherRun[T tensor.Float](g gather, out, src []T) {
	if len(out) == 0 {
		return
	}
	r := len(g.shape)
	switch r {
	case 0:
		out[0] = src[g.off]
		return
	case 1:
		copyRow(out, src, g.off, g.strides[0])
		return
	}
	// The two innermost axes are plain loops; the odometer moves once per
	// block of them (short rows, as in a transposed Jacobian, are common).
	n1, s1 := g.shape[r-2], g.strides[r-2]
	n0, s0 := g.shape[r-1], g.strides[r-1]
	blk := n1 * n0
	var idxArr [16]int
	idx := idxArr[:r-2]
	base := g.off
	for o := 0; o < len(out); o += blk {
		dst := out[o : o+blk]
		if s1 == 0 && s0 == 1 && n1 > 1 {
			// One row repeated (a per-sample value broadcast over the
			// tangents): copied once, then the copies doubled.
			copy(dst[:n0], src[base:base+n0])
			for have := n0; have < blk; have *= 2 {
				copy(dst[have:], dst[:have])
			}
		} else if s0 == 1 || s0 == 0 {
			for i1 := 0; i1 < n1; i1++ {
				copyRow(dst[i1*n0:(i1+1)*n0], src, base+i1*s1, s0)
			}
		} else {
			// A transposed block: read it in its own order, write scattered
			// (both stay in L1 for the small blocks of per-sample results).
			j := 0
			for i1 := 0; i1 < n1; i1++ {
				p := base + i1*s1
				for i0 := 0; i0 < n0; i0++ {
					dst[j] = src[p]
					j++
					p += s0
				}
			}
		}
		for d := r - 3; d >= 0; d-- {
			idx[d]++
			base += g.strides[d]
			if idx[d] < g.shape[d] {
				break
			}
			base -= g.strides[d] * g.shape[d]
			idx[d] = 0
		}
	}
}

// copyRow sets row[i] = src[base + i*stride].
func copyRow[T tensor.Float](row, src []T, base, stride int) {
	switch stride {
	case 1:
		copy(row, src[base:base+len(row)])
	case 0:
		x := src[base]
		for i := range row {
			row[i] = x
		}
	default:
		for i := range row {
			row[i] = src[base+i*stride]
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
