package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// MatMul multiplies matrices: x (..., m, k) times y (k, n) or y (..., k, n)
// with the same leading dimensions as x, giving (..., m, n). Bilinear; the
// runtime's strided matrix product.
type MatMul struct{}

// Name implements ir.Primitive.
func (MatMul) Name() string { return "matmul" }

// OutShape implements ir.Primitive.
func (MatMul) OutShape(in [][]int) ([]int, error) {
	if err := checkArity(in, 2); err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	if len(x) < 2 || len(y) < 2 {
		return nil, fmt.Errorf("needs operands of rank 2 or more, got %v and %v", x, y)
	}
	if len(y) != 2 && (len(y) != len(x) || !tensor.SameShape(x[:len(x)-2], y[:len(y)-2])) {
		return nil, fmt.Errorf("batched operands %v and %v need the same leading dimensions", x, y)
	}
	k := x[len(x)-1]
	if y[len(y)-2] != k {
		return nil, fmt.Errorf("inner dimensions differ: %v times %v", x, y)
	}
	out := append([]int{}, x[:len(x)-1]...)
	return append(out, y[len(y)-1]), nil
}

// Identity implements IdentityRule: I·y = y and x·I = x (for matrices), so
// the basis forward mode pushes into a first layer is never generated.
func (MatMul) Identity(in []Operand, _ []int) Rewrite {
	if in[0].Var.DType != in[1].Var.DType {
		return Rewrite{}
	}
	if in[0].Identity && in[1].Var.Rank() == 2 {
		return Rewrite{Kind: UseInput, Input: 1}
	}
	if in[1].Identity && in[0].Var.Rank() == 2 {
		return Rewrite{Kind: UseInput, Input: 0}
	}
	return Rewrite{}
}

// FLOPs implements CostRule: a multiply and an add per term.
func (MatMul) FLOPs(in [][]int, out []int) float64 {
	x := in[0]
	return 2 * float64(tensor.Size(out)) * float64(x[len(x)-1])
}

// Lowering implements Lowerer.
func (MatMul) Lowering() Lowering { return MatrixProduct }

func (MatMul) bilinear() {}

// Eval implements Evaluator.
func (p MatMul) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) {
	s, err := p.OutShape([][]int{in[0].Shape(), in[1].Shape()})
	if err != nil {
		return nil, err
	}
	if err := sameDTypes(in); err != nil {
		return nil, err
	}
	out := tensor.ZerosOf(in[0].DType(), s...)
	if out.DType() == tensor.Float32 {
		matmulInto(out.Data32(), in[0].Data32(), in[1].Data32(), in[0].Shape(), in[1].Shape())
	} else {
		matmulInto(out.Data(), in[0].Data(), in[1].Data(), in[0].Shape(), in[1].Shape())
	}
	return out, nil
}

func matmulInto[T tensor.Float](out, x, y []T, xs, ys []int) {
	gemm := GemmOf[T]()
	k, n := xs[len(xs)-1], ys[len(ys)-1]
	if len(ys) == 2 {
		m := len(x) / max(k, 1)
		if k == 0 {
			m = tensor.Size(xs[:len(xs)-1])
		}
		gemm(false, false, false, m, n, k, 1, x, k, y, n, 0, out, n)
		return
	}
	m := xs[len(xs)-2]
	batch := tensor.Size(xs[:len(xs)-2])
	for i := 0; i < batch; i++ {
		gemm(false, false, false, m, n, k, 1, x[i*m*k:], k, y[i*k*n:], n, 0, out[i*m*n:], n)
	}
}

// LinearIn implements Linear.
func (MatMul) LinearIn(int) bool { return true }

