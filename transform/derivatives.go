package transform

import (
	"errors"
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// The derivative programs here are built from JVP, VJP, Vmap and Taylor.
// They share one convention: input 0 is the variable x being
// differentiated, the other inputs are values held fixed (parameters,
// captured values), and the derivative program keeps exactly those inputs.

// Mode is how a first-order derivative program pushes derivatives.
type Mode int

const (
	// Forward pushes one tangent per element of x (JVP).
	Forward Mode = iota + 1
	// Reverse pulls one cotangent per element of the output (VJP).
	Reverse
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Forward:
		return "forward"
	case Reverse:
		return "reverse"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Jacobian returns the program of dy/dx, shaped y.shape ++ x.shape, for a
// program p of one output y and first input x: in forward mode the
// Jacobian's columns, one JVP per basis vector of x, mapped over the basis
// by Vmap; in reverse mode its rows, one VJP per basis vector of y.
func Jacobian(p *ir.Program, m Mode) (*ir.Program, error) {
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("jacobian: program has %d outputs, want 1", len(p.Out))
	}
	if len(p.In) == 0 {
		return nil, fmt.Errorf("jacobian: program has no inputs")
	}
	x, y := p.In[0].Shape, p.Out[0].Shape
	nx, ny := tensor.Size(x), tensor.Size(y)
	b, args := inputsLike(p)
	var jac *ir.Var
	switch m {
	case Forward:
		cols, err := basisProducts(b, p, args, Forward, nx, x) // (nx, y...): the columns
		if err != nil {
			return nil, err
		}
		jac = b.Emit(op.Transpose{Perm: []int{1, 0}}, op.ReshapeTo(b, cols, []int{nx, ny}))
	case Reverse:
		rows, err := basisProducts(b, p, args, Reverse, ny, y) // (ny, x...): the rows
		if err != nil {
			return nil, err
		}
		jac = rows
	default:
		return nil, fmt.Errorf("jacobian: %v is not a mode", m)
	}
	jac = op.ReshapeTo(b, jac, slices.Concat(y, x))
	q, err := b.Build(jac)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// Hessian returns d²y/dx², shaped y.shape ++ x.shape ++ x.shape, by
// forward over reverse. Forward mode gives the Hessian's columns, one per
// tangent; the Hessian is symmetric, so they are laid out as its rows
// instead of transposing them (the entry at (i, j) is ∂/∂xᵢ of ∂y/∂xⱼ: as
// exact as the one at (j, i), and the per-sample transpose of a small
// matrix cost a tenth of a Hessian's time).
func Hessian(p *ir.Program) (*ir.Program, error) {
	j, err := Jacobian(p, Reverse)
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
	return Simplify(q)
}

// HessianDiagNested returns the diagonal of the Hessian (y.shape ++ x.shape)
// of a program whose x is a vector, from the whole Hessian.
func HessianDiagNested(p *ir.Program) (*ir.Program, error) { return hessianDiag(p, false) }

// LaplacianNested returns the trace of the Hessian (y.shape) of a program
// whose x is a vector, from the whole Hessian.
func LaplacianNested(p *ir.Program) (*ir.Program, error) { return hessianDiag(p, true) }

func hessianDiag(p *ir.Program, trace bool) (*ir.Program, error) {
	n, err := sampleVector(p, "hessian diagonal")
	if err != nil {
		return nil, err
	}
	h, err := Hessian(p)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(h)
	hv := b.Inline(h, args)[0]
	r := hv.Rank()
	dims := []int{r - 2, r - 1}
	mask := b.Emit(op.Broadcast{Shape: hv.Shape, Dims: dims}, b.Emit(op.Basis{Shape: []int{n}, DType: hv.DType}))
	d := b.Emit(op.ReduceSum{Axes: []int{r - 1}}, b.Emit(op.Mul{}, hv, mask))
	if trace {
		d = b.Emit(op.ReduceSum{Axes: []int{r - 2}}, d)
	}
	q, err := b.Build(d)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// ScalarOutput returns p with its single-element output reshaped to shape
// (), or an error naming what needs it when the output has more elements.
func ScalarOutput(p *ir.Program, what string) (*ir.Program, error) {
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("%s: program has %d outputs, want 1", what, len(p.Out))
	}
	if n := p.Out[0].Size(); n != 1 {
		return nil, fmt.Errorf("the function's output has %d elements (shape %v); %s needs one", n, p.Out[0].Shape, what)
	}
	if p.Out[0].Rank() == 0 {
		return p, nil
	}
	b, args := inputsLike(p)
	y := b.Inline(p, args)[0]
	return b.Build(op.ReshapeTo(b, y, []int{}))
}

// PerSample applies derive, written for one sample, to a program over a
// batch: it proves p independent across the batch axis 0 of its first
// input (Unbatch: an *op.MixError names the primitive that mixes samples),
// applies derive to the per-sample program, and maps the result back over
// the batch (Vmap). Inputs other than the first are shared by all samples;
// when the proof fails so, those with the batch's leading dimension are
// taken to carry samples along axis 0 as well (values captured beside x,
// such as t when u(t, x) is differentiated in x alone).
func PerSample(p *ir.Program, derive func(*ir.Program) (*ir.Program, error)) (*ir.Program, error) {
	if len(p.In) == 0 || p.In[0].Rank() < 1 {
		return nil, fmt.Errorf("the input must have a batch axis")
	}
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("per-sample derivative: program has %d outputs, want 1", len(p.Out))
	}
	n := p.In[0].Shape[0]
	axes := make([]int, len(p.In))
	for i := range axes {
		axes[i] = -1
	}
	axes[0] = 0
	ps, outAxes, err := Unbatch(p, axes)
	var mix *op.MixError
	if errors.As(err, &mix) {
		// Values captured with the batch's leading dimension may carry the
		// samples too (t beside x, when x is differentiated alone): the
		// proof with those batched along axis 0 holds as well.
		alt := slices.Clone(axes)
		for i, v := range p.In[1:] {
			if v.Rank() > 0 && v.Shape[0] == n {
				alt[i+1] = 0
			}
		}
		if !slices.Equal(alt, axes) {
			if q, qAxes, qErr := Unbatch(p, alt); qErr == nil {
				ps, outAxes, err, axes = q, qAxes, nil, alt
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if n == 1 {
		ps, outAxes = BatchFirstAtOne(p, ps, outAxes)
	}
	switch outAxes[0] {
	case 0:
	case -1:
		return nil, fmt.Errorf("the output %v does not depend on the samples of the input", p.Out[0].Shape)
	default:
		return nil, fmt.Errorf("the output %v has its batch axis at %d; it must be axis 0", p.Out[0].Shape, outAxes[0])
	}
	ps, err = Simplify(ps)
	if err != nil {
		return nil, err
	}
	d, err := derive(ps)
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(d.In))
	for i := range flags {
		flags[i] = axes[i] == 0
	}
	v, err := Vmap(d, flags, n)
	if err != nil {
		return nil, err
	}
	// Without linear folding: derive's program was folded per sample, and
	// a chain folded over the batch would be one product across the
	// samples (reshape(v, 1×b·k)·M), which Unbatch must then refuse as
	// mixing them (the one-shot derivatives at b = 2 or 3, where b·k is
	// small enough to fold).
	return simplify(v)
}

// BatchFirstAtOne takes Unbatch's per-sample program ps of p, a program
// over a batch of one sample, and its outputs' batch axes, and moves to
// axis 0 the batch axis of every output that has it elsewhere while axis 0
// also has size 1. At one sample the batch axis cannot always be told from
// the shapes (x of shape (1, 2) reshaped to (1, 1, 2) — an ONNX Unsqueeze —
// then transposed), but removing either axis of size 1 leaves the same
// values in the same order: the output is the same with the batch first.
func BatchFirstAtOne(p, ps *ir.Program, outAxes []int) (*ir.Program, []int) {
	move := false
	for i, a := range outAxes {
		if s := p.Out[i].Shape; a > 0 && s[0] == 1 && s[a] == 1 {
			move = true
		}
	}
	if !move {
		return ps, outAxes
	}
	b, args := inputsLike(ps)
	outs := b.Inline(ps, args)
	axes := slices.Clone(outAxes)
	for i, a := range outAxes {
		if s := p.Out[i].Shape; a > 0 && s[0] == 1 && s[a] == 1 {
			outs[i] = op.ReshapeTo(b, outs[i], s[1:])
			axes[i] = 0
		}
	}
	q, err := b.Build(outs...)
	if err != nil {
		return ps, outAxes
	}
	return q, axes
}

// ---- helpers ----

func wrtFirst(p *ir.Program) []bool {
	w := make([]bool, len(p.In))
	w[0] = true
	return w
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
	dt := p.In[0].DType // of the tangents
	if m == Forward {
		d, err = JVP(p, wrtFirst(p))
	} else {
		d, err = VJP(p, wrtFirst(p))
		dt = p.Out[0].DType // of the cotangents
	}
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(d.In))
	flags[len(flags)-1] = true
	vm, err := Vmap(d, flags, n)
	if err != nil {
		return nil, err
	}
	// The n basis vectors of shape, generated (see op.Basis).
	return b.Inline(vm, append(args, identity(b, n, shape, dt)))[1], nil
}

// identity emits the n basis vectors of shape, stacked (n, shape...): the
// identity matrix of order n, reshaped. Simplify reduces the identity's
// products (I·W = W, also through the reshape), so the n × n values are
// generated at run time only where nothing absorbs them.
func identity(b *ir.Builder, n int, shape []int, dt tensor.DType) *ir.Var {
	eye := b.Emit(op.Basis{Shape: []int{n}, DType: dt})
	if len(shape) == 1 {
		return eye
	}
	return b.Emit(op.Reshape{Shape: append([]int{n}, shape...)}, eye)
}

// inputsLike starts a builder with inputs shaped as p's.
func inputsLike(p *ir.Program) (*ir.Builder, []*ir.Var) { return inputsLikeVars(p.In) }

// inputsLikeVars starts a builder with inputs shaped as vs.
func inputsLikeVars(vs []*ir.Var) (*ir.Builder, []*ir.Var) {
	b := ir.NewBuilder(nil)
	in := make([]*ir.Var, len(vs))
	for i, v := range vs {
		in[i] = b.InputLike(v)
	}
	return b, in
}

// sampleVector checks that a per-sample program takes a vector.
func sampleVector(p *ir.Program, what string) (int, error) {
	x := p.In[0].Shape
	if len(x) != 1 {
		return 0, fmt.Errorf("%s: each sample must be a vector, got shape %v", what, x)
	}
	return x[0], nil
}

// ValueAndGrad returns the program of p's value and its gradient with
// respect to every input flagged in wrt, in order, for a program of one
// single-element output: reverse mode with the cotangent 1.
func ValueAndGrad(p *ir.Program, wrt []bool) (*ir.Program, error) {
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("value and grad: program has %d outputs, want 1", len(p.Out))
	}
	if n := p.Out[0].Size(); n != 1 {
		return nil, fmt.Errorf("the function's output has shape %v; grad needs a single element", p.Out[0].Shape)
	}
	vp, err := VJP(p, wrt)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	outs := b.Inline(vp, append(args, op.Const(b, tensor.FullOf(p.Out[0].DType, 1, p.Out[0].Shape...))))
	q, err := b.Build(outs...)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}
