package onnx

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// value is an ONNX value during lowering: a known constant (weights, shapes,
// indices: folded at lowering time) or a node of the traced program.
type value struct {
	k     *tensor.Tensor // the value, when known
	isInt bool           // k holds integers (shapes, indices, booleans)
	n     *jacobi.Node   // the node, when not known
	dep   bool           // depends on the model's input
}

func known(t *tensor.Tensor, isInt bool) *value { return &value{k: t, isInt: isInt} }

func (v *value) node() *jacobi.Node {
	if v.n != nil {
		return v.n
	}
	return jacobi.Const(v.k)
}

func (v *value) shape() []int {
	if v.k != nil {
		return v.k.Shape()
	}
	return v.n.Shape()
}

// maxFolded bounds the number of elements of a tensor that lowering creates
// (folded constants, expanded values): 32 MiB of float64.
const maxFolded = 1 << 22

// maxGather bounds the number of indices of a Gather (each becomes a slice).
const maxGather = 1 << 14

// lowering holds the state of one lowering of the graph.
type lowering struct {
	m     *Model
	env   map[string]*value
	batch int // the batch size of this trace
	node  *Node
}

// Apply lowers the model's graph onto jacobi operations applied to x, a batch
// of shape (b, in...), and returns the graph's output. It fails when an
// operator is not supported (naming its type and node) or shapes disagree.
func (m *Model) Apply(x *jacobi.Node) (*jacobi.Node, error) {
	out, err := m.lower(x, -1)
	if err != nil {
		return nil, err
	}
	return out.node(), nil
}

// fixedBatch returns the batch size fixed in the model's input, or -1.
func (m *Model) fixedBatch() int {
	if len(m.InputShape) == 0 {
		return -1
	}
	return m.InputShape[0].Size
}

func (m *Model) where() string {
	if m.Path != "" {
		return m.Path + ": "
	}
	return ""
}

// CheckInput checks the shape of a batch against the model's declared input.
func (m *Model) CheckInput(shape []int) error {
	if len(m.InputShape) == 0 {
		return nil
	}
	if len(shape) != len(m.InputShape) {
		return fmt.Errorf("onnx: %sinput has shape %v; the model's input %q has shape %v", m.where(), shape, m.Input, m.InputShape)
	}
	for i := 1; i < len(shape); i++ {
		if d := m.InputShape[i]; d.Size >= 0 && d.Size != shape[i] {
			return fmt.Errorf("onnx: %sinput has shape %v; the model's input %q has shape %v", m.where(), shape, m.Input, m.InputShape)
		}
	}
	return nil
}

// lower lowers the graph; with stop >= 0 it returns the first output of node
// stop instead of the graph's output.
func (m *Model) lower(x *jacobi.Node, stop int) (out *value, err error) {
	// A panic here is a bug in jacobi; the fuzz tests look for this error.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("onnx: %sinternal error (a bug in jacobi, please report it) while lowering the graph: %v", m.where(), r)
		}
	}()
	s := x.Shape()
	if len(s) == 0 {
		return nil, fmt.Errorf("onnx: %sinput is a scalar; it needs a batch axis", m.where())
	}
	if err := m.CheckInput(s); err != nil {
		return nil, err
	}
	l := &lowering{m: m, env: map[string]*value{m.Input: {n: x, dep: true}}, batch: s[0]}
	for name, c := range m.Inits {
		if name != m.Input {
			l.env[name] = known(c.Value, c.Int)
		}
	}
	for i, n := range m.Nodes {
		l.node = n
		// Errors about the operations the node lowers to (one that mixes
		// samples) name the node.
		restore := x.Label(m.where() + n.String())
		outs, err := l.op(n)
		restore()
		if err != nil {
			return nil, l.fail(err)
		}
		if len(outs) > len(n.Outputs) {
			outs = outs[:len(n.Outputs)]
		}
		dep := false
		for _, in := range n.Inputs {
			if v := l.env[in]; in != "" && v != nil && v.dep {
				dep = true
			}
		}
		for j, o := range outs {
			if o == nil || n.Outputs[j] == "" {
				continue
			}
			o.dep = dep
			if o.n != nil {
				if err := o.n.Err(); err != nil {
					return nil, l.fail(err)
				}
			}
			l.env[n.Outputs[j]] = o
		}
		if i == stop {
			if len(outs) == 0 || outs[0] == nil {
				return nil, fmt.Errorf("onnx: %v has no output", n)
			}
			return outs[0], nil
		}
	}
	out, ok := l.env[m.Output]
	if !ok {
		return nil, fmt.Errorf("onnx: %sthe output %q is not computed", m.where(), m.Output)
	}
	return out, nil
}

// Fn returns the model as a jacobi function of a batch, after checking that
// it lowers for samples of the given shape (without the batch axis) and that
// it maps every sample on its own: a model that mixes samples gives an error
// naming the first node that does. The returned function is what the
// derivatives of package jacobi take.
func (m *Model) Fn(sampleShape []int) (jacobi.Fn, error) {
	batch := append([]int{2}, sampleShape...)
	if fb := m.fixedBatch(); fb > 0 {
		batch[0] = fb
	}
	if err := m.CheckInput(batch); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var lowerErr error
	fn := func(x *jacobi.Node) *jacobi.Node {
		y, err := m.Apply(x)
		if err != nil {
			mu.Lock()
			if lowerErr == nil {
				lowerErr = err
			}
			mu.Unlock()
			return x.Fail(err)
		}
		return y
	}
	if _, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{fn(in[0])} }, batch); err != nil {
		mu.Lock()
		defer mu.Unlock()
		if lowerErr != nil {
			return nil, lowerErr
		}
		return nil, fmt.Errorf("onnx: %s%w", m.where(), err)
	}
	if _, err := jacobi.Compile(fn, sampleShape); err != nil {
		var mix *op.MixError
		if errors.As(err, &mix) || strings.Contains(err.Error(), "samples along axis") {
			detail := err.Error()
			if mix != nil {
				detail = mix.Prim + " " + mix.Reason
			}
			// The operations carry their node's label; an error that is
			// not about one operation (an output with the samples on
			// another axis) is traced back to its node by bisection.
			at := ""
			if mix != nil && mix.Src != "" {
				at = strings.TrimPrefix(mix.Src, m.where())
			} else if n := m.firstMixing(sampleShape); n != nil {
				at = n.String()
			}
			if at != "" {
				return nil, fmt.Errorf("onnx: %sthe model mixes samples along the batch axis at %s: row i of its output depends on other rows of the input, so per-sample derivatives do not exist (%s)", m.where(), at, detail)
			}
			return nil, fmt.Errorf("onnx: %sthe model mixes samples along the batch axis: %w", m.where(), err)
		}
		return nil, fmt.Errorf("onnx: %s%w", m.where(), err)
	}
	return fn, nil
}

