package onnx

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/internal/ort"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/tensor"
)

// float32Models are the reference models with PyTorch's float32
// derivatives (scripts/make_float32_refs.py), and whether they were
// exported in float32 (the others were exported in float64 and run here in
// float32, as --dtype float32 runs them). The bounds of convs and pools
// (16 inputs, many outputs) take seconds: they are left out with -short.
var float32Models = []struct {
	name     string
	exported tensor.DType
}{
	{"mlp", tensor.Float32}, {"residual", tensor.Float32}, {"layernorm", tensor.Float32}, {"layernorm_op13", tensor.Float32},
	{"fourier", tensor.Float64}, {"gelu_softplus", tensor.Float64}, {"zoo", tensor.Float64}, {"zoo_op12", tensor.Float64},
	{"piecewise", tensor.Float64}, {"zoo2", tensor.Float64}, {"scalar", tensor.Float64}, {"convs", tensor.Float64},
	{"einsums", tensor.Float64}, {"pools", tensor.Float64},
}

// TestFloat32MatchesPyTorch computes the derivatives of the reference
// models in float32 (a float32 model in its own precision, a float64 one
// converted) and checks them, and PyTorch's float32 derivatives, against
// the float64 derivatives at the same (float32) inputs: jacobi's within
// twice the first-order bound of the float32 rounding errors of the program
// that ran (fdcheck.ErrorBound), PyTorch's within four times it (a program
// of its own, with errors of the same order).
func TestFloat32MatchesPyTorch(t *testing.T) {
	f32 := tensor.Float32
	for _, c := range float32Models {
		name := c.name
		t.Run(name, func(t *testing.T) {
			if testing.Short() && (name == "convs" || name == "pools") {
				t.Skip("slow bound (-short)")
			}
			dir := filepath.Join(modelsDir, name)
			m, err := Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if m.DType() != c.exported {
				t.Fatalf("the model's dtype is %v, want %v", m.DType(), c.exported)
			}
			x32 := readNpy(t, filepath.Join(dir, "x.npy")).Convert(f32)
			x64 := x32.Convert(tensor.Float64) // the same values
			sample := x32.Shape()[1:]
			f, err := m.Fn(sample, jacobi.WithDType(f32))
			if err != nil {
				t.Fatal(err)
			}
			flat := func(v *jacobi.Node) *jacobi.Node { return f(v.Reshape(append([]int{v.Shape()[0]}, sample...)...)) }
			derivs := []struct {
				ref string
				of  func(x *jacobi.Node) *jacobi.Node
			}{
				{"y", f},
				{"jacobian", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x) }},
				{"hessian", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(f, x) }},
				{"hessian_diag", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(flat, x) }},
				{"laplacian", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(flat, x) }},
			}
			for _, d := range derivs {
				c, err := jacobi.Compile(d.of, sample, jacobi.WithDType(f32))
				if err != nil {
					t.Fatalf("%s: %v", d.ref, err)
				}
				got, err := c.Run(x32)
				if err != nil {
					t.Fatal(err)
				}
				c64, err := jacobi.Compile(d.of, sample)
				if err != nil {
					t.Fatal(err)
				}
				want, err := c64.Run(x64)
				if err != nil {
					t.Fatal(err)
				}
				torch := readNpy(t, filepath.Join(dir, d.ref+"_f32.npy"))
				if got.DType() != f32 || torch.DType() != f32 {
					t.Fatalf("%s: float32 results are %v and %v", d.ref, got.DType(), torch.DType())
				}
				if torch, err = torch.Reshape(got.Shape()...); err != nil {
					t.Fatal(err)
				}
				bound := perSampleBound(t, c, x64)
				what := fmt.Sprintf("%s %s", name, d.ref)
				fdcheck.CompareBound(t, what+" (jacobi float32)", got, want, bound)
				fdcheck.CompareBound(t, what+" (PyTorch float32)", torch, want, bound.Scale(2))
				var worstJ, worstT float64
				g, w, tt, b := got.Float64s(), want.Data(), torch.Float64s(), bound.Data()
				for i := range g {
					if b[i] > 0 {
						worstJ = math.Max(worstJ, math.Abs(g[i]-w[i])/b[i])
						worstT = math.Max(worstT, math.Abs(tt[i]-w[i])/b[i])
					}
				}
				t.Logf("%s: largest error / bound: jacobi %.3g, PyTorch %.3g", what, worstJ, worstT)
			}
		})
	}
}

// perSampleBound returns the rounding bound of c's per-sample float32
// program at every sample of x (float64 values), stacked.
func perSampleBound(t *testing.T, c *jacobi.Compiled, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	p := c.Program()
	p64 := fdcheck.Must(t, "float64 program")(fdcheck.Retype(p, tensor.Float64))
	b := x.Shape()[0]
	var rows []*tensor.Tensor
	for i := range b {
		row := fdcheck.Row(x, i)
		rows = append(rows, fdcheck.ErrorBound(t, p64, p, []*tensor.Tensor{row})[0])
	}
	return fdcheck.Stack(rows)
}

// castModel is y = Cast<FLOAT>(Cast<DOUBLE>(x·w) · 3): a float32 model that
// computes its product's scaling in double.
func castModel() *pb.ModelProto {
	m := tiny(floatW([]int64{2, 2}, []float32{0.5, 0.25, 0.75, 1.5}))
	three := &pb.TensorProto{Name: proto.String("three"), DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), Dims: []int64{}, DoubleData: []float64{3}}
	m.Graph.Initializer = append(m.Graph.Initializer, three)
	to := func(t pb.TensorProto_DataType) []*pb.AttributeProto {
		return []*pb.AttributeProto{{Name: proto.String("to"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(int64(t))}}
	}
	m.Graph.Node = []*pb.NodeProto{
		{Name: proto.String("/gemm"), OpType: proto.String("Gemm"), Input: []string{"x", "w"}, Output: []string{"p"}},
		{Name: proto.String("/up"), OpType: proto.String("Cast"), Input: []string{"p"}, Output: []string{"p64"}, Attribute: to(pb.TensorProto_DOUBLE)},
		{Name: proto.String("/mul"), OpType: proto.String("Mul"), Input: []string{"p64", "three"}, Output: []string{"q"}},
		{Name: proto.String("/down"), OpType: proto.String("Cast"), Input: []string{"q"}, Output: []string{"y"}, Attribute: to(pb.TensorProto_FLOAT)},
	}
	return m
}

