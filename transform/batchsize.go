package transform

import (
	"fmt"
	"math"
	"reflect"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// A function of a batch can depend on the batch's size without mixing
// samples: x / x.shape[0], a reshape to a literal (2, -1) that fits only
// a batch of 2. A program traced at one batch size then holds that size
// as a constant or a shape, and its per-sample program, run at another
// batch size, would silently compute something else. Such a function is
// caught by tracing it at two batch sizes: its per-sample programs (see
// Unbatch) must be the same program, equation for equation. FirstDifference
// finds where they are not, and BatchSizeError says so.

// FirstDifference compares p and q equation by equation: the same inputs
// and outputs, and each equation the same primitive with the same
// parameters (constants bit for bit), applied to the same operands by
// position and giving the same shape. It returns the index in p of the
// first equation that q does not repeat (len(p.Eqns) when the equations
// agree but the outputs or the lengths do not; -1 for inputs that differ)
// and why, or ok when the programs are the same.
func FirstDifference(p, q *ir.Program) (at int, why string, ok bool) {
	if len(p.In) != len(q.In) {
		return -1, fmt.Sprintf("%d inputs against %d", len(p.In), len(q.In)), false
	}
	id := make(map[*ir.Var]int, len(p.In)+len(p.Eqns))
	qid := make(map[*ir.Var]int, len(q.In)+len(q.Eqns))
	for i := range p.In {
		if !tensor.SameShape(p.In[i].Shape, q.In[i].Shape) {
			return -1, fmt.Sprintf("input %d has shape %v against %v", i, p.In[i].Shape, q.In[i].Shape), false
		}
		id[p.In[i]], qid[q.In[i]] = i, i
	}
	for k, e := range p.Eqns {
		if k >= len(q.Eqns) {
			return k, "the other program ends before it", false
		}
		f := q.Eqns[k]
		if !samePrimitive(e.Prim, f.Prim) {
			return k, fmt.Sprintf("%s against %s", describePrim(e.Prim), describePrim(f.Prim)), false
		}
		if len(e.In) != len(f.In) {
			return k, "a different number of operands", false
		}
		for i := range e.In {
			a, aok := id[e.In[i]]
			b, bok := qid[f.In[i]]
			if !aok || !bok || a != b {
				return k, fmt.Sprintf("operand %d is another value", i), false
			}
		}
		if !tensor.SameShape(e.Out.Shape, f.Out.Shape) {
			return k, fmt.Sprintf("shape %v against %v", e.Out.Shape, f.Out.Shape), false
		}
		n := len(p.In) + k
		id[e.Out], qid[f.Out] = n, n
	}
	if len(q.Eqns) != len(p.Eqns) {
		return len(p.Eqns), fmt.Sprintf("%d equations against %d", len(p.Eqns), len(q.Eqns)), false
	}
	if len(p.Out) != len(q.Out) {
		return len(p.Eqns), fmt.Sprintf("%d outputs against %d", len(p.Out), len(q.Out)), false
	}
	for i := range p.Out {
		a, aok := id[p.Out[i]]
		b, bok := qid[q.Out[i]]
		if !aok || !bok || a != b {
			return len(p.Eqns), fmt.Sprintf("output %d is another value", i), false
		}
	}
	return 0, "", true
}

// samePrimitive compares primitives by type and parameters; constants
// compare bit for bit (a NaN equals itself).
func samePrimitive(a, b ir.Primitive) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	ca, ok := a.(op.Constant)
	if !ok {
		return reflect.DeepEqual(a, b)
	}
	cb := b.(op.Constant)
	if ca.Value == cb.Value {
		return true
	}
	if !tensor.SameShape(ca.Value.Shape(), cb.Value.Shape()) || ca.Value.DType() != cb.Value.DType() {
		return false
	}
	da, db := ca.Value.Float64s(), cb.Value.Float64s() // float32 values are exact as float64
	for i := range da {
		if math.Float64bits(da[i]) != math.Float64bits(db[i]) {
			return false
		}
	}
	return true
}

// describePrim names a primitive with its parameters (a constant's value
// when it has one element).
func describePrim(p ir.Primitive) string {
	if s, ok := p.(fmt.Stringer); ok {
		return p.Name() + "[" + s.String() + "]"
	}
	return p.Name()
}

