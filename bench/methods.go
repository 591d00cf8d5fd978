package bench

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Method names. MethodJacobi is the library's default way for the case's
// derivative and the reference the others' Err is measured against.
const (
	MethodJacobi       = "jacobi"       // the default: BatchJacobianOf (Auto mode), BatchHessianOf, BatchLaplacianOf, compiled PINN step (BatchJetOf)
	MethodForward      = "forward"      // BatchJacobianOf with WithMode(Forward)
	MethodReverse      = "reverse"      // BatchJacobianOf with WithMode(Reverse)
	MethodNaive        = "naive"        // full Jacobian (Hessian) of the whole batch, then its diagonal blocks
	MethodLoop         = "loop"         // the compiled default run on one sample at a time
	MethodNested       = "nested"       // second order from first-order transforms: forward-over-reverse
	MethodTaylor       = "taylor"       // Laplacian by collapsed second-order Taylor mode; PINN step with BatchLaplacianOf and BatchGradOf
	MethodRevRev       = "rev_rev"      // Hessian as reverse-over-reverse
	MethodGram         = "gram"         // Hessian (Laplacian) as a sum of Gram matrices of forward Jacobians (their diagonals)
	MethodHessDiag     = "hessdiag"     // Laplacian as the sum of BatchHessianDiagOf
	MethodValueAndGrad = "valueandgrad" // PINN step with the one-shot jacobi.ValueAndGrad (traces every call)
)

// setup is what every method of a case starts from: the network and the
// batch, drawn from the same seed.
type setup struct {
	c   Case
	m   *nn.MLP
	x   *tensor.Tensor
	eye *tensor.Tensor // (in, in)
}

func newSetup(c Case, seed uint64) (*setup, error) {
	rng := tensor.NewRand(seed)
	m, err := nn.RandomMLP(rng, c.Sizes, c.Activation)
	if err != nil {
		return nil, err
	}
	dt := c.dtype()
	return &setup{c: c, m: m.Convert(dt), x: tensor.Randn(rng, c.Batch, c.in()).Convert(dt), eye: tensor.Eye(c.in()).Convert(dt)}, nil
}

// prepared is a method ready to time: run computes the derivative of the
// whole batch and returns it, in the case's dtype, as tensors whose values
// in order are laid out as the "jacobi" method's; flops is the cost
// model's count for one run (0 when the method has no program to count).
type prepared struct {
	run   func() ([]*tensor.Tensor, error)
	flops float64
}

// withDType is the case's dtype as an option of Compile and Trace.
func (s *setup) withDType() jacobi.RunOption { return jacobi.WithDType(s.c.dtype()) }

// method is one way to compute a case's derivative. skip reports why the
// method is left out for a case ("" to run it).
type method struct {
	name    string
	skip    func(Case) string
	prepare func(s *setup) (*prepared, error)
}

// tooBigNaive mirrors torch_anchor.py's too_big for full_diag: the full
// Jacobian of the batch has b*out*b*in elements.
func tooBigNaive(c Case) string {
	n := float64(c.Batch) * float64(c.out()) * float64(c.Batch) * float64(c.in())
	if c.Derivative == Hessian {
		n = float64(c.Batch) * float64(c.in()) * float64(c.Batch) * float64(c.in())
	}
	if n > 2e7 {
		return fmt.Sprintf("the full result has %.3g elements (> 2e7)", n)
	}
	return ""
}

// tooBigLoop mirrors torch_anchor.py's too_big for loop_samples.
func tooBigLoop(c Case) string {
	if c.Batch > 1024 {
		return fmt.Sprintf("batch %d > 1024", c.Batch)
	}
	return ""
}

