package jacobi

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// The derivatives inside traced functions: each traces its function once,
// lets a program builder of package transform rewrite the program, and
// inlines the result into the enclosing trace (see transformation).

// Fn is a function of a batch: it maps x of shape (b, in...) to an output
// of shape (b, out...). The Batch* derivatives require (and check) that row i
// of the output depends on row i of x only.
type Fn func(x *Node) *Node

// MultiFn is a traced function of several inputs and outputs, for what is
// not a per-sample map: a training step that takes network parameters and
// a batch and returns a loss and its gradients (see Trace).
type MultiFn func(in []*Node) []*Node

// LossFn is a function of several inputs with a single-element output,
// such as a training loss of network parameters and a batch, for
// ValueAndGrad and ValueAndGradOf.
type LossFn func(in []*Node) *Node

// of runs build on the program of f at x inside the enclosing trace.
func of(what string, f Fn, x *Node, check func() error, build func(*ir.Program) (*ir.Program, error)) *Node {
	c := transformation{what: what, args: []*Node{x}, nout: 1, check: check, build: build}
	if f != nil {
		c.fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	return c.apply()[0]
}

// optionsCheck returns a check that fails with err.
func optionsCheck(err error) func() error {
	if err == nil {
		return nil
	}
	return func() error { return err }
}

// BatchJacobianOf returns the per-sample Jacobian of f at x inside a traced
// function: for x of shape (b, in) and f(x) of shape (b, out), a node of
// shape (b, out, in) (in general (b, out..., in...)). f must map every
// sample on its own; otherwise the trace records an error naming the
// operation that mixes samples. The result can be differentiated again.
func BatchJacobianOf(f Fn, x *Node, opts ...JacobianOption) *Node {
	d, _, err := configure(opts)
	return batchJacobianOf("BatchJacobianOf", f, x, d, err)
}

func batchJacobianOf(what string, f Fn, x *Node, d derivConfig, err error) *Node {
	return of(what, f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) { return jacobian(p, d.mode) })
	})
}

// jacobian builds the Jacobian program in mode m, resolving ModeAuto by
// the cost model: both programs are built and the cheaper wins (see cheaper).
func jacobian(p *ir.Program, m Mode) (*ir.Program, error) {
	switch m {
	case ModeForward:
		return transform.Jacobian(p, transform.Forward)
	case ModeReverse:
		return transform.Jacobian(p, transform.Reverse)
	}
	fwd, rev, err := jacobianBoth(p)
	if err != nil {
		return nil, err
	}
	if cheaper(fwd, rev) == ModeReverse {
		return rev, nil
	}
	return fwd, nil
}

// jacobianBoth builds the forward- and reverse-mode Jacobian programs.
func jacobianBoth(p *ir.Program) (fwd, rev *ir.Program, err error) {
	if fwd, err = transform.Jacobian(p, transform.Forward); err != nil {
		return nil, nil, err
	}
	rev, err = transform.Jacobian(p, transform.Reverse)
	return fwd, rev, err
}

// cheaper is ModeAuto's rule: the mode whose program has fewer FLOPs; on
// a tie, the one that moves fewer bytes (forward mode's columns must be
// transposed into the Jacobian's rows), then forward.
func cheaper(fwd, rev *ir.Program) Mode {
	cf, cr := transform.CostOf(fwd), transform.CostOf(rev)
	if cr.FLOPs < cf.FLOPs || (cr.FLOPs == cf.FLOPs && cr.Bytes < cf.Bytes) {
		return ModeReverse
	}
	return ModeForward
}

// JacobianMode returns the mode that ModeAuto chooses for the per-sample
// Jacobian of f on samples of the given shape (float64, or the dtype of
// WithDType), with the cost model's FLOPs per sample for forward and for
// reverse mode.
func JacobianMode(f Fn, sampleShape []int, opts ...RunOption) (m Mode, forwardFLOPs, reverseFLOPs float64, err error) {
	_, rc, err := configure(opts)
	if err != nil {
		return ModeAuto, 0, 0, apiError(err)
	}
	ps, err := perSampleProgram(f, append([]int{2}, sampleShape...), rc.dtype)
	if err != nil {
		return ModeAuto, 0, 0, apiError(err)
	}
	fwd, rev, err := jacobianBoth(ps)
	if err != nil {
		return ModeAuto, 0, 0, apiError(err)
	}
	return cheaper(fwd, rev), transform.CostOf(fwd).FLOPs, transform.CostOf(rev).FLOPs, nil
}

