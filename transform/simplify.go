package transform

import (
	"fmt"
	"math"
	"strconv"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// foldLimit bounds the size of constants that folding may create.
const foldLimit = 1 << 20

// Simplify removes work from p without changing its results: it propagates
// zeros (the symbolic zeros that transforms had to materialise), folds
// constant subexpressions, shares common subexpressions, folds chains of
// linear equations on a small value into one product (see foldLinear) and
// drops dead code.
func Simplify(p *ir.Program) (*ir.Program, error) {
	q, err := simplify(p)
	if err != nil {
		return nil, err
	}
	q, folded, err := foldLinear(q)
	if err != nil || !folded {
		return q, err
	}
	return simplify(q)
}

func simplify(p *ir.Program) (*ir.Program, error) {
	s := &simplifier{
		b:        ir.NewBuilder(nil),
		env:      make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns)),
		cse:      make(map[string]*ir.Var, len(p.Eqns)),
		id:       make(map[*ir.Var]int, len(p.In)+len(p.Eqns)),
		konst:    map[*ir.Var]*tensor.Tensor{},
		fill:     map[*ir.Var]float64{},
		perm:     map[*ir.Var]transposeOf{},
		reshaped: map[*ir.Var]*ir.Var{},
		eye:      map[*ir.Var]bool{},
		byValue:  map[uint64][]emitted{},
	}
	for _, v := range p.In {
		s.env[v] = s.b.InputLike(v)
	}
	for _, e := range p.Eqns {
		args := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			args[i] = s.env[v]
		}
		s.b.Src = e.Src
		out, err := s.emit(e.Prim, args)
		if err != nil {
			return nil, err
		}
		s.env[e.Out] = out
	}
	outs := make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		outs[i] = s.env[v]
	}
	q, err := s.b.Build(outs...)
	if err != nil {
		return nil, err
	}
	return DeadCode(q), nil
}

type simplifier struct {
	b   *ir.Builder
	env map[*ir.Var]*ir.Var
	cse map[string]*ir.Var
	id  map[*ir.Var]int
	// konst holds the values of vars known as constants, in float64: a
	// float32 constant's exactly, a folded one's as evaluated in float64
	// (see fold).
	konst map[*ir.Var]*tensor.Tensor
	fill  map[*ir.Var]float64     // vars known to hold one value everywhere
	perm  map[*ir.Var]transposeOf // vars defined by a transpose
	// reshaped maps vars defined by a reshape to the reshaped var.
	reshaped map[*ir.Var]*ir.Var
	// eye holds the vars that are a generated identity matrix (the basis
	// of a vector shape, too large to fold), for the primitives'
	// identities (MatMul's I·y = y).
	eye map[*ir.Var]bool
	key []byte // the last CSE key, for its memory
	// byValue holds the constants emitted so far by a hash of their
	// contents: equal constants from different traces (a broadcast folded
	// in two transforms of one function) become one var, so what they
	// feed is shared too.
	byValue map[uint64][]emitted
}

// emitted is a constant var and the value it was emitted with.
type emitted struct {
	v     *ir.Var
	value *tensor.Tensor
}

type transposeOf struct {
	src  *ir.Var
	perm []int
}

func (s *simplifier) varID(v *ir.Var) int {
	if id, ok := s.id[v]; ok {
		return id
	}
	s.id[v] = len(s.id)
	return s.id[v]
}

func (s *simplifier) full(c float64, dt tensor.DType, shape []int) *ir.Var {
	return s.emitPlain(op.Broadcast{Shape: append([]int{}, shape...), Dims: []int{}}, []*ir.Var{s.scalar(c, dt)})
}

// scalar emits the constant c of dtype dt (c rounded to it), once.
func (s *simplifier) scalar(c float64, dt tensor.DType) *ir.Var {
	c = op.RoundTo(dt, c)
	key := fmt.Sprintf("scalar %v %v", dt, math.Float64bits(c))
	if v, ok := s.cse[key]; ok {
		return v
	}
	v := s.b.Emit(op.Constant{Value: tensor.ScalarOf(dt, c)})
	s.cse[key] = v
	s.konst[v] = tensor.Scalar(c)
	s.fill[v] = c
	return v
}