// methodsFor returns the methods of a derivative kind, MethodJacobi first.
func methodsFor(kind string) []method {
	switch kind {
	case Jacobian:
		jac := func(opts ...jacobi.JacobianOption) func(s *setup) (*prepared, error) {
			return compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(s.m.Apply, x, opts...) }
			})
		}
		return []method{
			{name: MethodJacobi, prepare: jac()},
			{name: MethodForward, prepare: jac(jacobi.WithMode(jacobi.ModeForward))},
			{name: MethodReverse, prepare: jac(jacobi.WithMode(jacobi.ModeReverse))},
			{name: MethodNaive, skip: tooBigNaive, prepare: naiveJacobian},
			{name: MethodLoop, skip: tooBigLoop, prepare: loop(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(s.m.Apply, x) }
			})},
		}
	case Hessian:
		hess := func(s *setup) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(s.m.Apply, x) }
		}
		overGrad := func(m jacobi.Mode) func(s *setup) jacobi.Fn {
			return func(s *setup) jacobi.Fn {
				grad := func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchGradOf(s.m.Apply, x) }
				return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(grad, x, jacobi.WithMode(m)) }
			}
		}
		return []method{
			{name: MethodJacobi, prepare: compiled(hess)},
			{name: MethodNested, prepare: compiled(overGrad(jacobi.ModeForward))},
			{name: MethodRevRev, prepare: compiled(overGrad(jacobi.ModeReverse))},
			{name: MethodGram, prepare: compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node {
					return jacobi.BatchHessianOf(s.m.Apply, x, jacobi.WithMethod(jacobi.MethodGram))
				}
			})},
			{name: MethodNaive, skip: tooBigNaive, prepare: naiveHessian},
			{name: MethodLoop, skip: tooBigLoop, prepare: loop(hess)},
		}
	case Laplacian:
		lap := func(s *setup) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(s.m.Apply, x) }
		}
		return []method{
			{name: MethodJacobi, prepare: compiled(lap)},
			{name: MethodTaylor, prepare: compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node {
					return jacobi.BatchLaplacianOf(s.m.Apply, x, jacobi.WithMethod(jacobi.MethodTaylor))
				}
			})},
			{name: MethodNested, prepare: compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node { return traceOf(jacobi.BatchHessianOf(s.m.Apply, x), s.eye) }
			})},
			{name: MethodHessDiag, prepare: compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(s.m.Apply, x).Sum(2) }
			})},
			{name: MethodGram, prepare: compiled(func(s *setup) jacobi.Fn {
				return func(x *jacobi.Node) *jacobi.Node {
					return jacobi.BatchLaplacianOf(s.m.Apply, x, jacobi.WithMethod(jacobi.MethodGram))
				}
			})},
			{name: MethodLoop, skip: tooBigLoop, prepare: loop(lap)},
		}
	case PINNStep:
		return []method{
			{name: MethodJacobi, prepare: pinnCompiled(pinnJet)},
			{name: MethodTaylor, prepare: pinnCompiled(pinnTaylor)},
			{name: MethodNested, prepare: pinnCompiled(pinnHessian)},
			{name: MethodValueAndGrad, prepare: pinnValueAndGrad},
		}
	}
	return nil
}

// traceOf returns the trace of every per-sample Hessian h (b, out, in, in)
// as (b, out), eye being the (in, in) identity.
func traceOf(h *jacobi.Node, eye *tensor.Tensor) *jacobi.Node {
	return h.Mul(jacobi.Const(eye)).Sum(2, 3)
}

// compiled compiles the per-sample function fn once and times its Run on
// the whole batch.
func compiled(fn func(s *setup) jacobi.Fn) func(s *setup) (*prepared, error) {
	return func(s *setup) (*prepared, error) {
		c, err := jacobi.Compile(fn(s), []int{s.c.in()}, s.withDType())
		if err != nil {
			return nil, err
		}
		cost, err := c.Cost(s.c.Batch)
		if err != nil {
			return nil, err
		}
		return &prepared{flops: cost.FLOPs, run: func() ([]*tensor.Tensor, error) {
			y, err := c.Run(s.x)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{y}, nil
		}}, nil
	}
}

