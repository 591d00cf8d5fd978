// Package onnx imports ONNX models (as written by torch.onnx.export) into
// jacobi: a Model decodes the ModelProto with google.golang.org/protobuf,
// checks it, and lowers its graph onto jacobi's Node operations, so that
// every derivative jacobi offers works on it.
//
// It also exports jacobi's programs as ONNX models with a symbolic batch
// dimension — a compiled per-sample derivative (ExportCompiled), any traced
// function such as a training step (ExportFunc) — for ONNX Runtime, Triton
// Inference Server and other engines to run (see docs/scale-out.md).
//
// The decoder is written for untrusted files: malformed, truncated or hostile
// input gives an error, never a panic, and tensor sizes are checked against
// the data actually present before anything is allocated for them.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/tensor"
)

// MinOpset and MaxOpset bound the default-domain opset versions Decode accepts.
const (
	MinOpset = 11
	MaxOpset = 21
)

// maxFileSize bounds the size of a model file Load reads (1 GiB).
const maxFileSize = 1 << 30

// maxElements bounds the number of elements of any tensor in a model.
const maxElements = 1 << 28

// Dim is one dimension of the model's input or output: a fixed size, or a
// symbolic name (Size -1) such as "batch".
type Dim struct {
	Size  int    // the fixed size, or -1 when symbolic or unknown
	Param string // the symbolic name, when there is one
}

