package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/tensor"
)

// graph builds the ONNX graph of one program.
type graph struct {
	cfg   *exportConfig
	s     *symProgram
	elem  pb.TensorProto_DataType // the element type of the equation being lowered
	nodes []*pb.NodeProto
	inits []*pb.TensorProto
	names map[string]bool // every name used
	ints  map[string]string
	vals  map[*ir.Var]*gval
	src   string // where the equation being lowered was traced

	batchIn   string // a graph input carrying the batch,
	batchAxis int    // along this axis
	dimNames  map[dim]string
	nScalar   map[pb.TensorProto_DataType]string
}

// gval is a value of the graph: a named tensor; or, lazily, a smaller
// tensor src that numpy broadcasting stretches to shape, which operators
// that broadcast take as it is (an Expand materialises it for the others);
// or a comparison's boolean pred, cast to a number when used as one.
type gval struct {
	name  string
	shape []dim
	src   *gval
	pred  string
	dt    pb.TensorProto_DataType // the element type (of the number, for pred)
}

// onnxType is the ONNX element type of a dtype.
func onnxType(dt tensor.DType) pb.TensorProto_DataType {
	if dt == tensor.Float32 {
		return pb.TensorProto_FLOAT
	}
	return pb.TensorProto_DOUBLE
}

// irVersion gives the ONNX IR version that goes with each opset.
func irVersion(opset int) int64 {
	switch {
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

func (g *graph) fresh(prefix string) string {
	for i := len(g.names); ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if !g.names[n] {
			g.names[n] = true
			return n
		}
	}
}

// node appends a node and returns its output's name.
func (g *graph) node(opType string, in []string, attrs ...*pb.AttributeProto) string {
	out := g.fresh("t")
	g.nodes = append(g.nodes, &pb.NodeProto{
		Name:      proto.String(fmt.Sprintf("%s_%d", opType, len(g.nodes))),
		OpType:    proto.String(opType),
		Input:     in,
		Output:    []string{out},
		Attribute: attrs,
		DocString: optString(g.src),
	})
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v []int) *pb.AttributeProto {
	a := &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

// constant adds an initializer holding t in the element type of the
// equation being lowered.
func (g *graph) constant(t *tensor.Tensor) string {
	name := g.fresh("c")
	g.inits = append(g.inits, floatTensor(name, t, g.elem))
	return name
}

// scalar adds a rank-0 constant.
func (g *graph) scalar(v float64) string { return g.constant(tensor.Scalar(v)) }

func floatTensor(name string, t *tensor.Tensor, elem pb.TensorProto_DataType) *pb.TensorProto {
	tp := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(elem))}
	for _, d := range t.Shape() {
		tp.Dims = append(tp.Dims, int64(d))
	}
	le := binary.LittleEndian
	switch elem {
	case pb.TensorProto_FLOAT:
		raw := make([]byte, 4*t.Len())
		for i, v := range t.Float64s() {
			le.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
		tp.RawData = raw
	default:
		raw := make([]byte, 8*t.Len())
		for i, v := range t.Float64s() {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
		tp.RawData = raw
	}
	return tp
}

// int64s adds (or reuses) a 1-D int64 constant.
func (g *graph) int64s(v ...int64) string {
	key := fmt.Sprint(v)
	if n, ok := g.ints[key]; ok {
		return n
	}
	name := g.fresh("i")
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: []int64{int64(len(v))}, RawData: raw})
	g.ints[key] = name
	return name
}

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// ---- the batch at run time ----

// dimTensor returns a 1-D int64 tensor of one element holding d at run
// time, computed from the shape of the input that carries the batch.
func (g *graph) dimTensor(d dim) (string, error) {
	if !d.symbolic() {
		return g.int64s(int64(d.c)), nil
	}
	if n, ok := g.dimNames[d]; ok {
		return n, nil
	}
	if g.batchIn == "" {
		return "", fmt.Errorf("a dimension %v needs the batch size, and no input carries the batch", d)
	}
	n, ok := g.dimNames[batchDim]
	if !ok {
		shape := g.node("Shape", []string{g.batchIn})
		ax := int64(g.batchAxis)
		n = g.node("Slice", []string{shape, g.int64s(ax), g.int64s(ax + 1)})
		g.dimNames[batchDim] = n
	}
	if d == batchDim {
		return n, nil
	}
	if d.a != 1 {
		n = g.node("Mul", []string{n, g.int64s(int64(d.a))})
	}
	if d.c != 0 {
		n = g.node("Add", []string{n, g.int64s(int64(d.c))})
	}
	g.dimNames[d] = n
	return n, nil
}

