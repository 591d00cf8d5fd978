package jacobi

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Node is a value inside a traced function: a variable of the program being
// recorded, or a constant. Operations on nodes record primitives; they never
// compute numbers (except on constants alone, which fold at once).
//
// Operations do not return errors: the first error (a shape mismatch, say)
// is recorded on the trace and returned by the entry point that traced the
// function, naming the operation and the line of user code.
//
// Every node has a dtype, float64 or float32: that of the function's inputs,
// of a constant's tensor, or what Convert makes. The operands of an
// operation must have one dtype (convert one with Convert), except for Go
// numbers: Scalar and the methods that take a float64 (Scale, AddScalar,
// Clip) make weakly typed constants that take the dtype of the other
// operands, as Python scalars do in JAX (weak_type) and PyTorch, so that
// x.Scale(0.5) of a float32 x is float32.
type Node struct {
	t    *trace         // the trace the node belongs to; nil for constants
	v    *ir.Var        // the variable, when t != nil
	c    *tensor.Tensor // the value, for constants
	weak bool           // a constant from a Go number: takes its operands' dtype
	err  error          // an error found while folding constants
}

// Const returns a constant node holding t, of t's dtype.
func Const(t *tensor.Tensor) *Node { return &Node{c: t} }

// WeakConst returns a constant node holding t that is weakly typed, as
// Scalar is: its values take the dtype of the operands they meet (float64
// when they meet none). It is for code that lowers a model file, whose
// constants follow the dtype the model is run in.
func WeakConst(t *tensor.Tensor) *Node { return &Node{c: t, weak: true} }

// Scalar returns a constant node holding the scalar c. Scalars broadcast
// against any shape, and are weakly typed: c is rounded to the dtype of the
// operands it meets (float64 when it meets none).
func Scalar(c float64) *Node { return &Node{c: tensor.Scalar(c), weak: true} }

// DType returns the node's dtype (float64 for a weakly typed constant that
// has met no other operand).
func (x *Node) DType() tensor.DType {
	if x.t == nil {
		if x.c == nil {
			return tensor.Float64
		}
		return x.c.DType()
	}
	return x.v.DType
}

// Convert returns x in dtype dt (float64 to float32 rounds to nearest); x
// itself when it has that dtype. Its derivative is the identity, converted:
// a float32 function's derivative can be computed in float64 by converting
// its input to float64 and its output back.
func (x *Node) Convert(dt tensor.DType) *Node {
	if x == nil {
		return &Node{err: fmt.Errorf("convert: nil operand (at %s)", callerSrc())}
	}
	if !dt.Valid() {
		return x.fail(fmt.Errorf("convert: %v is not a dtype", dt))
	}
	if x.DType() == dt {
		if x.weak {
			return &Node{c: x.c} // an explicit dtype makes it strong
		}
		return x
	}
	return apply(op.Convert{From: x.DType(), To: dt}, x)
}

// Shape returns the node's shape.
func (x *Node) Shape() []int {
	if x.t == nil {
		if x.c == nil {
			return nil
		}
		return x.c.Shape()
	}
	return x.v.Shape
}

// Rank returns the number of dimensions.
func (x *Node) Rank() int { return len(x.Shape()) }

// Value returns the value of a constant node: one computed from constants
// alone, which operations evaluate at once. It returns false for a node of
// a trace and for a constant whose evaluation failed (see Err).
func (x *Node) Value() (*tensor.Tensor, bool) {
	if x == nil || x.t != nil || x.c == nil || x.err != nil {
		return nil, false
	}
	return x.c, true
}

// Err returns the first error recorded on the node's trace.
func (x *Node) Err() error {
	if x.err != nil {
		return x.err
	}
	if x.t != nil {
		return x.t.s.err
	}
	return nil
}

// moduleDir is the directory of this package; frames inside it (other than
// tests and examples) are jacobi's own and skipped when naming the user's line.
var moduleDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// callerSrc returns "file.go:line" of the innermost frame in user code.
func callerSrc() string {
	var pcs [24]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		own := strings.HasPrefix(f.File, moduleDir+"/") &&
			!strings.HasSuffix(f.File, "_test.go") &&
			!strings.Contains(f.File, "/examples/") &&
			!strings.Contains(f.File, "/cmd/")
		if !own && f.File != "" && !strings.HasPrefix(f.Function, "runtime.") {
			return filepath.Base(filepath.Dir(f.File)) + "/" + filepath.Base(f.File) + fmt.Sprintf(":%d", f.Line)
		}
		if !more {
			return ""
		}
	}
}