// loop compiles fn once and runs it on one sample at a time.
func loop(fn func(s *setup) jacobi.Fn) func(s *setup) (*prepared, error) {
	return func(s *setup) (*prepared, error) {
		c, err := jacobi.Compile(fn(s), []int{s.c.in()}, s.withDType())
		if err != nil {
			return nil, err
		}
		cost, err := c.Cost(1)
		if err != nil {
			return nil, err
		}
		in, b := s.c.in(), s.c.Batch
		return &prepared{flops: cost.FLOPs * float64(b), run: func() ([]*tensor.Tensor, error) {
			out := make([]*tensor.Tensor, b)
			for i := range b {
				row, err := rows(s.x, i*in, (i+1)*in, []int{1, in})
				if err != nil {
					return nil, err
				}
				if out[i], err = c.Run(row); err != nil {
					return nil, fmt.Errorf("sample %d: %w", i, err)
				}
			}
			return out, nil
		}}, nil
	}
}

// traced traces f of one input at the batch's shape once and times its Run.
func traced(s *setup, f jacobi.Fn) (*jacobi.Traced, error) {
	return jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0])} }, [][]int{s.x.Shape()}, s.withDType())
}

// rows returns the tensor of the given shape over t's values lo to hi.
func rows(t *tensor.Tensor, lo, hi int, shape []int) (*tensor.Tensor, error) {
	if t.DType() == tensor.Float32 {
		return tensor.New32(shape, t.Data32()[lo:hi])
	}
	return tensor.New(shape, t.Data()[lo:hi])
}

// diagonalBlocks returns the blocks (i, j, i) of full, a (b, m, b, n)
// array of T, as (b, m, n): what a generic Jacobian user keeps.
func diagonalBlocks[T tensor.Float](full []T, b, m, n int) []T {
	d := make([]T, b*m*n)
	for i := range b {
		for o := range m {
			copy(d[(i*m+o)*n:(i*m+o+1)*n], full[((i*m+o)*b+i)*n:][:n])
		}
	}
	return d
}

// blocksOf is diagonalBlocks of a tensor, shaped (b, m, n).
func blocksOf(full *tensor.Tensor, b, m, n int) (*tensor.Tensor, error) {
	if full.DType() == tensor.Float32 {
		return tensor.New32([]int{b, m, n}, diagonalBlocks(full.Data32(), b, m, n))
	}
	return tensor.New([]int{b, m, n}, diagonalBlocks(full.Data(), b, m, n))
}

// naiveJacobian computes the full Jacobian (b, out, b, in) of the batch,
// as a generic Jacobian does, and keeps its diagonal blocks (b, out, in).
func naiveJacobian(s *setup) (*prepared, error) {
	t, err := traced(s, func(x *jacobi.Node) *jacobi.Node { return jacobi.JacobianOf(s.m.Apply, x) })
	if err != nil {
		return nil, err
	}
	b, out, in := s.c.Batch, s.c.out(), s.c.in()
	return &prepared{flops: t.Cost().FLOPs, run: func() ([]*tensor.Tensor, error) {
		res, err := t.Run(s.x)
		if err != nil {
			return nil, err
		}
		d, err := blocksOf(res[0], b, out, in) // of (b, out, b, in)
		return []*tensor.Tensor{d}, err
	}}, nil
}

// naiveHessian computes the full Hessian (b, in, b, in) of the sum of the
// outputs over the batch and keeps its diagonal blocks (b, in, in).
func naiveHessian(s *setup) (*prepared, error) {
	t, err := traced(s, func(x *jacobi.Node) *jacobi.Node {
		return jacobi.HessianOf(func(x *jacobi.Node) *jacobi.Node { return s.m.Apply(x).Sum() }, x)
	})
	if err != nil {
		return nil, err
	}
	b, in := s.c.Batch, s.c.in()
	return &prepared{flops: t.Cost().FLOPs, run: func() ([]*tensor.Tensor, error) {
		res, err := t.Run(s.x)
		if err != nil {
			return nil, err
		}
		d, err := blocksOf(res[0], b, in, in) // of (b, in, b, in)
		return []*tensor.Tensor{d}, err
	}}, nil
}

// pinnForm is how pinnLoss takes its derivatives.
type pinnForm int

const (
	pinnJet     pinnForm = iota // u, g and the Laplacian from one Taylor pass (BatchJetOf)
	pinnTaylor                  // BatchLaplacianOf (Taylor), BatchGradOf (reverse) and u
	pinnHessian                 // the trace of the forward-over-reverse Hessian, BatchGradOf and u
)

