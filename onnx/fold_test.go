package onnx

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/tensor"
)

func f32(name string, dims []int64, v ...float32) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), Dims: dims, FloatData: v}
}

func node(op string, in []string, out string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs}
}

// TestConstantFolding lowers models y = x + c where c is computed from
// initializers alone, so lowering folds it, and checks c against values
// worked out by hand with ONNX's semantics (integer division truncates,
// Where picks, Max of three).
func TestConstantFolding(t *testing.T) {
	toFloat := &pb.AttributeProto{Name: proto.String("to"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)}
	perm := &pb.AttributeProto{Name: proto.String("perm"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{1, 0}}
	for _, c := range []struct {
		name  string
		inits []*pb.TensorProto
		nodes []*pb.NodeProto
		want  []float64 // c, of shape (3)
	}{
		{"integer division", []*pb.TensorProto{i64("a", []int64{3}, 7, -7, 5), i64("b", []int64{3}, 2, 2, 0)},
			[]*pb.NodeProto{node("Div", []string{"a", "b"}, "q"), node("Cast", []string{"q"}, "c", toFloat)},
			[]float64{3, -3, 0}},
		{"float division and pow", []*pb.TensorProto{f32("a", []int64{3}, 2, 3, 4), f32("b", nil, 0.5), f32("d", nil, 2)},
			[]*pb.NodeProto{node("Pow", []string{"a", "b"}, "p"), node("Div", []string{"p", "d"}, "c")},
			[]float64{math.Sqrt(2) / 2, math.Sqrt(3) / 2, 1}},
		{"where of a comparison", []*pb.TensorProto{f32("a", []int64{3}, 1, 5, 3), f32("b", nil, 2), f32("t", []int64{3}, 10, 20, 30), f32("e", []int64{3}, -1, -2, -3)},
			[]*pb.NodeProto{node("Greater", []string{"a", "b"}, "g"), node("Where", []string{"g", "t", "e"}, "c")},
			[]float64{-1, 20, 30}},
		{"max of three, broadcast", []*pb.TensorProto{f32("a", []int64{3}, 1, 5, 3), f32("b", []int64{3}, 4, 2, 6), f32("d", nil, 4.5)},
			[]*pb.NodeProto{node("Max", []string{"a", "b", "d"}, "c")},
			[]float64{4.5, 5, 6}},
		{"concat, transpose, sub", []*pb.TensorProto{f32("a", []int64{1, 1}, 1), f32("b", []int64{1, 2}, 2, 3), f32("s", []int64{3, 1}, 1, 1, 1)},
			[]*pb.NodeProto{node("Concat", []string{"a", "b"}, "ab", &pb.AttributeProto{Name: proto.String("axis"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)}),
				node("Transpose", []string{"ab"}, "abt", perm), node("Sub", []string{"abt", "s"}, "m"),
				node("Flatten", []string{"m"}, "mf", &pb.AttributeProto{Name: proto.String("axis"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(0)}),
				node("Squeeze", []string{"mf", "zero"}, "c")},
			[]float64{0, 1, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tiny(f32("unused", nil, 0))
			m.Graph.Initializer = append(c.inits, i64("zero", []int64{1}, 0))
			m.Graph.Node = append(c.nodes, node("Add", []string{"x", "c"}, "y"))
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}
			m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}
			x := tensor.MustNew([]int{2, 3}, []float64{10, 20, 30, 40, 50, 60})
			_, y := evalModel(t, m, []int{3}, x)
			for i, v := range y.Data() {
				want := x.Data()[i] + c.want[i%3]
				if math.Abs(v-want) > 1e-6*math.Abs(want) { // float32 initializers
					t.Fatalf("y = %v, want x + %v", y.Data(), c.want)
				}
			}
		})
	}
}