// apply records primitive p on the nodes, in the innermost of their traces
// (the operation does not depend on the values of traces inside it), or
// folds it when all are constants.
func apply(p ir.Primitive, nodes ...*Node) *Node {
	s, err := sessionOf(nodes)
	if err == nil {
		if nodes, err = unifyDTypes(nodes); err != nil {
			err = fmt.Errorf("%s (at %s): %w", p.Name(), callerSrc(), err)
			if s == nil {
				return &Node{err: err}
			}
			return s.failNode(err)
		}
	}
	switch {
	case err != nil && s != nil:
		return s.failNode(fmt.Errorf("%s (at %s): %w", p.Name(), callerSrc(), err))
	case err != nil:
		return &Node{err: err}
	case s == nil:
		return fold(p, nodes)
	case s.err != nil:
		return s.placeholder()
	}
	t := deepest(nodes)
	vars := make([]*ir.Var, len(nodes))
	shapes := make([][]int, len(nodes))
	for i, n := range nodes {
		v, err := varIn(t, n)
		if err != nil {
			return s.failNode(fmt.Errorf("%s (at %s): %w", p.Name(), callerSrc(), err))
		}
		vars[i], shapes[i] = v, v.Shape
	}
	src := t.b.CurrentLabel()
	if src == "" {
		src = callerSrc()
	}
	if _, err := p.OutShape(shapes); err != nil {
		return s.failNode(fmt.Errorf("%s (at %s): %w", p.Name(), src, err))
	}
	t.b.Src = src
	v := t.b.Emit(p, vars...)
	t.b.Src = ""
	if err := t.b.Err(); err != nil {
		return s.failNode(err)
	}
	return &Node{t: t, v: v}
}

func fold(p ir.Primitive, nodes []*Node) *Node {
	args := make([]*tensor.Tensor, len(nodes))
	shapes := make([][]int, len(nodes))
	for i, n := range nodes {
		args[i], shapes[i] = n.c, n.c.Shape()
	}
	if _, err := p.OutShape(shapes); err != nil {
		return &Node{err: fmt.Errorf("%s (at %s): %w", p.Name(), callerSrc(), err)}
	}
	t, err := p.(op.Evaluator).Eval(args)
	if err != nil {
		return &Node{err: fmt.Errorf("%s: %w", p.Name(), err)}
	}
	weak := len(nodes) > 0
	for _, n := range nodes {
		weak = weak && n.weak
	}
	if _, ok := p.(op.Convert); ok {
		weak = false
	}
	return &Node{c: t, weak: weak}
}

// unifyDTypes gives the weakly typed constants among the operands the
// dtype of the others, and fails when the others have two dtypes.
func unifyDTypes(nodes []*Node) ([]*Node, error) {
	strong, first := tensor.Float64, -1
	for i, n := range nodes {
		if n.weak {
			continue
		}
		switch d := n.DType(); {
		case first < 0:
			strong, first = d, i
		case d != strong:
			return nil, fmt.Errorf("operands of different dtypes: %v (operand %d) and %v (operand %d); convert one with Convert", strong, first, d, i)
		}
	}
	if first < 0 {
		return nodes, nil // all weak: they stay so
	}
	var out []*Node
	for i, n := range nodes {
		if n.weak && n.c.DType() != strong {
			if out == nil {
				out = append([]*Node{}, nodes...)
			}
			out[i] = &Node{c: n.c.Convert(strong)}
		}
	}
	if out == nil {
		return nodes, nil
	}
	return out, nil
}

// Fail records err on x's trace and returns a node that carries it: the
// trace, and whatever derivative, Trace or Compile is built on it, fails
// with err (wrapped with where it happened; errors.Is and errors.As find
// it). It is for functions that find a problem of their own while being
// traced, such as a model that asks for an operation they do not support.
// A nil err, or a trace that has already failed, leaves x as it is.
func (x *Node) Fail(err error) *Node {
	if err == nil || x.Err() != nil {
		return x
	}
	if x.t != nil {
		return x.t.s.failNode(err)
	}
	return &Node{err: err}
}

