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
	// A batch of products: each operand is used in place when its batch
	// axes collapse to one stride and its matrices are Dgemm operands (a
	// transposed view such as a Gram product's Jᵀ needs no copy).
	m := x.shape[rx-2]
	batch := tensor.Size(x.shape[:rx-2])
	xbs, tx, ldx, okx := batchOperand(x, m, k)
	if !okx {
		x = c.contiguousCopy(x)
		xbs, tx, ldx = m*k, false, k
	}
	ybs, ty, ldy, oky := batchOperand(y, k, n)
	if !oky {
		y = c.contiguousCopy(y)
		ybs, ty, ldy = k*n, false, n
	}
	c.use(x)
	c.use(y)
	bi := c.newBuf(size, e.Out.DType)
	if m*n <= tinyProduct {
		// Products this small cost Dgemm more in packing than in
		// arithmetic: dot products in place instead.
		xr, xc := x.strides[rx-2], x.strides[rx-1]
		yr, yc := y.strides[ry-2], y.strides[ry-1]
		if !okx {
			xr, xc = k, 1
		}
		if !oky {
			yr, yc = n, 1
		}
		c.steps = append(c.steps, func(s *state) {
			bufs := tableOf[T](s).bufs
			xs, ys, out := bufs[x.buf][x.off:], bufs[y.buf][y.off:], bufs[bi]
			for i := 0; i < batch; i++ {
				tinyMatMul(out[i*m*n:(i+1)*m*n], xs[i*xbs:], ys[i*ybs:], m, n, k, xr, xc, yr, yc)
			}
		})
		return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
	}
	c.steps = append(c.steps, func(s *state) {
		bufs := tableOf[T](s).bufs
		xs, ys, out := bufs[x.buf][x.off:], bufs[y.buf][y.off:], bufs[bi]
		for i := 0; i < batch; i++ {
			gemm(s.serial, tx, ty, m, n, k, 1, xs[i*xbs:], ldx, ys[i*ybs:], ldy, 0, out[i*m*n:], n)
		}
	})
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
}

// tinyProduct is the largest m·n of a batch of products computed by
// tinyMatMul rather than Dgemm.
const tinyProduct = 16

// tinyMatMul sets out (m, n) to x·y for x (m, k) and y (k, n) at the
// given row and column strides, each entry a dot product summed in four
// interleaved parts.
func tinyMatMul[T tensor.Float](out, x, y []T, m, n, k, xr, xc, yr, yc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			xi, yj := i*xr, j*yc
			var s0, s1, s2, s3 T
			kk := 0
			for ; kk+4 <= k; kk += 4 {
				s0 += x[xi+kk*xc] * y[yj+kk*yr]
				s1 += x[xi+(kk+1)*xc] * y[yj+(kk+1)*yr]
				s2 += x[xi+(kk+2)*xc] * y[yj+(kk+2)*yr]
				s3 += x[xi+(kk+3)*xc] * y[yj+(kk+3)*yr]
			}
			for ; kk < k; kk++ {
				s0 += x[xi+kk*xc] * y[yj+kk*yr]
			}
			out[i*n+j] = (s0 + s1) + (s2 + s3)
		}
	}
}

// batchOperand describes a batch of rows × cols matrices l for Dgemm: the
// stride between matrices (its batch axes must collapse to one), whether
// each is transposed and its leading dimension; ok=false otherwise.
func batchOperand(l layout, rows, cols int) (bs int, trans bool, ld int, ok bool) {
	r := len(l.shape)
	bshape, bstrides := collapse(l.shape[:r-2], [][]int{l.strides[:r-2]})
	switch len(bshape) {
	case 0:
		bs = 0
	case 1:
		bs = bstrides[0][0]
	default:
		return 0, false, 0, false
	}
	trans, ld, ok = gemmOperand(rows, cols, l.strides[r-2], l.strides[r-1])
	return bs, trans, ld, ok
}
