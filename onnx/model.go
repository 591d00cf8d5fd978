package onnx

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// DType returns the dtype of the model's input, float32 for FLOAT and
// float64 for DOUBLE: the precision of its weights and computations.
func (m *Model) DType() tensor.DType {
	if m.InputType == Float32 {
		return tensor.Float32
	}
	return tensor.Float64
}

// Apply lowers the model's graph onto jacobi operations applied to x, a batch
// of shape (b, in...), and returns the graph's output. It fails when an
// operator is not supported (naming its type and node) or shapes disagree.
//
// The model computes in x's dtype. When that is the model's own (DType),
// its Cast nodes convert as ONNX says; otherwise the model is run in x's
// precision: its initializers and constants are read in x's dtype and its
// Casts to floating-point types keep x's dtype (a float32 model computed in
// float64, as the command line's --dtype float64 does).
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
	l := &lowering{m: m, env: map[string]*value{m.Input: {n: x, dep: true}}, batch: s[0], dt: x.DType()}
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
// derivatives of package jacobi take. The check is made in the model's
// dtype (DType), or in the one jacobi.WithDType gives; the function
// computes in its input's dtype (see Apply).
func (m *Model) Fn(sampleShape []int, opts ...jacobi.RunOption) (jacobi.Fn, error) {
	opts = append([]jacobi.RunOption{jacobi.WithDType(m.DType())}, opts...)
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
	if _, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{fn(in[0])} }, [][]int{batch}, opts...); err != nil {
		mu.Lock()
		defer mu.Unlock()
		if lowerErr != nil {
			return nil, lowerErr
		}
		return nil, fmt.Errorf("onnx: %s%w", m.where(), err)
	}
	if _, err := jacobi.Compile(fn, sampleShape, opts...); err != nil {
		var bs *transform.BatchSizeError
		if errors.As(err, &bs) {
			return nil, m.batchSizeError(bs)
		}
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

// batchSizeError explains a model that depends on its batch size: one
// that uses the size as a value (Shape → Gather → Div) or reshapes to a
// literal shape that fits one batch size only.
func (m *Model) batchSizeError(e *transform.BatchSizeError) error {
	hint := ""
	if fb := m.fixedBatch(); fb > 0 {
		hint = fmt.Sprintf("; its input declares a fixed batch of %d: export it with a dynamic batch axis (dynamic_axes) and shapes that follow it (x.view(x.size(0), -1))", fb)
	}
	if e.Err != nil {
		detail := e.Err.Error()
		var mix *op.MixError
		if errors.As(e.Err, &mix) {
			at := strings.TrimPrefix(mix.Src, m.where())
			detail = fmt.Sprintf("at %s, %s %s", at, mix.Prim, mix.Reason)
		}
		return fmt.Errorf("onnx: %sthe model depends on its batch size: it maps samples independently at batch size %d but not at %d (%s), so it is refused: per-sample derivatives need a model that works at every batch size%s", m.where(), e.Sizes[0], e.Sizes[1], detail, hint)
	}
	at := ""
	if e.Src != "" {
		at = " at " + strings.TrimPrefix(e.Src, m.where())
	}
	return fmt.Errorf("onnx: %sthe model depends on its batch size%s: traced at batch sizes %d and %d, its %s differs (%s), so its per-sample derivatives at one batch size would be wrong at another and it is refused%s", m.where(), at, e.Sizes[0], e.Sizes[1], e.Prim, e.Reason, hint)
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
