package transform

import (
	"errors"
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Unbatch proves that p maps every sample on its own and returns the
// per-sample program. axes[i] is the batch axis of input i, or -1 for an
// input shared by all samples (a parameter). The per-sample program has the
// same inputs with their batch axis removed; outAxes gives each output's
// batch axis in p (-1: the output does not depend on the sample). An output
// that does not depend on the sample but is a broadcast along a leading axis
// of the batch's size counts as having its batch axis there.
//
// When a primitive mixes samples — sums or contracts over the batch axis,
// merges it with another axis by a reshape, selects some samples — Unbatch
// returns an *op.MixError naming the primitive and where it was traced.
func Unbatch(p *ir.Program, axes []int) (*ir.Program, []int, error) {
	u, err := newUnbatcher(p, axes)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range p.Eqns {
		if err := u.step(e); err != nil {
			return nil, nil, err
		}
	}
	u.b.Src = ""
	outs := make([]*ir.Var, len(p.Out))
	outAxes := make([]int, len(p.Out))
	for i, v := range p.Out {
		outs[i], outAxes[i] = u.env[v], u.axis[v]
		if outAxes[i] < 0 && v.Rank() > 0 && v.Shape[0] == batchSize(p, axes) {
			// A value shared by all samples but shaped like the batch (a
			// broadcast, typically a derivative that is constant): give
			// each sample its row.
			if d, err := u.dropAxis(v, 0); err == nil {
				outs[i], outAxes[i] = d, 0
			}
		}
	}
	prog, err := u.b.Build(outs...)
	return prog, outAxes, err
}

func newUnbatcher(p *ir.Program, axes []int) (*unbatcher, error) {
	if len(axes) != len(p.In) {
		return nil, fmt.Errorf("unbatch: %d axes for %d inputs", len(axes), len(p.In))
	}
	u := &unbatcher{
		b:    ir.NewBuilder(nil),
		env:  make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns)),
		axis: make(map[*ir.Var]int, len(p.In)+len(p.Eqns)),
		def:  make(map[*ir.Var]*ir.Eqn, len(p.Eqns)),
		drop: map[dropKey]*ir.Var{},
	}
	for i, v := range p.In {
		a := axes[i]
		if a >= v.Rank() {
			return nil, fmt.Errorf("unbatch: batch axis %d for input %d of shape %v", a, i, v.Shape)
		}
		u.axis[v] = a
		if a >= 0 {
			u.env[v] = u.b.InputOf(v.DType, tensor.RemoveAxis(v.Shape, a))
		} else {
			u.env[v] = u.b.InputLike(v)
		}
	}
	return u, nil
}

// step emits the per-sample form of e by its primitive's Unbatch rule.
func (u *unbatcher) step(e *ir.Eqn) error {
	u.def[e.Out] = e
	r, err := rules(e)
	if err != nil {
		return err
	}
	u.b.Src = e.Src
	defer func() { u.b.Src = "" }()
	args := make([]*ir.Var, len(e.In))
	ax := make([]int, len(e.In))
	shapes := make([][]int, len(e.In))
	for i, v := range e.In {
		args[i], ax[i], shapes[i] = u.env[v], u.axis[v], v.Shape
	}
	dropper := func(i, a int) (*ir.Var, error) { return u.dropAxis(e.In[i], a) }
	out, a, err := r.Unbatch(u.b, args, ax, shapes, dropper)
	if err != nil {
		var me *op.MixError
		if errors.As(err, &me) && me.Src == "" {
			me.Src = e.Src
		}
		return err
	}
	u.env[e.Out], u.axis[e.Out] = out, a
	return nil
}

// batchSize returns the size of the batch axis of the first batched input, or -1.
func batchSize(p *ir.Program, axes []int) int {
	for i, a := range axes {
		if a >= 0 {
			return p.In[i].Shape[a]
		}
	}
	return -1
}

type dropKey struct {
	v    *ir.Var
	axis int
}

type unbatcher struct {
	b    *ir.Builder
	env  map[*ir.Var]*ir.Var
	axis map[*ir.Var]int
	def  map[*ir.Var]*ir.Eqn
	drop map[dropKey]*ir.Var
}

// dropAxis gives the per-sample form of v, a value shared by all samples
// whose shape nevertheless carries the batch axis: a broadcast along it, a
// constant that is the same in every row, or elementwise work on such.
func (u *unbatcher) dropAxis(v *ir.Var, a int) (*ir.Var, error) {
	key := dropKey{v, a}
	if d, ok := u.drop[key]; ok {
		return d, nil
	}
	d, err := u.dropAxisUncached(v, a)
	if err == nil {
		u.drop[key] = d
	}
	return d, err
}