// batchScalar returns the batch size as a scalar of the element type of
// the equation being lowered.
func (g *graph) batchScalar() (string, error) {
	if s, ok := g.nScalar[g.elem]; ok {
		return s, nil
	}
	n, err := g.dimTensor(batchDim)
	if err != nil {
		return "", err
	}
	f := g.node("Cast", []string{n}, attrInt("to", int64(g.elem)))
	g.nScalar[g.elem] = g.node("Reshape", []string{f, g.int64s()})
	return g.nScalar[g.elem], nil
}

// shapeTensor returns a 1-D int64 tensor holding the dimensions, computed
// at run time where they are symbolic.
func (g *graph) shapeTensor(dims []dim) (string, error) {
	var pieces []string
	var run []int64
	sym := false
	for _, d := range dims {
		if !d.symbolic() {
			run = append(run, int64(d.c))
			continue
		}
		sym = true
		if len(run) > 0 {
			pieces = append(pieces, g.int64s(run...))
			run = nil
		}
		t, err := g.dimTensor(d)
		if err != nil {
			return "", err
		}
		pieces = append(pieces, t)
	}
	if !sym {
		return g.int64s(run...), nil
	}
	if len(run) > 0 {
		pieces = append(pieces, g.int64s(run...))
	}
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	return g.node("Concat", pieces, attrInt("axis", 0)), nil
}

// ---- values ----

// mat returns v's tensor, materialising a lazy broadcast or a comparison.
func (g *graph) mat(v *gval) (string, error) {
	if v.name != "" {
		return v.name, nil
	}
	switch {
	case v.src != nil:
		target, err := g.expandTarget(v.src.shape, v.shape)
		if err != nil {
			return "", err
		}
		v.name = g.node("Expand", []string{v.src.name, target})
	case v.pred != "":
		v.name = g.node("Cast", []string{v.pred}, attrInt("to", int64(v.dt)))
	default:
		return "", fmt.Errorf("a value without a tensor (internal error)")
	}
	return v.name, nil
}

// expandTarget returns the shape operand of an Expand of a tensor of shape
// small to shape: 1 where small already has the size (Expand keeps it),
// the size elsewhere.
func (g *graph) expandTarget(small, shape []dim) (string, error) {
	off := len(shape) - len(small)
	t := make([]dim, len(shape))
	for i, d := range shape {
		if j := i - off; j >= 0 && small[j] == d {
			t[i] = fixed(1)
		} else {
			t[i] = d
		}
	}
	return g.shapeTensor(t)
}

// cond returns v as a boolean tensor (non-zero is true).
func (g *graph) cond(v *gval) (string, error) {
	if v.pred != "" {
		return v.pred, nil
	}
	x, err := g.mat(v)
	if err != nil {
		return "", err
	}
	v.pred = g.node("Cast", []string{x}, attrInt("to", int64(pb.TensorProto_BOOL)))
	return v.pred, nil
}

// broadcastShape is numpy's broadcast of symbolic shapes; false when they
// do not broadcast.
func broadcastShape(shapes [][]dim) ([]dim, bool) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]dim, r)
	for i := range out {
		out[i] = fixed(1)
		for _, s := range shapes {
			j := i - (r - len(s))
			if j < 0 || s[j] == fixed(1) {
				continue
			}
			if out[i] != fixed(1) && out[i] != s[j] {
				return nil, false
			}
			out[i] = s[j]
		}
	}
	return out, true
}