// Label makes the operations recorded on x's trace, until restore is
// called, name label as where they come from — in errors such as "the
// function mixes samples … at LABEL" — in place of the Go line that
// recorded them. It is for code that lowers another description onto
// jacobi, such as a model file (package onnx labels every node). On a
// constant it does nothing.
func (x *Node) Label(label string) (restore func()) {
	if x == nil || x.t == nil {
		return func() {}
	}
	b, old := x.t.b, x.t.b.Label
	b.Label = label
	return func() { b.Label = old }
}

// fail returns a node carrying err in x's trace.
func (x *Node) fail(err error) *Node {
	if x.Err() != nil {
		return x // the first error is the one worth reporting
	}
	err = fmt.Errorf("%w (at %s)", err, callerSrc())
	if x.t != nil {
		return x.t.s.failNode(err)
	}
	return &Node{err: err}
}

// ---- broadcasting ----

// BroadcastTo expands x to shape by numpy's rules (trailing axes aligned,
// size-1 axes repeated).
func (x *Node) BroadcastTo(shape ...int) *Node {
	s := x.Shape()
	if tensor.SameShape(s, shape) {
		return x
	}
	if len(s) > len(shape) {
		return x.fail(fmt.Errorf("broadcast: cannot broadcast %v to %v", s, shape))
	}
	off := len(shape) - len(s)
	dims := make([]int, len(s))
	for i := range s {
		dims[i] = off + i
	}
	return apply(op.Broadcast{Shape: append([]int{}, shape...), Dims: dims}, x)
}

// lift moves the nodes into their innermost common trace first, so that
// broadcasts of outer values are recorded where they are used: an outer
// parameter then enters an inner trace with its own shape, not with the
// shape of the batch.
func lift(nodes ...*Node) []*Node {
	s, err := sessionOf(nodes)
	if err != nil || s == nil || s.err != nil {
		return nodes // apply reports the error
	}
	t := deepest(nodes)
	out := make([]*Node, len(nodes))
	for i, n := range nodes {
		out[i] = n
		if n.t != nil && n.t != t {
			v, err := varIn(t, n)
			if err != nil {
				return nodes
			}
			out[i] = &Node{t: t, v: v}
		}
	}
	return out
}

func binary(p ir.Primitive, x, y *Node) *Node {
	if x == nil || y == nil {
		return &Node{err: fmt.Errorf("%s: nil operand (at %s)", p.Name(), callerSrc())}
	}
	xy := lift(x, y)
	x, y = xy[0], xy[1]
	s, err := tensor.BroadcastShapes(x.Shape(), y.Shape())
	if err != nil {
		return x.fail(fmt.Errorf("%s: %w", p.Name(), err))
	}
	return apply(p, x.BroadcastTo(s...), y.BroadcastTo(s...))
}

// ---- arithmetic ----

// Add returns x + y, broadcasting.
func (x *Node) Add(y *Node) *Node { return binary(op.Add{}, x, y) }

// Sub returns x - y, broadcasting.
func (x *Node) Sub(y *Node) *Node { return binary(op.Sub{}, x, y) }

// Mul returns x * y elementwise, broadcasting.
func (x *Node) Mul(y *Node) *Node { return binary(op.Mul{}, x, y) }

// Div returns x / y elementwise, broadcasting.
func (x *Node) Div(y *Node) *Node { return binary(op.Div{}, x, y) }

// Neg returns -x.
func (x *Node) Neg() *Node { return apply(op.Neg{}, x) }

// Scale returns c*x.
func (x *Node) Scale(c float64) *Node { return x.Mul(Scalar(c)) }

// AddScalar returns x + c.
func (x *Node) AddScalar(c float64) *Node { return x.Add(Scalar(c)) }

// Pow returns x^n for an integer n.
func (x *Node) Pow(n int) *Node { return apply(op.IntPow{N: n}, x) }

// Square returns x².
func (x *Node) Square() *Node { return x.Pow(2) }

// Exp returns e^x.
func (x *Node) Exp() *Node { return apply(op.Exp{}, x) }

