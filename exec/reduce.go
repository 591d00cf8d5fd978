package exec

import (
	"slices"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// reduceSum compiles a sum of T values.
func reduceSum[T tensor.Float](c *compiler, e *ir.Eqn, p op.ReduceSum, x layout) layout {
	if sumsSizeOne(p, x.shape) {
		return sizeOneView(p, x)
	}
	add := addOf[T]()
	shape := e.Out.Shape
	size := tensor.Size(shape)
	ost := tensor.Strides(shape)
	st := make([]int, len(x.shape))
	j := 0
	for d := range x.shape {
		if !slices.Contains(p.Axes, d) {
			st[d] = ost[j]
			j++
		}
	}
	cs, cst := collapse(x.shape, [][]int{x.strides, st})
	c.use(x)
	bi := c.newBuf(size, e.Out.DType)
	total := tensor.Size(x.shape)
	xoff, xb := x.off, x.buf
	c.steps = append(c.steps, func(s *state) {
		bufs := tableOf[T](s).bufs
		dst := bufs[bi][:size]
		clear(dst)
		if total == 0 {
			return
		}
		src := bufs[xb]
		r := len(cs)
		if r == 0 {
			dst[0] = src[xoff]
			return
		}
		inner := cs[r-1]
		is, os := cst[0][r-1], cst[1][r-1]
		var idxArr [16]int
		idx := idxArr[:r-1]
		ib, ob := xoff, 0
		for o := 0; o < total; o += inner {
			if os == 0 {
				acc := dst[ob]
				for i := 0; i < inner; i++ {
					acc += src[ib+i*is]
				}
				dst[ob] = acc
			} else if is == 1 && os == 1 {
				d := dst[ob : ob+inner]
				if inner < shortRow {
					addShort(d, src[ib:ib+inner])
				} else {
					add(d, d, src[ib:ib+inner])
				}
			} else {
				for i := 0; i < inner; i++ {
					dst[ob+i*os] += src[ib+i*is]
				}
			}
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				ib += cst[0][d]
				ob += cst[1][d]
				if idx[d] < cs[d] {
					break
				}
				ib -= cst[0][d] * cs[d]
				ob -= cst[1][d] * cs[d]
				idx[d] = 0
			}
		}
	})
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}
}

// shortRow is the row length below which a loop here adds rows faster
// than a call of the vector kernel (whose fixed cost is that of some 50
// additions): the rows of narrow networks, 20 or 32 wide.
const shortRow = 64

// addShort sets d[i] += s[i].
func addShort[T tensor.Float](d, s []T) {
	s = s[:len(d)]
	for i := range d {
		d[i] += s[i]
	}
}

// sumsSizeOne reports whether p sums only over axes of size 1 of a value
// of the given shape: a reshape, not a sum.
func sumsSizeOne(p op.ReduceSum, shape []int) bool {
	for _, a := range p.Axes {
		if shape[a] != 1 {
			return false
		}
	}
	return true
}

// sizeOneView is x without the axes of size 1 that p sums over: the same
// memory, no step.
func sizeOneView(p op.ReduceSum, x layout) layout {
	var shape, strides []int
	for d, n := range x.shape {
		if !slices.Contains(p.Axes, d) {
			shape = append(shape, n)
			strides = append(strides, x.strides[d])
		}
	}
	return layout{buf: x.buf, off: x.off, shape: shape, strides: strides}
}

// addOf returns the kernels' vector addition d = a + b of T values.
func addOf[T tensor.Float]() func(d, a, b []T) {
	if f, ok := any(kernels.Add).(func(d, a, b []T)); ok {
		return f
	}
	return any(kernels.Add32).(func(d, a, b []T))
}
