package transform_test

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// smallNet is y = W2ᵀ·tanh(W1ᵀ·x + c) ⊙ (1 + x₀²) for a vector x of 3 and
// parameters W1 (3, 5), c (5), W2 (5, 2): two outputs, every second
// derivative nonzero.
func smallNet(t *testing.T) (*ir.Program, []*tensor.Tensor) {
	t.Helper()
	b := ir.NewBuilder(nil)
	x, w1, c, w2 := b.Input([]int{3}), b.Input([]int{3, 5}), b.Input([]int{5}), b.Input([]int{5, 2})
	row := op.ReshapeTo(b, x, []int{1, 3})
	h := b.Emit(op.Tanh{}, b.Emit(op.Add{}, op.ReshapeTo(b, b.Emit(op.MatMul{}, row, w1), []int{5}), c))
	y := op.ReshapeTo(b, b.Emit(op.MatMul{}, op.ReshapeTo(b, h, []int{1, 5}), w2), []int{2})
	x0 := b.Emit(op.Slice{Start: []int{0}, Limit: []int{1}}, x)
	scale := b.Emit(op.Add{}, op.Full(b, 1, tensor.Float64, []int{1}), b.Emit(op.Mul{}, x0, x0))
	y = b.Emit(op.Mul{}, y, b.Emit(op.Broadcast{Shape: []int{2}, Dims: []int{0}}, scale))
	p, err := b.Build(y)
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRand(5)
	return p, []*tensor.Tensor{tensor.Randn(rng, 3), tensor.Randn(rng, 3, 5), tensor.Randn(rng, 5), tensor.Randn(rng, 5, 2)}
}

// The derivative programs against finite differences and against each
// other: Jacobians in both modes, the Hessian, its diagonal and trace by
// Taylor mode and by nesting, an operator, and PerSample against a loop.
func TestDerivativePrograms(t *testing.T) {
	p, in := smallNet(t)
	x := in[0]
	params := in[1:]
	at := func(q *ir.Program, xv []float64) []float64 {
		args := append([]*tensor.Tensor{tensor.MustNew([]int{3}, append([]float64{}, xv...))}, params...)
		return fdcheck.Run(t, q, args...)[0].Data()
	}
	run := func(what string, build func(*ir.Program) (*ir.Program, error)) []float64 {
		t.Helper()
		q, err := build(p)
		fdcheck.Valid(t, what, q, err)
		return fdcheck.Run(t, q, in...)[0].Data()
	}

	// Jacobian (2, 3): forward and reverse against central differences.
	jf := mat.NewDense(2, 3, nil)
	fd.Jacobian(jf, func(y, xv []float64) { copy(y, at(p, xv)) }, x.Data(), &fd.JacobianSettings{Formula: fd.Central})
	for _, m := range []transform.Mode{transform.Forward, transform.Reverse} {
		got := run(fmt.Sprint("jacobian ", m), func(p *ir.Program) (*ir.Program, error) { return transform.Jacobian(p, m) })
		fdcheck.Compare(t, fmt.Sprint("jacobian, ", m), got, jf.RawMatrix().Data, []int{2, 3}, fdcheck.First)
	}
	if _, err := transform.Jacobian(p, transform.Mode(0)); err == nil {
		t.Error("Jacobian accepted mode 0")
	}

	// Hessian (2, 3, 3): central differences of the Jacobian.
	jp, err := transform.Jacobian(p, transform.Reverse)
	fdcheck.Valid(t, "jacobian", jp, err)
	hf := mat.NewDense(6, 3, nil)
	fd.Jacobian(hf, func(y, xv []float64) { copy(y, at(jp, xv)) }, x.Data(), &fd.JacobianSettings{Formula: fd.Central})
	h := run("hessian", transform.Hessian)
	fdcheck.Compare(t, "hessian", h, hf.RawMatrix().Data, []int{2, 3, 3}, fdcheck.Second)

	// Its diagonal and trace, two ways each, against the Hessian.
	diag, trace := make([]float64, 6), make([]float64, 2)
	for o := range 2 {
		for i := range 3 {
			diag[o*3+i] = h[o*9+i*3+i]
			trace[o] += h[o*9+i*3+i]
		}
	}
	fdcheck.Compare(t, "hessian diagonal, taylor", run("diag taylor", transform.HessianDiagTaylor), diag, []int{2, 3}, fdcheck.Tight)
	fdcheck.Compare(t, "hessian diagonal, nested", run("diag nested", transform.HessianDiagNested), diag, []int{2, 3}, fdcheck.Tight)
	fdcheck.Compare(t, "laplacian, taylor", run("laplacian", transform.Laplacian), trace, []int{2}, fdcheck.Tight)
	fdcheck.Compare(t, "laplacian, nested", run("laplacian nested", transform.LaplacianNested), trace, []int{2}, fdcheck.Tight)

	// Σ A_ij H_ij + b·∇y for an indefinite A.
	a := tensor.MustNew([]int{3, 3}, []float64{2, 1, 0, 1, -1, 0.5, 0, 0.5, 0.3})
	drift := tensor.MustNew([]int{3}, []float64{0.5, -2, 1})
	jac := run("jacobian", func(p *ir.Program) (*ir.Program, error) { return transform.Jacobian(p, transform.Forward) })
	want := make([]float64, 2)
	for o := range 2 {
		for i := range 3 {
			for j := range 3 {
				want[o] += a.At(i, j) * h[o*9+i*3+j]
			}
			want[o] += drift.At(i) * jac[o*3+i]
		}
	}
	got := run("operator", func(p *ir.Program) (*ir.Program, error) { return transform.Operator(p, a, drift) })
	fdcheck.Compare(t, "operator", got, want, []int{2}, fdcheck.Tight)
	if _, err := transform.Operator(p, tensor.Zeros(2, 2), nil); err == nil {
		t.Error("Operator accepted a matrix of the wrong shape")
	}
}

