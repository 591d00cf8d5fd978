package onnx

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

const modelsDir = "../testdata/models"

// refModels are the models with PyTorch references (see scripts/make_testdata.py).
var refModels = []string{"mlp", "residual", "layernorm", "layernorm_op13", "fourier", "gelu_softplus", "zoo", "zoo_op12", "zoo2", "piecewise", "scalar", "convs", "einsums", "pools"}

func readNpy(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	x, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// closeRel reports the first element where got and want differ by more than
// rtol relative to the largest magnitude of want (plus a tiny absolute floor).
func closeRel(t *testing.T, what string, got, want *tensor.Tensor, rtol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	scale := 0.0
	for _, v := range want.Data() {
		scale = math.Max(scale, math.Abs(v))
	}
	for i, w := range want.Data() {
		g := got.Data()[i]
		if math.Abs(g-w) > rtol*math.Max(math.Abs(w), 1e-3*scale)+1e-300 || math.IsNaN(g) {
			t.Fatalf("%s: element %d is %.17g, PyTorch says %.17g (rel. diff %.3g)", what, i, g, w, math.Abs(g-w)/math.Abs(w))
		}
	}
}

func loadModel(t *testing.T, name, file string) (*Model, jacobi.Fn, *tensor.Tensor) {
	t.Helper()
	dir := filepath.Join(modelsDir, name)
	m, err := Load(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	x := readNpy(t, filepath.Join(dir, "x.npy"))
	f, err := m.Fn(x.Shape()[1:])
	if err != nil {
		t.Fatal(err)
	}
	return m, f, x
}

func TestModelsMatchPyTorch(t *testing.T) {
	for _, name := range refModels {
		t.Run(name, func(t *testing.T) {
			_, f, x := loadModel(t, name, "model.onnx")
			dir := filepath.Join(modelsDir, name)
			y, err := jacobi.Eval(f, x)
			if err != nil {
				t.Fatal(err)
			}
			// The forward pass: float32 models agree with PyTorch's
			// float64 evaluation of the same (widened) weights.
			closeRel(t, "output", y, readNpy(t, filepath.Join(dir, "y.npy")), 1e-9)
			for _, mode := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse} {
				j, err := jacobi.BatchJacobian(f, x, jacobi.WithMode(mode))
				if err != nil {
					t.Fatal(err)
				}
				closeRel(t, "jacobian "+mode.String(), j, readNpy(t, filepath.Join(dir, "jacobian.npy")), 1e-9)
			}
			h, err := jacobi.BatchHessian(f, x)
			if err != nil {
				t.Fatal(err)
			}
			closeRel(t, "hessian", h, readNpy(t, filepath.Join(dir, "hessian.npy")), 1e-9)
			// Taylor mode takes vector samples: flatten (b, 2, 3) inputs.
			xf, err := x.Reshape(x.Shape()[0], -1)
			if err != nil {
				t.Fatal(err)
			}
			ff := func(v *jacobi.Node) *jacobi.Node { return f(v.Reshape(x.Shape()...)) }
			d, err := jacobi.BatchHessianDiag(ff, xf)
			if err != nil {
				t.Fatal(err)
			}
			wantD := readNpy(t, filepath.Join(dir, "hessian_diag.npy"))
			if d, err = d.Reshape(wantD.Shape()...); err != nil {
				t.Fatal(err)
			}
			closeRel(t, "hessian diagonal", d, wantD, 1e-9)
			l, err := jacobi.BatchLaplacian(ff, xf)
			if err != nil {
				t.Fatal(err)
			}
			closeRel(t, "laplacian", l, readNpy(t, filepath.Join(dir, "laplacian.npy")), 1e-9)
		})
	}
}

// TestTypedInitializers: the same MLP with its weights in float_data and in
// double_data instead of raw_data gives the same Jacobian.
func TestTypedInitializers(t *testing.T) {
	want := readNpy(t, filepath.Join(modelsDir, "mlp", "jacobian.npy"))
	for _, file := range []string{"model_float_data.onnx", "model_double_data.onnx"} {
		_, f, x := loadModel(t, "mlp", file)
		j, err := jacobi.BatchJacobian(f, x)
		if err != nil {
			t.Fatal(err)
		}
		closeRel(t, file, j, want, 1e-9)
	}
}

func TestBatchSizes(t *testing.T) {
	// residual was exported with a fixed batch of 4, mlp with a symbolic one:
	// both run at other batch sizes, row by row as at the reference batch.
	for _, name := range []string{"mlp", "residual"} {
		m, f, x := loadModel(t, name, "model.onnx")
		if name == "residual" && m.InputShape[0].Size != 4 {
			t.Fatalf("residual: input shape %v, want a fixed batch of 4", m.InputShape)
		}
		if name == "mlp" && m.InputShape[0].Param != "batch" {
			t.Fatalf("mlp: input shape %v, want a symbolic batch", m.InputShape)
		}
		want := readNpy(t, filepath.Join(modelsDir, name, "jacobian.npy"))
		in := x.Shape()[1]
		one := tensor.MustNew([]int{1, in}, x.Data()[in:2*in])
		j, err := jacobi.BatchJacobian(f, one)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		per := tensor.Size(want.Shape()[1:])
		closeRel(t, name+" batch of one", j, tensor.MustNew(append([]int{1}, want.Shape()[1:]...), want.Data()[per:2*per]), 1e-9)
	}
}

func TestMixingModelIsRefused(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "mixing", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Fn([]int{3})
	if err == nil {
		t.Fatal("a model computing x - x.mean(0) was accepted")
	}
	for _, want := range []string{"mixes samples along the batch axis", "ReduceMean", "mixing/model.onnx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Used directly in a derivative, the model's operations name their
	// node too: every node's operations carry its label.
	_, err = jacobi.BatchJacobian(func(x *jacobi.Node) *jacobi.Node {
		y, err := m.Apply(x)
		if err != nil {
			return x.Fail(err)
		}
		return y
	}, tensor.Randn(tensor.NewRand(1), 4, 3))
	var mix *op.MixError
	if !errors.As(err, &mix) || !strings.Contains(mix.Src, `ReduceMean node "/ReduceMean"`) {
		t.Errorf("error %v: want a mix error at the ReduceMean node", err)
	}
}

func TestUnsupportedOperator(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "mlp", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m.Nodes[1].OpType = "Celu"
	m.Nodes[1].Name = "/act/Celu"
	_, err = m.Fn([]int{5})
	if err == nil {
		t.Fatal("unsupported operator accepted")
	}
	for _, want := range []string{`"Celu"`, `"/act/Celu"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestWrongInputShape(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "mlp", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fn([]int{4}); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("input of 4 features for a model of 5: err = %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(modelsDir, "mlp", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"text":      []byte("hello, this is not a model"),
		"truncated": good[:len(good)/2],
		"npy":       []byte("\x93NUMPY\x01\x00"),
	}
	for name, b := range cases {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"mlp/model.onnx", "mlp/model_float_data.onnx", "mlp/model_double_data.onnx", "layernorm/model.onnx", "mixing/model.onnx", "fourier/model.onnx", "convs/model.onnx", "einsums/model.onnx", "pools/model.onnx"} {
		b, err := os.ReadFile(filepath.Join(modelsDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := proto.Marshal(functionModel()); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x08\x07\x3a\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		for name, c := range m.Inits {
			if c.Value.Len() > len(b) {
				t.Fatalf("initializer %q holds %d values decoded from %d bytes", name, c.Value.Len(), len(b))
			}
		}
		// Lowering a decoded model must not panic either.
		if len(m.InputShape) == 2 && m.InputShape[1].Size > 0 && m.InputShape[1].Size < 64 {
			f, err := m.Fn([]int{m.InputShape[1].Size})
			if err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			if err == nil {
				x := tensor.Full(0.5, 2, m.InputShape[1].Size)
				jacobi.Eval(f, x)
				jacobi.BatchJacobian(f, x)
				jacobi.BatchLaplacian(f, x)
			}
		}
	})
}

// Models exported from PyTorch that depend on their batch size — x /
// x.shape[0] (Shape → Gather → Cast → Div) and a reshape of a dynamic
// batch to a literal [2, -1] — are refused with the node named: compiled
// for one batch size they would be wrong at another. Applied at the
// batch's own size, the first gives its exact per-sample derivative.
func TestBatchSizeDependentModels(t *testing.T) {
	cases := []struct {
		name string
		want []string
	}{
		{"batchsize", []string{"depends on its batch size", `Div node "/Div"`, "batchsize/model.onnx"}},
		{"reshape_batch", []string{"depends on its batch size", `Reshape node "/Reshape"`, "at batch size 2 but not at"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(filepath.Join(modelsDir, c.name, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			x := readNpy(t, filepath.Join(modelsDir, c.name, "x.npy"))
			_, err = m.Fn(x.Shape()[1:])
			if err == nil {
				t.Fatal("a model that depends on its batch size was accepted")
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}

	m, err := Load(filepath.Join(modelsDir, "batchsize", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	f := func(x *jacobi.Node) *jacobi.Node {
		y, err := m.Apply(x)
		if err != nil {
			return x.Fail(err)
		}
		return y
	}
	for _, b := range []int{1, 4, 9} {
		x := tensor.Randn(tensor.NewRand(uint64(b)), b, 3)
		j, err := jacobi.BatchJacobian(f, x)
		if err != nil {
			t.Fatal(err)
		}
		want := tensor.Zeros(b, 3, 3)
		for i := 0; i < b; i++ {
			for k := 0; k < 3; k++ {
				th := math.Tanh(x.At(i, k) / float64(b))
				want.Data()[i*9+k*4] = (1 - th*th) / float64(b)
			}
		}
		closeRel(t, "per-sample Jacobian of tanh(x/b) at its batch size", j, want, 1e-14)
	}
}