// emit applies algebraic rules, then folding and sharing.
func (s *simplifier) emit(p ir.Primitive, in []*ir.Var) (*ir.Var, error) {
	r, err := op.RulesOf(p)
	if err != nil {
		return nil, fmt.Errorf("simplify: %w", err)
	}
	shapes := make([][]int, len(in))
	dtypes := make([]tensor.DType, len(in))
	operands := make([]op.Operand, len(in))
	for i, v := range in {
		shapes[i], dtypes[i] = v.Shape, v.DType
		f, ok := s.fill[v]
		operands[i] = op.Operand{Var: v, Uniform: ok, Fill: f, Identity: s.eye[v]}
	}
	out, err := p.OutShape(shapes)
	if err != nil {
		return nil, fmt.Errorf("simplify: %s: %w", p.Name(), err)
	}
	dt, err := ir.OutDType(p, dtypes)
	if err != nil {
		return nil, fmt.Errorf("simplify: %s: %w", p.Name(), err)
	}
	// The primitive's algebraic identities (x·1 = x, x + 0 = x, …).
	switch w := r.Identity(operands, out); w.Kind {
	case op.UseInput:
		return in[w.Input], nil
	case op.UseFill:
		return s.full(w.Fill, dt, out), nil
	case op.Apply:
		args := make([]*ir.Var, len(w.Args))
		for i, a := range w.Args {
			args[i] = in[a]
		}
		return s.emit(w.Prim, args)
	}
	// Rewrites of layout chains and products.
	if t, ok := p.(op.Transpose); ok && movesOnlyUnitAxes(t.Perm, shapes[0]) {
		// The data stay in order: a reshape, which later reshapes absorb.
		return s.emit(op.Reshape{Shape: out}, in)
	}
	if t, ok := p.(op.Transpose); ok {
		// A transpose of a transpose is one transpose (or none).
		if inner, ok := s.perm[in[0]]; ok {
			composed := make([]int, len(t.Perm))
			for i, a := range t.Perm {
				composed[i] = inner.perm[a]
			}
			if isIdentity(composed) {
				return inner.src, nil
			}
			return s.emit(op.Transpose{Perm: composed}, []*ir.Var{inner.src})
		}
		if !isIdentity(t.Perm) {
			v := s.emitPlain(p, in)
			s.perm[v] = transposeOf{in[0], t.Perm}
			return v, nil
		}
	}
	if _, ok := p.(op.Reshape); ok {
		// A reshape of a reshape is one reshape (or none).
		if src, ok := s.reshaped[in[0]]; ok {
			return s.emit(op.Reshape{Shape: out}, []*ir.Var{src})
		}
		if !tensor.SameShape(out, shapes[0]) {
			v := s.emitPlain(p, in)
			s.reshaped[v] = in[0]
			return v, nil
		}
	}
	if _, ok := p.(op.MatMul); ok && len(shapes[1]) == 2 {
		// Products with one right-hand matrix act on the last axis alone,
		// so a reshape of the left-hand side that keeps that axis can be
		// done after the product instead. Then products that forward and
		// Taylor mode traced at (n, 1, k) and at (n, k) are shared.
		if src, ok := s.reshaped[in[0]]; ok && len(src.Shape) >= 2 && src.Shape[len(src.Shape)-1] == shapes[0][len(shapes[0])-1] {
			prod, err := s.emit(p, []*ir.Var{src, in[1]})
			if err != nil {
				return nil, err
			}
			return s.emit(op.Reshape{Shape: out}, []*ir.Var{prod})
		}
	}
	return s.emitPlain(p, in), nil
}

// movesOnlyUnitAxes reports whether perm keeps the axes of shape longer
// than 1 in their order.
func movesOnlyUnitAxes(perm, shape []int) bool {
	last := -1
	for _, a := range perm {
		if shape[a] != 1 {
			if a < last {
				return false
			}
			last = a
		}
	}
	return true
}

func isIdentity(perm []int) bool {
	for i, a := range perm {
		if i != a {
			return false
		}
	}
	return true
}

// emitPlain shares and folds.
func (s *simplifier) emitPlain(p ir.Primitive, in []*ir.Var) *ir.Var {
	buf := append(s.key[:0], p.Name()...)
	buf = append(append(buf, '|'), params(p)...)
	for _, v := range in {
		buf = strconv.AppendInt(append(buf, '|'), int64(s.varID(v)), 10)
	}
	s.key = buf
	key := string(buf)
	if c, ok := p.(op.Constant); ok {
		if c.Value.Len() == 1 && c.Value.Rank() == 0 {
			return s.scalar(c.Value.At(), c.Value.DType())
		}
		key = fmt.Sprintf("constant %p", c.Value)
	}
	if v, ok := s.cse[key]; ok {
		return v
	}
	v := s.fold(p, in)
	s.cse[key] = v
	if b, ok := p.(op.Basis); ok && len(b.Shape) == 1 {
		if _, folded := s.konst[v]; !folded {
			s.eye[v] = true
		}
	}
	return v
}

func params(p ir.Primitive) string {
	if st, ok := p.(fmt.Stringer); ok {
		return st.String()
	}
	return ""
}

