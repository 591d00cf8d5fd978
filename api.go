package jacobi

import (
	"fmt"
	"runtime"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Mode selects how first derivatives are computed.
type Mode int

const (
	// Auto picks forward or reverse mode by the cost model (fewer FLOPs).
	Auto Mode = iota
	// Forward pushes one tangent per input through the program (cheap when
	// there are few inputs).
	Forward
	// Reverse pulls one cotangent per output back through the program
	// (cheap when there are few outputs).
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
	return "auto"
}

// Option adjusts a derivative or a compiled program.
type Option func(*config)

type config struct {
	mode      Mode
	method    Method
	estimator *Estimator
	chunk     int
	chunkSet  bool // chunk is the caller's, not the default
	workers   int
}

// defaultChunk is how many samples run together unless the program is so
// cheap that a chunk this size would not pay for its scheduling.
const defaultChunk = 256

func newConfig(opts []Option) config {
	c := config{mode: Auto, chunk: defaultChunk, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithMode chooses forward or reverse mode for first derivatives.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithChunk sets how many samples are run together (default 256, more for
// programs too cheap to be worth splitting that finely). Results do not
// depend on it.
func WithChunk(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.chunk, c.chunkSet = n, true
		}
	}
}

// WithWorkers sets how many goroutines run chunks at once (default
// GOMAXPROCS). Results do not depend on it.
func WithWorkers(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.workers = n
		}
	}
}

// ---- derivatives inside traced functions ----

// BatchJacobianOf returns the per-sample Jacobian of f at x inside a traced
// function: for x of shape (b, in) and f(x) of shape (b, out), a node of
// shape (b, out, in) (in general (b, out..., in...)). f must map every
// sample on its own; otherwise the trace records an error naming the
// operation that mixes samples. The result can be differentiated again.
func BatchJacobianOf(f Fn, x *Node, opts ...Option) *Node {
	c := newConfig(opts)
	return transformNode("BatchJacobianOf", f, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		return jacobianAuto(p, c.mode)
	}))
}

// JacobianMode returns the mode that Auto chooses for the per-sample
// Jacobian of f on samples of the given shape, with the cost model's FLOPs
// per sample for forward and for reverse mode.
func JacobianMode(f Fn, sampleShape []int) (m Mode, forwardFLOPs, reverseFLOPs float64, err error) {
	ps, err := perSampleProgram(f, append([]int{2}, sampleShape...))
	if err != nil {
		return Auto, 0, 0, apiError(err)
	}
	fwd, rev, err := jacobianBoth(ps)
	if err != nil {
		return Auto, 0, 0, apiError(err)
	}
	return cheaper(fwd, rev), transform.CostOf(fwd).FLOPs, transform.CostOf(rev).FLOPs, nil
}

// BatchGradOf returns the per-sample gradient of a function with one output
// per sample (shape (b,) or (b, 1)): shape (b, in).
func BatchGradOf(f Fn, x *Node) *Node {
	var g Fn
	if f != nil {
		g = func(x *Node) *Node {
			y := f(x)
			if y.Rank() == 2 && y.Shape()[1] == 1 {
				y = y.Reshape(y.Shape()[0])
			}
			return y
		}
	}
	return transformNode("BatchGradOf", g, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		return jacobianProgram(p, Reverse)
	}))
}

// BatchHessianOf returns the per-sample Hessian, shape (b, out, in, in), by
// forward-over-reverse differentiation.
func BatchHessianOf(f Fn, x *Node) *Node {
	return transformNode("BatchHessianOf", f, x, perSample(hessianProgram))
}

// JacobianOf returns the full Jacobian of f at x, shaped f(x).shape ++ x.shape.
func JacobianOf(f Fn, x *Node, opts ...Option) *Node {
	c := newConfig(opts)
	return transformNode("JacobianOf", f, x, func(p *ir.Program) (*ir.Program, error) { return jacobianAuto(p, c.mode) })
}