// BatchSizeError reports a function that depends on the size of its
// batch: traced at two batch sizes, its per-sample programs differ (the
// batch size is used as a value, or a shape fits only one batch size), or
// it fails at one of them. Run at any other batch size its per-sample
// program would compute something else, so it is refused.
type BatchSizeError struct {
	Sizes [2]int // the batch sizes traced
	// Prim and Src name the first operation that differs (at Sizes[0]) and
	// where it was traced, when the programs differ; Reason says how.
	Prim, Src, Reason string
	// Err is why tracing at Sizes[1] failed, when it did.
	Err error
}

// Error describes the dependence, naming the operation and where it was
// traced.
func (e *BatchSizeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("the function depends on the batch size: it traces at batch size %d but not at %d: %v", e.Sizes[0], e.Sizes[1], e.Err)
	}
	at := ""
	if e.Src != "" {
		at = " at " + e.Src
	}
	what := "its per-sample programs differ"
	if e.Prim != "" {
		what = fmt.Sprintf("%s%s differs (%s)", e.Prim, at, e.Reason)
	} else if e.Reason != "" {
		what += ": " + e.Reason
	}
	return fmt.Sprintf("the function depends on the batch size (a value or a shape that is the batch size): traced at batch sizes %d and %d, %s, so its per-sample derivatives would be wrong at other batch sizes", e.Sizes[0], e.Sizes[1], what)
}

// Unwrap returns why tracing at the second batch size failed, if it did.
func (e *BatchSizeError) Unwrap() error { return e.Err }

// CompareBatchSizes checks that p and q, the per-sample programs of one
// function traced at batch sizes np and nq, are the same program, and
// otherwise returns a *BatchSizeError naming the first operation of p
// that differs. A constant that differs (the batch size as a value) is
// named by the first operation that uses it, which carries the line of
// code (or the model's node) that recorded it. Exporters and runners that
// trace a function at one batch size and run it at others call it with a
// second trace.
func CompareBatchSizes(p, q *ir.Program, np, nq int) error {
	at, why, ok := FirstDifference(p, q)
	if ok {
		return nil
	}
	e := &BatchSizeError{Sizes: [2]int{np, nq}, Reason: why}
	if at < 0 || at >= len(p.Eqns) {
		return e
	}
	eq := p.Eqns[at]
	e.Prim, e.Src = eq.Prim.Name(), eq.Src
	c, isConst := eq.Prim.(op.Constant)
	if !isConst || at >= len(q.Eqns) {
		return e
	}
	other, ok := q.Eqns[at].Prim.(op.Constant)
	if !ok {
		return e
	}
	// The constant's first user that computes something: a broadcast or
	// reshape of the constant is still the constant.
	va, vb := constantDiff(c.Value, other.Value)
	e.Reason = fmt.Sprintf("%s at batch size %d and %s at %d", va, np, vb, nq)
	v := eq.Out
	for _, user := range p.Eqns[at+1:] {
		for _, in := range user.In {
			if in != v {
				continue
			}
			if _, view := user.Prim.(op.View); view {
				v = user.Out
				break
			}
			e.Prim, e.Src = user.Prim.Name(), user.Src
			e.Reason = "an operand is " + e.Reason
			return e
		}
	}
	return e
}

// constantDiff describes constants a and b where they differ: their
// values, or the first element that differs.
func constantDiff(a, b *tensor.Tensor) (string, string) {
	if a.Len() == 1 && b.Len() == 1 {
		return fmt.Sprintf("the constant %g", a.Float64s()[0]), fmt.Sprintf("%g", b.Float64s()[0])
	}
	if !tensor.SameShape(a.Shape(), b.Shape()) {
		return fmt.Sprintf("a constant of shape %v", a.Shape()), fmt.Sprintf("of shape %v", b.Shape())
	}
	da, db := a.Float64s(), b.Float64s()
	for i := range da {
		if math.Float64bits(da[i]) != math.Float64bits(db[i]) {
			return fmt.Sprintf("a constant of shape %v whose element %d is %g", a.Shape(), i, da[i]), fmt.Sprintf("%g", db[i])
		}
	}
	return "a constant", "another"
}