// String returns the size, or the symbolic name ("?" when there is none).
func (d Dim) String() string {
	if d.Size >= 0 {
		return fmt.Sprint(d.Size)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// Constant is a tensor stored in the model (an initializer or the value of a
// Constant node), widened to float64. Int reports whether its ONNX type is
// an integer or boolean type.
type Constant struct {
	Value *tensor.Tensor // the values, widened to float64
	Int   bool           // whether the ONNX type is an integer or boolean type
}

// Attr is a node attribute.
type Attr struct {
	Float  float64   // the value of a "float" attribute (stored as float32 in ONNX)
	Int    int64     // the value of an "int" attribute
	String string    // the value of a "string" attribute
	Tensor *Constant // the value of a "tensor" attribute
	Floats []float64 // the values of a "floats" attribute
	Ints   []int64   // the values of an "ints" attribute
	Type   string    // "float", "int", "string", "tensor", "floats", "ints" or another ONNX attribute type name
}

// Node is one operator application of the graph.
type Node struct {
	Name    string          // the node's name, e.g. "/l1/Gemm" (may be empty)
	OpType  string          // the operator, e.g. "Gemm"
	Domain  string          // the operator set's domain; "" or "ai.onnx" for the default one
	Inputs  []string        // the names of its inputs; "" marks an omitted optional input
	Outputs []string        // the names of its outputs
	Attrs   map[string]Attr // its attributes by name
}

// String names the node for error messages: its type and name.
func (n *Node) String() string {
	if n.Name == "" {
		return fmt.Sprintf("%s node (unnamed, output %q)", n.OpType, first(n.Outputs))
	}
	return fmt.Sprintf("%s node %q", n.OpType, n.Name)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Model is a decoded ONNX model with one float input and one float output.
type Model struct {
	// Path is the file the model was loaded from ("" when decoded from bytes).
	Path string
	// Opset is the version of the default ("ai.onnx") operator set.
	Opset int64
	// Producer names the program that wrote the model, e.g. "pytorch 1.13.1".
	Producer string
	// Input and Output are the names of the graph's input and output.
	Input, Output string
	// InputShape and OutputShape are the declared shapes, batch axis first.
	InputShape, OutputShape []Dim
	// InputType is the element type of the input (float or double): the
	// precision the model computes in by default (see DType).
	InputType ElemType
	// Nodes are the graph's nodes in topological order.
	Nodes []*Node
	// Inits are the initializers (weights) by name.
	Inits map[string]*Constant
}

// Load reads and decodes the ONNX model at path.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("onnx: %s: file larger than %d bytes", path, maxFileSize)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// Decode decodes a serialized ONNX ModelProto and checks that jacobi can use
// it: a known opset, one float input with a batch axis, one output, tensors
// whose sizes match their data, and nodes in topological order.
func Decode(b []byte) (*Model, error) {
	var mp pb.ModelProto
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &mp); err != nil {
		return nil, fmt.Errorf("onnx: not a valid ONNX model (protobuf decoding failed: %v)", err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, errors.New("onnx: the model has no graph (is this an ONNX file?)")
	}
	m := &Model{Inits: map[string]*Constant{}, Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())}
	opset := int64(-1)
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = o.GetVersion()
		}
	}
	if opset < 0 {
		return nil, errors.New("onnx: the model imports no default (ai.onnx) opset")
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("onnx: opset %d is not supported (supported: %d to %d); re-export with opset_version=17", opset, MinOpset, MaxOpset)
	}
	m.Opset = opset
	for _, t := range g.GetInitializer() {
		c, err := decodeTensor(t)
		if err != nil {
			return nil, fmt.Errorf("onnx: initializer %q: %w", t.GetName(), err)
		}
		m.Inits[t.GetName()] = c
	}
	for _, t := range g.GetSparseInitializer() {
		return nil, fmt.Errorf("onnx: sparse initializer %q is not supported", t.GetValues().GetName())
	}
	var inputs []*pb.ValueInfoProto
	for _, in := range g.GetInput() {
		if _, ok := m.Inits[in.GetName()]; !ok {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 {
		names := make([]string, len(inputs))
		for i, in := range inputs {
			names[i] = in.GetName()
		}
		return nil, fmt.Errorf("onnx: the graph has %d inputs %q; jacobi needs exactly one (the batch)", len(inputs), names)
	}
	if len(g.GetOutput()) != 1 {
		return nil, fmt.Errorf("onnx: the graph has %d outputs; jacobi needs exactly one", len(g.GetOutput()))
	}
	var err error
	m.Input = inputs[0].GetName()
	if m.InputShape, err = valueShape(inputs[0], "input"); err != nil {
		return nil, err
	}
	if pb.TensorProto_DataType(inputs[0].GetType().GetTensorType().GetElemType()) == pb.TensorProto_FLOAT {
		m.InputType = Float32
	}
	if len(m.InputShape) < 1 {
		return nil, fmt.Errorf("onnx: input %q is a scalar; it needs a batch axis", m.Input)
	}
	m.Output = g.GetOutput()[0].GetName()
	if m.OutputShape, err = valueShape(g.GetOutput()[0], "output"); err != nil {
		return nil, err
	}
	defined := map[string]bool{m.Input: true}
	for name := range m.Inits {
		defined[name] = true
	}
	funcs := map[string]*pb.FunctionProto{}
	for _, f := range mp.GetFunctions() {
		funcs[f.GetDomain()+"\x00"+f.GetName()] = f
	}
	d := &decoder{m: m, defined: defined, funcs: funcs}
	for _, np := range g.GetNode() {
		if err := d.node(np, nil, nil, 0); err != nil {
			return nil, err
		}
	}
	if !defined[m.Output] {
		return nil, fmt.Errorf("onnx: the graph's output %q is computed by no node", m.Output)
	}
	return m, nil
}

// valueShape returns the declared shape of a graph input or output and checks
// that its element type is a float type.
func valueShape(v *pb.ValueInfoProto, what string) ([]Dim, error) {
	tt := v.GetType().GetTensorType()
	if tt == nil {
		return nil, fmt.Errorf("onnx: %s %q is not a tensor", what, v.GetName())
	}
	switch pb.TensorProto_DataType(tt.GetElemType()) {
	case pb.TensorProto_FLOAT, pb.TensorProto_DOUBLE:
	default:
		return nil, fmt.Errorf("onnx: %s %q has element type %v; jacobi needs float or double", what, v.GetName(), pb.TensorProto_DataType(tt.GetElemType()))
	}
	if tt.GetShape() == nil {
		return nil, nil
	}
	var dims []Dim
	for _, d := range tt.GetShape().GetDim() {
		switch x := d.GetValue().(type) {
		case *pb.TensorShapeProto_Dimension_DimValue:
			if x.DimValue < 0 || x.DimValue > maxElements {
				return nil, fmt.Errorf("onnx: %s %q has dimension %d", what, v.GetName(), x.DimValue)
			}
			dims = append(dims, Dim{Size: int(x.DimValue)})
		case *pb.TensorShapeProto_Dimension_DimParam:
			dims = append(dims, Dim{Size: -1, Param: x.DimParam})
		default:
			dims = append(dims, Dim{Size: -1})
		}
	}
	return dims, nil
}

func decodeAttr(a *pb.AttributeProto) (Attr, error) {
	var at Attr
	switch a.GetType() {
	case pb.AttributeProto_FLOAT:
		at.Type, at.Float = "float", float64(a.GetF())
	case pb.AttributeProto_INT:
		at.Type, at.Int = "int", a.GetI()
	case pb.AttributeProto_STRING:
		at.Type, at.String = "string", string(a.GetS())
	case pb.AttributeProto_TENSOR:
		c, err := decodeTensor(a.GetT())
		if err != nil {
			return at, err
		}
		at.Type, at.Tensor = "tensor", c
	case pb.AttributeProto_FLOATS:
		at.Type = "floats"
		for _, f := range a.GetFloats() {
			at.Floats = append(at.Floats, float64(f))
		}
	case pb.AttributeProto_INTS:
		at.Type, at.Ints = "ints", a.GetInts()
	default:
		at.Type = strings.ToLower(a.GetType().String())
	}
	return at, nil
}

// decodeTensor converts a TensorProto to a float64 tensor, checking its
// dimensions against the data it carries before allocating.
func decodeTensor(t *pb.TensorProto) (*Constant, error) {
	if t == nil {
		return nil, errors.New("missing tensor")
	}
	if t.GetDataLocation() == pb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, errors.New("external data is not supported; export the model in one file")
	}
	if t.GetSegment() != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	shape := make([]int, len(t.GetDims()))
	n := 1
	for i, d := range t.GetDims() {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in %v", t.GetDims())
		}
		if d > maxElements || (d != 0 && n > maxElements/int(d)) {
			return nil, fmt.Errorf("dimensions %v exceed %d elements", t.GetDims(), maxElements)
		}
		shape[i] = int(d)
		n *= int(d)
	}
	dt := pb.TensorProto_DataType(t.GetDataType())
	raw := t.GetRawData()
	var size int
	isInt := true
	switch dt {
	case pb.TensorProto_FLOAT:
		size, isInt = 4, false
	case pb.TensorProto_DOUBLE:
		size, isInt = 8, false
	case pb.TensorProto_INT64, pb.TensorProto_UINT64:
		size = 8
	case pb.TensorProto_INT32, pb.TensorProto_UINT32:
		size = 4
	case pb.TensorProto_INT16, pb.TensorProto_UINT16:
		size = 2
	case pb.TensorProto_INT8, pb.TensorProto_UINT8, pb.TensorProto_BOOL:
		size = 1
	default:
		return nil, fmt.Errorf("data type %v is not supported (float, double and integer types are)", dt)
	}
	// Count the values present before allocating for them.
	var have int
	if raw != nil {
		if len(raw) != n*size {
			return nil, fmt.Errorf("shape %v of %v needs %d bytes of raw data, the file has %d", shape, dt, n*size, len(raw))
		}
		have = n
	} else {
		switch dt {
		case pb.TensorProto_FLOAT:
			have = len(t.GetFloatData())
		case pb.TensorProto_DOUBLE:
			have = len(t.GetDoubleData())
		case pb.TensorProto_INT64:
			have = len(t.GetInt64Data())
		case pb.TensorProto_UINT64, pb.TensorProto_UINT32:
			have = len(t.GetUint64Data())
		default:
			have = len(t.GetInt32Data())
		}
		if have != n {
			return nil, fmt.Errorf("shape %v of %v needs %d values, the file has %d", shape, dt, n, have)
		}
	}
	data := make([]float64, n)
	le := binary.LittleEndian
	for i := range data {
		if raw != nil {
			b := raw[i*size:]
			switch dt {
			case pb.TensorProto_FLOAT:
				data[i] = float64(math.Float32frombits(le.Uint32(b)))
			case pb.TensorProto_DOUBLE:
				data[i] = math.Float64frombits(le.Uint64(b))
			case pb.TensorProto_INT64:
				data[i] = float64(int64(le.Uint64(b)))
			case pb.TensorProto_UINT64:
				data[i] = float64(le.Uint64(b))
			case pb.TensorProto_INT32:
				data[i] = float64(int32(le.Uint32(b)))
			case pb.TensorProto_UINT32:
				data[i] = float64(le.Uint32(b))
			case pb.TensorProto_INT16:
				data[i] = float64(int16(le.Uint16(b)))
			case pb.TensorProto_UINT16:
				data[i] = float64(le.Uint16(b))
			case pb.TensorProto_INT8:
				data[i] = float64(int8(b[0]))
			default:
				data[i] = float64(b[0])
			}
			continue
		}
		switch dt {
		case pb.TensorProto_FLOAT:
			data[i] = float64(t.GetFloatData()[i])
		case pb.TensorProto_DOUBLE:
			data[i] = t.GetDoubleData()[i]
		case pb.TensorProto_INT64:
			data[i] = float64(t.GetInt64Data()[i])
		case pb.TensorProto_UINT64, pb.TensorProto_UINT32:
			data[i] = float64(t.GetUint64Data()[i])
		default:
			data[i] = float64(t.GetInt32Data()[i])
		}
	}
	v, err := tensor.New(shape, data)
	if err != nil {
		return nil, err
	}
	return &Constant{Value: v, Int: isInt}, nil
}