// GradOf returns the gradient of a function with a single-element output.
func GradOf(f Fn, x *Node) *Node {
	return transformNode("GradOf", f, x, func(p *ir.Program) (*ir.Program, error) {
		if n := p.Out[0].Size(); n != 1 {
			return nil, fmt.Errorf("the function's output has %d elements (shape %v); grad needs one", n, p.Out[0].Shape)
		}
		return jacobianProgram(scalarOut(p), Reverse)
	})
}

// HessianOf returns the full Hessian of a single-element function, shaped
// x.shape ++ x.shape.
func HessianOf(f Fn, x *Node) *Node {
	return transformNode("HessianOf", f, x, func(p *ir.Program) (*ir.Program, error) {
		if n := p.Out[0].Size(); n != 1 {
			return nil, fmt.Errorf("the function's output has %d elements (shape %v); hessian needs one", n, p.Out[0].Shape)
		}
		return hessianProgram(scalarOut(p))
	})
}

// scalarOut reshapes p's single-element output to shape ().
func scalarOut(p *ir.Program) *ir.Program {
	if p.Out[0].Rank() == 0 {
		return p
	}
	b := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(p.In))
	for i, v := range p.In {
		args[i] = b.Input(v.Shape)
	}
	y := b.Inline(p, args)[0]
	q, _ := b.Build(op.ReshapeTo(b, y, []int{}))
	return q
}

// ValueAndGradOf returns f(xs) and its gradient with respect to every
// x in xs, inside a trace; f must have a single-element output. Tracing a
// function that returns both gives a compiled training step.
func ValueAndGradOf(f func(xs []*Node) *Node, xs []*Node) (*Node, []*Node) {
	var fn func([]*Node) []*Node
	if f != nil {
		fn = func(in []*Node) []*Node { return []*Node{f(in)} }
	}
	c := transformation{what: "ValueAndGradOf", args: xs, nout: 1 + len(xs), fn: fn}
	c.check = func() error {
		if len(xs) == 0 {
			return fmt.Errorf("needs at least one input")
		}
		return nil
	}
	c.build = func(prog *ir.Program) (*ir.Program, error) {
		if n := prog.Out[0].Size(); n != 1 {
			return nil, fmt.Errorf("the function's output has shape %v; grad needs a single element", prog.Out[0].Shape)
		}
		wrt := make([]bool, len(prog.In))
		for i := range xs {
			wrt[i] = true
		}
		vp, err := transform.VJP(prog, wrt)
		if err != nil {
			return nil, err
		}
		b, args := inputsLike(prog)
		outs := b.Inline(vp, append(args, op.Const(b, tensor.Ones(prog.Out[0].Shape...))))
		q, err := b.Build(outs[:1+len(xs)]...)
		if err != nil {
			return nil, err
		}
		return transform.Simplify(q)
	}
	out := c.apply()
	return out[0], out[1:]
}

// JVPOf returns f(x) and the Jacobian-vector product J·v inside a trace.
func JVPOf(f Fn, x, v *Node) (y, jv *Node) {
	return pairOf("JVPOf", f, x, v, func(p *ir.Program) (*ir.Program, error) { return transform.JVP(p, wrtFirst(p)) })
}

// VJPOf returns f(x) and the vector-Jacobian product uᵀ·J inside a trace.
func VJPOf(f Fn, x, u *Node) (y, vj *Node) {
	return pairOf("VJPOf", f, x, u, func(p *ir.Program) (*ir.Program, error) { return transform.VJP(p, wrtFirst(p)) })
}

// pairOf runs a transform whose program takes one extra input (a tangent or
// cotangent) after the captured values and returns two outputs.
func pairOf(what string, f Fn, x, extra *Node, build func(*ir.Program) (*ir.Program, error)) (*Node, *Node) {
	var fn func([]*Node) []*Node
	if f != nil {
		fn = func(in []*Node) []*Node { return []*Node{f(in[0])} }
	}
	c := transformation{what: what, args: []*Node{x}, extra: []*Node{extra}, nout: 2, fn: fn}
	c.build = func(p *ir.Program) (*ir.Program, error) {
		q, err := build(p)
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