func (u *unbatcher) dropAxisUncached(v *ir.Var, a int) (*ir.Var, error) {
	e := u.def[v]
	fail := func(why string) error {
		name, at := "input", ""
		if e != nil {
			name, at = e.Prim.Name(), e.Src
		}
		return &op.MixError{Prim: name, Src: at, Reason: fmt.Sprintf("gives a value of shape %v that does not come from the samples but differs along the batch axis %d (%s)", v.Shape, a, why)}
	}
	if e == nil {
		return nil, fail("a shared input used as if it were per-sample")
	}
	switch p := e.Prim.(type) {
	case op.Broadcast:
		src := u.env[e.In[0]]
		in := -1
		for i, d := range p.Dims {
			if d == a {
				in = i
			}
		}
		if in >= 0 {
			if e.In[0].Shape[in] != 1 {
				// The axis comes from the input: its row there.
				d, err := u.dropAxis(e.In[0], in)
				if err != nil {
					return nil, err
				}
				return u.b.Emit(p.WithoutAxis(a, in), d), nil
			}
			src = op.ReshapeTo(u.b, src, tensor.RemoveAxis(src.Shape, in))
		}
		return u.b.Emit(p.WithoutAxis(a, in), src), nil
	case op.Constant:
		t := p.Value
		s := t.Shape()
		outer, n, inner := tensor.Size(s[:a]), s[a], tensor.Size(s[a+1:])
		data := t.Float64s() // float32 values are exact as float64
		if n == 0 {
			// An empty batch: no sample will ever read the row.
			return op.Full(u.b, 0, t.DType(), tensor.RemoveAxis(s, a)), nil
		}
		row := make([]float64, 0, outer*inner)
		for o := 0; o < outer; o++ {
			first := data[o*n*inner : o*n*inner+inner]
			for k := 1; k < n; k++ {
				other := data[(o*n+k)*inner : (o*n+k+1)*inner]
				for j := range first {
					if first[j] != other[j] {
						return nil, fail("a constant whose rows differ")
					}
				}
			}
			row = append(row, first...)
		}
		c, err := tensor.New(tensor.RemoveAxis(s, a), row)
		if err != nil {
			return nil, err
		}
		return op.Const(u.b, c.Convert(t.DType())), nil
	case op.MatMul:
		// (…, n, k)·(k, m) along a leading axis a of the left operand: the
		// left operand's row, times the same matrix. A cotangent broadcast
		// over the batch, pulled back through a layer, is such a value.
		x, y := e.In[0], e.In[1]
		if y.Rank() != 2 || a >= x.Rank()-1 {
			return nil, fail("a product along the batch axis")
		}
		d, err := u.dropAxis(x, a)
		if err != nil {
			return nil, err
		}
		if d.Rank() == 1 {
			d = op.ReshapeTo(u.b, d, []int{1, d.Shape[0]})
		}
		out := u.b.Emit(p, d, u.env[y])
		return op.ReshapeTo(u.b, out, tensor.RemoveAxis(v.Shape, a)), nil
	case op.Transpose:
		d, err := u.dropAxis(e.In[0], p.Perm[a])
		if err != nil {
			return nil, err
		}
		// The permutation of the remaining axes, renumbered.
		var perm []int
		for i, src := range p.Perm {
			if i == a {
				continue
			}
			if src > p.Perm[a] {
				src--
			}
			perm = append(perm, src)
		}
		return u.b.Emit(op.Transpose{Perm: perm}, d), nil
	case op.Elementwise:
		// Position by position: the operands' rows.
		args := make([]*ir.Var, len(e.In))
		for i, w := range e.In {
			d, err := u.dropAxis(w, a)
			if err != nil {
				return nil, err
			}
			args[i] = d
		}
		return u.b.Emit(e.Prim, args...), nil
	}
	if d := u.dropByRule(e, v, a); d != nil {
		return d, nil
	}
	return nil, fail("not a broadcast")
}

// dropByRule gives the row of v along axis a by the Unbatch rule of the
// equation e that makes it, with each input's row along an axis of the
// batch's size where that input has one that is the same in every row
// (dropAxis), else the input whole: when the rule then puts the batch axis
// at a, v is the same along a, and the rule's result is its row. A shape
// op (reshape, pad, slice, reduce_sum over other axes) of a broadcast
// cotangent — the gradient of a sum over the samples, differentiated
// again — is such a value. It returns nil when the rule does not say so.
func (u *unbatcher) dropByRule(e *ir.Eqn, v *ir.Var, a int) *ir.Var {
	r, err := rules(e)
	if err != nil {
		return nil
	}
	n := v.Shape[a]
	args := make([]*ir.Var, len(e.In))
	ax := make([]int, len(e.In))
	shapes := make([][]int, len(e.In))
	for i, w := range e.In {
		if u.axis[w] >= 0 {
			return nil // per-sample inputs: v is not shared
		}
		args[i], ax[i], shapes[i] = u.env[w], -1, w.Shape
		for j, d := range w.Shape {
			if d != n {
				continue
			}
			if row, err := u.dropAxis(w, j); err == nil {
				args[i], ax[i] = row, j
				break
			}
		}
	}
	dropper := func(i, j int) (*ir.Var, error) { return u.dropAxis(e.In[i], j) }
	out, got, err := r.Unbatch(u.b, args, ax, shapes, dropper)
	if err != nil || got != a {
		return nil
	}
	return out
}
