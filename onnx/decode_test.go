package onnx

import (
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/tensor"
)

// tiny builds a one-node model y = Gemm(x, w) with the given initializer
// for w; edit it to build broken models.
func tiny(w *pb.TensorProto) *pb.ModelProto {
	f := int32(pb.TensorProto_FLOAT)
	dim := func(v int64) *pb.TensorShapeProto_Dimension {
		return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}}
	}
	batch := &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}
	vi := func(name string, d int64) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: &f, Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{batch, dim(d)}}}}}}
	}
	return &pb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(14)}},
		Graph: &pb.GraphProto{
			Name:        proto.String("g"),
			Node:        []*pb.NodeProto{{Name: proto.String("/gemm"), OpType: proto.String("Gemm"), Input: []string{"x", "w"}, Output: []string{"y"}}},
			Initializer: []*pb.TensorProto{w},
			Input:       []*pb.ValueInfoProto{vi("x", 2)},
			Output:      []*pb.ValueInfoProto{vi("y", 2)},
		},
	}
}

func floatW(dims []int64, vals []float32) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), Dims: dims, FloatData: vals}
}

func encode(t *testing.T, m *pb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTiny(t *testing.T) {
	m, err := Decode(encode(t, tiny(floatW([]int64{2, 2}, []float32{1, 2, 3, 4}))))
	if err != nil {
		t.Fatal(err)
	}
	w := m.Inits["w"].Value
	if w.Shape()[0] != 2 || w.Data()[3] != 4 || m.Opset != 14 || m.InputShape[0].Param != "batch" {
		t.Fatalf("decoded %v %v opset %d input %v", w.Shape(), w.Data(), m.Opset, m.InputShape)
	}
}

func TestDecodeHostile(t *testing.T) {
	raw := func(dims []int64, n int) *pb.TensorProto {
		return &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), Dims: dims, RawData: make([]byte, n)}
	}
	cases := []struct {
		name string
		edit func(m *pb.ModelProto)
		want string
	}{
		{"huge dims, little data", func(m *pb.ModelProto) { m.Graph.Initializer[0] = raw([]int64{1 << 40, 1 << 40}, 16) }, "exceed"},
		{"big dims, little raw data", func(m *pb.ModelProto) { m.Graph.Initializer[0] = raw([]int64{10000, 10000}, 16) }, "raw data"},
		{"typed data too short", func(m *pb.ModelProto) { m.Graph.Initializer[0] = floatW([]int64{1000, 1000}, []float32{1}) }, "needs 1000000 values"},
		{"negative dim", func(m *pb.ModelProto) { m.Graph.Initializer[0] = floatW([]int64{-1, 2}, []float32{1, 2}) }, "negative"},
		{"string tensor", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(pb.TensorProto_STRING)), Dims: []int64{1}, StringData: [][]byte{[]byte("a")}}
		}, "not supported"},
		{"external data", func(m *pb.ModelProto) {
			m.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL.Enum()
		}, "external"},
		{"no graph", func(m *pb.ModelProto) { m.Graph = nil }, "no graph"},
		{"old opset", func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(7) }, "opset 7"},
		{"no opset", func(m *pb.ModelProto) { m.OpsetImport = nil }, "opset"},
		{"two inputs", func(m *pb.ModelProto) { m.Graph.Input = append(m.Graph.Input, m.Graph.Input[0]) }, "exactly one"},
		{"int input", func(m *pb.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().ElemType = proto.Int32(int32(pb.TensorProto_INT64))
		}, "element type"},
		{"undefined name", func(m *pb.ModelProto) { m.Graph.Node[0].Input[1] = "nowhere" }, `"nowhere" before it is defined`},
		{"output never computed", func(m *pb.ModelProto) { m.Graph.Output[0].Name = proto.String("z") }, "computed by no node"},
		{"foreign domain", func(m *pb.ModelProto) { m.Graph.Node[0].Domain = proto.String("com.microsoft") }, "com.microsoft"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tiny(floatW([]int64{2, 2}, []float32{1, 2, 3, 4}))
			c.edit(m)
			_, err := Decode(encode(t, m))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestLowerErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *pb.ModelProto)
		want string
	}{
		{"unsupported op", func(m *pb.ModelProto) { m.Graph.Node[0].OpType = proto.String("ConvTranspose") }, `operator "ConvTranspose" is not supported`},
		{"conv of a matrix", func(m *pb.ModelProto) { m.Graph.Node[0].OpType = proto.String("Conv") }, `Conv node "/gemm": needs an input (N, C, D...)`},
		{"einsum output label in no operand", einsumEdit("bi,ij->bl"), `the output's "l" is in no operand`},
		{"einsum term does not fit its operand", einsumEdit("bik,ij->bj"), `does not fit operand 0 of rank 2`},
		{"einsum with two ellipses", einsumEdit("...b...,ij->bj"), `has two ellipses`},
		{"einsum with a digit", einsumEdit("b1,ij->bj"), `is not a letter`},
		{"einsum operands of other sizes", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = floatW([]int64{3, 2}, make([]float32, 6))
			einsumEdit("bi,ij->bj")(m)
		}, `axis "i" has size 2 in one operand and 3 in another`},
		{"shape mismatch", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = floatW([]int64{3, 3}, make([]float32, 9))
		}, `Gemm node "/gemm"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tiny(floatW([]int64{2, 2}, []float32{1, 2, 3, 4}))
			c.edit(m)
			d, err := Decode(encode(t, m))
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Fn([]int{2})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// einsumEdit turns tiny's Gemm into an Einsum of x and w with equation eq.
func einsumEdit(eq string) func(m *pb.ModelProto) {
	return func(m *pb.ModelProto) {
		n := m.Graph.Node[0]
		n.OpType = proto.String("Einsum")
		n.Attribute = []*pb.AttributeProto{{Name: proto.String("equation"), Type: pb.AttributeProto_STRING.Enum(), S: []byte(eq)}}
	}
}

// TestEinsumEquations: one Einsum node of x (b, 2) and w (2, 2) against the
// sums written out.
func TestEinsumEquations(t *testing.T) {
	w := []float64{1, 2, 3, 4}
	xs := []float64{0.5, -1, 2, 0.25, -3, 1.5} // three samples
	cases := []struct {
		eq   string
		want func(x []float64) []float64 // one sample's output
	}{
		{"bi,ij", func(x []float64) []float64 { // implicit output: bj
			return []float64{x[0]*w[0] + x[1]*w[2], x[0]*w[1] + x[1]*w[3]}
		}},
		{"bj,ij->bi", func(x []float64) []float64 {
			return []float64{w[0]*x[0] + w[1]*x[1], w[2]*x[0] + w[3]*x[1]}
		}},
		{"bi,ii->bi", func(x []float64) []float64 { return []float64{x[0] * w[0], x[1] * w[3]} }},
		{"bi,jk->bijk", func(x []float64) []float64 {
			var out []float64
			for _, xi := range x {
				for _, wjk := range w {
					out = append(out, xi*wjk)
				}
			}
			return out
		}},
		{"b...,...->b", func(x []float64) []float64 { // x's ellipsis aligns with w's last axis
			return []float64{x[0]*(w[0]+w[2]) + x[1]*(w[1]+w[3])}
		}},
		{"...i,ij->...", func(x []float64) []float64 { return []float64{x[0]*(w[0]+w[1]) + x[1]*(w[2]+w[3])} }},
	}
	for _, c := range cases {
		t.Run(c.eq, func(t *testing.T) {
			m := tiny(floatW([]int64{2, 2}, []float32{1, 2, 3, 4}))
			einsumEdit(c.eq)(m)
			_, y := evalModel(t, m, []int{2}, tensor.MustNew([]int{3, 2}, xs))
			per := y.Len() / 3
			for s := range 3 {
				want := c.want(xs[2*s : 2*s+2])
				got := y.Data()[s*per : (s+1)*per]
				if len(got) != len(want) {
					t.Fatalf("sample %d: %d values, want %d", s, len(got), len(want))
				}
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12 {
						t.Fatalf("sample %d: %v, want %v", s, got, want)
					}
				}
			}
		})
	}
}

// TestAveragePoolCounts: a 1-D AveragePool over x (b, 4) seen as (b, 1, 4),
// kernel 2, stride 1, one padding element before and after: the padding
// counts in the average with count_include_pad set, and not without.
func TestAveragePoolCounts(t *testing.T) {
	for _, include := range []int64{0, 1} {
		m := tiny(i64("shape", []int64{3}, -1, 1, 4))
		m.Graph.Initializer = append(m.Graph.Initializer, i64("flat", []int64{2}, -1, 5))
		attrs := []*pb.AttributeProto{
			{Name: proto.String("kernel_shape"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{2}},
			{Name: proto.String("pads"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1}},
			{Name: proto.String("count_include_pad"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(include)},
		}
		m.Graph.Node = []*pb.NodeProto{
			{OpType: proto.String("Reshape"), Input: []string{"x", "shape"}, Output: []string{"img"}},
			{OpType: proto.String("AveragePool"), Input: []string{"img"}, Output: []string{"p"}, Attribute: attrs},
			{OpType: proto.String("Reshape"), Input: []string{"p", "flat"}, Output: []string{"y"}},
		}
		m.Graph.Input[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}
		m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 5}}
		_, y := evalModel(t, m, []int{4}, tensor.MustNew([]int{1, 4}, []float64{1, 2, 3, 4}))
		want := []float64{1, 1.5, 2.5, 3.5, 4} // windows (pad,1) (1,2) (2,3) (3,4) (4,pad)
		if include == 1 {
			want = []float64{0.5, 1.5, 2.5, 3.5, 2}
		}
		for i, v := range y.Data() {
			if math.Abs(v-want[i]) > 1e-15 {
				t.Fatalf("count_include_pad=%d: %v, want %v", include, y.Data(), want)
			}
		}
	}
}

// TestConvAutoPad: the convolutions model with its last Conv's explicit
// pads written as auto_pad SAME_UPPER computes the same.
func TestConvAutoPad(t *testing.T) {
	_, f, x := loadModel(t, "convs", "model.onnx")
	_, fa, _ := loadModel(t, "convs", "model_autopad.onnx")
	y, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatal(err)
	}
	ya, err := jacobi.Eval(fa, x)
	if err != nil {
		t.Fatal(err)
	}
	closeRel(t, "auto_pad output", ya, y, 1e-15)
}

// TestFixedBatchReshape: a model exported with a fixed batch of 4 whose
// Reshape nodes spell out that 4 runs at other batch sizes.
func TestFixedBatchReshape(t *testing.T) {
	m := tiny(&pb.TensorProto{Name: proto.String("s1"), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: []int64{3}, Int64Data: []int64{4, 2, 3}})
	m.Graph.Initializer = append(m.Graph.Initializer, &pb.TensorProto{Name: proto.String("s2"), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: []int64{2}, Int64Data: []int64{4, 6}})
	m.Graph.Node = []*pb.NodeProto{
		{Name: proto.String("/r1"), OpType: proto.String("Reshape"), Input: []string{"x", "s1"}, Output: []string{"h"}},
		{Name: proto.String("/t"), OpType: proto.String("Transpose"), Input: []string{"h"}, Output: []string{"ht"}, Attribute: []*pb.AttributeProto{{Name: proto.String("perm"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{0, 2, 1}}}},
		{Name: proto.String("/r2"), OpType: proto.String("Reshape"), Input: []string{"ht", "s2"}, Output: []string{"y"}},
	}
	for _, v := range append(m.Graph.Input, m.Graph.Output...) {
		d := v.Type.GetTensorType().Shape.Dim
		d[0] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}
		d[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 6}}
	}
	d, err := Decode(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	f, err := d.Fn([]int{6})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.MustNew([]int{2, 6}, []float64{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15})
	y, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatal(err)
	}
	// Each row (a 2×3 matrix) transposed: [0 3 1 4 2 5].
	want := []float64{0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15}
	for i, v := range y.Data() {
		if v != want[i] {
			t.Fatalf("got %v, want %v", y.Data(), want)
		}
	}
}

// evalModel decodes m, lowers it for samples of the given shape and
// evaluates it on x; it returns the model's function and the result.
func evalModel(t *testing.T, m *pb.ModelProto, sample []int, x *tensor.Tensor) (jacobi.Fn, *tensor.Tensor) {
	t.Helper()
	d, err := Decode(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	f, err := d.Fn(sample)
	if err != nil {
		t.Fatal(err)
	}
	y, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatal(err)
	}
	return f, y
}

func i64(name string, dims []int64, v ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: dims, Int64Data: v}
}

// TestTileRange: y = Tile(x, [1, 3]) + Cast(Range(0, 6, 1)) for x of shape (b, 2).
func TestTileRange(t *testing.T) {
	m := tiny(i64("reps", []int64{2}, 1, 3))
	m.Graph.Initializer = append(m.Graph.Initializer, i64("r0", nil, 0), i64("r1", nil, 6), i64("r2", nil, 1))
	m.Graph.Node = []*pb.NodeProto{
		{OpType: proto.String("Tile"), Input: []string{"x", "reps"}, Output: []string{"xt"}},
		{OpType: proto.String("Range"), Input: []string{"r0", "r1", "r2"}, Output: []string{"r"}},
		{OpType: proto.String("Cast"), Input: []string{"r"}, Output: []string{"rf"}, Attribute: []*pb.AttributeProto{{Name: proto.String("to"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}},
		{OpType: proto.String("Add"), Input: []string{"xt", "rf"}, Output: []string{"y"}},
	}
	m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 6}}
	f, y := evalModel(t, m, []int{2}, tensor.MustNew([]int{2, 2}, []float64{10, 20, 30, 40}))
	want := []float64{10, 21, 12, 23, 14, 25, 30, 41, 32, 43, 34, 45}
	for i, v := range y.Data() {
		if v != want[i] {
			t.Fatalf("got %v, want %v", y.Data(), want)
		}
	}
	// Its per-sample Jacobian: each output copies one input.
	j, err := jacobi.BatchJacobian(f, tensor.MustNew([]int{1, 2}, []float64{1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	wantJ := []float64{1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1}
	for i, v := range j.Data() {
		if v != wantJ[i] {
			t.Fatalf("jacobian %v, want %v", j.Data(), wantJ)
		}
	}
}

// TestPad: y = Pad(x, pads=[0, 1, 0, 2], value 7) for x of shape (b, 2): (b, 5).
func TestPad(t *testing.T) {
	m := tiny(i64("pads", []int64{4}, 0, 1, 0, 2))
	m.Graph.Initializer = append(m.Graph.Initializer, &pb.TensorProto{Name: proto.String("v"), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: []float32{7}})
	m.Graph.Node = []*pb.NodeProto{{OpType: proto.String("Pad"), Input: []string{"x", "pads", "v"}, Output: []string{"y"}}}
	m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 5}}
	_, y := evalModel(t, m, []int{2}, tensor.MustNew([]int{2, 2}, []float64{1, 2, 3, 4}))
	want := []float64{7, 1, 2, 7, 7, 7, 3, 4, 7, 7}
	for i, v := range y.Data() {
		if v != want[i] {
			t.Fatalf("got %v, want %v", y.Data(), want)
		}
	}
}

// TestGeluAndNewOpsets: Gelu (opset 20) in both forms, against math.Erf and
// math.Tanh directly.
func TestGeluAndNewOpsets(t *testing.T) {
	for _, approx := range []string{"none", "tanh"} {
		m := tiny(floatW([]int64{1}, []float32{0}))
		m.OpsetImport[0].Version = proto.Int64(21)
		m.Graph.Node = []*pb.NodeProto{{Name: proto.String("/act/Gelu"), OpType: proto.String("Gelu"), Input: []string{"x"}, Output: []string{"y"},
			Attribute: []*pb.AttributeProto{{Name: proto.String("approximate"), Type: pb.AttributeProto_STRING.Enum(), S: []byte(approx)}}}}
		xs := []float64{-1.5, 0.3, 2, -0.2}
		_, y := evalModel(t, m, []int{2}, tensor.MustNew([]int{2, 2}, xs))
		for i, x := range xs {
			want := 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
			if approx == "tanh" {
				want = 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
			}
			if math.Abs(y.Data()[i]-want) > 1e-15 {
				t.Fatalf("%s: gelu(%v) = %v, want %v", approx, x, y.Data()[i], want)
			}
		}
	}
}

// TestLocalFunctions: calls of functions defined in the model are inlined,
// nested, with attributes passed by reference.
// functionModel returns a model whose graph calls Outer(x) = -Act(Act(x; 0.5); 0.25)
// with Act(X; alpha) = LeakyRelu(X, alpha) * Sigmoid(X), both local functions.
func functionModel() *pb.ModelProto {
	str := proto.String
	m := tiny(floatW([]int64{1}, []float32{0}))
	m.OpsetImport = append(m.OpsetImport, &pb.OperatorSetIdProto{Domain: str("local"), Version: proto.Int64(1)})
	// Act(X; alpha) = LeakyRelu(X, alpha) * Sigmoid(X)
	act := &pb.FunctionProto{Name: str("Act"), Domain: str("local"), Input: []string{"X"}, Output: []string{"Y"}, Attribute: []string{"alpha"},
		Node: []*pb.NodeProto{
			{OpType: str("LeakyRelu"), Input: []string{"X"}, Output: []string{"l"}, Attribute: []*pb.AttributeProto{{Name: str("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), RefAttrName: str("alpha")}}},
			{OpType: str("Sigmoid"), Input: []string{"X"}, Output: []string{"s"}},
			{OpType: str("Mul"), Input: []string{"l", "s"}, Output: []string{"Y"}},
		}}
	// Outer(X) = -Act(Act(X; 0.5); 0.25)
	outer := &pb.FunctionProto{Name: str("Outer"), Domain: str("local"), Input: []string{"X"}, Output: []string{"Y"},
		Node: []*pb.NodeProto{
			{Name: str("a1"), OpType: str("Act"), Domain: str("local"), Input: []string{"X"}, Output: []string{"h"}, Attribute: []*pb.AttributeProto{{Name: str("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.5)}}},
			{Name: str("a2"), OpType: str("Act"), Domain: str("local"), Input: []string{"h"}, Output: []string{"h2"}, Attribute: []*pb.AttributeProto{{Name: str("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.25)}}},
			{OpType: str("Neg"), Input: []string{"h2"}, Output: []string{"Y"}},
		}}
	m.Functions = []*pb.FunctionProto{act, outer}
	m.Graph.Node = []*pb.NodeProto{{Name: str("/outer"), OpType: str("Outer"), Domain: str("local"), Input: []string{"x"}, Output: []string{"y"}}}
	return m
}

func TestLocalFunctions(t *testing.T) {
	str := proto.String
	m := functionModel()
	outer := m.Functions[1]
	d, err := Decode(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 7 {
		t.Fatalf("%d nodes after inlining, want 7", len(d.Nodes))
	}
	f, err := d.Fn([]int{2})
	if err != nil {
		t.Fatal(err)
	}
	xs := []float64{-1.5, 0.3, 2, -0.2}
	y, err := jacobi.Eval(f, tensor.MustNew([]int{2, 2}, xs))
	if err != nil {
		t.Fatal(err)
	}
	actF := func(x, alpha float64) float64 {
		l := x
		if x < 0 {
			l = alpha * x
		}
		return l / (1 + math.Exp(-x))
	}
	for i, x := range xs {
		want := -actF(actF(x, 0.5), 0.25)
		if math.Abs(y.Data()[i]-want) > 1e-15 {
			t.Fatalf("f(%v) = %v, want %v", x, y.Data()[i], want)
		}
	}
	// A function calling itself is refused, not followed forever.
	outer.Node[2] = &pb.NodeProto{OpType: str("Outer"), Domain: str("local"), Input: []string{"h2"}, Output: []string{"Y"}}
	if _, err := Decode(encode(t, m)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("recursive function: err = %v", err)
	}
}
