package transform

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Second-order operators by collapsed Taylor mode (see Taylor): one forward
// pass carries the value, k first-order directions and one summed
// second-order coefficient. The programs here take vector samples; FlatSample
// adapts them to samples of any shape.

// TaylorOperator returns the program of Σ_k w_k V_kᵀ H V_k + J·drift for
// every output of p (H and J with respect to p's first input x, a vector
// of n), with p's inputs: dirs holds the k directions (k, n), weights their
// weights (nil: all 1), drift a vector of n or nil.
func TaylorOperator(p *ir.Program, dirs *tensor.Tensor, weights []float64, drift *tensor.Tensor) (*ir.Program, error) {
	if dirs == nil || dirs.Rank() != 2 || !tensor.SameShape(dirs.Shape()[1:], p.In[0].Shape) {
		return nil, fmt.Errorf("taylor operator: directions must be (k, %v)", p.In[0].Shape)
	}
	dt := p.In[0].DType // the directions and drift are rounded to x's dtype
	return taylorOperator(p, dirs.Shape()[0], func(b *ir.Builder) *ir.Var { return op.Const(b, dirs.Convert(dt)) }, weights, drift)
}

// taylorOperator is TaylorOperator with the k directions emitted by dirs.
func taylorOperator(p *ir.Program, k int, dirs func(*ir.Builder) *ir.Var, weights []float64, drift *tensor.Tensor) (*ir.Program, error) {
	tp, err := Taylor(p, k, weights)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	dt := p.In[0].DType
	var dv *ir.Var
	if drift == nil {
		dv = op.Full(b, 0, dt, p.In[0].Shape)
	} else {
		dv = op.Const(b, drift.Convert(dt))
	}
	outs := b.Inline(tp, append(args, dirs(b), dv))
	q, err := b.Build(outs[2*len(p.Out)])
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// Laplacian returns the trace of the Hessian of every output of p with
// respect to its first input, a vector, by collapsed Taylor mode.
func Laplacian(p *ir.Program) (*ir.Program, error) {
	n, err := sampleVector(p, "laplacian")
	if err != nil {
		return nil, err
	}
	// The n basis directions, generated (see op.Basis).
	dt := p.In[0].DType
	return taylorOperator(p, n, func(b *ir.Builder) *ir.Var { return b.Emit(op.Basis{Shape: []int{n}, DType: dt}) }, nil, nil)
}

// HessianDiagTaylor returns the diagonal of the Hessian of every output of
// p with respect to its first input, a vector of n (y.shape ++ (n)), by
// Taylor mode one direction at a time, mapped over the n basis directions
// so that every H_kk is kept (uncollapsed).
func HessianDiagTaylor(p *ir.Program) (*ir.Program, error) {
	n, err := sampleVector(p, "hessian diagonal")
	if err != nil {
		return nil, err
	}
	tp, err := Taylor(p, 1, nil)
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(tp.In))
	flags[len(flags)-2] = true // the direction; the second-order input stays shared
	vm, err := Vmap(tp, flags, n)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	dt := p.In[0].DType
	dirs := identity(b, n, []int{1, n}, dt) // (n, 1, n): one direction each
	outs := b.Inline(vm, append(args, dirs, op.Const(b, tensor.ZerosOf(dt, n))))
	d := moveFirstToLast(b, outs[2*len(p.Out)]) // (y..., n)
	q, err := b.Build(d)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// Operator returns, for every output of p, Σ_ij A_ij ∂²y/∂x_i∂x_j +
// Σ_i drift_i ∂y/∂x_i with respect to p's first input x, a vector of n: A
// is (n, n) (only its symmetric part matters), drift a vector of n or nil.
// A is factored as Σ_k w_k v_k v_kᵀ (eigendecomposition, w_k = ±1) for
// TaylorOperator.
func Operator(p *ir.Program, a, drift *tensor.Tensor) (*ir.Program, error) {
	n, err := sampleVector(p, "operator")
	if err != nil {
		return nil, err
	}
	if drift != nil && !tensor.SameShape(drift.Shape(), []int{n}) {
		return nil, fmt.Errorf("operator: the vector b has shape %v, want [%d]", drift.Shape(), n)
	}
	v, w, err := operatorDirections(a, n)
	if err != nil {
		return nil, err
	}
	return TaylorOperator(p, v, w, drift)
}

// Jet returns the program of, for p's single output y, in one collapsed
// Taylor pass in p's first input x (a vector of n): y itself, its
// derivatives J·V_k along the k rows of dirs (k, n), shaped y.shape ++ (k),
// and the operator Σ_k w_k V_kᵀ H V_k + J·drift, shaped as y (weights nil:
// all 1; drift nil: none). A residual that needs a value, first
// derivatives and a second-order operator of one network gets all three
// from the chains one operator already carries.
func Jet(p *ir.Program, dirs *tensor.Tensor, weights []float64, drift *tensor.Tensor) (*ir.Program, error) {
	n, err := sampleVector(p, "jet")
	if err != nil {
		return nil, err
	}
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("jet: the function has %d outputs, want 1", len(p.Out))
	}
	if dirs == nil || dirs.Rank() != 2 || dirs.Shape()[0] < 1 || dirs.Shape()[1] != n {
		var s []int
		if dirs != nil {
			s = dirs.Shape()
		}
		return nil, fmt.Errorf("jet: the directions have shape %v, want (k, %d) with k ≥ 1", s, n)
	}
	k := dirs.Shape()[0]
	if weights != nil && len(weights) != k {
		return nil, fmt.Errorf("jet: %d weights for %d directions", len(weights), k)
	}
	if drift != nil && !tensor.SameShape(drift.Shape(), []int{n}) {
		return nil, fmt.Errorf("jet: the drift has shape %v, want [%d]", drift.Shape(), n)
	}
	if !allFinite(dirs.Convert(tensor.Float64).Data()) || !allFinite(weights) || (drift != nil && !allFinite(drift.Convert(tensor.Float64).Data())) {
		return nil, fmt.Errorf("jet: the directions, weights or drift hold a NaN or an infinity")
	}
	tp, err := Taylor(p, k, weights)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	dt := p.In[0].DType
	dv := op.Full(b, 0, dt, []int{n})
	if drift != nil {
		dv = op.Const(b, drift.Convert(dt))
	}
	outs := b.Inline(tp, append(args, op.Const(b, dirs.Convert(dt)), dv))
	q, err := b.Build(outs[0], moveFirstToLast(b, outs[1]), outs[2]) // (k, y...) → (y..., k)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// operatorDirections factors the symmetric part of a as Σ_k w_k v_k v_kᵀ
// (eigendecomposition; w_k = ±1, v_k scaled by √|λ_k|).
func operatorDirections(a *tensor.Tensor, n int) (*tensor.Tensor, []float64, error) {
	if a == nil || !tensor.SameShape(a.Shape(), []int{n, n}) {
		var s []int
		if a != nil {
			s = a.Shape()
		}
		return nil, nil, fmt.Errorf("operator: the matrix A has shape %v, want [%d %d]", s, n, n)
	}
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (a.At(i, j)+a.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, nil, fmt.Errorf("operator: eigendecomposition of A failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := 0.0
	for _, l := range vals {
		top = math.Max(top, math.Abs(l))
	}
	var rows []float64
	var w []float64
	for k, l := range vals {
		if math.Abs(l) <= 1e-14*top || l == 0 {
			continue
		}
		s := math.Sqrt(math.Abs(l))
		for i := 0; i < n; i++ {
			rows = append(rows, s*vecs.At(i, k))
		}
		w = append(w, math.Copysign(1, l))
	}
	if len(w) == 0 { // A = 0: a single zero direction keeps shapes simple
		rows, w = make([]float64, n), []float64{0}
	}
	v, err := tensor.New([]int{len(w), n}, rows)
	return v, w, err
}

// FlatSample applies derive, written for programs whose first input is a
// vector, to a program whose first input has any shape: it is flattened
// on the way in, and when the (first) result ends with one axis per input
// element (diag set: a Hessian diagonal), that axis gets the input's shape
// back.
func FlatSample(p *ir.Program, diag bool, derive func(*ir.Program) (*ir.Program, error)) (*ir.Program, error) {
	shape := p.In[0].Shape
	if len(shape) == 1 {
		return derive(p)
	}
	n := tensor.Size(shape)
	fb := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(p.In))
	args[0] = fb.InputOf(p.In[0].DType, []int{n})
	for i, v := range p.In[1:] {
		args[i+1] = fb.InputLike(v)
	}
	in := append([]*ir.Var{op.ReshapeTo(fb, args[0], shape)}, args[1:]...)
	flat, err := fb.Build(fb.Inline(p, in)...)
	if err != nil {
		return nil, err
	}
	d, err := derive(flat)
	if err != nil {
		return nil, err
	}
	b, outer := inputsLike(p)
	outer[0] = op.ReshapeTo(b, outer[0], []int{n})
	res := b.Inline(d, outer)
	if diag {
		lead := res[0].Shape[:res[0].Rank()-1]
		res[0] = op.ReshapeTo(b, res[0], append(append([]int{}, lead...), shape...))
	}
	q, err := b.Build(res...)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
