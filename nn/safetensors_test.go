package nn

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

var update = flag.Bool("update", false, "rewrite testdata/go_mlp.safetensors")

func applyMLP(t *testing.T, m *MLP, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	y, err := jacobi.Eval(m.Apply, x)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestSafetensorsWithPyTorch reads the files testdata/torch_mlp.py wrote
// from a torch.nn.Sequential, and checks that the file nn.MLP.Save writes
// is the one the script loaded into PyTorch, with the outputs PyTorch
// computed from it.
func TestSafetensorsWithPyTorch(t *testing.T) {
	m, err := NewMLPFrom([]int{2, 5, 3, 1}, "tanh", XavierNormal, 1)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(tmp); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(tmp)
	if *update {
		if err := os.WriteFile("testdata/go_mlp.safetensors", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/go_mlp.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Save wrote %d bytes that differ from testdata/go_mlp.safetensors (%d), the file PyTorch read", len(got), len(want))
	}
	raw, err := os.ReadFile("testdata/torch_io.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		X          []float64 `json:"x"`
		TorchModel []float64 `json:"torch_model"`
		GoModel    []float64 `json:"go_model"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	x := tensor.MustNew([]int{len(ref.X) / 2, 2}, ref.X)
	cases := []struct {
		file string
		want []float64
		tol  float64
	}{
		{"testdata/go_mlp.safetensors", ref.GoModel, 1e-14},
		{"testdata/torch_mlp.safetensors", ref.TorchModel, 1e-14},
		{"testdata/torch_mlp_f32.safetensors", ref.TorchModel, 1e-6},
	}
	for _, c := range cases {
		m, err := LoadMLP(c.file, "tanh")
		if err != nil {
			t.Fatal(err)
		}
		y := applyMLP(t, m, x)
		if !tensor.AllClose(y, tensor.MustNew([]int{len(c.want), 1}, c.want), 0, c.tol) {
			t.Errorf("%s: outputs %v, PyTorch's %v", c.file, y.Data(), c.want)
		}
	}
}

func TestSafetensorsRoundTripAndErrors(t *testing.T) {
	names := []string{"b", "a", "scalar", "empty"}
	ts := []*tensor.Tensor{
		tensor.MustNew([]int{2, 2}, []float64{1, math.Inf(-1), math.Copysign(0, -1), 5e-324}),
		tensor.Randn(tensor.NewRand(3), 3),
		tensor.Scalar(math.Pi),
		tensor.Zeros(0, 4),
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, names, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if hl := buf.Bytes()[0]; (8+int(hl))%8 != 0 {
		t.Errorf("data not 8-byte aligned: header of %d bytes", hl)
	}
	gotNames, got, meta, err := ReadSafetensors(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotNames, ",") != "b,a,scalar,empty" || meta["k"] != "v" {
		t.Errorf("names %v meta %v", gotNames, meta)
	}
	for i := range ts {
		if !tensor.SameShape(got[i].Shape(), ts[i].Shape()) {
			t.Fatalf("%s: shape %v, want %v", names[i], got[i].Shape(), ts[i].Shape())
		}
		for k, v := range ts[i].Data() {
			if math.Float64bits(v) != math.Float64bits(got[i].Data()[k]) {
				t.Errorf("%s[%d] = %v, want %v bit for bit", names[i], k, got[i].Data()[k], v)
			}
		}
	}
	good := buf.Bytes()
	corrupt := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"huge header", corrupt(func(b []byte) []byte { b[7] = 0x7f; return b }), "out of range"},
		{"truncated data", good[:len(good)-3], "byte range"},
		{"extra data", append(append([]byte(nil), good...), 0), "the tensors cover"},
		{"not json", corrupt(func(b []byte) []byte { b[8] = 'x'; return b }), "not a JSON object"},
		{"dtype", bytes.Replace(good, []byte(`"F64","shape":[3]`), []byte(`"I64","shape":[3]`), 1), "only F64 and F32"},
		{"shape", bytes.Replace(good, []byte(`"shape":[3]`), []byte(`"shape":[4]`), 1), "byte range"},
	}
	for _, c := range bad {
		_, _, _, err := ReadSafetensors(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if err := WriteSafetensors(&buf, []string{"a", "a"}, ts[:2], nil); err == nil {
		t.Error("repeated names accepted")
	}
	// LoadMLP refuses files that are not an MLP's, and a failed save leaves
	// no file.
	dir := t.TempDir()
	notMLP := filepath.Join(dir, "x.safetensors")
	f, _ := os.Create(notMLP)
	_ = WriteSafetensors(f, []string{"0.weight"}, []*tensor.Tensor{tensor.Zeros(2, 2)}, nil)
	f.Close()
	if _, err := LoadMLP(notMLP, "tanh"); err == nil || !strings.Contains(err.Error(), "no bias") {
		t.Errorf("weight without bias: %v", err)
	}
	m, _ := NewMLPFrom([]int{1, 2}, "tanh", TorchDefault, 0)
	if err := m.Save(filepath.Join(dir, "missing", "m.safetensors")); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
	if err := m.Save(filepath.Join(dir, "m.safetensors")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMLP(filepath.Join(dir, "m.safetensors"), "relu"); err == nil || !strings.Contains(err.Error(), `"tanh", not "relu"`) {
		t.Errorf("activation mismatch: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