// firstMixing returns the first node whose output, as a function of the
// batch, does not map samples independently.
func (m *Model) firstMixing(sampleShape []int) *Node {
	start := time.Now()
	for i, n := range m.Nodes {
		if time.Since(start) > 5*time.Second {
			return nil // a huge graph: report the mixing without the node
		}
		i := i
		dep := false
		f := func(x *jacobi.Node) *jacobi.Node {
			v, err := m.lower(x, i)
			if err != nil || v.n == nil || !v.dep {
				return x
			}
			dep = true
			return v.n
		}
		_, err := jacobi.Compile(f, sampleShape)
		if err != nil && dep {
			return n
		}
	}
	return nil
}

// ---- helpers ----

// fail wraps an error of the current node with the file and node, and a hint
// when a fixed-batch model runs at another batch size.
func (l *lowering) fail(err error) error {
	if fb := l.m.fixedBatch(); fb > 0 && fb != l.batch {
		err = fmt.Errorf("%w (the model was exported with a fixed batch of %d and runs at %d here: export it with dynamic_axes={%q: {0: \"batch\"}})", err, fb, l.batch, l.m.Input)
	}
	return fmt.Errorf("onnx: %s%v: %w", l.m.where(), l.node, err)
}

func (l *lowering) in(i int) *value {
	if i >= len(l.node.Inputs) || l.node.Inputs[i] == "" {
		return nil
	}
	return l.env[l.node.Inputs[i]]
}

func (l *lowering) need(i int) (*value, error) {
	v := l.in(i)
	if v == nil {
		return nil, fmt.Errorf("missing input %d", i)
	}
	return v, nil
}

// knownIn returns input i, which must be a constant.
func (l *lowering) knownIn(i int) (*tensor.Tensor, error) {
	v, err := l.need(i)
	if err != nil {
		return nil, err
	}
	if v.k == nil {
		return nil, fmt.Errorf("input %d (%q) must be a constant, it is computed from the model's input", i, l.node.Inputs[i])
	}
	return v.k, nil
}

func toInt(f float64) int {
	switch {
	case f >= 1<<62:
		return math.MaxInt64
	case f <= -(1 << 62):
		return math.MinInt64
	}
	return int(f)
}

func ints(t *tensor.Tensor) []int {
	out := make([]int, t.Len())
	for i, v := range t.Data() {
		out[i] = toInt(v)
	}
	return out
}

func (l *lowering) attrInt(name string, def int64) int64 {
	if a, ok := l.node.Attrs[name]; ok && a.Type == "int" {
		return a.Int
	}
	return def
}

func (l *lowering) attrFloat(name string, def float64) float64 {
	if a, ok := l.node.Attrs[name]; ok && a.Type == "float" {
		return a.Float
	}
	return def
}

func (l *lowering) attrInts(name string) ([]int, bool) {
	a, ok := l.node.Attrs[name]
	if !ok || a.Type != "ints" {
		return nil, false
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(max(min(v, math.MaxInt32), math.MinInt32))
	}
	return out, true
}

// axesOf returns the axes from input i (newer opsets) or from attribute "axes".
func (l *lowering) axesOf(i int) ([]int, bool, error) {
	if v := l.in(i); v != nil {
		if v.k == nil {
			return nil, false, errors.New("axes must be a constant")
		}
		return ints(v.k), true, nil
	}
	a, ok := l.attrInts("axes")
	return a, ok, nil
}

func normAxis(a, rank int) (int, error) {
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return a, nil
}

func nodeOut(n *jacobi.Node) []*value { return []*value{{n: n}} }

// ---- known-value (constant folding) helpers ----

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

func broadcast(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// expandTo broadcasts t to shape.
func expandTo(t *tensor.Tensor, shape []int) *tensor.Tensor {
	if tensor.SameShape(t.Shape(), shape) {
		return t
	}
	n := tensor.Size(shape)
	out := make([]float64, n)
	ts := t.Shape()
	st := strides(ts)
	off := len(shape) - len(ts)
	os := strides(shape)
	for i := range out {
		src := 0
		for d := range shape {
			j := d - off
			if j < 0 {
				continue
			}
			idx := (i / os[d]) % shape[d]
			if ts[j] != 1 {
				src += idx * st[j]
			}
		}
		out[i] = t.Data()[src]
	}
	return tensor.MustNew(shape, out)
}

func foldBinary(a, b *tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	s, err := broadcast(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	if tensor.Size(s) > maxFolded {
		return nil, fmt.Errorf("shape %v too large", s)
	}
	ea, eb := expandTo(a, s), expandTo(b, s)
	out := make([]float64, tensor.Size(s))
	for i := range out {
		out[i] = f(ea.Data()[i], eb.Data()[i])
	}
	return tensor.MustNew(s, out), nil
}

// foldSlice takes t[start:end] along axis.
func foldSlice(t *tensor.Tensor, axis, start, end int) *tensor.Tensor {
	s := t.Shape()
	outer := tensor.Size(s[:axis])
	inner := tensor.Size(s[axis+1:])
	n := end - start
	out := make([]float64, 0, outer*n*inner)
	for o := 0; o < outer; o++ {
		base := o * s[axis] * inner
		out = append(out, t.Data()[base+start*inner:base+end*inner]...)
	}
	ns := append([]int{}, s...)
	ns[axis] = n
	return tensor.MustNew(ns, out)
}

func foldConcat(axis int, ts []*tensor.Tensor) (*tensor.Tensor, error) {
	s0 := ts[0].Shape()
	total := 0
	for _, t := range ts {
		s := t.Shape()
		if len(s) != len(s0) {
			return nil, fmt.Errorf("concat of ranks %d and %d", len(s0), len(s))
		}
		for d := range s {
			if d != axis && s[d] != s0[d] {
				return nil, fmt.Errorf("concat of shapes %v and %v along axis %d", s0, s, axis)
			}
		}
		total += s[axis]
	}
	outer := tensor.Size(s0[:axis])
	inner := tensor.Size(s0[axis+1:])
	var out []float64
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			k := t.Shape()[axis] * inner
			out = append(out, t.Data()[o*k:(o+1)*k]...)
		}
	}
	ns := append([]int{}, s0...)
	ns[axis] = total
	return tensor.New(ns, out)
}