// PerSample maps a per-sample derivative over a batch: the same as the
// derivative sample by sample; a program that mixes samples is refused
// with the primitive that does it.
func TestPerSampleProgram(t *testing.T) {
	p, in := smallNet(t)
	const n = 4
	flags := make([]bool, len(p.In))
	flags[0] = true
	batched, err := transform.Vmap(p, flags, n)
	fdcheck.Valid(t, "batched program", batched, err)

	x := tensor.Randn(tensor.NewRand(6), n, 3)
	d, err := transform.PerSample(batched, transform.Laplacian)
	fdcheck.Valid(t, "per-sample laplacian", d, err)
	got := fdcheck.Run(t, d, append([]*tensor.Tensor{x}, in[1:]...)...)[0].Data()
	lap, err := transform.Laplacian(p)
	fdcheck.Valid(t, "laplacian", lap, err)
	for s := range n {
		xi := tensor.MustNew([]int{3}, append([]float64{}, x.Data()[3*s:3*s+3]...))
		want := fdcheck.Run(t, lap, append([]*tensor.Tensor{xi}, in[1:]...)...)[0].Data()
		fdcheck.Compare(t, fmt.Sprintf("sample %d", s), got[2*s:2*s+2], want, []int{2}, fdcheck.Tight)
	}

	mb := ir.NewBuilder(nil)
	mx := mb.Input([]int{n, 3})
	mixed, err := mb.Build(mb.Emit(op.Sub{}, mx, mb.Emit(op.Broadcast{Shape: []int{n, 3}, Dims: []int{1}}, mb.Emit(op.ReduceSum{Axes: []int{0}}, mx))))
	fdcheck.Valid(t, "mixing program", mixed, err)
	if _, err := transform.PerSample(mixed, transform.Hessian); err == nil {
		t.Error("a program that mixes samples was accepted")
	}
}

// TestValueAndGradSharesBeforeReverse: a loss that computes one
// subexpression twice (as a loss does that takes two derivatives of one
// network, each transform tracing the network again) gets the reverse
// pass of a loss that computes it once: ValueAndGrad(3·f + 5·f) does the
// work of ValueAndGrad(8·f), up to the scalars, and gives its gradient.
func TestValueAndGradSharesBeforeReverse(t *testing.T) {
	build := func(twice bool) *ir.Program {
		b := ir.NewBuilder(nil)
		x, w := b.Input([]int{4, 3}), b.Input([]int{3, 3})
		f := func() *ir.Var {
			// A constant that each trace makes anew (equal values, another
			// tensor), as a folded broadcast of an input scaling is.
			s := op.Const(b, tensor.MustNew([]int{4, 3}, []float64{2, 1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 1}))
			h := b.Emit(op.Tanh{}, b.Emit(op.MatMul{}, b.Emit(op.Mul{}, x, s), w))
			return b.Emit(op.ReduceSum{Axes: []int{0, 1}}, b.Emit(op.Mul{}, h, h))
		}
		var y *ir.Var
		scaled := func(c float64, v *ir.Var) *ir.Var { return b.Emit(op.Mul{}, op.Full(b, c, tensor.Float64, nil), v) }
		if twice {
			y = b.Emit(op.Add{}, scaled(3, f()), scaled(5, f()))
		} else {
			y = scaled(8, f())
		}
		p, err := b.Build(y)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	rng := tensor.NewRand(9)
	in := []*tensor.Tensor{tensor.Randn(rng, 4, 3), tensor.Randn(rng, 3, 3)}
	var outs [2][]*tensor.Tensor
	var flops [2]float64
	for i, twice := range []bool{false, true} {
		q, err := transform.ValueAndGrad(build(twice), []bool{false, true})
		q = fdcheck.Valid(t, "value and grad", q, err)
		outs[i] = fdcheck.Run(t, q, in...)
		flops[i] = transform.CostOf(q).FLOPs
		if n := count(q, "tanh"); n != 1 {
			t.Errorf("twice %v: %d tanh equations, want 1:\n%v", twice, n, q)
		}
	}
	if flops[1] > flops[0]+4 { // the scalars' products and sum
		t.Errorf("ValueAndGrad(3·f + 5·f): %g FLOPs, ValueAndGrad(8·f) %g", flops[1], flops[0])
	}
	for k := range outs[0] {
		for j, w := range outs[0][k].Data() {
			if g := outs[1][k].Data()[j]; math.Abs(g-w) > 1e-13*(1+math.Abs(w)) {
				t.Fatalf("output %d element %d: 3·f + 5·f gives %v, 8·f %v", k, j, g, w)
			}
		}
	}
}
