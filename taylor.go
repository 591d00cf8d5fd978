package jacobi

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Method selects how second-order operators are computed.
type Method int

const (
	// MethodAuto uses collapsed Taylor mode for Laplacians and operators,
	// and for Hessian diagonals whichever of Taylor and nested
	// differentiation the cost model finds cheaper.
	MethodAuto Method = iota
	// MethodTaylor propagates second-order Taylor coefficients forward.
	MethodTaylor
	// MethodNested differentiates twice: forward over reverse.
	MethodNested
)

// String returns the method's name.
func (m Method) String() string {
	switch m {
	case MethodTaylor:
		return "taylor"
	case MethodNested:
		return "nested"
	}
	return "auto"
}

// WithMethod chooses how second-order derivatives are computed.
func WithMethod(m Method) Option { return func(c *config) { c.method = m } }

// Estimator replaces an exact Laplacian by an unbiased stochastic estimate
// from a few random directions, for inputs of hundreds or thousands of
// dimensions. The same directions serve every sample; they are drawn from
// a source seeded with Seed, so results are reproducible.
type Estimator struct {
	// Kind is "hutchinson" (Rademacher directions v, estimate mean vᵀHv;
	// variance 2·Σ_{i≠j} H_ij² / Samples) or "dims" (Samples coordinates
	// drawn uniformly with replacement, estimate in·mean H_ii; variance
	// (in·Σ_i H_ii² − (Σ_i H_ii)²) / Samples).
	Kind    string
	Samples int
	Seed    uint64
}

// Hutchinson returns Hutchinson's trace estimator with Rademacher directions.
func Hutchinson(samples int, seed uint64) Estimator {
	return Estimator{Kind: "hutchinson", Samples: samples, Seed: seed}
}

// SampledDims returns the sampled-dimension estimator (as in Shi et al.,
// "Stochastic Taylor Derivative Estimator", 2024).
func SampledDims(samples int, seed uint64) Estimator {
	return Estimator{Kind: "dims", Samples: samples, Seed: seed}
}

// WithEstimator makes BatchLaplacian estimate instead of computing exactly.
func WithEstimator(e Estimator) Option { return func(c *config) { c.estimator = &e } }

// directions returns the Taylor directions and weights of the estimator
// for n input dimensions.
func (e Estimator) directions(n int) (*tensor.Tensor, []float64, error) {
	if e.Samples < 1 {
		return nil, nil, fmt.Errorf("estimator %q needs at least one sample, got %d", e.Kind, e.Samples)
	}
	rng := tensor.NewRand(e.Seed)
	v := tensor.Zeros(e.Samples, n)
	w := make([]float64, e.Samples)
	switch e.Kind {
	case "hutchinson":
		for i := range v.Data() {
			if rng.IntN(2) == 0 {
				v.Data()[i] = 1
			} else {
				v.Data()[i] = -1
			}
		}
		for s := range w {
			w[s] = 1 / float64(e.Samples)
		}
	case "dims":
		for s := range w {
			v.Set(1, s, rng.IntN(n))
			w[s] = float64(n) / float64(e.Samples)
		}
	default:
		return nil, nil, fmt.Errorf("unknown estimator %q (want hutchinson or dims)", e.Kind)
	}
	return v, w, nil
}