// Log returns the natural logarithm of x.
func (x *Node) Log() *Node { return apply(op.Log{}, x) }

// Log1p returns log(1 + x), accurate for tiny x.
func (x *Node) Log1p() *Node { return apply(op.Log1p{}, x) }

// Tanh returns tanh(x).
func (x *Node) Tanh() *Node { return apply(op.Tanh{}, x) }

// Sigmoid returns 1/(1+e^-x).
func (x *Node) Sigmoid() *Node { return apply(op.Sigmoid{}, x) }

// Sin returns sin(x).
func (x *Node) Sin() *Node { return apply(op.Sin{}, x) }

// Cos returns cos(x).
func (x *Node) Cos() *Node { return apply(op.Cos{}, x) }

// Erf returns the error function of x.
func (x *Node) Erf() *Node { return apply(op.Erf{}, x) }

// Sqrt returns √x.
func (x *Node) Sqrt() *Node { return apply(op.Sqrt{}, x) }

// ---- comparison and selection ----

func (x *Node) compare(o string, y *Node) *Node { return binary(op.Compare{Op: o}, x, y) }

// Greater returns 1 where x > y and 0 elsewhere.
func (x *Node) Greater(y *Node) *Node { return x.compare(op.GT, y) }

// GreaterEqual returns 1 where x >= y and 0 elsewhere.
func (x *Node) GreaterEqual(y *Node) *Node { return x.compare(op.GE, y) }

// Less returns 1 where x < y and 0 elsewhere.
func (x *Node) Less(y *Node) *Node { return x.compare(op.LT, y) }

// LessEqual returns 1 where x <= y and 0 elsewhere.
func (x *Node) LessEqual(y *Node) *Node { return x.compare(op.LE, y) }

// Equal returns 1 where x == y and 0 elsewhere.
func (x *Node) Equal(y *Node) *Node { return x.compare(op.EQ, y) }

// Where returns a where cond is non-zero and b elsewhere, broadcasting all three.
func Where(cond, a, b *Node) *Node {
	if cond == nil || a == nil || b == nil {
		return &Node{err: fmt.Errorf("where: nil operand (at %s)", callerSrc())}
	}
	l := lift(cond, a, b)
	cond, a, b = l[0], l[1], l[2]
	s, err := tensor.BroadcastShapes(cond.Shape(), a.Shape())
	if err == nil {
		s, err = tensor.BroadcastShapes(s, b.Shape())
	}
	if err != nil {
		return cond.fail(fmt.Errorf("where: %w", err))
	}
	return apply(op.Select{}, cond.BroadcastTo(s...), a.BroadcastTo(s...), b.BroadcastTo(s...))
}

// Maximum returns the elementwise maximum (the derivative follows x where x >= y).
func Maximum(x, y *Node) *Node { return Where(x.GreaterEqual(y), x, y) }

// Minimum returns the elementwise minimum (the derivative follows x where x <= y).
func Minimum(x, y *Node) *Node { return Where(x.LessEqual(y), x, y) }

// Relu returns max(x, 0).
func (x *Node) Relu() *Node { return Where(x.Greater(Scalar(0)), x, Scalar(0)) }

// Abs returns |x| (derivative sign(x), 0 at 0... taken as +1 at 0).
func (x *Node) Abs() *Node { return Where(x.GreaterEqual(Scalar(0)), x, x.Neg()) }

// Clip limits x to [lo, hi].
func (x *Node) Clip(lo, hi float64) *Node { return Minimum(Maximum(x, Scalar(lo)), Scalar(hi)) }

// ---- shapes ----

// MatMul multiplies matrices: x (..., m, k) by y (k, n) or by y (..., k, n)
// with the same leading axes, giving (..., m, n). A vector y (k) gives (..., m).
func (x *Node) MatMul(y *Node) *Node {
	if y == nil {
		return x.fail(fmt.Errorf("matmul: nil operand"))
	}
	if y.Rank() == 1 {
		k := y.Shape()[0]
		out := apply(op.MatMul{}, x, y.Reshape(k, 1))
		s := out.Shape()
		if s == nil {
			return out
		}
		return out.Reshape(s[:len(s)-1]...)
	}
	if x.Rank() == 1 {
		k := x.Shape()[0]
		out := apply(op.MatMul{}, x.Reshape(1, k), y)
		s := out.Shape()
		if s == nil {
			return out
		}
		return out.Reshape(s[1:]...)
	}
	return apply(op.MatMul{}, x, y)
}