// Limits on inlining the model's local functions.
const (
	maxFunctionDepth = 16
	maxNodes         = 1 << 16
)

// decoder adds a graph's nodes to a model, inlining calls of functions
// defined in the model.
type decoder struct {
	m       *Model
	defined map[string]bool
	funcs   map[string]*pb.FunctionProto
	calls   int
}

// node adds np. Inside an inlined function body, rename maps the body's
// names to the graph's and callAttrs holds the caller's attributes.
func (d *decoder) node(np *pb.NodeProto, rename func(string) string, callAttrs map[string]*pb.AttributeProto, depth int) error {
	if rename == nil {
		rename = func(s string) string { return s }
	}
	n := &Node{Name: np.GetName(), OpType: np.GetOpType(), Domain: np.GetDomain(), Attrs: map[string]Attr{}}
	for _, in := range np.GetInput() {
		n.Inputs = append(n.Inputs, rename(in))
	}
	for _, out := range np.GetOutput() {
		n.Outputs = append(n.Outputs, rename(out))
	}
	if len(d.m.Nodes) >= maxNodes {
		return fmt.Errorf("onnx: more than %d nodes", maxNodes)
	}
	attrs := map[string]*pb.AttributeProto{}
	for _, a := range np.GetAttribute() {
		if ref := a.GetRefAttrName(); ref != "" {
			ca, ok := callAttrs[ref]
			if !ok {
				continue // not given by the caller: the operator's default
			}
			a = ca
		}
		attrs[a.GetName()] = a
		at, err := decodeAttr(a)
		if err != nil {
			return fmt.Errorf("onnx: %v: attribute %q: %w", n, a.GetName(), err)
		}
		n.Attrs[a.GetName()] = at
	}
	if f, ok := d.funcs[n.Domain+"\x00"+n.OpType]; ok {
		return d.inline(n, f, attrs, depth)
	}
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return fmt.Errorf("onnx: %v: operator domain %q is not supported", n, n.Domain)
	}
	for _, in := range n.Inputs {
		if in != "" && !d.defined[in] {
			return fmt.Errorf("onnx: %v (node %d) uses %q before it is defined (graph not in topological order, or a dangling name)", n, len(d.m.Nodes), in)
		}
	}
	for _, out := range n.Outputs {
		if out != "" {
			d.defined[out] = true
		}
	}
	d.m.Nodes = append(d.m.Nodes, n)
	return nil
}