// Cast converts between float and double as ONNX says when the model runs
// in its own precision, and is the identity when it runs in float64.
func TestCastBetweenFloatTypes(t *testing.T) {
	m, err := Decode(encode(t, castModel()))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.MustNew32([]int{2, 2}, []float32{1.1, 2, -0.5, 4})
	f, err := m.Fn([]int{2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0])} }, [][]int{{2, 2}}, jacobi.WithDType(tensor.Float32))
	if err != nil {
		t.Fatal(err)
	}
	prog := c.Program().String()
	for _, want := range []string{"convert[float32→float64]", "convert[float64→float32]", "f64[2,2] = mul"} {
		if !strings.Contains(prog, want) {
			t.Errorf("the float32 program lacks %q:\n%s", want, prog)
		}
	}
	y, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatal(err)
	}
	if y.DType() != tensor.Float32 {
		t.Fatalf("the output is %v", y.DType())
	}
	// Gemm with w used as (in, out): x·w (exact in float32 for these
	// values), times 3 in float64, rounded to float32.
	w := []float32{0.5, 0.25, 0.75, 1.5}
	for i := range 2 {
		for j := range 2 {
			p := x.Data32()[2*i]*w[j] + x.Data32()[2*i+1]*w[2+j]
			if got, want := y.Data32()[2*i+j], float32(3*float64(p)); got != want {
				t.Errorf("y[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	// Run in float64, the model converts nothing.
	c64, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0])} }, [][]int{{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if s := c64.Program().String(); strings.Contains(s, "convert") || strings.Contains(s, "f32") {
		t.Errorf("the model run in float64 converts:\n%s", s)
	}
}

// A float32 program exports as a FLOAT graph with FLOAT inputs and outputs;
// the model, re-imported and run in float32 and run in ONNX Runtime, gives
// the program's values within float32's rounding of them.
func TestExportFloat32(t *testing.T) {
	f32 := tensor.Float32
	mlp, err := nn.RandomMLP(tensor.NewRand(31), []int{3, 16, 16, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m32 := mlp.Convert(f32)
	m64 := m32.Convert(tensor.Float64) // the same weights
	jac := func(m *nn.MLP) jacobi.Fn {
		return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }
	}
	c, err := jacobi.Compile(jac(m32), []int{3}, jacobi.WithDType(f32))
	if err != nil {
		t.Fatal(err)
	}
	c64, err := jacobi.Compile(jac(m64), []int{3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ExportCompiled(c)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Inputs[0].Type != Float32 || info.Outputs[0].Type != Float32 {
		t.Fatalf("exported %v -> %v, want float -> float", info.Inputs[0], info.Outputs[0])
	}
	x32 := tensor.Randn(tensor.NewRand(32), 7, 3).Convert(f32)
	x64 := x32.Convert(tensor.Float64)
	want, err := c64.Run(x64)
	if err != nil {
		t.Fatal(err)
	}
	bound := perSampleBound(t, c, x64)
	got, err := c.Run(x32)
	if err != nil {
		t.Fatal(err)
	}
	fdcheck.CompareBound(t, "jacobi", got, want, bound)
	back := reimport(t, b, x32)
	if back.DType() != f32 {
		t.Errorf("the re-imported model computes in %v", back.DType())
	}
	fdcheck.CompareBound(t, "re-imported", back, want, bound)
	t.Run("onnxruntime", func(t *testing.T) {
		rt := ort.ForTest(t)
		outs, err := rt.Run(writeModel(t, b), map[string]ort.Input{"x": {T: x32, Type: "float32"}})
		if err != nil {
			t.Fatal(err)
		}
		// ONNX Runtime's float32 kernels round differently: within twice
		// the bound, as for PyTorch's.
		fdcheck.CompareBound(t, "ONNX Runtime", outs["y"], want, bound.Scale(2))
	})
	// A float64 input widened into a float32 graph: InputType.
	b2, err := ExportCompiled(c, InputType(Float64))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := Inspect(b2); err != nil || info.Inputs[0].Type != Float64 || info.Outputs[0].Type != Float32 {
		t.Errorf("InputType(Float64): %v, %v", info, err)
	}
	// ExportFunc traces in the dtype DType says.
	b3, err := ExportFunc(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{m32.Apply(in[0])} }, [][]int{{-1, 3}}, DType(f32))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := Inspect(b3); err != nil || info.Inputs[0].Type != Float32 {
		t.Errorf("ExportFunc with DType(float32): %v, %v", info, err)
	}
	// A program that converts between dtypes casts where it does
	// (TestExportFloat32 runs such programs in ONNX Runtime).
	mixed := func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{m32.Apply(in[0].Convert(f32)).Convert(tensor.Float64)}
	}
	b4, err := ExportFunc(mixed, [][]int{{-1, 3}})
	if err != nil {
		t.Fatalf("a program converting between dtypes: %v", err)
	}
	if info, err := Inspect(b4); err != nil || info.Inputs[0].Type != Float64 || info.Outputs[0].Type != Float64 {
		t.Errorf("a float64 program with a float32 part: %v, %v", info, err)
	}
}