func (s *simplifier) fold(p ir.Primitive, in []*ir.Var) *ir.Var {
	// Broadcasts of a scalar stay symbolic: they are cheap to run and
	// their fill value drives the algebraic rules.
	if _, ok := p.(op.Broadcast); ok {
		if f, ok := s.fill[in[0]]; ok {
			v := s.b.Emit(p, in...)
			s.fill[v] = f
			return v
		}
	}
	// A generated basis small enough to hold becomes a constant, which
	// folds with what it meets (a first layer's weights, in forward mode);
	// a larger one stays generated at run time.
	if g, ok := p.(op.Generator); ok && len(in) == 0 {
		if out, err := g.OutShape(nil); err == nil && tensor.Size(out) <= foldLimit {
			if t, err := g.(op.Evaluator).Eval(nil); err == nil {
				v := s.b.Emit(op.Constant{Value: t})
				s.konst[v] = t
				return v
			}
		}
	}
	ev, isEval := p.(op.Evaluator)
	args := make([]*tensor.Tensor, len(in))
	foldable := isEval && len(in) > 0
	for i, v := range in {
		t, ok := s.konst[v]
		if !ok {
			foldable = false
			break
		}
		args[i] = t
	}
	if foldable {
		shapes := make([][]int, len(in))
		for i, v := range in {
			shapes[i] = v.Shape
		}
		dtypes := make([]tensor.DType, len(in))
		for i, v := range in {
			dtypes[i] = v.DType
		}
		dt, err := ir.OutDType(p, dtypes)
		if out, err2 := p.OutShape(shapes); err == nil && err2 == nil && tensor.Size(out) <= foldLimit {
			if t, err := evalFloat64(p, ev, args); err == nil {
				// Evaluated in float64 and rounded once to the value's
				// dtype: a folded float32 constant is the float32 number
				// nearest the subexpression's value.
				c := t.Convert(dt)
				h := contentHash(c)
				if v, ok := s.sameConstant(c, h); ok {
					return v
				}
				v := s.b.Emit(op.Constant{Value: c})
				s.konst[v] = t
				if f, ok := uniform(c); ok {
					s.fill[v] = f
				}
				s.byValue[h] = append(s.byValue[h], emitted{v, c})
				return v
			}
		}
	}
	c, isConst := p.(op.Constant)
	var h uint64
	if isConst {
		h = contentHash(c.Value)
		if v, ok := s.sameConstant(c.Value, h); ok {
			return v
		}
	}
	v := s.b.Emit(p, in...)
	if isConst {
		s.konst[v] = c.Value.Convert(tensor.Float64)
		if f, ok := uniform(c.Value); ok {
			s.fill[v] = f
		}
		s.byValue[h] = append(s.byValue[h], emitted{v, c.Value})
	}
	return v
}

// sameConstant returns the constant var already emitted with c's dtype,
// shape and values, if any; h is c's contentHash.
func (s *simplifier) sameConstant(c *tensor.Tensor, h uint64) (*ir.Var, bool) {
	for _, e := range s.byValue[h] {
		if e.value.DType() == c.DType() && tensor.SameShape(e.value.Shape(), c.Shape()) && sameValues(e.value, c) {
			return e.v, true
		}
	}
	return nil, false
}

// contentHash hashes a constant's dtype, shape and bits, a word at a time
// (FNV-1a's scheme on 64-bit words: collisions only cost a comparison).
func contentHash(t *tensor.Tensor) uint64 {
	h := uint64(14695981039346656037)
	mix := func(x uint64) { h = (h ^ x) * 1099511628211 }
	mix(uint64(t.DType()))
	for _, d := range t.Shape() {
		mix(uint64(d))
	}
	if t.DType() == tensor.Float32 {
		for _, x := range t.Data32() {
			mix(uint64(math.Float32bits(x)))
		}
	} else {
		for _, x := range t.Data() {
			mix(math.Float64bits(x))
		}
	}
	return h
}

// sameValues reports whether a and b (of one dtype and shape) hold the same
// bits everywhere: −0 and +0 differ, a NaN equals itself.
func sameValues(a, b *tensor.Tensor) bool {
	if a.DType() == tensor.Float32 {
		x, y := a.Data32(), b.Data32()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	}
	x, y := a.Data(), b.Data()
	for i := range x {
		if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
			return false
		}
	}
	return true
}

// evalFloat64 evaluates p on float64 arguments in float64. A conversion to
// float32 rounds as it does at run time.
func evalFloat64(p ir.Primitive, ev op.Evaluator, args []*tensor.Tensor) (*tensor.Tensor, error) {
	if c, ok := p.(op.Convert); ok {
		return args[0].Convert(c.To).Convert(tensor.Float64), nil
	}
	return ev.Eval(args)
}

func uniform(t *tensor.Tensor) (float64, bool) {
	if t.DType() == tensor.Float32 {
		f, ok := uniformOf(t.Data32())
		return float64(f), ok
	}
	return uniformOf(t.Data())
}

func uniformOf[T tensor.Float](d []T) (T, bool) {
	if len(d) == 0 {
		return 0, false
	}
	for _, x := range d[1:] {
		if x != d[0] {
			return 0, false
		}
	}
	return d[0], true
}

// DeadCode drops equations whose outputs no output needs.
func DeadCode(p *ir.Program) *ir.Program {
	live := make(map[*ir.Var]bool, len(p.Eqns))
	for _, v := range p.Out {
		live[v] = true
	}
	keep := make([]bool, len(p.Eqns))
	for k := len(p.Eqns) - 1; k >= 0; k-- {
		e := p.Eqns[k]
		if !live[e.Out] {
			continue
		}
		keep[k] = true
		for _, v := range e.In {
			live[v] = true
		}
	}
	q := &ir.Program{In: p.In, Out: p.Out}
	for k, e := range p.Eqns {
		if keep[k] {
			q.Eqns = append(q.Eqns, e)
		}
	}
	return q
}
