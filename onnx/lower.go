package onnx

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jacobi-ad/jacobi"
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

// node returns v as a node: a known value as a weakly typed constant, which
// takes the dtype of the computed values it meets, the dtype the model is
// run in (its initializers and constants are float32 in a float32 model:
// there they are the same numbers).
func (v *value) node() *jacobi.Node {
	if v.n != nil {
		return v.n
	}
	return jacobi.WeakConst(v.k)
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
	batch int          // the batch size of this trace
	dt    tensor.DType // the dtype the model is run in: its input's
	node  *Node
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