func foldTranspose(t *tensor.Tensor, perm []int) *tensor.Tensor {
	s := t.Shape()
	ns := make([]int, len(s))
	for i, p := range perm {
		ns[i] = s[p]
	}
	st := strides(s)
	os := strides(ns)
	out := make([]float64, t.Len())
	for i := range out {
		src := 0
		for d := range ns {
			src += ((i / os[d]) % ns[d]) * st[perm[d]]
		}
		out[i] = t.Data()[src]
	}
	return tensor.MustNew(ns, out)
}

// ---- shape helpers ----

func (l *lowering) reshape(v *value, shape []int) (*value, error) {
	if tensor.Size(v.shape()) > 0 {
		if _, err := tensor.ResolveShape(tensor.Size(v.shape()), shape); err != nil {
			return nil, fmt.Errorf("reshape %v to %v: %w", v.shape(), shape, err)
		}
	}
	if v.k != nil {
		t, err := v.k.Reshape(shape...)
		if err != nil {
			return nil, err
		}
		return known(t, v.isInt), nil
	}
	return &value{n: v.n.Reshape(shape...)}, nil
}

func perm(rank int, p []int) ([]int, error) {
	if len(p) == 0 {
		p = make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
	}
	if len(p) != rank {
		return nil, fmt.Errorf("perm %v for rank %d", p, rank)
	}
	seen := make([]bool, rank)
	for _, a := range p {
		if a < 0 || a >= rank || seen[a] {
			return nil, fmt.Errorf("bad perm %v", p)
		}
		seen[a] = true
	}
	return p, nil
}

// slice takes v[start:end] along axis, clamping as ONNX does.
func slice(v *value, axis, start, end int) *value {
	if v.k != nil {
		return known(foldSlice(v.k, axis, start, end), v.isInt)
	}
	return &value{n: v.n.Slice(axis, start, end)}
}

func concat(axis int, vs []*value) (*value, error) {
	allKnown := true
	for _, v := range vs {
		if v.k == nil {
			allKnown = false
		}
	}
	if allKnown {
		ts := make([]*tensor.Tensor, len(vs))
		isInt := true
		for i, v := range vs {
			ts[i] = v.k
			isInt = isInt && v.isInt
		}
		t, err := foldConcat(axis, ts)
		if err != nil {
			return nil, err
		}
		return known(t, isInt), nil
	}
	ns := make([]*jacobi.Node, len(vs))
	for i, v := range vs {
		ns[i] = v.node()
	}
	return &value{n: jacobi.Concat(axis, ns...)}, nil
}

// reduceMax returns the maximum of v along axis, keeping the axis, by a
// tree of pairwise maxima.
func reduceMax(x *jacobi.Node, axis int) *jacobi.Node {
	for {
		if x.Err() != nil || axis >= x.Rank() {
			return x
		}
		n := x.Shape()[axis]
		if n <= 1 {
			return x
		}
		h := n / 2
		m := jacobi.Maximum(x.Slice(axis, 0, h), x.Slice(axis, h, 2*h))
		if n%2 == 1 {
			m = jacobi.Concat(axis, m, x.Slice(axis, 2*h, n))
		}
		x = m
	}
}

// ---- the operators ----

func unary(f func(*jacobi.Node) *jacobi.Node) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		x, err := l.need(0)
		if err != nil {
			return nil, err
		}
		return nodeOut(f(x.node())), nil
	}
}

func binaryOp(f func(a, b *jacobi.Node) *jacobi.Node, fold func(a, b float64) float64) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		a, err := l.need(0)
		if err != nil {
			return nil, err
		}
		b, err := l.need(1)
		if err != nil {
			return nil, err
		}
		if a.k != nil && b.k != nil && fold != nil {
			t, err := foldBinary(a.k, b.k, fold)
			if err != nil {
				return nil, err
			}
			return []*value{known(t, a.isInt && b.isInt)}, nil
		}
		return nodeOut(f(a.node(), b.node())), nil
	}
}

var ops map[string]func(*lowering) ([]*value, error)

