package transform

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// SumSplit is a program over a batch cut where its samples meet. Most
// programs that mix samples do so only by summing over them — a loss that
// is a mean over the batch, the gradients of the parameters — and use the
// sums only to compute outputs. Such a program is a per-sample head (run on
// chunks of the batch, in cache), the sums of the head's terms over the
// samples, and a tail that computes the remaining outputs from the sums.
type SumSplit struct {
	// Head maps one sample to its terms of every sum, in the order of
	// Sums, followed by its rows of the batched outputs. Its inputs are the
	// program's, the batched ones without their batch axis.
	Head *ir.Program
	// Batched flags the program's inputs that carry the batch (axis 0).
	Batched []bool
	// Sums says how the head's terms sum up into the tail's inputs.
	Sums []Sum
	// Tail computes the outputs that are not per-sample. Its inputs are
	// the program's shared inputs (those not Batched, in order) followed by
	// one per sum.
	Tail *ir.Program
	// Out says where each of the program's outputs comes from.
	Out []SplitOut
}

// SumKind is how a sum is formed from the head's terms.
type SumKind int

const (
	// SumTerms is Σₛ tₛ: the sum over the samples of one term.
	SumTerms SumKind = iota
	// SumOuter is Σₛ aₛᵀbₛ for two terms of d rows each: a matrix
	// product whose inner dimension is the batch (d = 1) or the batch
	// merged with other axes.
	SumOuter
)

// Sum is one sum over the samples.
type Sum struct {
	Kind  SumKind
	Terms []int // the head's outputs it sums: one for SumTerms, two (a, b) for SumOuter
	Shape []int
	DType tensor.DType
}

// SplitOut locates one output of the split program: output Index of the
// head (the output's per-sample rows) or of the tail.
type SplitOut struct {
	Head  bool
	Index int
}

// SplitSums splits p, whose inputs flagged batched carry the samples along
// axis 0, at its sums over the samples (see SumSplit). A sum is a
// reduce_sum over the batch axis, or a matrix product whose inner
// dimension is the batch axis. It fails with an *op.MixError when p mixes
// samples otherwise, or when per-sample work depends on a sum (as batch
// normalisation does), and with an error when a batched output does not
// carry the samples along axis 0.
func SplitSums(p *ir.Program, batched []bool) (*SumSplit, error) {
	axes := make([]int, len(p.In))
	for i := range axes {
		axes[i] = -1
		if i < len(batched) && batched[i] {
			axes[i] = 0
		}
	}
	u, err := newUnbatcher(p, axes)
	if err != nil {
		return nil, err
	}
	var terms []*ir.Var
	var sums []Sum
	sumOf := map[*ir.Var]int{} // a sum's value -> its index
	late := map[*ir.Var]bool{} // values computed from sums: the tail's
	// rows[v] = d: v holds d rows per sample along its batch axis (the
	// batch axis merged with the next ones by a reshape, as the gradient of
	// a product with shared weights does); its per-sample form has d there.
	rows := map[*ir.Var]int{}
	batch := batchSize(p, axes)
	for _, e := range p.Eqns {
		u.def[e.Out] = e
		if slices.ContainsFunc(e.In, func(v *ir.Var) bool { return late[v] }) {
			for _, v := range e.In {
				if !late[v] && u.axis[v] >= 0 {
					return nil, &op.MixError{Prim: e.Prim.Name(), Src: e.Src, Reason: "combines a sum over the samples with per-sample values"}
				}
			}
			late[e.Out] = true
			continue
		}
		if ok, err := u.group(e, rows, batch); ok || err != nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		s, ok, err := u.sumTerms(e, rows)
		if err != nil {
			return nil, err
		}
		if ok {
			sum := Sum{Kind: SumTerms, Shape: e.Out.Shape, DType: e.Out.DType}
			if len(s) == 2 {
				sum.Kind = SumOuter
			}
			for _, t := range s {
				sum.Terms = append(sum.Terms, len(terms))
				terms = append(terms, t)
			}
			sumOf[e.Out] = len(sums)
			sums = append(sums, sum)
			late[e.Out] = true
			continue
		}
		if err := u.step(e); err != nil {
			return nil, err
		}
	}

	// The tail: computed lazily from the outputs that need it, re-emitting
	// the shared values it reads.
	tb := ir.NewBuilder(nil)
	tenv := map[*ir.Var]*ir.Var{}
	for i, v := range p.In {
		if axes[i] < 0 {
			tenv[v] = tb.InputLike(v)
		}
	}
	for _, e := range p.Eqns { // one input per sum, in the order of sums
		if _, ok := sumOf[e.Out]; ok {
			tenv[e.Out] = tb.InputLike(e.Out)
		}
	}
	var tailVar func(v *ir.Var) (*ir.Var, error)
	tailVar = func(v *ir.Var) (*ir.Var, error) {
		if t, ok := tenv[v]; ok {
			return t, nil
		}
		e := u.def[v]
		if e == nil || (!late[v] && u.axis[v] >= 0) {
			return nil, fmt.Errorf("split: a value of shape %v is both per-sample and needed after the sums", v.Shape)
		}
		args := make([]*ir.Var, len(e.In))
		for i, w := range e.In {
			a, err := tailVar(w)
			if err != nil {
				return nil, err
			}
			args[i] = a
		}
		tb.Src = e.Src
		t := tb.Emit(e.Prim, args...)
		tb.Src = ""
		tenv[v] = t
		return t, nil
	}

	var headOut, tailOut []*ir.Var
	headOut = append(headOut, terms...)
	outs := make([]SplitOut, len(p.Out))
	for i, v := range p.Out {
		switch a := u.axis[v]; {
		case !late[v] && a == 0:
			outs[i] = SplitOut{Head: true, Index: len(headOut)}
			headOut = append(headOut, u.env[v])
		case !late[v] && a > 0:
			return nil, fmt.Errorf("split: output %d of shape %v carries the samples along axis %d, not 0", i, v.Shape, a)
		default:
			t, err := tailVar(v)
			if err != nil {
				return nil, err
			}
			outs[i] = SplitOut{Index: len(tailOut)}
			tailOut = append(tailOut, t)
		}
	}
	head, err := u.b.Build(headOut...)
	if err != nil {
		return nil, err
	}
	tail, err := tb.Build(tailOut...)
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(p.In))
	for i := range flags {
		flags[i] = axes[i] == 0
	}
	return &SumSplit{Head: head, Batched: flags, Sums: sums, Tail: tail, Out: outs}, nil
}

