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
	bufs     []bufInfo
	steps    []step
	lay      map[*ir.Var]layout
	combined int // chains of fused members run as one kernel (see combine)
}

func (c *compiler) newBuf(size int, dt tensor.DType) int {
	c.bufs = append(c.bufs, bufInfo{kind: bufSlab, dtype: dt, size: size, def: len(c.steps), last: len(c.steps)})
	return len(c.bufs) - 1
}

// use marks a buffer as read by the step about to be added.
func (c *compiler) use(l layout) {
	if b := &c.bufs[l.buf]; b.kind == bufSlab && b.last < len(c.steps) {
		b.last = len(c.steps)
	}
}

func compilePlan(p *ir.Program) (*compiler, error) {
	c := &compiler{lay: make(map[*ir.Var]layout, len(p.In)+len(p.Eqns))}
	for i, v := range p.In {
		c.bufs = append(c.bufs, bufInfo{kind: bufInput, dtype: v.DType, input: i})
		c.lay[v] = layout{buf: len(c.bufs) - 1, shape: v.Shape, strides: tensor.Strides(v.Shape)}
	}
	consumers := make(map[*ir.Var][]*ir.Eqn, len(p.In)+len(p.Eqns))
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
		lower := op.LoweringOf(e.Prim)
		if lower == op.Fused {
			if g != nil && !g.accepts(e, in) {
				flush()
			}
			if g == nil {
				g = newGroup(e.Out.Shape, e.Out.DType)
			}
			g.add(c, e, in)
			continue
		}
		if !isView(e, lower, in) {
			flush()
		}
		out, err := c.eqn(e, lower, in)
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
func isView(e *ir.Eqn, lower op.Lowering, in []layout) bool {
	switch lower {
	case op.Literal:
		return true
	case op.Strided:
		_, _, ok := e.Prim.(op.View).View(in[0].off, in[0].strides, in[0].shape, e.Out.Shape)
		return ok
	case op.Reduction:
		return sumsSizeOne(e.Prim.(op.ReduceSum), in[0].shape)
	}
	return false
}

// eqn compiles e by its primitive's lowering.
func (c *compiler) eqn(e *ir.Eqn, lower op.Lowering, in []layout) (layout, error) {
	shape := e.Out.Shape
	switch lower {
	case op.Strided:
		v := e.Prim.(op.View)
		x := in[0]
		off, st, ok := v.View(x.off, x.strides, x.shape, shape)
		if !ok {
			x = c.contiguousCopy(x)
			if off, st, ok = v.View(x.off, x.strides, x.shape, shape); !ok {
				return layout{}, fmt.Errorf("no view of a contiguous input (internal error)")
			}
		}
		return layout{buf: x.buf, off: off, shape: shape, strides: st}, nil
	case op.Literal:
		t, err := e.Prim.(op.Evaluator).Eval(nil)
		if err != nil {
			return layout{}, err
		}
		if t.DType() != e.Out.DType {
			return layout{}, fmt.Errorf("evaluates to %v, the program says %v (internal error)", t.DType(), e.Out.DType)
		}
		c.bufs = append(c.bufs, bufInfo{kind: bufConst, dtype: t.DType(), data: ValuesOf(t)})
		return layout{buf: len(c.bufs) - 1, shape: shape, strides: tensor.Strides(shape)}, nil
	case op.MatrixProduct:
		if e.Out.DType == tensor.Float32 {
			return matmul[float32](c, e, in[0], in[1])
		}
		return matmul[float64](c, e, in[0], in[1])
	case op.Reduction:
		if e.Out.DType == tensor.Float32 {
			return reduceSum[float32](c, e, e.Prim.(op.ReduceSum), in[0]), nil
		}
		return reduceSum[float64](c, e, e.Prim.(op.ReduceSum), in[0]), nil
	case op.Conversion:
		return c.convert(e, in[0]), nil
	case op.Generated:
		// Written on every run into the slab: nothing kept in the plan.
		g := e.Prim.(op.Generator)
		n := tensor.Size(shape)
		bi := c.newBuf(n, e.Out.DType)
		if e.Out.DType == tensor.Float32 {
			c.steps = append(c.steps, func(s *state) { g.Generate32(s.f32.bufs[bi][:n]) })
		} else {
			c.steps = append(c.steps, func(s *state) { g.Generate64(s.f64.bufs[bi][:n]) })
		}
		return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
	case op.Evaluated:
	default:
		return layout{}, fmt.Errorf("no lowering (internal error)")
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
	bi := c.newBuf(n, e.Out.DType)
	args := slices.Clone(in)
	dts := make([]tensor.DType, len(args))
	for i, l := range args {
		dts[i] = c.bufs[l.buf].dtype
	}
	c.steps = append(c.steps, func(s *state) {
		ts := make([]*tensor.Tensor, len(args))
		for i, l := range args {
			if dts[i] == tensor.Float32 {
				ts[i], _ = tensor.New32(l.shape, s.f32.bufs[l.buf][l.off:l.off+tensor.Size(l.shape)])
			} else {
				ts[i], _ = tensor.New(l.shape, s.f64.bufs[l.buf][l.off:l.off+tensor.Size(l.shape)])
			}
		}
		t, err := ev.Eval(ts)
		if err != nil {
			panic(err)
		}
		if t.DType() == tensor.Float32 {
			copy(s.f32.bufs[bi][:n], t.Data32())
		} else {
			copy(s.f64.bufs[bi][:n], t.Data())
		}
	})
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}, nil
}

// convert compiles a conversion: a copy of x's values (contiguous first)
// into a buffer of the output's dtype.
func (c *compiler) convert(e *ir.Eqn, x layout) layout {
	x = c.contiguousCopy(x)
	c.use(x)
	shape := e.Out.Shape
	n := tensor.Size(shape)
	bi := c.newBuf(n, e.Out.DType)
	from, src := c.bufs[x.buf].dtype, x.buf
	off := x.off
	switch {
	case from == e.Out.DType && from == tensor.Float32:
		c.steps = append(c.steps, func(s *state) { copy(s.f32.bufs[bi][:n], s.f32.bufs[src][off:off+n]) })
	case from == e.Out.DType:
		c.steps = append(c.steps, func(s *state) { copy(s.f64.bufs[bi][:n], s.f64.bufs[src][off:off+n]) })
	case from == tensor.Float32:
		c.steps = append(c.steps, func(s *state) { convertRow(s.f64.bufs[bi][:n], s.f32.bufs[src][off:off+n]) })
	default:
		c.steps = append(c.steps, func(s *state) { convertRow(s.f32.bufs[bi][:n], s.f64.bufs[src][off:off+n]) })
	}
	return layout{buf: bi, shape: shape, strides: tensor.Strides(shape)}
}

// convertRow sets dst[i] = src[i] in dst's type (rounding to nearest).
func convertRow[D, S tensor.Float](dst []D, src []S) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = D(v)
	}
}