// Supported returns the sorted list of supported operator types.
func Supported() []string {
	var s []string
	for k := range ops {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func init() {
	ops = map[string]func(*lowering) ([]*value, error){
		"Identity": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			return []*value{x}, err
		},
		"Dropout": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if v := l.in(2); v != nil && (v.k == nil || v.k.Data()[0] != 0) {
				return nil, errors.New("dropout in training mode is not supported")
			}
			return []*value{x}, err
		},
		"Neg":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Neg() }),
		"Exp":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Exp() }),
		"Log":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Log() }),
		"Sqrt":           unary(func(x *jacobi.Node) *jacobi.Node { return x.Sqrt() }),
		"Tanh":           unary(func(x *jacobi.Node) *jacobi.Node { return x.Tanh() }),
		"Sigmoid":        unary(func(x *jacobi.Node) *jacobi.Node { return x.Sigmoid() }),
		"Sin":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Sin() }),
		"Cos":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Cos() }),
		"Erf":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Erf() }),
		"Abs":            unary(func(x *jacobi.Node) *jacobi.Node { return x.Abs() }),
		"Relu":           unary(func(x *jacobi.Node) *jacobi.Node { return x.Relu() }),
		"Softplus":       unary(nn.Softplus),
		"Reciprocal":     unary(func(x *jacobi.Node) *jacobi.Node { return jacobi.Scalar(1).Div(x) }),
		"Not":            unary(func(x *jacobi.Node) *jacobi.Node { return jacobi.Scalar(1).Sub(x) }),
		"Add":            binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Add(b) }, func(a, b float64) float64 { return a + b }),
		"Sub":            binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Sub(b) }, func(a, b float64) float64 { return a - b }),
		"Mul":            binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Mul(b) }, func(a, b float64) float64 { return a * b }),
		"Div":            opDiv,
		"And":            binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Mul(b) }, func(a, b float64) float64 { return b2f(a != 0 && b != 0) }),
		"Or":             binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return jacobi.Maximum(a, b) }, func(a, b float64) float64 { return b2f(a != 0 || b != 0) }),
		"Greater":        cmpOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Greater(b) }, func(a, b float64) bool { return a > b }),
		"Less":           cmpOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Less(b) }, func(a, b float64) bool { return a < b }),
		"GreaterOrEqual": cmpOp(func(a, b *jacobi.Node) *jacobi.Node { return a.GreaterEqual(b) }, func(a, b float64) bool { return a >= b }),
		"LessOrEqual":    cmpOp(func(a, b *jacobi.Node) *jacobi.Node { return a.LessEqual(b) }, func(a, b float64) bool { return a <= b }),
		"Equal":          cmpOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Equal(b) }, func(a, b float64) bool { return a == b }),
		"Max":            variadic(jacobi.Maximum, math.Max),
		"Min":            variadic(jacobi.Minimum, math.Min),
		"Sum":            variadic(func(a, b *jacobi.Node) *jacobi.Node { return a.Add(b) }, func(a, b float64) float64 { return a + b }),
		"Mean":           opMean,
		"Pow":            opPow,
		"LeakyRelu": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if err != nil {
				return nil, err
			}
			alpha := l.attrFloat("alpha", 0.01)
			n := x.node()
			return nodeOut(jacobi.Where(n.Greater(jacobi.Scalar(0)), n, n.Scale(alpha))), nil
		},
		"Clip":              opClip,
		"Where":             opWhere,
		"Gemm":              opGemm,
		"MatMul":            opMatMul,
		"Einsum":            opEinsum,
		"Conv":              opConv,
		"AveragePool":       func(l *lowering) ([]*value, error) { return opPool(l, false) },
		"MaxPool":           func(l *lowering) ([]*value, error) { return opPool(l, true) },
		"GlobalAveragePool": func(l *lowering) ([]*value, error) { return opGlobalPool(l, false) },
		"GlobalMaxPool":     func(l *lowering) ([]*value, error) { return opGlobalPool(l, true) },
		"Concat":            opConcat,
		"Slice":             opSlice,
		"Gather":            opGather,
		"Reshape":           opReshape,
		"Flatten":           opFlatten,
		"Transpose":         opTranspose,
		"Squeeze":           opSqueeze,
		"Unsqueeze":         opUnsqueeze,
		"ReduceSum":         func(l *lowering) ([]*value, error) { return opReduce(l, "Sum") },
		"ReduceMean":        func(l *lowering) ([]*value, error) { return opReduce(l, "Mean") },
		"ReduceMax":         func(l *lowering) ([]*value, error) { return opReduce(l, "Max") },
		"ReduceMin":         func(l *lowering) ([]*value, error) { return opReduce(l, "Min") },
		"ReduceSumSquare":   func(l *lowering) ([]*value, error) { return opReduce(l, "SumSquare") },
		"ReduceL1":          func(l *lowering) ([]*value, error) { return opReduce(l, "L1") },
		"ReduceL2":          func(l *lowering) ([]*value, error) { return opReduce(l, "L2") },
		"ReduceLogSumExp":   func(l *lowering) ([]*value, error) { return opReduce(l, "LogSumExp") },
		"Elu": func(l *lowering) ([]*value, error) {
			alpha := l.attrFloat("alpha", 1)
			return unary(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.Where(x.Greater(jacobi.Scalar(0)), x, x.Exp().AddScalar(-1).Scale(alpha))
			})(l)
		},
		"Selu": func(l *lowering) ([]*value, error) {
			// The attributes are float32; the defaults that torch writes
			// stand for SELU's exact constants.
			alpha := exactConst(l.attrFloat("alpha", 1.6732632423543772), 1.6732632423543772848170429916717)
			gamma := exactConst(l.attrFloat("gamma", 1.0507009873554805), 1.0507009873554804934193349852946)
			return unary(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.Where(x.Greater(jacobi.Scalar(0)), x, x.Exp().AddScalar(-1).Scale(alpha)).Scale(gamma)
			})(l)
		},
		"PRelu": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if err != nil {
				return nil, err
			}
			slope, err := l.need(1)
			if err != nil {
				return nil, err
			}
			n := x.node()
			return nodeOut(jacobi.Where(n.Greater(jacobi.Scalar(0)), n, n.Mul(slope.node()))), nil
		},
		"HardSigmoid": func(l *lowering) ([]*value, error) {
			alpha, beta := l.attrFloat("alpha", 0.2), l.attrFloat("beta", 0.5)
			return unary(func(x *jacobi.Node) *jacobi.Node { return hardSigmoid(x, alpha, beta) })(l)
		},
		"HardSwish": unary(func(x *jacobi.Node) *jacobi.Node { return x.Mul(hardSigmoid(x, 1.0/6, 0.5)) }),
		"Gelu": func(l *lowering) ([]*value, error) {
			switch a := l.node.Attrs["approximate"]; a.String {
			case "", "none":
				return unary(nn.GELU)(l)
			case "tanh":
				return unary(nn.GELUTanh)(l)
			default:
				return nil, fmt.Errorf("approximation %q is not supported", a.String)
			}
		},
		"Mish":     unary(func(x *jacobi.Node) *jacobi.Node { return x.Mul(nn.Softplus(x).Tanh()) }),
		"Softsign": unary(func(x *jacobi.Node) *jacobi.Node { return x.Div(x.Abs().AddScalar(1)) }),
		"Tan":      unary(func(x *jacobi.Node) *jacobi.Node { return x.Sin().Div(x.Cos()) }),
		"Sign": unary(func(x *jacobi.Node) *jacobi.Node {
			return x.Greater(jacobi.Scalar(0)).Sub(x.Less(jacobi.Scalar(0)))
		}),
		"Constant":           opConstant,
		"ConstantOfShape":    opConstantOfShape,
		"Shape":              opShape,
		"Cast":               opCast,
		"Expand":             opExpand,
		"Range":              opRange,
		"Tile":               opTile,
		"Pad":                opPad,
		"Split":              opSplit,
		"LayerNormalization": opLayerNorm,
		"BatchNormalization": opBatchNorm,
		"Softmax":            func(l *lowering) ([]*value, error) { return opSoftmax(l, false) },
		"LogSoftmax":         func(l *lowering) ([]*value, error) { return opSoftmax(l, true) },
	}
}

