package onnx

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
)

// The pipeline fuzz target (FuzzPipeline, pipeline_test.go) builds small
// ONNX graphs from the fuzzer's bytes: a chain of operators applied to the
// input, each read from the next bytes (which operator, its axes, shapes
// and attributes), with the shapes tracked so that the graph is valid. Most
// operators map every sample on its own; a few mix samples (a reduction
// over the batch axis, the batch size used as a value, a reshape that
// merges samples, selecting sample 0, …) and the graph records that it
// must be refused.

// byteSource reads decisions from the fuzzer's bytes; past their end every
// decision is 0.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) next() int {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return int(s.b[s.i-1])
}

// intn returns a decision in [0, n).
func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return s.next() % n
}

// fval is a value of the graph that depends on the input: its shape, with
// -1 at the batch axis ax.
type fval struct {
	name  string
	shape []int
	ax    int
}

func (v fval) rank() int { return len(v.shape) }

// sampleAxes returns v's axes other than the batch axis.
func (v fval) sampleAxes() []int {
	var a []int
	for i := range v.shape {
		if i != v.ax {
			a = append(a, i)
		}
	}
	return a
}

// fuzzGraph is a graph being built.
type fuzzGraph struct {
	src    *byteSource
	opset  int64
	double bool
	sample []int
	nodes  []*pb.NodeProto
	inits  []*pb.TensorProto
	vals   []fval // every value computed from the input, in order
	cur    fval   // the value the chain continues from
	names  int
	// mixes names the operator that mixes samples ("" when none does);
	// final says the chain ended there (its output has no batch axis).
	mixes  string
	final  bool
	smooth bool     // every operator is smooth: finite differences apply
	ops    []string // the operators in order, for messages
}

// constants are the values drawn for weights and constants: nonzero, so
// that no operator's effect cancels.
var constants = []float64{0.5, -0.75, 1.25, -1.5, 0.3, 2, -0.2, 0.9, -1.1, 0.65}

func (g *fuzzGraph) name(prefix string) string {
	g.names++
	return fmt.Sprintf("%s%d", prefix, g.names)
}

func (g *fuzzGraph) elem() int32 {
	if g.double {
		return int32(pb.TensorProto_DOUBLE)
	}
	return int32(pb.TensorProto_FLOAT)
}

// constF adds a float initializer of the given shape with drawn values.
func (g *fuzzGraph) constF(shape []int) string {
	n := 1
	for _, d := range shape {
		n *= d
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = constants[g.src.intn(len(constants))]
	}
	return g.constVals(shape, vals)
}

func (g *fuzzGraph) constVals(shape []int, vals []float64) string {
	name := g.name("c")
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(g.elem()), Dims: dims}
	if g.double {
		t.DoubleData = vals
	} else {
		for _, v := range vals {
			t.FloatData = append(t.FloatData, float32(v))
		}
	}
	g.inits = append(g.inits, t)
	return name
}

// constI adds an int64 initializer: a vector, or a scalar when scalar is set.
func (g *fuzzGraph) constI(scalar bool, vals ...int64) string {
	name := g.name("i")
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: vals}
	if !scalar {
		t.Dims = []int64{int64(len(vals))}
	}
	g.inits = append(g.inits, t)
	return name
}