// BatchGradOf returns the per-sample gradient of a function with one output
// per sample (shape (b,) or (b, 1)): shape (b, in), by reverse mode.
func BatchGradOf(f Fn, x *Node) *Node {
	var g Fn
	if f != nil {
		g = func(x *Node) *Node {
			y := f(x)
			if s := y.Shape(); len(s) == 2 && s[1] == 1 {
				y = y.Reshape(s[0])
			}
			return y
		}
	}
	return batchJacobianOf("BatchGradOf", g, x, derivConfig{mode: ModeReverse}, nil)
}

// BatchHessianOf returns the per-sample Hessian, shape (b, out, in, in),
// by forward-over-reverse differentiation or as a sum of Gram matrices of
// forward Jacobians (see MethodGram): WithMethod chooses, by default the
// cost model picks the one of fewer FLOPs.
func BatchHessianOf(f Fn, x *Node, opts ...HessianOption) *Node {
	d, _, err := configure(opts)
	return batchHessianOf("BatchHessianOf", f, x, d, err)
}

func batchHessianOf(what string, f Fn, x *Node, d derivConfig, err error) *Node {
	if err == nil {
		err = hessianMethodCheck(d.method)
	}
	return of(what, f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) { return hessian(p, d.method) })
	})
}

// hessianMethodCheck refuses the methods that do not compute Hessians.
func hessianMethodCheck(m Method) error {
	if m == MethodTaylor {
		return fmt.Errorf("WithMethod(%v): Hessians are computed by MethodAuto, MethodNested or MethodGram", m)
	}
	return nil
}

// hessian is the Hessian program by method m; MethodAuto builds both and
// keeps the one of fewer FLOPs (nested where Gram matrices do not apply).
func hessian(p *ir.Program, m Method) (*ir.Program, error) {
	switch m {
	case MethodNested:
		return transform.Hessian(p)
	case MethodGram:
		return transform.HessianGram(p)
	}
	nested, err := transform.Hessian(p)
	if err != nil {
		return nil, err
	}
	gram, _ := transform.HessianGram(p) // nil where Gram matrices do not apply
	return cheapest(nested, gram), nil
}

// cheapest returns the program of fewest FLOPs among ps, skipping nil
// ones; the first on a tie.
func cheapest(ps ...*ir.Program) *ir.Program {
	var best *ir.Program
	var bestFLOPs float64
	for _, q := range ps {
		if q == nil {
			continue
		}
		if f := transform.CostOf(q).FLOPs; best == nil || f < bestFLOPs {
			best, bestFLOPs = q, f
		}
	}
	return best
}

// BatchHessianDiagOf returns the diagonal of every per-sample Hessian,
// shape (b, out, in), inside a traced function; for samples of shape
// (in...), (b, out..., in...). WithMethod chooses Taylor mode (one pass
// per input dimension), nested differentiation or the diagonals of Gram
// matrices (one forward pass with a tangent per input and one reverse
// pass); by default the cost model picks.
func BatchHessianDiagOf(f Fn, x *Node, opts ...HessianDiagOption) *Node {
	d, _, err := configure(opts)
	return batchHessianDiagOf(f, x, d, err)
}

func batchHessianDiagOf(f Fn, x *Node, d derivConfig, err error) *Node {
	return of("BatchHessianDiagOf", f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) {
			return transform.FlatSample(p, true, func(p *ir.Program) (*ir.Program, error) { return hessianDiag(p, d.method) })
		})
	})
}

func hessianDiag(p *ir.Program, m Method) (*ir.Program, error) {
	switch m {
	case MethodTaylor:
		return transform.HessianDiagTaylor(p)
	case MethodNested:
		return transform.HessianDiagNested(p)
	case MethodGram:
		return transform.HessianDiagGram(p)
	}
	taylor, err := transform.HessianDiagTaylor(p)
	if err != nil {
		return nil, err
	}
	nested, err := transform.HessianDiagNested(p)
	if err != nil {
		return nil, err
	}
	gram, _ := transform.HessianDiagGram(p) // nil where Gram matrices do not apply
	return cheapest(taylor, nested, gram), nil
}

