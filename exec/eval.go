package exec

import (
	"math"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// arena recycles the buffers of one run: a released buffer goes back to a
// free list by length and serves the next equation that needs that length.
type arena struct {
	free map[int][][]float64
}

func (a *arena) alloc(n int) *buffer {
	if l := a.free[n]; len(l) > 0 {
		d := l[len(l)-1]
		a.free[n] = l[:len(l)-1]
		return &buffer{data: d, refs: 1, owned: true}
	}
	return &buffer{data: make([]float64, n), refs: 1, owned: true}
}

func (a *arena) release(b *buffer) {
	b.refs--
	if b.refs == 0 && b.owned {
		a.free[len(b.data)] = append(a.free[len(b.data)], b.data)
	}
}

// view makes a value that shares in's buffer.
func view(in value, shape, strides []int, off int) value {
	in.buf.refs++
	return value{buf: in.buf, shape: shape, strides: strides, off: off}
}

// evalEqn computes one equation on views, using the kernels directly for
// the primitives that dominate derivative programs and falling back to the
// primitive's own evaluation (on contiguous copies) for the rest.
func (a *arena) evalEqn(e *ir.Eqn, in []value) (value, error) {
	switch p := e.Prim.(type) {
	case op.Broadcast:
		x := in[0]
		st := make([]int, len(p.Shape))
		for i, d := range p.Dims {
			if x.shape[i] == p.Shape[d] {
				st[d] = x.strides[i]
			}
		}
		return view(x, e.Out.Shape, st, x.off), nil
	case op.Transpose:
		x := in[0]
		st := make([]int, len(p.Perm))
		for i, src := range p.Perm {
			st[i] = x.strides[src]
		}
		return view(x, e.Out.Shape, st, x.off), nil
	case op.Reshape:
		x := in[0]
		if x.contiguous() {
			return view(x, e.Out.Shape, rowMajor(e.Out.Shape), x.off), nil
		}
		buf := a.alloc(x.size())
		gatherView(buf.data, x)
		return contiguousValue(buf, e.Out.Shape), nil
	case op.Slice:
		x := in[0]
		off := x.off
		for d := range p.Start {
			off += p.Start[d] * x.strides[d]
		}
		return view(x, e.Out.Shape, append([]int{}, x.strides...), off), nil
	case op.Constant:
		return contiguousValue(&buffer{data: p.Value.Data(), refs: 1}, p.Value.Shape()), nil
	case op.MatMul:
		return a.matmul(e, in[0], in[1]), nil
	case op.ReduceSum:
		return a.reduceSum(e, p, in[0]), nil
	}
	if row := rowKernel(e.Prim); row != nil {
		return a.elementwise(e.Out.Shape, in, row), nil
	}
	args := make([]*tensor.Tensor, len(in))
	for i, v := range in {
		args[i] = v.tensor()
	}
	t, err := e.Prim.(op.Evaluator).Eval(args)
	if err != nil {
		return value{}, err
	}
	return contiguousValue(&buffer{data: t.Data(), refs: 1}, t.Shape()), nil
}

// rowKernel returns the contiguous-row kernel of an elementwise primitive.
func rowKernel(p ir.Primitive) func(dst []float64, args [][]float64) {
	switch p := p.(type) {
	case op.Add:
		return func(d []float64, s [][]float64) {
			x, y := s[0][:len(d)], s[1][:len(d)]
			for i := range d {
				d[i] = x[i] + y[i]
			}
		}
	case op.Sub:
		return func(d []float64, s [][]float64) {
			x, y := s[0][:len(d)], s[1][:len(d)]
			for i := range d {
				d[i] = x[i] - y[i]
			}
		}
	case op.Mul:
		return func(d []float64, s [][]float64) {
			x, y := s[0][:len(d)], s[1][:len(d)]
			for i := range d {
				d[i] = x[i] * y[i]
			}
		}
	case op.Div:
		return func(d []float64, s [][]float64) {
			x, y := s[0][:len(d)], s[1][:len(d)]
			for i := range d {
				d[i] = x[i] / y[i]
			}
		}
	case op.Neg:
		return func(d []float64, s [][]float64) {
			x := s[0][:len(d)]
			for i := range d {
				d[i] = -x[i]
			}
		}
	case op.Exp:
		return func(d []float64, s [][]float64) { kernels.Exp(d, s[0]) }
	case op.Log:
		return func(d []float64, s [][]float64) { kernels.Log(d, s[0]) }
	case op.Tanh:
		return func(d []float64, s [][]float64) { kernels.Tanh(d, s[0]) }
	case op.Sigmoid:
		return func(d []float64, s [][]float64) { kernels.Sigmoid(d, s[0]) }
	case op.Sin:
		return func(d []float64, s [][]float64) { kernels.Sin(d, s[0]) }
	case op.Cos:
		return func(d []float64, s [][]float64) { kernels.Cos(d, s[0]) }
	case op.Erf:
		return func(d []float64, s [][]float64) { kernels.Erf(d, s[0]) }
	case op.Sqrt:
		return func(d []float64, s [][]float64) {
			x := s[0][:len(d)]
			for i := range d {
				d[i] = math.Sqrt(x[i])
			}
		}
	case op.IntPow:
		n := p.N
		return func(d []float64, s [][]float64) {
			x := s[0][:len(d)]
			for i := range d {
				d[i] = op.Powi(x[i], n)
			}
		}
	case op.Select:
		return func(d []float64, s [][]float64) {
			c, x, y := s[0][:len(d)], s[1][:len(d)], s[2][:len(d)]
			for i := range d {
				if c[i] != 0 {
					d[i] = x[i]
				} else {
					d[i] = y[i]
				}
			}
		}
	case op.Compare:
		f := op.CompareFunc(p.Op)
		return func(d []float64, s [][]float64) {
			x, y := s[0][:len(d)], s[1][:len(d)]
			for i := range d {
				if f(x[i], y[i]) {
					d[i] = 1
				} else {
					d[i] = 0
				}
			}
		}
	}
	return nil
}

// elementwise evaluates a row kernel over operands broadcast to shape:
// operands whose rows are not contiguous are copied row by row into
// scratch, never materialised whole.
func (a *arena) elementwise(shape []int, in []value, row func([]float64, [][]float64)) value {
	n := tensor.Size(shape)
	out := a.alloc(n)
	if n == 0 {
		return contiguousValue(out, shape)
	}
	strides := make([][]int, len(in)+1)
	strides[0] = rowMajor(shape)
	for i, v := range in {
		strides[i+1] = v.strides
	}
	cs, cst := collapse(shape, strides)
	r := len(cs)
	inner := 1
	if r > 0 {
		inner = cs[r-1]
	}
	args := make([][]float64, len(in))
	scratch := make([][]float64, len(in))
	base := make([]int, len(in))
	for i, v := range in {
		base[i] = v.off
		if r > 0 && cst[i+1][r-1] != 1 {
			scratch[i] = make([]float64, inner)
		}
	}
	idx := make([]int, max(r-1, 0))
	for o := 0; o < n; o += inner {
		for i, v := range in {
			src := v.buf.data
			if scratch[i] == nil {
				args[i] = src[base[i] : base[i]+inner]
				continue
			}
			s, sc := cst[i+1][r-1], scratch[i]
			if s == 0 {
				x := src[base[i]]
				for j := range sc {
					sc[j] = x
				}
			} else {
				for j := range sc {
					sc[j] = src[base[i]+j*s]
				}
			}
			args[i] = sc
		}
		row(out.data[o:o+inner], args)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			for i := range in {
				base[i] += cst[i+1][d]
			}
			if idx[d] < cs[d] {
				break
			}
			for i := range in {
				base[i] -= cst[i+1][d] * cs[d]
			}
			idx[d] = 0
		}
	}
	return contiguousValue(out, shape)
}