// group handles the equations that make or move values with several rows
// per sample: a reshape that merges the batch axis 0 with the axes after it,
// a transpose of such a value. Other equations may read such values only to
// sum them (sumTerms).
func (u *unbatcher) group(e *ir.Eqn, rows map[*ir.Var]int, batch int) (bool, error) {
	u.b.Src = e.Src
	defer func() { u.b.Src = "" }()
	switch p := e.Prim.(type) {
	case op.Reshape:
		// A reshape whose leading output axis holds b·d rows keeps every
		// sample's elements together, as row-major reshapes do: sample s
		// fills rows s·d … s·d+d-1. Its per-sample form is a reshape to
		// (d, rest…) (d > 1: several rows per sample) or to (rest…) (d = 1).
		// That covers merging the batch with the axes after it, as the
		// gradient of a product with shared weights does, whatever per-sample
		// reshape Simplify folded into it ((b, 1, 2) -> (2b, 1)), and
		// reshapes of such rows back to one per sample.
		x := e.In[0]
		if u.axis[x] != 0 || len(p.Shape) == 0 || batch <= 0 || p.Shape[0]%batch != 0 {
			break
		}
		d := p.Shape[0] / batch
		if d == 1 && rows[x] == 0 {
			break // an ordinary per-sample reshape: the primitive's rule
		}
		shape := append([]int{d}, p.Shape[1:]...)
		if d == 1 {
			shape = shape[1:]
		}
		u.env[e.Out] = u.b.Emit(op.Reshape{Shape: shape}, u.env[x])
		u.axis[e.Out] = 0
		if d > 1 {
			rows[e.Out] = d
		}
		return true, nil
	case op.Transpose:
		x := e.In[0]
		if rows[x] == 0 {
			break
		}
		u.env[e.Out] = u.b.Emit(p, u.env[x])
		u.axis[e.Out], rows[e.Out] = slices.Index(p.Perm, u.axis[x]), rows[x]
		return true, nil
	}
	for _, v := range e.In {
		if rows[v] != 0 && !isSum(e, u.axis, rows) {
			return false, &op.MixError{Prim: e.Prim.Name(), Src: e.Src, Reason: fmt.Sprintf("reads a value of shape %v whose axis %d merges the batch with other axes, other than to sum over it", v.Shape, u.axis[v])}
		}
	}
	return false, nil
}