// BatchLaplacianOf returns the per-sample Laplacian (trace of the Hessian)
// of every output, shape (b, out), by collapsed Taylor mode (or as
// WithMethod and WithEstimator say), inside a traced function. Samples of
// any shape are accepted: the Laplacian sums over all their elements.
func BatchLaplacianOf(f Fn, x *Node, opts ...LaplacianOption) *Node {
	d, _, err := configure(opts)
	return batchLaplacianOf(f, x, d, err)
}

func batchLaplacianOf(f Fn, x *Node, d derivConfig, err error) *Node {
	return of("BatchLaplacianOf", f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) {
			return transform.FlatSample(p, false, func(p *ir.Program) (*ir.Program, error) { return laplacian(p, d) })
		})
	})
}

// laplacian is the exact Laplacian by collapsed Taylor mode or by nested
// differentiation, or an estimate.
func laplacian(p *ir.Program, d derivConfig) (*ir.Program, error) {
	if d.estimator != nil {
		v, w := d.estimator.directions(p.In[0].Size())
		return transform.TaylorOperator(p, v, w, nil)
	}
	switch d.method {
	case MethodNested:
		return transform.LaplacianNested(p)
	case MethodGram:
		return transform.LaplacianGram(p)
	}
	return transform.Laplacian(p)
}

// directions returns the estimator's Taylor directions (Samples, n) and
// their weights for n input dimensions.
func (e Estimator) directions(n int) (*tensor.Tensor, []float64) {
	rng := tensor.NewRand(e.Seed)
	v := tensor.Zeros(e.Samples, n)
	w := make([]float64, e.Samples)
	switch e.Kind {
	case EstimatorHutchinson:
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
	case EstimatorSampledDims:
		for s := range w {
			v.Set(1, s, rng.IntN(n))
			w[s] = float64(n) / float64(e.Samples)
		}
	}
	return v, w
}

// BatchOperatorOf returns, per sample and output, the second-order operator
// Σ_ij A_ij ∂²f/∂x_i∂x_j + Σ_i b_i ∂f/∂x_i for a constant matrix A (in, in)
// (diffusion; only its symmetric part matters) and vector b (in) (advection;
// may be nil), shape (b, out), by collapsed Taylor mode.
func BatchOperatorOf(f Fn, x *Node, a, b *tensor.Tensor) *Node {
	return of("BatchOperatorOf", f, x, nil, func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) { return transform.Operator(p, a, b) })
	})
}

// BatchJetOf returns, per sample, three things from one pass of collapsed
// Taylor mode, inside a traced function: the value f(x) (b, out...); the
// derivatives of f along the k rows v_k of dirs (k, in), J·v_k, shape
// (b, out..., k); and lf, the second-order operator
// Σ_k w_k v_kᵀ H v_k + J·drift (b, out...), with weights w (nil: all 1)
// and drift (nil: none). in is the number of elements of a sample.
//
// A physics-informed residual that needs u, some first derivatives and a
// second-order operator of one network — Burgers' u_t + u·u_x − ν·u_xx is
// u + u·(J·e_x) + (−ν·e_xᵀ H e_x + J·e_t) — gets them all from the chains
// the operator alone carries, where BatchOperatorOf and a JVPOf for u_x
// carry the first-order chain twice.
func BatchJetOf(f Fn, x *Node, dirs *tensor.Tensor, weights []float64, drift *tensor.Tensor) (y, dy, lf *Node) {
	c := transformation{what: "BatchJetOf", args: []*Node{x}, nout: 3}
	if f != nil {
		c.fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	c.build = func(p *ir.Program) (*ir.Program, error) {
		return transform.PerSample(p, func(p *ir.Program) (*ir.Program, error) {
			return transform.FlatSample(p, false, func(p *ir.Program) (*ir.Program, error) {
				return transform.Jet(p, dirs, weights, drift)
			})
		})
	}
	out := c.apply()
	return out[0], out[1], out[2]
}

// JacobianOf returns the full Jacobian of f at x, shaped f(x).shape ++ x.shape.
func JacobianOf(f Fn, x *Node, opts ...JacobianOption) *Node {
	d, _, err := configure(opts)
	return jacobianOf(f, x, d, err)
}

func jacobianOf(f Fn, x *Node, d derivConfig, err error) *Node {
	return of("JacobianOf", f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) { return jacobian(p, d.mode) })
}

