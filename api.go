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
	return transformNode("batch jacobian", f, x, perSample(func(p *ir.Program) (*ir.Program, error) {
		return jacobianAuto(p, c.mode)
	}))
}

// JacobianMode returns the mode that Auto chooses for the per-sample
// Jacobian of f on samples of the given shape, with the cost model's FLOPs
// per sample for forward and for reverse mode.
func JacobianMode(f Fn, sampleShape []int) (m Mode, forwardFLOPs, reverseFLOPs float64, err error) {
	ps, err := perSampleProgram(f, append([]int{2}, sampleShape...))
	if err != nil {
		return Auto, 0, 0, err
	}
	fwd, rev, err := jacobianBoth(ps)
	if err != nil {
		return Auto, 0, 0, err
	}
	return cheaper(fwd, rev), transform.CostOf(fwd).FLOPs, transform.CostOf(rev).FLOPs, nil
}

// BatchGradOf returns the per-sample gradient of a function with one output
// per sample (shape (b,) or (b, 1)): shape (b, in).
func BatchGradOf(f Fn, x *Node) *Node {
	g := func(x *Node) *Node {
		y := f(x)
		if y.Rank() == 2 && y.Shape()[1] == 1 {
			y = y.Reshape(y.Shape()[0])
		}
		return y
	}
	return BatchJacobianOf(g, x, WithMode(Reverse))
}

// BatchHessianOf returns the per-sample Hessian, shape (b, out, in, in), by
// forward-over-reverse differentiation.
func BatchHessianOf(f Fn, x *Node) *Node {
	return transformNode("batch hessian", f, x, perSample(hessianProgram))
}

// JacobianOf returns the full Jacobian of f at x, shaped f(x).shape ++ x.shape.
func JacobianOf(f Fn, x *Node, opts ...Option) *Node {
	c := newConfig(opts)
	return transformNode("jacobian", f, x, func(p *ir.Program) (*ir.Program, error) { return jacobianAuto(p, c.mode) })
}

// GradOf returns the gradient of a function with a single-element output.
func GradOf(f Fn, x *Node) *Node {
	return transformNode("grad", f, x, func(p *ir.Program) (*ir.Program, error) {
		if n := p.Out[0].Size(); n != 1 {
			return nil, fmt.Errorf("the function's output has %d elements (shape %v); grad needs one", n, p.Out[0].Shape)
		}
		return jacobianProgram(scalarOut(p), Reverse)
	})
}