// inline adds the body of function f for the call n.
func (d *decoder) inline(n *Node, f *pb.FunctionProto, attrs map[string]*pb.AttributeProto, depth int) error {
	if depth >= maxFunctionDepth {
		return fmt.Errorf("onnx: %v: functions nested deeper than %d (recursive?)", n, maxFunctionDepth)
	}
	d.calls++
	if d.calls > maxNodes {
		return fmt.Errorf("onnx: more than %d function calls", maxNodes)
	}
	prefix := fmt.Sprintf("%s/%s#%d/", n.Name, f.GetName(), d.calls)
	names := map[string]string{}
	for i, in := range f.GetInput() {
		if i < len(n.Inputs) {
			names[in] = n.Inputs[i]
		} else {
			names[in] = ""
		}
	}
	for i, out := range f.GetOutput() {
		if i < len(n.Outputs) {
			names[out] = n.Outputs[i]
		}
	}
	rename := func(s string) string {
		if s == "" {
			return ""
		}
		if r, ok := names[s]; ok {
			return r
		}
		return prefix + s
	}
	for _, body := range f.GetNode() {
		if err := d.node(body, rename, attrs, depth+1); err != nil {
			return err
		}
	}
	for _, out := range n.Outputs {
		if out != "" && !d.defined[out] {
			return fmt.Errorf("onnx: %v: function %q does not compute its output %q", n, f.GetName(), out)
		}
	}
	return nil
}