// GradOf returns the gradient of a function with a single-element output.
func GradOf(f Fn, x *Node) *Node {
	return of("GradOf", f, x, nil, func(p *ir.Program) (*ir.Program, error) {
		s, err := transform.ScalarOutput(p, "grad")
		if err != nil {
			return nil, err
		}
		return transform.Jacobian(s, transform.Reverse)
	})
}

// HessianOf returns the full Hessian of a single-element function, shaped
// x.shape ++ x.shape.
func HessianOf(f Fn, x *Node, opts ...HessianOption) *Node {
	d, _, err := configure(opts)
	if err == nil {
		err = hessianMethodCheck(d.method)
	}
	return of("HessianOf", f, x, optionsCheck(err), func(p *ir.Program) (*ir.Program, error) {
		s, err := transform.ScalarOutput(p, "hessian")
		if err != nil {
			return nil, err
		}
		return hessian(s, d.method)
	})
}

// ValueAndGradOf returns f(xs) and its gradient with respect to every
// x in xs, inside a trace; f must have a single-element output. Tracing a
// function that returns both gives a training step (see Trace).
func ValueAndGradOf(f LossFn, xs []*Node) (*Node, []*Node) {
	c := transformation{what: "ValueAndGradOf", args: xs, nout: 1 + len(xs)}
	if f != nil {
		c.fn = func(in []*Node) []*Node { return []*Node{f(in)} }
	}
	c.check = func() error {
		if len(xs) == 0 {
			return fmt.Errorf("needs at least one input")
		}
		return nil
	}
	c.build = func(p *ir.Program) (*ir.Program, error) {
		wrt := make([]bool, len(p.In))
		for i := range xs {
			wrt[i] = true
		}
		return transform.ValueAndGrad(p, wrt)
	}
	out := c.apply()
	return out[0], out[1:]
}

// JVPOf returns f(x) and the Jacobian-vector product J·v inside a trace.
func JVPOf(f Fn, x, v *Node) (y, jv *Node) {
	return pairOf("JVPOf", f, x, v, transform.JVP)
}

// VJPOf returns f(x) and the vector-Jacobian product uᵀ·J inside a trace.
func VJPOf(f Fn, x, u *Node) (y, vj *Node) {
	return pairOf("VJPOf", f, x, u, transform.VJP)
}

// pairOf runs a transform whose program takes one extra input (a tangent or
// cotangent) after the captured values and returns two outputs.
func pairOf(what string, f Fn, x, extra *Node, derive func(*ir.Program, []bool) (*ir.Program, error)) (*Node, *Node) {
	c := transformation{what: what, args: []*Node{x}, extra: []*Node{extra}, nout: 2}
	if f != nil {
		c.fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	c.build = func(p *ir.Program) (*ir.Program, error) {
		wrt := make([]bool, len(p.In))
		wrt[0] = true
		q, err := derive(p, wrt)
		if err != nil {
			return nil, err
		}
		if q, err = transform.Simplify(q); err != nil {
			return nil, err
		}
		if want := q.In[len(q.In)-1].Shape; !tensor.SameShape(extra.Shape(), want) {
			return nil, fmt.Errorf("the vector has shape %v, want %v", extra.Shape(), want)
		}
		return q, nil
	}
	out := c.apply()
	return out[0], out[1]
}

// VmapOf applies a function of one sample to every row of x (axis 0) as one
// batched computation, inside a trace.
func VmapOf(f Fn, x *Node) *Node {
	c := transformation{what: "VmapOf", args: []*Node{x}, nout: 1}
	if f != nil {
		c.fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	c.check = func() error {
		if x.Rank() < 1 {
			return fmt.Errorf("the input needs a leading axis to map over, got shape %v", x.Shape())
		}
		c.in = [][]int{x.Shape()[1:]}
		return nil
	}
	c.build = func(p *ir.Program) (*ir.Program, error) {
		flags := make([]bool, len(p.In))
		flags[0] = true
		return transform.Vmap(p, flags, x.Shape()[0])
	}
	return c.apply()[0]
}

// Vmap returns the batched version of a per-sample function f: it maps
// x (b, in...) to the stack of f applied to each row.
func Vmap(f Fn) Fn { return func(x *Node) *Node { return VmapOf(f, x) } }