func sameDims(a, b []dim) bool {
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

// operands returns the tensors to pass an operator that broadcasts as
// numpy does: lazy broadcasts as their smaller tensor wherever the
// operator's own broadcasting (outShape of the operands' shapes) still
// gives the output shape want.
func (g *graph) operands(vs []*gval, want []dim, outShape func([][]dim) ([]dim, bool)) ([]string, error) {
	// Try eliding as many lazy broadcasts as possible: every subset, the
	// largest first (there are at most three operands).
	n := len(vs)
	best := -1
	for mask := (1 << n) - 1; mask >= 0; mask-- {
		ok := true
		shapes := make([][]dim, n)
		for i, v := range vs {
			elide := mask&(1<<i) != 0
			if elide && v.src == nil {
				ok = false
				break
			}
			if elide {
				shapes[i] = v.src.shape
			} else {
				shapes[i] = v.shape
			}
		}
		if !ok {
			continue
		}
		if s, ok := outShape(shapes); ok && sameDims(s, want) {
			if best < 0 || popcount(mask) > popcount(best) {
				best = mask
			}
		}
	}
	if best < 0 {
		best = 0
	}
	out := make([]string, n)
	for i, v := range vs {
		if best&(1<<i) != 0 {
			out[i] = v.src.name
			continue
		}
		x, err := g.mat(v)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func popcount(m int) int {
	c := 0
	for ; m != 0; m &= m - 1 {
		c++
	}
	return c
}

// ---- the model ----

// lowerProgram builds the model of the symbolic program s.
func lowerProgram(s *symProgram, cfg *exportConfig) (*pb.ModelProto, error) {
	// Every value keeps its variable's dtype: DOUBLE, or FLOAT for
	// float32; a program that converts between them casts where it does.
	// Constants, casts and erf follow the dtype of the equation they are
	// lowered for (g.elem).
	p := s.p
	g := &graph{cfg: cfg, s: s, names: map[string]bool{}, ints: map[string]string{},
		vals: map[*ir.Var]*gval{}, dimNames: map[dim]string{}, nScalar: map[pb.TensorProto_DataType]string{}}
	inNames, err := ioNames(cfg.inputs, len(p.In), "x", "input")
	if err != nil {
		return nil, fmt.Errorf("InputNames: %w", err)
	}
	outNames, err := ioNames(cfg.outputs, len(p.Out), "y", "output")
	if err != nil {
		return nil, fmt.Errorf("OutputNames: %w", err)
	}
	for _, n := range append(append([]string{}, inNames...), outNames...) {
		if g.names[n] {
			return nil, fmt.Errorf("the name %q is given to two inputs or outputs", n)
		}
		g.names[n] = true
	}
	var inputs, outputs []*pb.ValueInfoProto
	for i, v := range p.In {
		d := s.dims[v]
		dt, inType := onnxType(v.DType), onnxType(v.DType)
		switch {
		case cfg.inTypeSet && cfg.inType == Float32:
			inType = pb.TensorProto_FLOAT
		case cfg.inTypeSet:
			inType = pb.TensorProto_DOUBLE
		}
		inputs = append(inputs, g.valueInfo(inNames[i], inType, d))
		name := inNames[i]
		if inType != dt {
			name = g.node("Cast", []string{name}, attrInt("to", int64(dt)))
		}
		g.vals[v] = &gval{name: name, shape: d, dt: dt}
		if g.batchIn == "" {
			for ax, x := range d {
				if x == batchDim {
					g.batchIn, g.batchAxis = inNames[i], ax
					break
				}
			}
		}
	}
	for j, e := range p.Eqns {
		g.src, g.elem = e.Src, onnxType(e.Out.DType)
		in := make([]*gval, len(e.In))
		for i, v := range e.In {
			in[i] = g.vals[v]
		}
		out, err := g.lowerEqn(e, in, s.dims[e.Out])
		if err != nil {
			return nil, fmt.Errorf("equation %s: %w", describeEqn(j, e), err)
		}
		if out.dt == 0 {
			out.dt = g.elem
		}
		g.vals[e.Out] = out
	}
	g.src = ""
	for i, v := range p.Out {
		x, err := g.mat(g.vals[v])
		if err != nil {
			return nil, err
		}
		g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String(fmt.Sprintf("Identity_%d", len(g.nodes))), OpType: proto.String("Identity"), Input: []string{x}, Output: []string{outNames[i]}})
		outputs = append(outputs, g.valueInfo(outNames[i], onnxType(v.DType), s.dims[v]))
	}
	doc := cfg.doc
	if doc == "" {
		doc = "exported by jacobi (github.com/jacobi-ad/jacobi)"
	}
	return &pb.ModelProto{
		IrVersion:       proto.Int64(irVersion(cfg.opset)),
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(cfg.opset))}},
		ProducerName:    proto.String("jacobi"),
		ProducerVersion: proto.String("0.1"),
		DocString:       proto.String(doc),
		Graph: &pb.GraphProto{
			Name:        proto.String("jacobi"),
			Node:        g.nodes,
			Initializer: g.inits,
			Input:       inputs,
			Output:      outputs,
		},
	}, nil
}

// ioNames returns the given names, or defaults: one for a single value,
// numbered ones otherwise.
func ioNames(given []string, n int, one, many string) ([]string, error) {
	if given != nil {
		if len(given) != n {
			return nil, fmt.Errorf("%d names for %d values", len(given), n)
		}
		for _, s := range given {
			if strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("an empty name in %q", given)
			}
		}
		return given, nil
	}
	if n == 1 {
		return []string{one}, nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", many, i)
	}
	return out, nil
}

// valueInfo declares a graph input or output: the batch as the symbolic
// dimension BatchName, other dimensions made from the batch unnamed.
func (g *graph) valueInfo(name string, elem pb.TensorProto_DataType, dims []dim) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{}}
	for _, d := range dims {
		pd := &pb.TensorShapeProto_Dimension{}
		switch {
		case !d.symbolic():
			pd.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d.c)}
		case d == batchDim:
			pd.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: g.cfg.batchName}
		}
		shape.Dim = append(shape.Dim, pd)
	}
	et := int32(elem)
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: &et, Shape: shape}}},
	}
}