func attrI(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrF(name string, v float64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

func attrIs(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

// emit adds a node and returns its (first) output's name.
func (g *fuzzGraph) emit(op string, in []string, attrs ...*pb.AttributeProto) string {
	out := g.name("v")
	g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String(fmt.Sprintf("/%s_%d", op, len(g.nodes))), OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs})
	g.ops = append(g.ops, op)
	return out
}

// set makes the chain continue from a new value.
func (g *fuzzGraph) set(name string, shape []int, ax int) {
	g.cur = fval{name: name, shape: shape, ax: ax}
	g.vals = append(g.vals, g.cur)
}

// axesArg passes a reduction's or a squeeze's axes: as an input from
// opset inputFrom, as an attribute before.
func (g *fuzzGraph) axesArg(in []string, inputFrom int64, axes ...int64) ([]string, []*pb.AttributeProto) {
	if g.opset >= inputFrom {
		return append(in, g.constI(false, axes...)), nil
	}
	return in, []*pb.AttributeProto{attrIs("axes", axes...)}
}

// batchDim returns a value holding the batch size as a 1-D int64 tensor,
// read from v's shape: Shape → Gather (or Slice, or Shape's start/end).
func (g *fuzzGraph) batchDim(v fval) string {
	switch g.src.intn(4) {
	case 3: // computed: (b · 3) / 3, folded on integers
		b := g.batchDim(v)
		m := g.emit("Mul", []string{b, g.constI(false, 3)})
		return g.emit("Div", []string{m, g.constI(false, 3)})
	case 0:
		s := g.emit("Shape", []string{v.name})
		return g.emit("Gather", []string{s, g.constI(false, int64(v.ax))}, attrI("axis", 0))
	case 1:
		s := g.emit("Shape", []string{v.name})
		return g.emit("Slice", []string{s, g.constI(false, int64(v.ax)), g.constI(false, int64(v.ax+1))})
	}
	if g.opset >= 15 {
		return g.emit("Shape", []string{v.name}, attrI("start", int64(v.ax)), attrI("end", int64(v.ax+1)))
	}
	s := g.emit("Shape", []string{v.name})
	return g.emit("Gather", []string{s, g.constI(false, int64(v.ax))})
}

func (g *fuzzGraph) notSmooth() { g.smooth = false }

func prod(s []int) int {
	n := 1
	for _, d := range s {
		if d > 0 {
			n *= d
		}
	}
	return n
}

func replaced(s []int, i, d int) []int {
	t := append([]int{}, s...)
	t[i] = d
	return t
}

func removed(s []int, i int) []int {
	return append(append([]int{}, s[:i]...), s[i+1:]...)
}

func inserted(s []int, i, d int) []int {
	t := append(append([]int{}, s[:i]...), d)
	return append(t, s[i:]...)
}

// sameShape returns an earlier value shaped like the current one (not the
// current one), or false.
func (g *fuzzGraph) sameShape() (fval, bool) {
	var c []fval
	for _, v := range g.vals {
		if v.name != g.cur.name && v.ax == g.cur.ax && equalInts(v.shape, g.cur.shape) {
			c = append(c, v)
		}
	}
	if len(c) == 0 {
		return fval{}, false
	}
	return c[g.src.intn(len(c))], true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pickSampleAxis returns one of cur's sample axes, or false when it has none.
func (g *fuzzGraph) pickSampleAxis() (int, bool) {
	a := g.cur.sampleAxes()
	if len(a) == 0 {
		return 0, false
	}
	return a[g.src.intn(len(a))], true
}

var unaryOps = []struct {
	op     string
	smooth bool
}{
	{"Tanh", true}, {"Sigmoid", true}, {"Sin", true}, {"Cos", true}, {"Neg", true},
	{"Softplus", true}, {"Erf", true}, {"Softsign", true}, {"Elu", false}, {"Selu", false},
	{"Mish", true}, {"Abs", false}, {"Relu", false}, {"LeakyRelu", false},
	{"HardSigmoid", false}, {"HardSwish", false}, {"Sign", false}, {"Identity", true},
	{"Exp", true}, {"Sqrt", true}, {"Log", true}, {"Reciprocal", true}, {"Clip", false},
	{"Dropout", true},
}

// perSampleOp appends an operator that maps samples independently.
func (g *fuzzGraph) perSampleOp() {
	c := g.cur
	r := c.rank()
	switch g.src.intn(28) {
	case 0, 1, 2: // unary
		u := unaryOps[g.src.intn(len(unaryOps))]
		if !u.smooth {
			g.notSmooth()
		}
		in := c.name
		switch u.op {
		case "Exp":
			in = g.emit("Tanh", []string{in})
		case "Sqrt", "Log", "Reciprocal": // of x² + 1
			sq := g.emit("Mul", []string{in, in})
			in = g.emit("Add", []string{sq, g.constVals(nil, []float64{1})})
		}
		var attrs []*pb.AttributeProto
		inputs := []string{in}
		switch u.op {
		case "LeakyRelu", "Elu":
			attrs = append(attrs, attrF("alpha", 0.1+float64(g.src.intn(5))/4))
		case "HardSigmoid":
			attrs = append(attrs, attrF("alpha", 0.3), attrF("beta", 0.4))
		case "Clip":
			inputs = append(inputs, g.constVals(nil, []float64{-0.5}), g.constVals(nil, []float64{0.75}))
		}
		g.set(g.emit(u.op, inputs, attrs...), c.shape, c.ax)
	case 3, 4: // binary with a constant broadcast against cur
		m := g.src.intn(r + 1) // the constant's rank
		shape := make([]int, m)
		for i := range shape {
			a := r - m + i
			if a == c.ax || g.src.intn(2) == 0 {
				shape[i] = 1
			} else {
				shape[i] = c.shape[a]
			}
		}
		k := g.constF(shape)
		op := []string{"Add", "Sub", "Mul", "Div", "Pow"}[g.src.intn(5)]
		in := []string{c.name, k}
		switch op {
		case "Pow":
			in[1] = g.constVals(nil, []float64{float64(2 + g.src.intn(2))})
		case "Div":
		default:
			if g.src.intn(2) == 0 {
				in[0], in[1] = in[1], in[0]
			}
		}
		g.set(g.emit(op, in), c.shape, c.ax)
	case 5: // binary with an earlier value of the same shape
		o, ok := g.sameShape()
		if !ok {
			g.set(g.emit("Tanh", []string{c.name}), c.shape, c.ax)
			return
		}
		op := []string{"Add", "Sub", "Mul", "Max", "Min", "Sum", "Mean"}[g.src.intn(7)]
		if op == "Max" || op == "Min" {
			g.notSmooth()
		}
		g.set(g.emit(op, []string{c.name, o.name}), c.shape, c.ax)
	case 6, 7: // MatMul by a weight on the right (or on the left)
		if r < 2 || c.ax == r-1 {
			g.unsqueeze()
			return
		}
		m := 1 + g.src.intn(4)
		if g.src.intn(3) == 0 && c.ax != r-2 {
			w := g.constF([]int{m, c.shape[r-2]})
			g.set(g.emit("MatMul", []string{w, c.name}), replaced(c.shape, r-2, m), c.ax)
			return
		}
		w := g.constF([]int{c.shape[r-1], m})
		g.set(g.emit("MatMul", []string{c.name, w}), replaced(c.shape, r-1, m), c.ax)
	case 8: // Gemm
		if r != 2 || c.ax != 0 {
			g.transpose()
			return
		}
		m := 1 + g.src.intn(4)
		k := c.shape[1]
		transB := int64(g.src.intn(2))
		wShape := []int{k, m}
		if transB == 1 {
			wShape = []int{m, k}
		}
		in := []string{c.name, g.constF(wShape)}
		if g.src.intn(2) == 0 {
			in = append(in, g.constF([]int{m}))
		}
		g.set(g.emit("Gemm", in, attrI("transB", transB), attrF("alpha", 0.5+float64(g.src.intn(3))/2), attrF("beta", 1)), []int{-1, m}, 0)
	case 9:
		g.transpose()
	case 10: // a reshape that keeps the batch: [0, …], or the batch read from the shape
		if c.ax != 0 {
			g.transpose()
			return
		}
		n := prod(c.shape)
		target := []int{-1, n}
		if n%2 == 0 && g.src.intn(2) == 0 {
			target = []int{-1, 2, n / 2}
		}
		var shape string
		if g.src.intn(2) == 0 {
			lit := []int64{0}
			for _, d := range target[1:] {
				lit = append(lit, int64(d))
			}
			if g.src.intn(2) == 0 {
				lit[len(lit)-1] = -1
			}
			shape = g.constI(false, lit...)
		} else {
			lit := []int64{}
			for _, d := range target[1:] {
				lit = append(lit, int64(d))
			}
			shape = g.emit("Concat", []string{g.batchDim(c), g.constI(false, lit...)}, attrI("axis", 0))
		}
		g.set(g.emit("Reshape", []string{c.name, shape}), target, 0)
	case 11: // Flatten
		if c.ax != 0 || r < 2 {
			g.unsqueeze()
			return
		}
		g.set(g.emit("Flatten", []string{c.name}, attrI("axis", 1)), []int{-1, prod(c.shape)}, 0)
	case 12:
		g.unsqueeze()
	case 13: // Squeeze an axis of size 1
		for _, a := range c.sampleAxes() {
			if c.shape[a] == 1 {
				in, attrs := g.axesArg([]string{c.name}, 13, int64(a))
				ax := c.ax
				if a < ax {
					ax--
				}
				g.set(g.emit("Squeeze", in, attrs...), removed(c.shape, a), ax)
				return
			}
		}
		g.unsqueeze()
	case 14: // Softmax or LogSoftmax over a sample axis
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		if g.opset < 13 && a < c.ax {
			// Before opset 13 the input is seen as a matrix, the axes from
			// axis on its columns: those must not include the batch axis.
			g.transpose()
			return
		}
		op := []string{"Softmax", "LogSoftmax"}[g.src.intn(2)]
		g.set(g.emit(op, []string{c.name}, attrI("axis", int64(a-r*g.src.intn(2)))), c.shape, c.ax)
	case 15: // a reduction over sample axes
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		g.reduce(a, false)
	case 16: // Concat with itself or a same-shaped value along a sample axis
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		o := c
		if v, ok := g.sameShape(); ok && g.src.intn(2) == 0 {
			o = v
		}
		g.set(g.emit("Concat", []string{c.name, o.name}, attrI("axis", int64(a))), replaced(c.shape, a, 2*c.shape[a]), c.ax)
	case 17: // Slice along a sample axis
		a, ok := g.pickSampleAxis()
		if !ok || c.shape[a] < 2 {
			g.unsqueeze()
			return
		}
		// (Steps other than 1, as torch.flip exports, are not supported.)
		d := c.shape[a]
		s := g.src.intn(d - 1)
		e := s + 1 + g.src.intn(d-s)
		g.set(g.emit("Slice", []string{c.name, g.constI(false, int64(s)), g.constI(false, int64(e)), g.constI(false, int64(a))}), replaced(c.shape, a, e-s), c.ax)
	case 18: // Gather along a sample axis
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		d := c.shape[a]
		if g.src.intn(2) == 0 { // a scalar index drops the axis
			ax := c.ax
			if a < ax {
				ax--
			}
			g.set(g.emit("Gather", []string{c.name, g.constI(true, int64(g.src.intn(d)))}, attrI("axis", int64(a))), removed(c.shape, a), ax)
			return
		}
		n := 1 + g.src.intn(3)
		idx := make([]int64, n)
		for i := range idx {
			idx[i] = int64(g.src.intn(2*d) - d) // negative indices count from the end
		}
		g.set(g.emit("Gather", []string{c.name, g.constI(false, idx...)}, attrI("axis", int64(a))), replaced(c.shape, a, n), c.ax)
	case 19: // Split along a sample axis, one of its parts
		a, ok := g.pickSampleAxis()
		if !ok || c.shape[a] < 2 {
			g.unsqueeze()
			return
		}
		d := c.shape[a]
		first := 1 + g.src.intn(d-1)
		in := []string{c.name}
		attrs := []*pb.AttributeProto{attrI("axis", int64(a))}
		if g.opset >= 13 {
			in = append(in, g.constI(false, int64(first), int64(d-first)))
		} else {
			attrs = append(attrs, attrIs("split", int64(first), int64(d-first)))
		}
		outs := []string{g.name("v"), g.name("v")}
		g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String(fmt.Sprintf("/Split_%d", len(g.nodes))), OpType: proto.String("Split"), Input: in, Output: outs, Attribute: attrs})
		g.ops = append(g.ops, "Split")
		if g.src.intn(2) == 0 {
			g.set(outs[0], replaced(c.shape, a, first), c.ax)
		} else {
			g.set(outs[1], replaced(c.shape, a, d-first), c.ax)
		}
	case 20: // LayerNormalization over the last axis, or BatchNormalization (eval)
		if g.src.intn(2) == 0 && g.opset >= 17 && c.ax != r-1 {
			d := c.shape[r-1]
			// A layer norm of equal values (after a Tile) has a derivative
			// of 1/√ε: with ε ≥ 0.1 float32's rounding errors stay small.
			eps := []float64{0.1, 0.5}[g.src.intn(2)]
			g.set(g.emit("LayerNormalization", []string{c.name, g.constF([]int{d}), g.constF([]int{d})}, attrI("axis", -1), attrF("epsilon", eps)), c.shape, c.ax)
			return
		}
		if c.ax != 0 || r < 2 {
			g.unsqueeze()
			return
		}
		ch := c.shape[1]
		vars := make([]float64, ch)
		for i := range vars {
			vars[i] = 0.5 + float64(g.src.intn(4))
		}
		g.set(g.emit("BatchNormalization", []string{c.name, g.constF([]int{ch}), g.constF([]int{ch}), g.constF([]int{ch}), g.constVals([]int{ch}, vars)}, attrF("epsilon", 1e-5)), c.shape, c.ax)
	case 21: // Where of a comparison
		g.notSmooth()
		cmp := []string{"Greater", "Less", "GreaterOrEqual", "LessOrEqual"}[g.src.intn(4)]
		cond := g.emit(cmp, []string{c.name, g.constVals(nil, []float64{0.1})})
		other := g.constF([]int{1})
		if o, ok := g.sameShape(); ok {
			other = o.name
		}
		g.set(g.emit("Where", []string{cond, c.name, other}), c.shape, c.ax)
	case 22: // a constant shaped like cur (ConstantOfShape or Expand of Shape)
		s := g.emit("Shape", []string{c.name})
		var k string
		if g.src.intn(2) == 0 {
			t := &pb.TensorProto{DataType: proto.Int32(g.elem()), Dims: []int64{1}}
			if g.double {
				t.DoubleData = []float64{1.5}
			} else {
				t.FloatData = []float32{1.5}
			}
			k = g.emit("ConstantOfShape", []string{s}, &pb.AttributeProto{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(), T: t})
		} else {
			k = g.emit("Expand", []string{g.constF([]int{1}), s})
		}
		op := []string{"Mul", "Add"}[g.src.intn(2)]
		g.set(g.emit(op, []string{c.name, k}), c.shape, c.ax)
	case 23: // Tile or Pad along sample axes
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		if g.src.intn(2) == 0 {
			reps := make([]int64, r)
			for i := range reps {
				reps[i] = 1
			}
			reps[a] = 2
			g.set(g.emit("Tile", []string{c.name, g.constI(false, reps...)}), replaced(c.shape, a, 2*c.shape[a]), c.ax)
			return
		}
		pads := make([]int64, 2*r)
		pads[a], pads[r+a] = int64(g.src.intn(2)), int64(1+g.src.intn(2))
		g.set(g.emit("Pad", []string{c.name, g.constI(false, pads...), g.constVals(nil, []float64{0.25})}), replaced(c.shape, a, c.shape[a]+int(pads[a]+pads[r+a])), c.ax)
	case 24: // a sample dimension used as a value: Shape → Gather → Cast → Mul
		a, ok := g.pickSampleAxis()
		if !ok {
			g.unsqueeze()
			return
		}
		s := g.emit("Shape", []string{c.name})
		d := g.emit("Gather", []string{s, g.constI(true, int64(a))}, attrI("axis", 0))
		f := g.emit("Cast", []string{d}, attrI("to", int64(g.elem())))
		g.set(g.emit("Div", []string{c.name, f}), c.shape, c.ax)
	case 26: // Expand an axis of size 1 to 3, to a shape read from cur's batch
		if c.ax != 0 {
			g.transpose()
			return
		}
		for _, a := range c.sampleAxes() {
			if c.shape[a] == 1 {
				dims := []int64{}
				for _, d := range c.shape[1:] {
					dims = append(dims, int64(d))
				}
				dims[a-1] = 3
				shape := g.emit("Concat", []string{g.batchDim(c), g.constI(false, dims...)}, attrI("axis", 0))
				g.set(g.emit("Expand", []string{c.name, shape}), replaced(c.shape, a, 3), 0)
				return
			}
		}
		g.unsqueeze()
	case 27: // Conv or a pool over the last axis of (b, C, L)
		if r != 3 || c.ax != 0 {
			g.unsqueeze()
			return
		}
		ch, n := c.shape[1], c.shape[2]
		k := 1 + g.src.intn(min(n, 3))
		stride := 1 + g.src.intn(2)
		pad := g.src.intn(k)
		out := (n+2*pad-k)/stride + 1
		attrs := []*pb.AttributeProto{attrIs("kernel_shape", int64(k)), attrIs("strides", int64(stride)), attrIs("pads", int64(pad), int64(pad))}
		switch g.src.intn(4) {
		case 0, 1:
			m := 1 + g.src.intn(3)
			in := []string{c.name, g.constF([]int{m, ch, k})}
			if g.src.intn(2) == 0 {
				in = append(in, g.constF([]int{m}))
			}
			g.set(g.emit("Conv", in, attrs...), []int{-1, m, out}, 0)
		case 2:
			attrs = append(attrs, attrI("count_include_pad", int64(g.src.intn(2))))
			g.set(g.emit("AveragePool", []string{c.name}, attrs...), []int{-1, ch, out}, 0)
		default:
			g.notSmooth()
			g.set(g.emit("MaxPool", []string{c.name}, attrs...), []int{-1, ch, out}, 0)
		}
	case 25: // Einsum: a weight, or a product with an earlier value
		if r != 2 || c.ax != 0 {
			g.transpose()
			return
		}
		k := c.shape[1]
		if o, ok := g.sameShape(); ok && g.src.intn(2) == 0 {
			g.set(g.emit("Einsum", []string{c.name, o.name}, &pb.AttributeProto{Name: proto.String("equation"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("bi,bi->bi")}), c.shape, c.ax)
			return
		}
		m := 1 + g.src.intn(3)
		g.set(g.emit("Einsum", []string{c.name, g.constF([]int{k, m})}, &pb.AttributeProto{Name: proto.String("equation"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("bi,ij->bj")}), []int{-1, m}, 0)
	}
}

// unsqueeze inserts an axis of size 1 (a fallback when an operator does
// not fit cur's shape, too).
func (g *fuzzGraph) unsqueeze() {
	c := g.cur
	if c.rank() >= 4 {
		g.set(g.emit("Tanh", []string{c.name}), c.shape, c.ax)
		return
	}
	p := g.src.intn(c.rank() + 1)
	in, attrs := g.axesArg([]string{c.name}, 13, int64(p))
	ax := c.ax
	if p <= ax {
		ax++
	}
	g.set(g.emit("Unsqueeze", in, attrs...), inserted(c.shape, p, 1), ax)
}

// transpose permutes cur's axes (the batch axis moves with them).
func (g *fuzzGraph) transpose() {
	c := g.cur
	r := c.rank()
	if r < 2 {
		g.unsqueeze()
		return
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	for i := r - 1; i > 0; i-- {
		j := g.src.intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	g.permute(perm)
}

func (g *fuzzGraph) permute(perm []int) {
	c := g.cur
	shape := make([]int, len(perm))
	p64 := make([]int64, len(perm))
	ax := 0
	for i, p := range perm {
		shape[i] = c.shape[p]
		p64[i] = int64(p)
		if p == c.ax {
			ax = i
		}
	}
	g.set(g.emit("Transpose", []string{c.name}, attrIs("perm", p64...)), shape, ax)
}

var reduceOps = []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"}

// reduce reduces cur over axis a; over the batch axis (mixing), it keeps
// the axis and adds the result back to cur.
func (g *fuzzGraph) reduce(a int, mixing bool) {
	c := g.cur
	op := reduceOps[g.src.intn(len(reduceOps))]
	switch op {
	case "ReduceMax", "ReduceMin", "ReduceL1":
		g.notSmooth()
	}
	keep := int64(1)
	if !mixing && g.src.intn(2) == 0 {
		keep = 0
	}
	from := int64(18)
	if op == "ReduceSum" {
		from = 13
	}
	in := c.name
	if op == "ReduceL2" { // away from 0, where it is not differentiable
		sq := g.emit("Mul", []string{in, in})
		in = g.emit("Add", []string{sq, g.constVals(nil, []float64{1})})
	}
	ins, attrs := g.axesArg([]string{in}, from, int64(a))
	y := g.emit(op, ins, append(attrs, attrI("keepdims", keep))...)
	if mixing {
		g.mix(op+" over the batch axis", g.emit("Add", []string{c.name, y}), c.shape, c.ax)
		return
	}
	if keep == 1 {
		g.set(y, replaced(c.shape, a, 1), c.ax)
		return
	}
	ax := c.ax
	if a < ax {
		ax--
	}
	g.set(y, removed(c.shape, a), ax)
}

// mix continues the chain from a value that mixes samples.
func (g *fuzzGraph) mix(what, name string, shape []int, ax int) {
	if g.mixes == "" {
		g.mixes = what
	}
	g.set(name, shape, ax)
}

// end makes a value that mixes samples the graph's output.
func (g *fuzzGraph) end(what, name string) {
	if g.mixes == "" {
		g.mixes = what
	}
	g.cur = fval{name: name}
	g.final = true
}

// mixingOp appends an operator that mixes samples (or makes the model
// depend on its batch size).
func (g *fuzzGraph) mixingOp() {
	c := g.cur
	r := c.rank()
	switch g.src.intn(13) {
	case 0, 1:
		g.reduce(c.ax, true)
	case 2: // Softmax over the batch axis
		g.mix("Softmax over the batch axis", g.emit("Softmax", []string{c.name}, attrI("axis", int64(c.ax))), c.shape, c.ax)
	case 3: // the batch size as a value: x / x.shape[0]
		d := g.batchDim(c)
		f := g.emit("Cast", []string{d}, attrI("to", int64(g.elem())))
		g.mix("the batch size used as a value", g.emit("Div", []string{c.name, f}), c.shape, c.ax)
	case 4: // every sample's values in one vector
		y := g.emit("Reshape", []string{c.name, g.constI(false, -1)})
		if prod(c.shape) == 1 { // one value per sample: still one row each
			g.set(y, []int{-1}, 0)
			return
		}
		g.end("Reshape to [-1]", y)
	case 5: // a reshape to a literal batch of 2
		g.end("Reshape to a literal [2, -1]", g.emit("Reshape", []string{c.name, g.constI(false, 2, -1)}))
	case 6: // sample 0 added to every sample
		var s string
		if g.src.intn(2) == 0 {
			s = g.emit("Gather", []string{c.name, g.constI(false, 0)}, attrI("axis", int64(c.ax)))
		} else {
			s = g.emit("Slice", []string{c.name, g.constI(false, 0), g.constI(false, 1), g.constI(false, int64(c.ax))})
		}
		g.mix("sample 0 used by every sample", g.emit("Add", []string{c.name, s}), c.shape, c.ax)
	case 7: // Concat, Tile or Pad along the batch axis: more rows than samples
		switch g.src.intn(3) {
		case 0:
			g.end("Concat along the batch axis", g.emit("Concat", []string{c.name, c.name}, attrI("axis", int64(c.ax))))
		case 1:
			reps := make([]int64, r)
			for i := range reps {
				reps[i] = 1
			}
			reps[c.ax] = 2
			g.end("Tile along the batch axis", g.emit("Tile", []string{c.name, g.constI(false, reps...)}))
		default:
			pads := make([]int64, 2*r)
			pads[r+c.ax] = 1
			g.end("Pad along the batch axis", g.emit("Pad", []string{c.name, g.constI(false, pads...)}))
		}
	case 8: // a reduction over every axis
		g.end("a reduction over every axis", g.emit("ReduceMean", []string{c.name}, attrI("keepdims", 0)))
	case 9: // the samples' Gram matrix
		if r != 2 || c.ax != 0 {
			g.end("Flatten at axis 0", g.emit("Flatten", []string{c.name}, attrI("axis", 0)))
			return
		}
		g.end("Einsum over the batch", g.emit("Einsum", []string{c.name, c.name}, &pb.AttributeProto{Name: proto.String("equation"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("bi,ci->bc")}))
	case 10: // the sample's index used as a value: Range(0, b)
		sq, attrs := g.axesArg([]string{g.batchDim(c)}, 13, 0)
		n := g.emit("Squeeze", sq, attrs...)
		rg := g.emit("Range", []string{g.constI(true, 0), n, g.constI(true, 1)})
		f := g.emit("Cast", []string{rg}, attrI("to", int64(g.elem())))
		// (b) → (b, 1, …) along cur's axes after the batch axis
		axes := []int64{}
		for i := c.ax + 1; i < r; i++ {
			axes = append(axes, int64(i-c.ax))
		}
		if len(axes) > 0 {
			un, attrs := g.axesArg([]string{f}, 13, axes...)
			f = g.emit("Unsqueeze", un, attrs...)
		}
		g.mix("the sample's index used as a value", g.emit("Add", []string{c.name, f}), c.shape, c.ax)
	case 11: // batch normalization in training mode
		if c.ax != 0 || r < 2 {
			g.reduce(c.ax, true)
			return
		}
		ch := c.shape[1]
		g.mix("BatchNormalization in training mode", g.emit("BatchNormalization", []string{c.name, g.constF([]int{ch}), g.constF([]int{ch}), g.constF([]int{ch}), g.constVals([]int{ch}, make1(ch))}, attrI("training_mode", 1)), c.shape, c.ax)
	case 12: // MatMul contracting the batch axis: (k, b) × (b, k)
		if r != 2 || c.ax != 0 {
			g.reduce(c.ax, true)
			return
		}
		tr := g.emit("Transpose", []string{c.name}, attrIs("perm", 1, 0))
		g.end("MatMul over the batch axis", g.emit("MatMul", []string{tr, c.name}))
	}
}

func make1(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// buildFuzzGraph builds a model from the fuzzer's bytes. It returns the
// serialized model, the sample shape, and what mixes samples ("" when
// nothing does).
func buildFuzzGraph(data []byte) (model []byte, g *fuzzGraph) {
	src := &byteSource{b: data}
	g = &fuzzGraph{src: src, smooth: true}
	g.opset = []int64{13, 17, 18, 12}[src.intn(4)]
	g.double = src.intn(3) == 0
	rank := 1 + src.intn(2)
	for range rank {
		g.sample = append(g.sample, 1+src.intn(4))
	}
	g.cur = fval{name: "x", shape: append([]int{-1}, g.sample...), ax: 0}
	g.vals = []fval{g.cur}
	steps := 1 + src.intn(8)
	for range steps {
		if g.final {
			break
		}
		if src.intn(10) == 0 {
			g.mixingOp()
		} else {
			g.perSampleOp()
		}
	}
	if !g.final && g.cur.ax != 0 {
		perm := []int{g.cur.ax}
		for i := range g.cur.shape {
			if i != g.cur.ax {
				perm = append(perm, i)
			}
		}
		g.permute(perm)
	}
	// The output: the chain's value, through an Identity so that the
	// output has a name of its own.
	y := "y"
	g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String("/out"), OpType: proto.String("Identity"), Input: []string{g.cur.name}, Output: []string{y}})
	elem := g.elem()
	dims := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}}
	for _, d := range g.sample {
		dims = append(dims, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("FuzzPipeline"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(g.opset)}},
		Graph: &pb.GraphProto{
			Name:        proto.String("fuzz"),
			Node:        g.nodes,
			Initializer: g.inits,
			Input: []*pb.ValueInfoProto{{Name: proto.String("x"), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
				ElemType: &elem, Shape: &pb.TensorShapeProto{Dim: dims}}}}}},
			Output: []*pb.ValueInfoProto{{Name: proto.String(y), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: &elem}}}}},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err) // the graph is built here: a bug in the test
	}
	return b, g
}

// describe says what the graph does, for failure messages.
func (g *fuzzGraph) describe() string {
	dt := "float"
	if g.double {
		dt = "double"
	}
	s := fmt.Sprintf("opset %d, %s, sample %v: %s", g.opset, dt, g.sample, strings.Join(g.ops, " → "))
	if g.mixes != "" {
		s += " (mixes samples: " + g.mixes + ")"
	}
	return s
}