// HessianOf returns the full Hessian of a single-element function, shaped
// x.shape ++ x.shape.
func HessianOf(f Fn, x *Node) *Node {
	return transformNode("hessian", f, x, func(p *ir.Program) (*ir.Program, error) {
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
	src := callerSrc()
	fail := func(err error) (*Node, []*Node) {
		err = fmt.Errorf("jacobi: value and grad (at %s): %w", src, err)
		n := &Node{err: err}
		for _, x := range xs {
			if x != nil && x.b != nil {
				x.b.Fail(err)
				n = &Node{b: x.b, v: &ir.Var{}}
				break
			}
		}
		gs := make([]*Node, len(xs))
		for i := range gs {
			gs[i] = n
		}
		return n, gs
	}
	if f == nil || len(xs) == 0 {
		return fail(fmt.Errorf("needs a function and at least one input"))
	}
	prog, parent, outer, err := subtrace(func(in []*Node) []*Node { return []*Node{f(in)} }, xs...)
	if err != nil {
		return fail(err)
	}
	if n := prog.Out[0].Size(); n != 1 {
		return fail(fmt.Errorf("the function's output has shape %v; grad needs a single element", prog.Out[0].Shape))
	}
	wrt := make([]bool, len(prog.In))
	for i := range xs {
		wrt[i] = true
	}
	vp, err := transform.VJP(prog, wrt)
	if err != nil {
		return fail(err)
	}
	b := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(prog.In))
	for i, v := range prog.In {
		args[i] = b.Input(v.Shape)
	}
	outs := b.Inline(vp, append(args, op.Const(b, tensor.Ones(prog.Out[0].Shape...))))
	q, err := b.Build(outs...)
	if err == nil {
		q, err = transform.Simplify(q)
	}
	if err != nil {
		return fail(err)
	}
	parent.Src = src
	res := parent.Inline(q, outer)
	parent.Src = ""
	grads := make([]*Node, len(xs))
	for i := range grads {
		grads[i] = &Node{b: parent, v: res[1+i]}
	}
	return &Node{b: parent, v: res[0]}, grads
}

// JVPOf returns f(x) and the Jacobian-vector product J·v inside a trace.
func JVPOf(f Fn, x, v *Node) (y, jv *Node) {
	return pairOf("jvp", f, x, v, func(p *ir.Program) (*ir.Program, error) { return transform.JVP(p, wrtFirst(p)) })
}

// VJPOf returns f(x) and the vector-Jacobian product uᵀ·J inside a trace.
func VJPOf(f Fn, x, u *Node) (y, vj *Node) {
	return pairOf("vjp", f, x, u, func(p *ir.Program) (*ir.Program, error) { return transform.VJP(p, wrtFirst(p)) })
}

// pairOf runs a transform whose program takes one extra input (a tangent or
// cotangent) after the captured values and returns two outputs.
func pairOf(what string, f Fn, x, extra *Node, build func(*ir.Program) (*ir.Program, error)) (*Node, *Node) {
	src := callerSrc()
	fail := func(err error) (*Node, *Node) {
		err = fmt.Errorf("jacobi: %s (at %s): %w", what, src, err)
		if x != nil && x.b != nil {
			x.b.Fail(err)
			return &Node{b: x.b, v: &ir.Var{}}, &Node{b: x.b, v: &ir.Var{}}
		}
		return &Node{err: err}, &Node{err: err}
	}
	if x == nil || extra == nil || f == nil {
		return fail(fmt.Errorf("nil function or input"))
	}
	prog, parent, outer, err := subtrace(func(in []*Node) []*Node { return []*Node{f(in[0])} }, x)
	if err != nil {
		return fail(err)
	}
	q, err := build(prog)
	if err != nil {
		return fail(err)
	}
	q, err = transform.Simplify(q)
	if err != nil {
		return fail(err)
	}
	want := q.In[len(q.In)-1].Shape
	if !tensor.SameShape(extra.Shape(), want) {
		return fail(fmt.Errorf("the vector has shape %v, want %v", extra.Shape(), want))
	}
	_, ev, err := target(&Node{b: parent, v: outer[0]}, extra)
	if err != nil {
		return fail(err)
	}
	parent.Src = src
	out := parent.Inline(q, append(outer, ev[1]))
	parent.Src = ""
	return &Node{b: parent, v: out[0]}, &Node{b: parent, v: out[1]}
}

// VmapOf applies a function of one sample to every row of x (axis 0) as one
// batched computation, inside a trace.
func VmapOf(f Fn, x *Node) *Node {
	src := callerSrc()
	if x == nil || f == nil || x.Rank() < 1 {
		return &Node{err: fmt.Errorf("jacobi: vmap (at %s): needs a function and an input with a leading axis", src)}
	}
	n := x.Shape()[0]
	parent, vars, err := target(x)
	if err != nil || parent == nil {
		return &Node{err: fmt.Errorf("jacobi: vmap (at %s): needs a traced input", src)}
	}
	child := ir.NewBuilder(parent)
	xi := &Node{b: child, v: child.Input(x.Shape()[1:])}
	y := f(xi)
	if err := y.Err(); err != nil {
		parent.Fail(err)
		return &Node{b: parent, v: &ir.Var{}}
	}
	var yv *ir.Var
	if y.b == nil {
		yv = op.Const(child, y.c)
	} else if yv, err = child.Capture(y.v); err != nil {
		parent.Fail(err)
		return &Node{b: parent, v: &ir.Var{}}
	}
	prog, err := child.Build(yv)
	if err == nil {
		flags := make([]bool, len(prog.In))
		flags[0] = true
		prog, err = transform.Vmap(prog, flags, n)
	}
	if err != nil {
		parent.Fail(fmt.Errorf("jacobi: vmap (at %s): %w", src, err))
		return &Node{b: parent, v: &ir.Var{}}
	}
	out := parent.Inline(prog, append(vars, child.CapturedOuter...))
	return &Node{b: parent, v: out[0]}
}

// Vmap returns the batched version of a per-sample function f: it maps
// x (b, in...) to the stack of f applied to each row.
func Vmap(f Fn) Fn { return func(x *Node) *Node { return VmapOf(f, x) } }