// op lowers one node.
func (l *lowering) op(n *Node) ([]*value, error) {
	f, ok := ops[n.OpType]
	if !ok {
		return nil, fmt.Errorf("operator %q is not supported (supported: %s)", n.OpType, strings.Join(Supported(), ", "))
	}
	for i, in := range n.Inputs {
		if in != "" && l.env[in] == nil {
			return nil, fmt.Errorf("input %d %q is not defined", i, in)
		}
	}
	return f(l)
}

// exactConst returns exact when attr is exact rounded to float32 (ONNX stores
// float attributes in float32), and attr otherwise.
func exactConst(attr, exact float64) float64 {
	if attr == float64(float32(exact)) {
		return exact
	}
	return attr
}

func hardSigmoid(x *jacobi.Node, alpha, beta float64) *jacobi.Node {
	y := x.Scale(alpha).AddScalar(beta)
	return jacobi.Minimum(jacobi.Maximum(y, jacobi.Scalar(0)), jacobi.Scalar(1))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func cmpOp(f func(a, b *jacobi.Node) *jacobi.Node, fold func(a, b float64) bool) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		out, err := binaryOp(f, func(a, b float64) float64 { return b2f(fold(a, b)) })(l)
		if err == nil && out[0].k != nil {
			out[0].isInt = true
		}
		return out, err
	}
}

func opDiv(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if a.k != nil && b.k != nil {
		isInt := a.isInt && b.isInt
		t, err := foldBinary(a.k, b.k, func(x, y float64) float64 {
			if isInt {
				if y == 0 {
					return 0
				}
				return math.Trunc(x / y)
			}
			return x / y
		})
		if err != nil {
			return nil, err
		}
		return []*value{known(t, isInt)}, nil
	}
	return nodeOut(a.node().Div(b.node())), nil
}

func variadic(f func(a, b *jacobi.Node) *jacobi.Node, fold func(a, b float64) float64) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		acc, err := l.need(0)
		if err != nil {
			return nil, err
		}
		for i := 1; i < len(l.node.Inputs); i++ {
			b, err := l.need(i)
			if err != nil {
				return nil, err
			}
			if acc.k != nil && b.k != nil {
				t, err := foldBinary(acc.k, b.k, fold)
				if err != nil {
					return nil, err
				}
				acc = known(t, acc.isInt && b.isInt)
				continue
			}
			acc = &value{n: f(acc.node(), b.node())}
		}
		return []*value{acc}, nil
	}
}

func opMean(l *lowering) ([]*value, error) {
	out, err := variadic(func(a, b *jacobi.Node) *jacobi.Node { return a.Add(b) }, func(a, b float64) float64 { return a + b })(l)
	if err != nil {
		return nil, err
	}
	return nodeOut(out[0].node().Scale(1 / float64(len(l.node.Inputs)))), nil
}

func opPow(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	y, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if x.k != nil && y.k != nil {
		t, err := foldBinary(x.k, y.k, math.Pow)
		if err != nil {
			return nil, err
		}
		return []*value{known(t, x.isInt)}, nil
	}
	if y.k != nil && y.k.Len() == 1 {
		e := y.k.Data()[0]
		xn := x.node()
		switch {
		case e == math.Trunc(e) && math.Abs(e) <= 64:
			return nodeOut(xn.Pow(int(e))), nil
		case e == 0.5:
			return nodeOut(xn.Sqrt()), nil
		case e == -0.5:
			return nodeOut(jacobi.Scalar(1).Div(xn.Sqrt())), nil
		}
		return nodeOut(xn.Log().Scale(e).Exp()), nil
	}
	// x^y = exp(y log x), for x > 0.
	return nodeOut(x.node().Log().Mul(y.node()).Exp()), nil
}

func opClip(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	n := x.node()
	if v := l.in(1); v != nil {
		n = jacobi.Maximum(n, v.node())
	} else if a, ok := l.node.Attrs["min"]; ok {
		n = jacobi.Maximum(n, jacobi.Scalar(a.Float))
	}
	if v := l.in(2); v != nil {
		n = jacobi.Minimum(n, v.node())
	} else if a, ok := l.node.Attrs["max"]; ok {
		n = jacobi.Minimum(n, jacobi.Scalar(a.Float))
	}
	return nodeOut(n), nil
}

func opWhere(l *lowering) ([]*value, error) {
	c, err := l.need(0)
	if err != nil {
		return nil, err
	}
	a, err := l.need(1)
	if err != nil {
		return nil, err
	}
	b, err := l.need(2)
	if err != nil {
		return nil, err
	}
	if c.k != nil && a.k != nil && b.k != nil {
		s, err := broadcast(c.k.Shape(), a.k.Shape())
		if err == nil {
			s, err = broadcast(s, b.k.Shape())
		}
		if err != nil {
			return nil, err
		}
		if tensor.Size(s) > maxFolded {
			return nil, fmt.Errorf("shape %v too large", s)
		}
		ec, ea, eb := expandTo(c.k, s), expandTo(a.k, s), expandTo(b.k, s)
		out := make([]float64, tensor.Size(s))
		for i := range out {
			if ec.Data()[i] != 0 {
				out[i] = ea.Data()[i]
			} else {
				out[i] = eb.Data()[i]
			}
		}
		return []*value{known(tensor.MustNew(s, out), a.isInt && b.isInt)}, nil
	}
	return nodeOut(jacobi.Where(c.node(), a.node(), b.node())), nil
}

func opGemm(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if len(a.shape()) != 2 || len(b.shape()) != 2 {
		return nil, fmt.Errorf("operands must be 2-D, got %v and %v", a.shape(), b.shape())
	}
	an, bn := a.node(), b.node()
	if l.attrInt("transA", 0) != 0 {
		an = an.T()
	}
	if l.attrInt("transB", 0) != 0 {
		if b.k != nil {
			bn = jacobi.Const(foldTranspose(b.k, []int{1, 0}))
		} else {
			bn = bn.T()
		}
	}
	y := an.MatMul(bn)
	if alpha := l.attrFloat("alpha", 1); alpha != 1 {
		y = y.Scale(alpha)
	}
	if c := l.in(2); c != nil {
		cn := c.node()
		if beta := l.attrFloat("beta", 1); beta != 1 {
			cn = cn.Scale(beta)
		}
		y = y.Add(cn)
	}
	return nodeOut(y), nil
}

