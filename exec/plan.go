package exec

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// The compiled plan. Shapes are static, so the layout of every value is
// known before anything runs: broadcasts, transposes, slices and reshapes
// of contiguous values become views (new strides over the same memory,
// no step at all); consecutive elementwise equations of one shape become
// one fused step that runs them block by block, keeping the values only
// they read in block-sized scratch; every other equation becomes a step
// that writes a buffer. Buffers are placed in one slab by liveness, a
// region reused once its last reader has run, so a run needs one slab
// (pooled across runs) and allocates only its outputs.

type compiler struct {
	bufs  []bufInfo
	steps []step
	lay   map[*ir.Var]layout
}

func (c *compiler) newBuf(size int) int {
	c.bufs = append(c.bufs, bufInfo{kind: bufSlab, size: size, def: len(c.steps), last: len(c.steps)})
	return len(c.bufs) - 1
}

// use marks a buffer as read by the step about to be added.
func (c *compiler) use(l layout) {
	if b := &c.bufs[l.buf]; b.kind == bufSlab && b.last < len(c.steps) {
		b.last = len(c.steps)
	}
}

func compilePlan(p *ir.Program) (*compiler, error) {
	c := &compiler{lay: map[*ir.Var]layout{}}
	for i, v := range p.In {
		c.bufs = append(c.bufs, bufInfo{kind: bufInput, input: i})
		c.lay[v] = layout{buf: len(c.bufs) - 1, shape: v.Shape, strides: tensor.Strides(v.Shape)}
	}
	consumers := map[*ir.Var][]*ir.Eqn{}
	for _, e := range p.Eqns {
		for _, v := range e.In {
			consumers[v] = append(consumers[v], e)
		}
	}
	for _, v := range p.Out {
		consumers[v] = append(consumers[v], nil) // read by the caller
	}
	// Elementwise equations of one shape are gathered into a group while
	// nothing else needs a step; the group becomes one fused step.
	var g *group
	flush := func() {
		if g != nil {
			c.fuse(g, consumers)
			g = nil
		}
	}
	for _, e := range p.Eqns {
		in := make([]layout, len(e.In))
		for i, v := range e.In {
			in[i] = c.lay[v]
		}
		if k := rowKernels(e.Prim); k != nil {
			if g != nil && !g.accepts(e, in) {
				flush()
			}
			if g == nil {
				g = newGroup(e.Out.Shape)
			}
			g.add(c, e, k, in)
			continue
		}
		if !isView(e, in) {
			flush()
		}
		out, err := c.eqn(e, in)
		if err != nil {
			return nil, fmt.Errorf("exec: %s: %w", e.Prim.Name(), err)
		}
		c.lay[e.Out] = out
	}
	flush()
	for _, v := range p.Out {
		l := c.lay[v]
		if b := &c.bufs[l.buf]; b.kind == bufSlab {
			b.last = len(c.steps) + 1
		}
	}
	return c, nil
}

// isView reports whether e compiles to a layout over existing memory,
// adding no step.
func isView(e *ir.Eqn, in []layout) bool {
	switch e.Prim.(type) {
	case op.Broadcast, op.Transpose, op.Slice, op.Constant:
		return true
	case op.Reshape:
		return in[0].contiguous()
	}
	return false
}

func (c *compiler) eqn(e *ir.Eqn, in []layout) (layout, error) {
	shape := e.Out.Shape
	switch p := e.Prim.(type) {
	case op.Broadcast:
		x := in[0]
		st := make([]int, len(p.Shape))
		for i, d := range p.Dims {
			if x.shape[i] == p.Shape[d] {
				st[d] = x.strides[i]
			}
		}
		return layout{buf: x.buf, off: x.off, shape: shape, strides: st}, nil
	case op.Transpose:
		x := in[0]
		st := make([]int, len(p.Perm))
		for i, src := range p.Perm {
			st[i] = x.strides[src]
		}
		return layout{buf: x.buf, off: x.off, shape: shape, strides: st}, nil
	case op.Slice:
		x := in[0]
		off := x.off
		for d := range p.Start {
			off += p.Start[d] * x.strides[d]
		}
		return layout{buf: x.buf, off: off, shape: shape, strides: x.strides}, nil
	case op.Reshape:
		x := c.contiguousCopy(in[0])
		return layout{buf: x.buf, off: x.off, shape: shape, strides: tensor.Strides(shape)}, nil
	case op.Constant:
		c.bufs = append(c.bufs, bufInfo{kind: bufConst, data: p.Value.Data()})
		return layout{buf: len(c.bufs) - 1, shape: shape, strides: tensor.Strides(shape)}, nil
	case op.MatMul:
		return c.matmul(e, in[0], in[1])
	case op.ReduceSum:
		return c.reduceSum(e, p, in[0]), nil
	}
	// Fallback: the primitive's own evaluation on contiguous copies.
	ev, ok := e.Prim.(op.Evaluator)
	if !ok {
		return layout{}, fmt.Errorf("cannot be evaluated")
	}
	for i := range in {
		in[i] = c.contiguousCopy(in[i])
	}
	// Marked only now: a copy made above must live until the step below,
	// not just until the next copy's step (which could then reuse its
	// memory).
	for i := range in {
		c.use(in[i])
	}
	n := tensor.Size(shape)
	bi := c.newBuf(n)
	args := slices.Clone(in)
	c.steps = append(c.steps, func(s *state) {
		ts := make([]*tensor.Tensor, len(args))
		for i, l := range args {
			ts[i], _ = tensor.New(l.shape, s.bufs[l.buf][l.off:l.off+tensor.Size(l.shape)])
		}
		t, err := ev.Eval(ts)
		if err != nil {
			panic(err)
		}
		copy(s.bufs[bi][:n], t.Data())
	})
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
}
