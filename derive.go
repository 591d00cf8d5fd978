package jacobi

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Programs here follow one convention: input 0 is the variable x being
// differentiated, the other inputs are captured values (parameters) held
// fixed, and a derivative program keeps exactly those inputs.

func wrtFirst(p *ir.Program) []bool {
	w := make([]bool, len(p.In))
	w[0] = true
	return w
}

func basis(n int, shape []int) *tensor.Tensor {
	e := tensor.Eye(n)
	t, _ := e.Reshape(append([]int{n}, shape...)...)
	return t
}

// moveFirstToLast transposes axis 0 of v to the end.
func moveFirstToLast(b *ir.Builder, v *ir.Var) *ir.Var {
	r := v.Rank()
	perm := make([]int, r)
	for i := 0; i < r-1; i++ {
		perm[i] = i + 1
	}
	perm[r-1] = 0
	return b.Emit(op.Transpose{Perm: perm}, v)
}

// basisProducts inlines into b the program of p's JVP (forward) or VJP
// (reverse) with respect to its first input, mapped over the n basis
// vectors of shape, at args, and returns the mapped derivative (n, ...):
// the Jacobian's columns (forward) or rows (reverse).
func basisProducts(b *ir.Builder, p *ir.Program, args []*ir.Var, m Mode, n int, shape []int) (*ir.Var, error) {
	var d *ir.Program
	var err error
	if m == Forward {
		d, err = transform.JVP(p, wrtFirst(p))
	} else {
		d, err = transform.VJP(p, wrtFirst(p))
	}
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(d.In))
	flags[len(flags)-1] = true
	vm, err := transform.Vmap(d, flags, n)
	if err != nil {
		return nil, err
	}
	return b.Inline(vm, append(args, op.Const(b, basis(n, shape))))[1], nil
}

// inputsLike starts a builder with inputs shaped as p's.
func inputsLike(p *ir.Program) (*ir.Builder, []*ir.Var) {
	b := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(p.In))
	for i, v := range p.In {
		args[i] = b.Input(v.Shape)
	}
	return b, args
}

// jacobianProgram returns the program of dy/dx, shaped y.shape ++ x.shape,
// for a program of one output, by forward or reverse mode.
func jacobianProgram(p *ir.Program, m Mode) (*ir.Program, error) {
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("jacobian: program has %d outputs, want 1", len(p.Out))
	}
	x, y := p.In[0].Shape, p.Out[0].Shape
	nx, ny := tensor.Size(x), tensor.Size(y)
	b, args := inputsLike(p)
	var jac *ir.Var
	if m == Forward {
		cols, err := basisProducts(b, p, args, Forward, nx, x) // (nx, y...): the columns
		if err != nil {
			return nil, err
		}
		jac = b.Emit(op.Transpose{Perm: []int{1, 0}}, op.ReshapeTo(b, cols, []int{nx, ny}))
	} else {
		rows, err := basisProducts(b, p, args, Reverse, ny, y) // (ny, x...): the rows
		if err != nil {
			return nil, err
		}
		jac = rows
	}
	jac = op.ReshapeTo(b, jac, append(append([]int{}, y...), x...))
	q, err := b.Build(jac)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

// jacobianAuto resolves Auto by the cost model: both programs are built
// and the one with fewer FLOPs wins.
func jacobianAuto(p *ir.Program, m Mode) (*ir.Program, error) {
	q, _, err := jacobianChoice(p, m)
	return q, err
}

func jacobianChoice(p *ir.Program, m Mode) (*ir.Program, Mode, error) {
	if m != Auto {
		q, err := jacobianProgram(p, m)
		return q, m, err
	}
	fwd, rev, err := jacobianBoth(p)
	if err != nil {
		return nil, m, err
	}
	if cheaper(fwd, rev) == Reverse {
		return rev, Reverse, nil
	}
	return fwd, Forward, nil
}

// cheaper is Auto's rule: the mode whose program has fewer FLOPs (forward
// on a tie).
func cheaper(fwd, rev *ir.Program) Mode {
	if transform.CostOf(rev).FLOPs < transform.CostOf(fwd).FLOPs {
		return Reverse
	}
	return Forward
}

// jacobianBoth builds the forward- and reverse-mode Jacobian programs.
func jacobianBoth(p *ir.Program) (fwd, rev *ir.Program, err error) {
	if fwd, err = jacobianProgram(p, Forward); err != nil {
		return nil, nil, err
	}
	rev, err = jacobianProgram(p, Reverse)
	return fwd, rev, err
}