func opMatMul(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	return nodeOut(a.node().MatMul(b.node())), nil
}

func opConcat(l *lowering) ([]*value, error) {
	var vs []*value
	for i := range l.node.Inputs {
		v := l.in(i)
		if v == nil {
			continue
		}
		if tensor.Size(v.shape()) == 0 && len(v.shape()) == 1 {
			continue // torch emits empty shape pieces
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, errors.New("no inputs")
	}
	axis, err := normAxis(int(l.attrInt("axis", 0)), len(vs[0].shape()))
	if err != nil {
		return nil, err
	}
	v, err := concat(axis, vs)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opSlice(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	starts, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	ends, err := l.knownIn(2)
	if err != nil {
		return nil, err
	}
	s, e := ints(starts), ints(ends)
	if len(s) != len(e) {
		return nil, fmt.Errorf("%d starts and %d ends", len(s), len(e))
	}
	rank := len(x.shape())
	axes := make([]int, len(s))
	for i := range axes {
		axes[i] = i
	}
	if v := l.in(3); v != nil {
		if v.k == nil || v.k.Len() != len(s) {
			return nil, errors.New("axes must be a constant with one entry per start")
		}
		axes = ints(v.k)
	}
	if v := l.in(4); v != nil {
		if v.k == nil {
			return nil, errors.New("steps must be a constant")
		}
		for _, st := range ints(v.k) {
			if st != 1 {
				return nil, fmt.Errorf("slice step %d is not supported (only 1)", st)
			}
		}
	}
	for i, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		dim := x.shape()[a]
		clamp := func(v int) int {
			if v < 0 {
				v += dim
			}
			return max(0, min(v, dim))
		}
		lo, hi := clamp(s[i]), clamp(e[i])
		if hi < lo {
			hi = lo
		}
		if lo == 0 && hi == dim {
			continue
		}
		x = slice(x, a, lo, hi)
	}
	return []*value{x}, nil
}

func opGather(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	idx, err := l.knownIn(1)
	if err != nil {
		return nil, fmt.Errorf("indices computed from the input are not supported: %w", err)
	}
	rank := len(x.shape())
	axis, err := normAxis(int(l.attrInt("axis", 0)), rank)
	if err != nil {
		return nil, err
	}
	dim := x.shape()[axis]
	if idx.Len() > maxGather {
		return nil, fmt.Errorf("%d indices are too many (at most %d)", idx.Len(), maxGather)
	}
	var pieces []*value
	for _, i := range ints(idx) {
		if i < 0 {
			i += dim
		}
		if i < 0 || i >= dim {
			return nil, fmt.Errorf("index %d out of range for axis %d of size %d", i, axis, dim)
		}
		pieces = append(pieces, slice(x, axis, i, i+1))
	}
	if len(pieces) == 0 {
		return nil, errors.New("no indices")
	}
	v, err := concat(axis, pieces)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	out := append(append(append([]int{}, s[:axis]...), idx.Shape()...), s[axis+1:]...)
	v, err = l.reshape(v, out)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opReshape(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	st, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	shape := ints(st)
	allowZero := l.attrInt("allowzero", 0) != 0
	in := x.shape()
	for i, d := range shape {
		if d == 0 && !allowZero {
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v", shape, i, in)
			}
			shape[i] = in[i]
		}
		if d < -1 {
			return nil, fmt.Errorf("bad shape %v", shape)
		}
	}
	// A batch size fixed at export time stands for the batch axis.
	if fb := l.m.fixedBatch(); x.dep && fb > 0 && fb != l.batch && len(shape) > 0 && shape[0] == fb {
		shape[0] = l.batch
	}
	v, err := l.reshape(x, shape)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opFlatten(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	a := int(l.attrInt("axis", 1))
	if a < 0 {
		a += len(s)
	}
	if a < 0 || a > len(s) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", a, s)
	}
	v, err := l.reshape(x, []int{tensor.Size(s[:a]), tensor.Size(s[a:])})
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opTranspose(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	p, _ := l.attrInts("perm")
	p, err = perm(len(x.shape()), p)
	if err != nil {
		return nil, err
	}
	if x.k != nil {
		return []*value{known(foldTranspose(x.k, p), x.isInt)}, nil
	}
	return nodeOut(x.n.Transpose(p...)), nil
}

func opSqueeze(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	axes, ok, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	drop := make([]bool, len(s))
	if !ok {
		for i, d := range s {
			drop[i] = d == 1 && !(i == 0 && x.dep)
		}
	}
	for _, a := range axes {
		a, err := normAxis(a, len(s))
		if err != nil {
			return nil, err
		}
		if s[a] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, s)
		}
		drop[a] = true
	}
	var ns []int
	for i, d := range s {
		if !drop[i] {
			ns = append(ns, d)
		}
	}
	v, err := l.reshape(x, ns)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opUnsqueeze(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	axes, _, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	r := len(s) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[a] {
			return nil, fmt.Errorf("repeated axis %d", a)
		}
		ins[a] = true
	}
	ns := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			ns = append(ns, 1)
		} else {
			ns = append(ns, s[j])
			j++
		}
	}
	v, err := l.reshape(x, ns)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

