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
	if xc == 1 && yr == 1 {
		tinyDots(out, x, y, m, n, k, xr, yc)
		return
	}
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

// tinyDots is tinyMatMul for rows of x and columns of y that are
// contiguous (x·Jᵀ, a Gram product), in blocks of two rows by two columns
// that share their loads; every entry is summed as tinyMatMul sums it.
func tinyDots[T tensor.Float](out, x, y []T, m, n, k, xr, yc int) {
	i := 0
	for ; i+2 <= m; i += 2 {
		x0, x1 := x[i*xr:i*xr+k], x[(i+1)*xr:(i+1)*xr+k]
		j := 0
		for ; j+2 <= n; j += 2 {
			y0, y1 := y[j*yc:j*yc+k], y[(j+1)*yc:(j+1)*yc+k]
			var a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3 T
			kk := 0
			for ; kk+4 <= k; kk += 4 {
				p0, p1, p2, p3 := x0[kk], x0[kk+1], x0[kk+2], x0[kk+3]
				q0, q1, q2, q3 := x1[kk], x1[kk+1], x1[kk+2], x1[kk+3]
				r0, r1, r2, r3 := y0[kk], y0[kk+1], y0[kk+2], y0[kk+3]
				s0, s1, s2, s3 := y1[kk], y1[kk+1], y1[kk+2], y1[kk+3]
				a0, a1, a2, a3 = a0+p0*r0, a1+p1*r1, a2+p2*r2, a3+p3*r3
				b0, b1, b2, b3 = b0+p0*s0, b1+p1*s1, b2+p2*s2, b3+p3*s3
				c0, c1, c2, c3 = c0+q0*r0, c1+q1*r1, c2+q2*r2, c3+q3*r3
				d0, d1, d2, d3 = d0+q0*s0, d1+q1*s1, d2+q2*s2, d3+q3*s3
			}
			for ; kk < k; kk++ {
				a0 += x0[kk] * y0[kk]
				b0 += x0[kk] * y1[kk]
				c0 += x1[kk] * y0[kk]
				d0 += x1[kk] * y1[kk]
			}
			out[i*n+j] = (a0 + a1) + (a2 + a3)
			out[i*n+j+1] = (b0 + b1) + (b2 + b3)
			out[(i+1)*n+j] = (c0 + c1) + (c2 + c3)
			out[(i+1)*n+j+1] = (d0 + d1) + (d2 + d3)
		}
		for ; j < n; j++ {
			out[i*n+j] = dot4(x0, y[j*yc:j*yc+k])
			out[(i+1)*n+j] = dot4(x1, y[j*yc:j*yc+k])
		}
	}
	for ; i < m; i++ {
		xi := x[i*xr : i*xr+k]
		for j := 0; j < n; j++ {
			out[i*n+j] = dot4(xi, y[j*yc:j*yc+k])
		}
	}
}

// dot4 is the dot product of a and b[:len(a)] summed in four interleaved
// parts, as tinyMatMul sums.
func dot4[T tensor.Float](a, b []T) T {
	b = b[:len(a)]
	var s0, s1, s2, s3 T
	kk := 0
	for ; kk+4 <= len(a); kk += 4 {
		s0 += a[kk] * b[kk]
		s1 += a[kk+1] * b[kk+1]
		s2 += a[kk+2] * b[kk+2]
		s3 += a[kk+3] * b[kk+3]
	}
	for ; kk < len(a); kk++ {
		s0 += a[kk] * b[kk]
	}
	return (s0 + s1) + (s2 + s3)
}