// Transpose implements Linear.
func (MatMul) Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, shapes [][]int, lin []bool) []*ir.Var {
	if lin[0] && lin[1] {
		b.Fail(fmt.Errorf("matmul: both operands are linear (internal error)"))
		return []*ir.Var{nil, nil}
	}
	if lin[0] {
		return []*ir.Var{b.Emit(MatMul{}, ct, SwapLast(b, in[1])), nil}
	}
	x := in[0]
	if len(shapes[1]) == 2 && x.Rank() > 2 {
		k, n := x.Shape[x.Rank()-1], ct.Shape[ct.Rank()-1]
		x = ReshapeTo(b, x, []int{x.Size() / max(k, 1), k})
		ct = ReshapeTo(b, ct, []int{ct.Size() / max(n, 1), n})
		if k == 0 || n == 0 {
			return []*ir.Var{nil, Zeros(b, ct.DType, shapes[1])}
		}
	}
	return []*ir.Var{nil, b.Emit(MatMul{}, SwapLast(b, x), ct)}
}

// Batch implements BatchRule.
func (p MatMul) Batch(b *ir.Builder, in []*ir.Var, bt []bool, n int) *ir.Var {
	x, y := in[0], in[1]
	switch {
	case bt[0] && !bt[1]:
		if y.Rank() == 2 {
			return b.Emit(p, x, y)
		}
		return b.Emit(p, x, BroadcastBatch(b, y, n))
	case !bt[0] && bt[1]:
		if x.Rank() == 2 {
			// (x y_i) = (y_iᵀ xᵀ)ᵀ keeps the shared operand on the right,
			// where one large product serves every sample.
			return SwapLast(b, b.Emit(p, SwapLast(b, y), SwapLast(b, x)))
		}
		return p.Batch(b, []*ir.Var{BroadcastBatch(b, x, n), y}, []bool{true, true}, n)
	default:
		if y.Rank() == 3 && x.Rank() > 3 {
			// y was a matrix shared along x's leading axes: give it those axes.
			lead := x.Shape[:x.Rank()-2]
			shape := append(append([]int{}, lead...), y.Shape[1:]...)
			dims := []int{0, len(shape) - 2, len(shape) - 1}
			y = b.Emit(Broadcast{Shape: shape, Dims: dims}, y)
		}
		return b.Emit(p, x, y)
	}
}

// Unbatch implements UnbatchRule.
func (p MatMul) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error) {
	x, y := in[0], in[1]
	ax, ay := axes[0], axes[1]
	rx, ry := len(shapes[0]), len(shapes[1])
	switch {
	case ax < 0 && ay < 0:
		return b.Emit(p, x, y), -1, nil
	case ax >= 0 && ay < 0:
		switch {
		case ax == rx-1:
			return nil, 0, mix(p, "contracts over the batch axis of its left operand %v", shapes[0])
		case ax == rx-2:
			// Each sample is one row: multiply it as a 1-row matrix.
			row := ReshapeTo(b, x, tensor.InsertAxis(x.Shape, x.Rank()-1, 1))
			out := b.Emit(p, row, y)
			return ReshapeTo(b, out, tensor.RemoveAxis(out.Shape, out.Rank()-2)), ax, nil
		default:
			if ry > 2 {
				d, err := drop(1, ax)
				if err != nil {
					return nil, 0, err
				}
				y = d
			}
			return b.Emit(p, x, y), ax, nil
		}
	case ax < 0 && ay >= 0:
		switch {
		case ay == ry-2:
			return nil, 0, mix(p, "contracts over the batch axis of its right operand %v", shapes[1])
		case ay == ry-1:
			col := ReshapeTo(b, y, append(append([]int{}, y.Shape...), 1))
			out := b.Emit(p, x, col)
			return ReshapeTo(b, out, out.Shape[:out.Rank()-1]), rx - 1, nil
		default:
			d, err := drop(0, ay)
			if err != nil {
				return nil, 0, err
			}
			return b.Emit(p, d, y), ay, nil
		}
	default:
		if ax == ay && ax < rx-2 {
			return b.Emit(p, x, y), ax, nil
		}
		return nil, 0, mix(p, "multiplies samples of %v (batch axis %d) with samples of %v (batch axis %d)", shapes[0], ax, shapes[1], ay)
	}
}