// opReduce lowers the Reduce* operators; kind is the operator name without
// the "Reduce" prefix.
func opReduce(l *lowering, kind string) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	// ReduceSum takes its axes as an input from opset 13, the others from 18.
	axes, _, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	if len(axes) == 0 {
		if l.attrInt("noop_with_empty_axes", 0) != 0 {
			return []*value{x}, nil
		}
		for i := range s {
			axes = append(axes, i)
		}
	}
	for i, a := range axes {
		if axes[i], err = normAxis(a, len(s)); err != nil {
			return nil, err
		}
	}
	keep := l.attrInt("keepdims", 1) != 0
	n := x.node()
	var y *jacobi.Node // the reduction with the axes kept
	switch kind {
	case "Sum":
		y = n.SumKeep(axes...)
	case "Mean":
		y = n.MeanKeep(axes...)
	case "SumSquare":
		y = n.Square().SumKeep(axes...)
	case "L1":
		y = n.Abs().SumKeep(axes...)
	case "L2":
		y = n.Square().SumKeep(axes...).Sqrt()
	case "Max", "Min", "LogSumExp":
		if kind == "Min" {
			n = n.Neg()
		}
		m := n
		for _, a := range axes {
			m = reduceMax(m, a)
		}
		switch kind {
		case "Max":
			y = m
		case "Min":
			y = m.Neg()
		default:
			// log Σ exp(x) = m + log Σ exp(x - m): the same function of x
			// (and so the same derivatives) for any m, without overflow.
			y = n.Sub(m).Exp().SumKeep(axes...).Log().Add(m)
		}
	default:
		return nil, fmt.Errorf("reduction %q is not supported", kind)
	}
	if !keep {
		var ns []int
		drop := map[int]bool{}
		for _, a := range axes {
			drop[a] = true
		}
		for i, d := range s {
			if !drop[i] {
				ns = append(ns, d)
			}
		}
		y = y.Reshape(ns...)
	}
	return nodeOut(y), nil
}

func opConstant(l *lowering) ([]*value, error) {
	for name, a := range l.node.Attrs {
		switch name {
		case "value":
			if a.Tensor == nil {
				return nil, errors.New("attribute value is not a tensor")
			}
			return []*value{known(a.Tensor.Value, a.Tensor.Int)}, nil
		case "value_float":
			return []*value{known(tensor.Scalar(a.Float), false)}, nil
		case "value_int":
			return []*value{known(tensor.Scalar(float64(a.Int)), true)}, nil
		case "value_floats":
			return []*value{known(tensor.MustNew([]int{len(a.Floats)}, append([]float64{}, a.Floats...)), false)}, nil
		case "value_ints":
			d := make([]float64, len(a.Ints))
			for i, v := range a.Ints {
				d[i] = float64(v)
			}
			return []*value{known(tensor.MustNew([]int{len(d)}, d), true)}, nil
		}
	}
	return nil, errors.New("Constant without a supported value attribute")
}

func opConstantOfShape(l *lowering) ([]*value, error) {
	st, err := l.knownIn(0)
	if err != nil {
		return nil, err
	}
	shape := ints(st)
	n := 1
	for _, d := range shape {
		if d < 0 || (d != 0 && n > maxFolded/d) {
			return nil, fmt.Errorf("bad shape %v", shape)
		}
		n *= d
	}
	v, isInt := 0.0, false
	if a, ok := l.node.Attrs["value"]; ok && a.Tensor != nil && a.Tensor.Value.Len() == 1 {
		v, isInt = a.Tensor.Value.Data()[0], a.Tensor.Int
	}
	return []*value{known(tensor.Full(v, shape...), isInt)}, nil
}

func opShape(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	r := len(s)
	start, end := int(l.attrInt("start", 0)), int(l.attrInt("end", int64(r)))
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = max(0, min(start, r)), max(0, min(end, r))
	end = max(start, end)
	d := make([]float64, end-start)
	for i := range d {
		d[i] = float64(s[start+i])
	}
	return []*value{known(tensor.MustNew([]int{len(d)}, d), true)}, nil
}

func opCast(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	to := l.attrInt("to", 1)
	isFloat := to == 1 || to == 10 || to == 11 || to == 16
	if x.k != nil {
		if isFloat {
			return []*value{known(x.k, false)}, nil
		}
		d := make([]float64, x.k.Len())
		for i, v := range x.k.Data() {
			if to == 9 {
				d[i] = b2f(v != 0)
			} else {
				d[i] = math.Trunc(v)
			}
		}
		return []*value{known(tensor.MustNew(x.k.Shape(), d), true)}, nil
	}
	if isFloat {
		return []*value{x}, nil
	}
	if to == 9 {
		n := x.node()
		return nodeOut(jacobi.Scalar(1).Sub(n.Equal(jacobi.Scalar(0)))), nil
	}
	return nil, fmt.Errorf("casting a computed value to integer type %d is not supported", to)
}

func opExpand(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	st, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	s, err := broadcast(x.shape(), ints(st))
	if err != nil {
		return nil, err
	}
	if tensor.Size(s) > maxFolded {
		return nil, fmt.Errorf("shape %v too large", s)
	}
	if x.k != nil {
		return []*value{known(expandTo(x.k, s), x.isInt)}, nil
	}
	return nodeOut(x.n.BroadcastTo(s...)), nil
}

func opSplit(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	axis, err := normAxis(int(l.attrInt("axis", 0)), len(s))
	if err != nil {
		return nil, err
	}
	var sizes []int
	if v := l.in(1); v != nil {
		if v.k == nil {
			return nil, errors.New("split sizes must be a constant")
		}
		sizes = ints(v.k)
	} else if a, ok := l.attrInts("split"); ok {
		sizes = a
	} else {
		k := len(l.node.Outputs)
		if k == 0 || s[axis]%k != 0 {
			return nil, fmt.Errorf("cannot split axis of size %d into %d equal parts", s[axis], k)
		}
		for range k {
			sizes = append(sizes, s[axis]/k)
		}
	}
	var outs []*value
	at := 0
	for _, n := range sizes {
		if n < 0 || at+n > s[axis] {
			return nil, fmt.Errorf("split sizes %v do not fit axis of size %d", sizes, s[axis])
		}
		outs = append(outs, slice(x, axis, at, at+n))
		at += n
	}
	return outs, nil
}

func opLayerNorm(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	axis, err := normAxis(int(l.attrInt("axis", -1)), len(s))
	if err != nil {
		return nil, err
	}
	eps := l.attrFloat("epsilon", 1e-5)
	var axes []int
	for a := axis; a < len(s); a++ {
		axes = append(axes, a)
	}
	n := x.node()
	mu := n.MeanKeep(axes...)
	d := n.Sub(mu)
	inv := jacobi.Scalar(1).Div(d.Square().MeanKeep(axes...).AddScalar(eps).Sqrt())
	y := d.Mul(inv)
	if v := l.in(1); v != nil {
		y = y.Mul(v.node())
	}
	if v := l.in(2); v != nil {
		y = y.Add(v.node())
	}
	return []*value{{n: y}, {n: mu}, {n: inv}}, nil
}

