package exec

import (
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// gemmOperand describes a 2-D operand for Dgemm, or ok=false.
func gemmOperand(rows, cols, rs, cs int) (trans bool, ld int, ok bool) {
	switch {
	case cs == 1 || cols == 1:
		return false, max(rs, cols, 1), rows == 1 || rs >= cols
	case rs == 1 || rows == 1:
		return true, max(cs, rows, 1), cs >= rows
	}
	return false, 0, false
}

// matmul compiles a matrix product of T values.
func matmul[T tensor.Float](c *compiler, e *ir.Eqn, x, y layout) (layout, error) {
	gemm := op.GemmOf[T]()
	shape := e.Out.Shape
	rx, ry := len(x.shape), len(y.shape)
	k, n := x.shape[rx-1], y.shape[ry-1]
	size := tensor.Size(shape)
	if ry == 2 {
		m := tensor.Size(x.shape[:rx-1])
		ty, ldy, oky := gemmOperand(k, n, y.strides[0], y.strides[1])
		if !oky {
			y = c.contiguousCopy(y)
			ty, ldy = false, n
		}
		ls, lst := collapse(x.shape[:rx-1], [][]int{x.strides[:rx-1]})
		xrs := -1
		switch len(ls) {
		case 0:
			xrs = k
		case 1:
			xrs = lst[0][0]
		}
		tx, ldx, okx := false, 0, false
		if xrs >= 0 {
			tx, ldx, okx = gemmOperand(m, k, xrs, x.strides[rx-1])
		}
		if !okx {
			x = c.contiguousCopy(x)
			tx, ldx = false, k
		}
		c.use(x)
		c.use(y)
		bi := c.newBuf(size, e.Out.DType)
		c.steps = append(c.steps, func(s *state) {
			bufs := tableOf[T](s).bufs
			gemm(s.serial, tx, ty, m, n, k, 1, bufs[x.buf][x.off:], ldx, bufs[y.buf][y.off:], ldy, 0, bufs[bi][:size], n)
		})
		return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
	}
	x, y = c.contiguousCopy(x), c.contiguousCopy(y)
	c.use(x)
	c.use(y)
	m := x.shape[rx-2]
	batch := tensor.Size(x.shape[:rx-2])
	bi := c.newBuf(size, e.Out.DType)
	c.steps = append(c.steps, func(s *state) {
		bufs := tableOf[T](s).bufs
		xs, ys, out := bufs[x.buf][x.off:], bufs[y.buf][y.off:], bufs[bi]
		for i := 0; i < batch; i++ {
			gemm(s.serial, false, false, m, n, k, 1, xs[i*m*k:], k, ys[i*k*n:], n, 0, out[i*m*n:], n)
		}
	})
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
}