// onFlatSample applies derive, written for samples that are vectors, to a
// program whose samples have any shape: the sample is flattened on the way
// in, and when the result ends with one axis per input element (a
// diagonal), that axis gets the sample's shape back.
func onFlatSample(p *ir.Program, diag bool, derive func(*ir.Program) (*ir.Program, error)) (*ir.Program, error) {
	shape := p.In[0].Shape
	if len(shape) == 1 {
		return derive(p)
	}
	n := tensor.Size(shape)
	fb := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(p.In))
	args[0] = fb.Input([]int{n})
	for i, v := range p.In[1:] {
		args[i+1] = fb.Input(v.Shape)
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
	outer0 := outer[0]
	outer[0] = op.ReshapeTo(b, outer0, []int{n})
	res := b.Inline(d, outer)[0]
	if diag {
		lead := res.Shape[:res.Rank()-1]
		res = op.ReshapeTo(b, res, append(append([]int{}, lead...), shape...))
	}
	q, err := b.Build(res)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

// sampleVector checks that a per-sample program takes a vector.
func sampleVector(p *ir.Program, what string) (int, error) {
	x := p.In[0].Shape
	if len(x) != 1 {
		return 0, fmt.Errorf("%s: each sample must be a vector, got shape %v", what, x)
	}
	return x[0], nil
}

// taylorProgram returns the program of Σ_k w_k V_kᵀ H V_k + J·x2 for every
// output of p (collapsed Taylor mode), with p's inputs.
func taylorProgram(p *ir.Program, v *tensor.Tensor, w []float64, x2 *tensor.Tensor) (*ir.Program, error) {
	k := v.Shape()[0]
	tp, err := transform.Taylor(p, k, w)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	if x2 == nil {
		x2 = tensor.Zeros(p.In[0].Shape...)
	}
	outs := b.Inline(tp, append(args, op.Const(b, v), op.Const(b, x2)))
	q, err := b.Build(outs[2*len(p.Out)])
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

// laplacianProgram is the exact Laplacian by collapsed Taylor mode, or an
// estimate.
func laplacianProgram(p *ir.Program, c config) (*ir.Program, error) {
	n, err := sampleVector(p, "laplacian")
	if err != nil {
		return nil, err
	}
	if c.estimator != nil {
		v, w, err := c.estimator.directions(n)
		if err != nil {
			return nil, err
		}
		return taylorProgram(p, v, w, nil)
	}
	if c.method == MethodNested {
		return diagProgram(p, true)
	}
	return taylorProgram(p, tensor.Eye(n), nil, nil)
}

// hessianDiagTaylor is the uncollapsed Taylor form: one direction at a
// time, mapped over the n basis directions, so every H_kk is kept.
func hessianDiagTaylor(p *ir.Program) (*ir.Program, error) {
	n, err := sampleVector(p, "hessian diagonal")
	if err != nil {
		return nil, err
	}
	tp, err := transform.Taylor(p, 1, nil)
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(tp.In))
	flags[len(flags)-2] = true // the direction; X2 stays shared
	vm, err := transform.Vmap(tp, flags, n)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(p)
	dirs, _ := tensor.Eye(n).Reshape(n, 1, n)
	outs := b.Inline(vm, append(args, op.Const(b, dirs), op.Const(b, tensor.Zeros(n))))
	d := moveFirstToLast(b, outs[2*len(p.Out)]) // (y..., n)
	q, err := b.Build(d)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(q)
}

func hessianDiagProgram(p *ir.Program, c config) (*ir.Program, error) {
	switch c.method {
	case MethodTaylor:
		return hessianDiagTaylor(p)
	case MethodNested:
		return diagProgram(p, false)
	}
	t, err := hessianDiagTaylor(p)
	if err != nil {
		return nil, err
	}
	nested, err := diagProgram(p, false)
	if err != nil {
		return nil, err
	}
	if transform.CostOf(nested).FLOPs < transform.CostOf(t).FLOPs {
		return nested, nil
	}
	return t, nil
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

// BatchLaplacianOf returns the per-sample Laplacian (trace of the Hessian)
// of every output, shape (b, out), by collapsed Taylor mode (or as
// WithMethod and WithEstimator say), inside a traced function. Samples of
// any shape are accepted: the Laplacian sums over all their elements.
func BatchLaplacianOf(f Fn, x *Node, opts ...Option) *Node {
	c := newConfig(opts)
	return transformNode("BatchLaplacianOf", f, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		return onFlatSample(p, false, func(p *ir.Program) (*ir.Program, error) { return laplacianProgram(p, c) })
	}))
}

// BatchHessianDiagOf returns the diagonal of every per-sample Hessian,
// shape (b, out, in), inside a traced function; for samples of shape
// (in...), (b, out..., in...).
func BatchHessianDiagOf(f Fn, x *Node, opts ...Option) *Node {
	c := newConfig(opts)
	return transformNode("BatchHessianDiagOf", f, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		return onFlatSample(p, true, func(p *ir.Program) (*ir.Program, error) { return hessianDiagProgram(p, c) })
	}))
}

// BatchOperatorOf returns, per sample and output, the second-order operator
// Σ_ij A_ij ∂²f/∂x_i∂x_j + Σ_i b_i ∂f/∂x_i for a constant matrix A (in, in)
// (diffusion; only its symmetric part matters) and vector b (in) (advection;
// may be nil), shape (b, out), by collapsed Taylor mode.
func BatchOperatorOf(f Fn, x *Node, a, b *tensor.Tensor) *Node {
	return transformNode("BatchOperatorOf", f, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		n, err := sampleVector(p, "operator")
		if err != nil {
			return nil, err
		}
		if b != nil && !tensor.SameShape(b.Shape(), []int{n}) {
			return nil, fmt.Errorf("operator: the vector b has shape %v, want [%d]", b.Shape(), n)
		}
		v, w, err := operatorDirections(a, n)
		if err != nil {
			return nil, err
		}
		return taylorProgram(p, v, w, b)
	}))
}

// BatchOperator is BatchOperatorOf on a concrete batch: shape (b, out).
func BatchOperator(f Fn, x, a, b *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	return runPerSample("batch operator", func(x *Node) *Node { return BatchOperatorOf(f, x, a, b) }, x, opts)
}