func opBatchNorm(l *lowering) ([]*value, error) {
	if l.attrInt("training_mode", 0) != 0 || len(l.node.Outputs) > 1 && l.node.Outputs[1] != "" {
		return nil, errors.New("batch normalization in training mode mixes samples along the batch axis (it normalizes with the batch's statistics); export the model in eval mode (model.eval())")
	}
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	var p [4]*tensor.Tensor
	for i := range p {
		if p[i], err = l.knownIn(i + 1); err != nil {
			return nil, err
		}
	}
	s := x.shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("input of shape %v has no channel axis", s)
	}
	c := s[1]
	for i, t := range p {
		if t.Len() != c {
			return nil, fmt.Errorf("parameter %d has %d values for %d channels", i+1, t.Len(), c)
		}
	}
	eps := l.attrFloat("epsilon", 1e-5)
	scale := make([]float64, c)
	shift := make([]float64, c)
	for i := 0; i < c; i++ {
		scale[i] = p[0].Data()[i] / math.Sqrt(p[3].Data()[i]+eps)
		shift[i] = p[1].Data()[i] - p[2].Data()[i]*scale[i]
	}
	ps := []int{c}
	for range s[2:] {
		ps = append(ps, 1)
	}
	n := x.node().Mul(jacobi.Const(tensor.MustNew(ps, scale))).Add(jacobi.Const(tensor.MustNew(ps, shift)))
	return nodeOut(n), nil
}

func opSoftmax(l *lowering, logOut bool) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	def := int64(-1)
	if l.m.Opset < 13 {
		def = 1
	}
	axis, err := normAxis(int(l.attrInt("axis", def)), len(s))
	if err != nil {
		return nil, err
	}
	n := x.node()
	coerce := l.m.Opset < 13 && axis != len(s)-1
	if coerce {
		// Before opset 13 the input is flattened to 2-D at axis.
		n = n.Reshape(tensor.Size(s[:axis]), tensor.Size(s[axis:]))
		axis = 1
	}
	// Subtracting the maximum changes neither the value nor any derivative
	// (softmax is invariant to a shift along its axis) but avoids overflow.
	z := n.Sub(reduceMax(n, axis))
	e := z.Exp()
	sum := e.SumKeep(axis)
	var y *jacobi.Node
	if logOut {
		y = z.Sub(sum.Log())
	} else {
		y = e.Div(sum)
	}
	if coerce {
		y = y.Reshape(s...)
	}
	return nodeOut(y), nil
}

func opRange(l *lowering) ([]*value, error) {
	var v [3]float64
	isInt := true
	for i := range v {
		t, err := l.knownIn(i)
		if err != nil {
			return nil, err
		}
		if t.Len() != 1 {
			return nil, fmt.Errorf("input %d has shape %v, want a scalar", i, t.Shape())
		}
		v[i] = t.Data()[0]
		isInt = isInt && l.in(i).isInt
	}
	start, limit, delta := v[0], v[1], v[2]
	if delta == 0 || math.IsNaN(start+limit+delta) {
		return nil, fmt.Errorf("range(%v, %v, %v)", start, limit, delta)
	}
	n := math.Max(math.Ceil((limit-start)/delta), 0)
	if n > maxFolded {
		return nil, fmt.Errorf("range of %v elements is too large", n)
	}
	d := make([]float64, int(n))
	for i := range d {
		d[i] = start + float64(i)*delta
	}
	return []*value{known(tensor.MustNew([]int{len(d)}, d), isInt)}, nil
}

func opTile(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	rt, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	reps := ints(rt)
	s := x.shape()
	if len(reps) != len(s) {
		return nil, fmt.Errorf("%d repeats for shape %v", len(reps), s)
	}
	size := tensor.Size(s)
	for _, r := range reps {
		if r < 0 || (r != 0 && size > maxFolded/r) {
			return nil, fmt.Errorf("repeats %v of shape %v give too large a tensor", reps, s)
		}
		size *= r
	}
	for a, r := range reps {
		if r == 1 {
			continue
		}
		copies := make([]*value, r)
		for i := range copies {
			copies[i] = x
		}
		if r == 0 {
			x = slice(x, a, 0, 0)
			continue
		}
		if x, err = concat(a, copies); err != nil {
			return nil, err
		}
	}
	return []*value{x}, nil
}

// opPad lowers Pad in constant mode: concatenation with constant blocks
// (negative pads crop).
func opPad(l *lowering) ([]*value, error) {
	if a, ok := l.node.Attrs["mode"]; ok && a.String != "constant" {
		return nil, fmt.Errorf("mode %q is not supported (only constant)", a.String)
	}
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	pt, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	pads := ints(pt)
	fill := 0.0
	if v := l.in(2); v != nil {
		if v.k == nil || v.k.Len() != 1 {
			return nil, errors.New("constant_value must be a constant scalar")
		}
		fill = v.k.Data()[0]
	}
	rank := len(x.shape())
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	if v := l.in(3); v != nil {
		if v.k == nil {
			return nil, errors.New("axes must be a constant")
		}
		axes = ints(v.k)
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	for i, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		lo, hi := pads[i], pads[i+len(axes)]
		dim := x.shape()[a]
		if lo < 0 || hi < 0 {
			start, end := max(0, -lo), dim-max(0, -hi)
			if end < start {
				return nil, fmt.Errorf("pads %v crop axis %d of size %d to nothing", pads, a, dim)
			}
			x = slice(x, a, start, end)
			lo, hi = max(lo, 0), max(hi, 0)
		}
		if lo == 0 && hi == 0 {
			continue
		}
		block := func(n int) *value {
			s := append([]int{}, x.shape()...)
			s[a] = n
			return known(tensor.Full(fill, s...), x.isInt)
		}
		if lo > maxFolded || hi > maxFolded {
			return nil, fmt.Errorf("pads %v are too large", pads)
		}
		s := append([]int{}, x.shape()...)
		s[a] += lo + hi
		if tensor.Size(s) > maxFolded {
			return nil, fmt.Errorf("padding to shape %v is too large", s)
		}
		var parts []*value
		if lo > 0 {
			parts = append(parts, block(lo))
		}
		parts = append(parts, x)
		if hi > 0 {
			parts = append(parts, block(hi))
		}
		if x, err = concat(a, parts); err != nil {
			return nil, err
		}
	}
	return []*value{x}, nil
}