// matrix describes a 2-D operand for Dgemm: row stride and transposition.
func matrix(v value, rows, cols int, rs, cs int) (trans bool, ld int, ok bool) {
	switch {
	case cs == 1 || cols == 1:
		return false, max(rs, cols, 1), rows == 1 || rs >= cols
	case rs == 1 || rows == 1:
		return true, max(cs, rows, 1), cs >= rows
	}
	return false, 0, false
}

func (a *arena) matmul(e *ir.Eqn, x, y value) value {
	out := a.alloc(e.Out.Size())
	rx, ry := len(x.shape), len(y.shape)
	k := x.shape[rx-1]
	n := y.shape[ry-1]
	res := contiguousValue(out, e.Out.Shape)
	if e.Out.Size() == 0 {
		return res
	}
	if ry == 2 {
		// Collapse x's leading axes into rows when its layout allows.
		lead := x.shape[:rx-1]
		ls, lst := collapse(lead, [][]int{x.strides[:rx-1]})
		m := tensor.Size(lead)
		var xrs int
		switch len(ls) {
		case 0:
			xrs = k
		case 1:
			xrs = lst[0][0]
		default:
			xrs = -1
		}
		ty, ldy, oky := matrix(y, k, n, y.strides[0], y.strides[1])
		if xrs >= 0 && oky {
			tx, ldx, okx := matrix(x, m, k, xrs, x.strides[rx-1])
			if okx {
				op.Gemm(tx, ty, m, n, k, 1, x.buf.data[x.off:], ldx, y.buf.data[y.off:], ldy, 0, out.data, n)
				return res
			}
		}
		xf, yf := x.flat(), y.flat()
		op.Gemm(false, false, m, n, k, 1, xf, k, yf, n, 0, out.data, n)
		return res
	}
	// Batched: one product per leading index.
	m := x.shape[rx-2]
	xf, yf := x.flat(), y.flat()
	batch := tensor.Size(x.shape[:rx-2])
	for i := 0; i < batch; i++ {
		op.Gemm(false, false, m, n, k, 1, xf[i*m*k:], k, yf[i*k*n:], n, 0, out.data[i*m*n:], n)
	}
	return res
}

func (a *arena) reduceSum(e *ir.Eqn, p op.ReduceSum, x value) value {
	out := a.alloc(e.Out.Size())
	clear(out.data)
	res := contiguousValue(out, e.Out.Shape)
	if x.size() == 0 {
		return res
	}
	// Output strides over the input's axes: 0 on the summed ones.
	ost := rowMajor(e.Out.Shape)
	st := make([]int, len(x.shape))
	j := 0
	for d := range x.shape {
		summed := false
		for _, ax := range p.Axes {
			summed = summed || ax == d
		}
		if !summed {
			st[d] = ost[j]
			j++
		}
	}
	cs, cst := collapse(x.shape, [][]int{x.strides, st})
	r := len(cs)
	if r == 0 {
		out.data[0] = x.buf.data[x.off]
		return res
	}
	inner := cs[r-1]
	is, os := cst[0][r-1], cst[1][r-1]
	idx := make([]int, r-1)
	ib, ob := x.off, 0
	src, dst := x.buf.data, out.data
	total := x.size()
	for o := 0; o < total; o += inner {
		switch {
		case os == 0:
			acc := dst[ob]
			for i := 0; i < inner; i++ {
				acc += src[ib+i*is]
			}
			dst[ob] = acc
		default:
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
	return res
}