// hessianProgram returns d²y/dx², shaped y.shape ++ x.shape ++ x.shape, by
// forward-over-reverse. Forward mode gives the Hessian's columns, one per
// tangent; the Hessian is symmetric, so they are laid out as its rows
// instead of transposing them (the entry at (i, j) is ∂/∂xᵢ of ∂y/∂xⱼ: as
// exact as the one at (j, i), and the per-sample transpose of a small
// matrix cost a tenth of a Hessian's time).
func hessianProgram(p *ir.Program) (*ir.Program, error) {
	j, err := jacobianProgram(p, Reverse)
	if err != nil {
		return nil, err
	}
	x, y := p.In[0].Shape, p.Out[0].Shape
	nx, ny := tensor.Size(x), tensor.Size(y)
	b, args := inputsLike(j)
	cols, err := basisProducts(b, j, args, Forward, nx, x)
	if err != nil {
		return nil, err
	}
	// cols is (tangent, y..., x...): bring y's axes first.
	h := b.Emit(op.Transpose{Perm: []int{1, 0, 2}}, op.ReshapeTo(b, cols, []int{nx, ny, nx}))
	h = op.ReshapeTo(b, h, slices.Concat(y, x, x))
	q, err := b.Build(h)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

// diagProgram reduces a Hessian program (y ++ x ++ x, x a vector) to its
// diagonal (y ++ x) or, with trace, to the Laplacian (y).
func diagProgram(p *ir.Program, trace bool) (*ir.Program, error) {
	h, err := hessianProgram(p)
	if err != nil {
		return nil, err
	}
	x := p.In[0].Shape
	if len(x) != 1 {
		return nil, fmt.Errorf("hessian diagonal: the sample must be a vector, got shape %v", x)
	}
	n := x[0]
	b, args := inputsLike(h)
	hv := b.Inline(h, args)[0]
	r := hv.Rank()
	dims := []int{r - 2, r - 1}
	mask := b.Emit(op.Broadcast{Shape: hv.Shape, Dims: dims}, op.Const(b, tensor.Eye(n)))
	d := b.Emit(op.ReduceSum{Axes: []int{r - 1}}, b.Emit(op.Mul{}, hv, mask))
	if trace {
		d = b.Emit(op.ReduceSum{Axes: []int{r - 2}}, d)
	}
	q, err := b.Build(d)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

// ---- running transforms on nodes ----

// transformNode traces f at x, rewrites its program with build (which keeps
// the inputs), and inlines the result into the enclosing trace.
func transformNode(what string, f Fn, x *Node, build func(*ir.Program) (*ir.Program, error)) *Node {
	var fn func([]*Node) []*Node
	if f != nil {
		fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	c := transformation{what: what, args: []*Node{x}, nout: 1, fn: fn, build: build}
	return c.apply()[0]
}

// perSample wraps a per-sample derivative: it proves p independent across
// the batch axis 0 of x, applies derive to the per-sample program, and maps
// the result back over the batch.
func perSample(derive func(*ir.Program) (*ir.Program, error)) func(*ir.Program) (*ir.Program, error) {
	return func(p *ir.Program) (*ir.Program, error) {
		if p.In[0].Rank() < 1 {
			return nil, fmt.Errorf("the input must have a batch axis, got shape %v", p.In[0].Shape)
		}
		n := p.In[0].Shape[0]
		axes := make([]int, len(p.In))
		for i := range axes {
			axes[i] = -1
		}
		axes[0] = 0
		ps, outAxes, err := transform.Unbatch(p, axes)
		if err != nil {
			return nil, err
		}
		switch outAxes[0] {
		case 0:
		case -1:
			return nil, fmt.Errorf("the output %v does not depend on the samples of the input", p.Out[0].Shape)
		default:
			return nil, fmt.Errorf("the output %v has its batch axis at %d; it must be axis 0", p.Out[0].Shape, outAxes[0])
		}
		ps, err = transform.Simplify(ps)
		if err != nil {
			return nil, err
		}
		d, err := derive(ps)
		if err != nil {
			return nil, err
		}
		flags := make([]bool, len(d.In))
		flags[0] = true
		v, err := transform.Vmap(d, flags, n)
		if err != nil {
			return nil, err
		}
		return transform.Simplify(v)
	}
}