// pinnLoss is the physics-informed loss of bench/README.md for the network
// m with parameters ps at the batch x: u = f(x), g = grad_x u,
// mean((laplacian(u) + u)^2) + mean(|g|^2), its derivatives taken as form
// says.
func pinnLoss(m *nn.MLP, ps []*jacobi.Node, x *jacobi.Node, eye *tensor.Tensor, form pinnForm) *jacobi.Node {
	u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x) }
	var y, lap, g *jacobi.Node // (b, 1), (b, 1), (b, in)
	switch form {
	case pinnJet:
		// The basis directions: the gradient's columns and the trace.
		var d *jacobi.Node // (b, 1, in)
		y, d, lap = jacobi.BatchJetOf(u, x, eye, nil, nil)
		g = d.Reshape(x.Shape()[0], x.Shape()[1])
	case pinnTaylor:
		y, lap, g = u(x), jacobi.BatchLaplacianOf(u, x), jacobi.BatchGradOf(u, x)
	default:
		y, lap, g = u(x), traceOf(jacobi.BatchHessianOf(u, x), eye), jacobi.BatchGradOf(u, x)
	}
	return lap.Add(y).Square().Mean().Add(g.Square().Sum(1).Mean())
}

// flatParams concatenates the network's parameters into one vector, in
// their dtype.
func flatParams(m *nn.MLP) *tensor.Tensor {
	var flat []float64
	for _, p := range m.Params() {
		flat = append(flat, p.Float64s()...)
	}
	return tensor.MustNew([]int{len(flat)}, flat).Convert(m.DType()) // exact: float32 values
}

// pinnCompiled traces the loss and its gradient with respect to all
// parameters (packed into one vector so that one VJP gives them all) once,
// and times running that program. The result is the loss followed by the
// parameter gradients in Params order.
func pinnCompiled(form pinnForm) func(s *setup) (*prepared, error) {
	return func(s *setup) (*prepared, error) {
		shapes := [][]int{}
		for _, p := range s.m.Params() {
			shapes = append(shapes, p.Shape())
		}
		flat := flatParams(s.m)
		t, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
			theta, x := in[0], in[1]
			loss := func(theta *jacobi.Node) *jacobi.Node {
				ps := make([]*jacobi.Node, len(shapes))
				off := 0
				for i, sh := range shapes {
					n := tensor.Size(sh)
					ps[i] = theta.Slice(0, off, off+n).Reshape(sh...)
					off += n
				}
				// Bring x into theta's trace (adding a zero computed from
				// theta): the per-sample derivatives below trace u at x in a
				// trace nested in x's, and u captures the parameters, which
				// live in theta's trace; with x left in the outer trace the two
				// traces are unrelated and jacobi refuses to combine them.
				xin := x.Add(theta.Slice(0, 0, 1).Scale(0))
				return pinnLoss(s.m, ps, xin, s.eye, form)
			}
			v, g := jacobi.VJPOf(loss, theta, jacobi.Scalar(1))
			return []*jacobi.Node{v.Reshape(1), g}
		}, [][]int{flat.Shape(), s.x.Shape()}, s.withDType())
		if err != nil {
			return nil, err
		}
		return &prepared{flops: t.Cost().FLOPs, run: func() ([]*tensor.Tensor, error) {
			return t.Run(flat, s.x)
		}}, nil
	}
}

// pinnValueAndGrad times the one-shot jacobi.ValueAndGrad, which traces,
// differentiates and simplifies the loss on every call.
func pinnValueAndGrad(s *setup) (*prepared, error) {
	params := s.m.Params()
	args := append(append([]*tensor.Tensor{}, params...), s.x)
	loss := func(in []*jacobi.Node) *jacobi.Node {
		return pinnLoss(s.m, in[:len(params)], in[len(params)], s.eye, pinnJet)
	}
	return &prepared{run: func() ([]*tensor.Tensor, error) {
		v, gs, err := jacobi.ValueAndGrad(loss, args...)
		if err != nil {
			return nil, err
		}
		return append([]*tensor.Tensor{v}, gs[:len(params)]...), nil
	}}, nil
}
