package exec

import (
	"math"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
)

// rowKernel computes one contiguous row of an elementwise primitive from
// rows of its (up to three) operands.
type rowKernel func(d, a, b, c []float64)

// rowKernels returns the row kernel of an elementwise primitive, or nil.
func rowKernels(p ir.Primitive) rowKernel {
	switch p := p.(type) {
	case op.Add:
		return func(d, a, b, c []float64) { kernels.Add(d, a[:len(d)], b[:len(d)]) }
	case op.Sub:
		return func(d, a, b, c []float64) {
			x, y := a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = x[i] - y[i]
			}
		}
	case op.Mul:
		return func(d, a, b, c []float64) { kernels.Mul(d, a[:len(d)], b[:len(d)]) }
	case op.Div:
		return func(d, a, b, c []float64) {
			x, y := a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = x[i] / y[i]
			}
		}
	case op.Neg:
		return func(d, a, b, c []float64) {
			x := a[:len(d)]
			for i := range d {
				d[i] = -x[i]
			}
		}
	case op.Exp:
		return func(d, a, b, c []float64) { kernels.Exp(d, a) }
	case op.Log1p:
		return func(d, a, b, c []float64) {
			x := a[:len(d)]
			for i := range d {
				d[i] = math.Log1p(x[i])
			}
		}
	case op.Log:
		return func(d, a, b, c []float64) { kernels.Log(d, a) }
	case op.Tanh:
		return func(d, a, b, c []float64) { kernels.Tanh(d, a) }
	case op.Sigmoid:
		return func(d, a, b, c []float64) { kernels.Sigmoid(d, a) }
	case op.Sin:
		return func(d, a, b, c []float64) { kernels.Sin(d, a) }
	case op.Cos:
		return func(d, a, b, c []float64) { kernels.Cos(d, a) }
	case op.Erf:
		return func(d, a, b, c []float64) { kernels.Erf(d, a) }
	case op.Sqrt:
		return func(d, a, b, c []float64) {
			x := a[:len(d)]
			for i := range d {
				d[i] = math.Sqrt(x[i])
			}
		}
	case op.IntPow:
		n := p.N
		return func(d, a, b, c []float64) {
			x := a[:len(d)]
			for i := range d {
				d[i] = op.Powi(x[i], n)
			}
		}
	case op.Select:
		return func(d, a, b, c []float64) {
			pr, x, y := a[:len(d)], b[:len(d)], c[:len(d)]
			for i := range d {
				if pr[i] != 0 {
					d[i] = x[i]
				} else {
					d[i] = y[i]
				}
			}
		}
	case op.Compare:
		f := op.CompareFunc(p.Op)
		return func(d, a, b, c []float64) {
			x, y := a[:len(d)], b[:len(d)]
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