// isSum reports whether e is a sum that sumTerms handles for values with
// several rows per sample.
func isSum(e *ir.Eqn, axis map[*ir.Var]int, rows map[*ir.Var]int) bool {
	switch p := e.Prim.(type) {
	case op.ReduceSum:
		return slices.Contains(p.Axes, axis[e.In[0]])
	case op.MatMul:
		x, y := e.In[0], e.In[1]
		return x.Rank() == 2 && y.Rank() == 2 && rows[x] == rows[y] && axis[x] == 1 && axis[y] == 0
	}
	return false
}

// sumTerms reports whether e sums over the samples and if so emits one
// sample's terms of the sum: one term for a reduce_sum over the batch axis;
// for a matrix product x·y over it, the sample's rows a of xᵀ and b of y
// (d×m and d×n, d the rows per sample), the sum being Σₛ aₛᵀbₛ.
func (u *unbatcher) sumTerms(e *ir.Eqn, rows map[*ir.Var]int) ([]*ir.Var, bool, error) {
	u.b.Src = e.Src
	defer func() { u.b.Src = "" }()
	switch p := e.Prim.(type) {
	case op.ReduceSum:
		a := u.axis[e.In[0]]
		if a < 0 || !slices.Contains(p.Axes, a) {
			return nil, false, nil
		}
		t := u.env[e.In[0]]
		if rows[e.In[0]] != 0 {
			// The per-sample form keeps the axis (with the sample's rows).
			return []*ir.Var{u.b.Emit(p, t)}, true, nil
		}
		var rest []int // the other axes, numbered in the sample
		for _, d := range p.Axes {
			switch {
			case d < a:
				rest = append(rest, d)
			case d > a:
				rest = append(rest, d-1)
			}
		}
		if len(rest) > 0 {
			t = u.b.Emit(op.ReduceSum{Axes: rest}, t)
		}
		return []*ir.Var{t}, true, nil
	case op.MatMul:
		x, y := e.In[0], e.In[1]
		if rows[x] != 0 || rows[y] != 0 {
			if !isSum(e, u.axis, rows) {
				return nil, false, nil
			}
			a := u.b.Emit(op.Transpose{Perm: []int{1, 0}}, u.env[x]) // (d, m)
			return []*ir.Var{a, u.env[y]}, true, nil
		}
		ax, ay := u.axis[x], u.axis[y]
		if x.Rank() != 2 || y.Rank() != 2 || (ax != 1 && ay != 0) || (ax != 1 && ax != -1) || (ay != 0 && ay != -1) {
			return nil, false, nil
		}
		// One sample's column of x and row of y; a shared operand must be
		// a broadcast along the batch axis for its column or row to exist.
		xs, ys := u.env[x], u.env[y]
		var err error
		if ax < 0 {
			if xs, err = u.dropAxis(x, 1); err != nil {
				return nil, false, err
			}
		}
		if ay < 0 {
			if ys, err = u.dropAxis(y, 0); err != nil {
				return nil, false, err
			}
		}
		a := op.ReshapeTo(u.b, xs, []int{1, x.Shape[0]})
		b := op.ReshapeTo(u.b, ys, []int{1, y.Shape[1]})
		return []*ir.Var{a, b}, true, nil
	}
	return nil, false, nil
}

// Chunk returns the program of a chunk of n samples: its inputs are the
// split program's, the batched ones with n samples; its outputs are the
// chunk's part of every sum, then the chunk's rows of the head's batched
// outputs. The parts of the chunks add up to the sums.
func (s *SumSplit) Chunk(n int) (*ir.Program, error) {
	v, err := Vmap(s.Head, s.Batched, n)
	if err != nil {
		return nil, err
	}
	b := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(v.In))
	for i, in := range v.In {
		args[i] = b.InputLike(in)
	}
	outs := b.Inline(v, args)
	var res []*ir.Var
	nterms := 0
	for _, sum := range s.Sums {
		switch sum.Kind {
		case SumTerms:
			t := outs[sum.Terms[0]]
			res = append(res, b.Emit(op.ReduceSum{Axes: []int{0}}, t))
		case SumOuter:
			x := outs[sum.Terms[0]] // (n, d, m)
			y := outs[sum.Terms[1]] // (n, d, k)
			x = op.ReshapeTo(b, x, []int{x.Shape[0] * x.Shape[1], x.Shape[2]})
			y = op.ReshapeTo(b, y, []int{y.Shape[0] * y.Shape[1], y.Shape[2]})
			res = append(res, b.Emit(op.MatMul{}, b.Emit(op.Transpose{Perm: []int{1, 0}}, x), y))
		}
		nterms += len(sum.Terms)
	}
	res = append(res, outs[nterms:]...)
	c, err := b.Build(res...)
	if err != nil {
		return nil, err
	}
	return Simplify(c)
}
