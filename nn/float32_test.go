package nn

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// A network built from float32 tensors, or converted, computes in float32;
// layers of two dtypes are refused; Convert rounds every parameter and
// converts back exactly.
func TestMLPFloat32(t *testing.T) {
	m, err := RandomMLP(tensor.NewRand(1), []int{3, 8, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	if m.DType() != tensor.Float64 || m.Convert(tensor.Float64) != m {
		t.Fatalf("a float64 MLP: dtype %v", m.DType())
	}
	m32 := m.Convert(tensor.Float32)
	if m32.DType() != tensor.Float32 || m32.Activation != "tanh" {
		t.Fatalf("converted: dtype %v, activation %q", m32.DType(), m32.Activation)
	}
	for i, p := range m32.Params() {
		want := m.Params()[i].Convert(tensor.Float32)
		if p.DType() != tensor.Float32 || tensor.MaxAbsDiff(p, want) != 0 {
			t.Errorf("parameter %d: %v, not the float64 one rounded", i, p.DType())
		}
	}
	if back := m32.Convert(tensor.Float64); tensor.MaxAbsDiff(back.Weights[0], m32.Weights[0]) != 0 {
		t.Error("float32 to float64 is not exact")
	}
	if _, err := NewMLP([]*tensor.Tensor{m32.Weights[0], m.Weights[1]}, m32.Biases, "tanh"); err == nil || !strings.Contains(err.Error(), "one dtype") {
		t.Errorf("layers of two dtypes: %v", err)
	}
	x := tensor.Randn(tensor.NewRand(2), 5, 3).Convert(tensor.Float32)
	j, err := jacobi.BatchJacobian(m32.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	if j.DType() != tensor.Float32 || !tensor.SameShape(j.Shape(), []int{5, 2, 3}) {
		t.Fatalf("the Jacobian of a float32 MLP: %v %v", j.DType(), j.Shape())
	}
	j64, err := jacobi.BatchJacobian(m32.Convert(tensor.Float64).Apply, x.Convert(tensor.Float64))
	if err != nil {
		t.Fatal(err)
	}
	// Same weights and inputs: the float32 Jacobian is the float64 one
	// rounded, up to a few float32 roundings of values of order one.
	if d := tensor.MaxAbsDiff(j, j64); d > 16*tensor.Float32.Epsilon()*j64.MaxAbs() {
		t.Errorf("float32 and float64 Jacobians differ by %g (scale %g)", d, j64.MaxAbs())
	}
	if _, err := jacobi.BatchJacobian(m.Apply, x); err == nil || !strings.Contains(err.Error(), "dtypes") {
		t.Errorf("a float64 network on a float32 batch: %v", err)
	}
}

// A float32 network is saved as F32 and read back as it was; LoadMLP gives
// float64.
func TestSafetensorsFloat32(t *testing.T) {
	m, err := RandomMLP(tensor.NewRand(3), []int{2, 4, 1}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	m32 := m.Convert(tensor.Float32)
	var buf bytes.Buffer
	names := []string{"w", "b"}
	if err := WriteSafetensors(&buf, names, []*tensor.Tensor{m32.Weights[0], m.Biases[0]}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"w":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]}`) {
		t.Errorf("header: %q", buf.String()[:100])
	}
	_, ts, _, err := ReadSafetensors(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].DType() != tensor.Float32 || tensor.MaxAbsDiff(ts[0], m32.Weights[0]) != 0 {
		t.Errorf("w read back as %v, differing by %g", ts[0].DType(), tensor.MaxAbsDiff(ts[0], m32.Weights[0]))
	}
	if ts[1].DType() != tensor.Float64 || tensor.MaxAbsDiff(ts[1], m.Biases[0]) != 0 {
		t.Errorf("b read back as %v", ts[1].DType())
	}
	path := filepath.Join(t.TempDir(), "m32.safetensors")
	if err := m32.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadMLP(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if back.DType() != tensor.Float64 || tensor.MaxAbsDiff(back.Weights[1], m32.Weights[1]) != 0 {
		t.Errorf("LoadMLP of a float32 file: %v", back.DType())
	}
}