// Transpose permutes the axes; with no arguments it reverses them.
func (x *Node) Transpose(perm ...int) *Node {
	if len(perm) == 0 {
		for i := x.Rank() - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	return apply(op.Transpose{Perm: append([]int{}, perm...)}, x)
}

// T swaps the last two axes.
func (x *Node) T() *Node {
	r := x.Rank()
	if r < 2 {
		return x
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-1], perm[r-2] = r-2, r-1
	return x.Transpose(perm...)
}

// Reshape gives x a new shape of the same size; one dimension may be -1.
func (x *Node) Reshape(shape ...int) *Node {
	s, err := tensor.ResolveShape(tensor.Size(x.Shape()), shape)
	if err != nil {
		return x.fail(fmt.Errorf("reshape %v to %v: %w", x.Shape(), shape, err))
	}
	if tensor.SameShape(s, x.Shape()) {
		return x
	}
	return apply(op.Reshape{Shape: s}, x)
}

func normAxes(rank int, axes []int) ([]int, error) {
	if len(axes) == 0 {
		out := make([]int, rank)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	seen := make([]bool, rank)
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank || seen[a] {
			return nil, fmt.Errorf("bad axes %v for rank %d", axes, rank)
		}
		seen[a] = true
	}
	var out []int
	for a, s := range seen {
		if s {
			out = append(out, a)
		}
	}
	return out, nil
}

// Sum sums over the given axes (negative counts from the end), removing
// them; with no axes it sums everything to a scalar.
func (x *Node) Sum(axes ...int) *Node {
	ax, err := normAxes(x.Rank(), axes)
	if err != nil {
		return x.fail(fmt.Errorf("sum: %w", err))
	}
	return apply(op.ReduceSum{Axes: ax}, x)
}

// SumKeep sums over the axes, keeping them with size 1.
func (x *Node) SumKeep(axes ...int) *Node {
	ax, err := normAxes(x.Rank(), axes)
	if err != nil {
		return x.fail(fmt.Errorf("sum: %w", err))
	}
	s := append([]int{}, x.Shape()...)
	for _, a := range ax {
		s[a] = 1
	}
	return x.Sum(ax...).Reshape(s...)
}

// Mean averages over the given axes (all when none), removing them.
func (x *Node) Mean(axes ...int) *Node {
	ax, err := normAxes(x.Rank(), axes)
	if err != nil {
		return x.fail(fmt.Errorf("mean: %w", err))
	}
	n := 1
	for _, a := range ax {
		n *= x.Shape()[a]
	}
	return x.Sum(ax...).Scale(1 / float64(n))
}

// MeanKeep averages over the axes, keeping them with size 1.
func (x *Node) MeanKeep(axes ...int) *Node {
	ax, err := normAxes(x.Rank(), axes)
	if err != nil {
		return x.fail(fmt.Errorf("mean: %w", err))
	}
	n := 1
	for _, a := range ax {
		n *= x.Shape()[a]
	}
	return x.SumKeep(ax...).Scale(1 / float64(n))
}

// Slice takes x[start:end] along axis (negative axis counts from the end).
func (x *Node) Slice(axis, start, end int) *Node {
	s := x.Shape()
	if axis < 0 {
		axis += len(s)
	}
	if axis < 0 || axis >= len(s) {
		return x.fail(fmt.Errorf("slice: axis %d out of range for shape %v", axis, s))
	}
	lo := make([]int, len(s))
	hi := append([]int{}, s...)
	lo[axis], hi[axis] = start, end
	return apply(op.Slice{Start: lo, Limit: hi}, x)
}

// Concat joins nodes along axis (negative counts from the end).
func Concat(axis int, xs ...*Node) *Node {
	if len(xs) == 0 {
		return &Node{err: fmt.Errorf("concat: no inputs (at %s)", callerSrc())}
	}
	if axis < 0 {
		axis += xs[0].Rank()
	}
	return apply(op.Concat{Axis: axis}, xs...)
}
