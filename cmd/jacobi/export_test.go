package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/internal/ort"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

func inspect(t *testing.T, path string) *onnx.Info {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := onnx.Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestExport exports derivatives of models with "jacobi export" and checks
// the files: the model's input name, type and sample shape with a symbolic
// batch, and, in ONNX Runtime at two batch sizes, the results "jacobi
// <derivative>" writes — in float64 (to 1e-12), and for float32 models in
// their own precision (a FLOAT graph: to a few ulps).
func TestExport(t *testing.T) {
	models := filepath.Join("..", "..", "testdata", "models")
	f64 := []string{"--dtype", "float64"}
	cases := []struct {
		model, derivative string
		args              []string
	}{
		{"mlp", "jacobian", append([]string{"--mode", "reverse"}, f64...)},
		{"mlp", "laplacian", append([]string{"--opset", "13"}, f64...)},
		{"zoo2", "hessian-diag", nil},
		{"zoo2", "jacobian", []string{"--mode", "forward", "--opset", "13"}},
		{"fourier", "hessian", nil},
		{"gelu_softplus", "laplacian", nil},
		{"mlp", "value-and-jacobian", append([]string{"--output-name", "J"}, f64...)},
		{"mlp", "jacobian", []string{"--mode", "reverse"}},
		{"layernorm", "laplacian", nil},
	}
	for _, c := range cases {
		name := c.model + "/" + c.derivative
		float32Run := !strings.Contains(strings.Join(c.args, " "), "float64")
		if float32Run {
			name += "/own_precision"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(models, c.model, "model.onnx")
			out := filepath.Join(dir, "d.onnx")
			code, stdout, stderr := runBin(t, append([]string{"export", "--derivative", c.derivative, "--model", in, "--output", out}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "largest difference") && !strings.Contains(stdout, "not re-imported") {
				t.Errorf("the summary does not report the check:\n%s", stdout)
			}
			orig, exp := inspect(t, in), inspect(t, out)
			if len(exp.Inputs) != 1 || exp.Inputs[0].Name != orig.Inputs[0].Name || exp.Inputs[0].Type != orig.Inputs[0].Type {
				t.Errorf("exported input %v, the model's is %v", exp.Inputs, orig.Inputs)
			}
			ed, od := exp.Inputs[0].Dims, orig.Inputs[0].Dims
			if len(ed) != len(od) || ed[0].Size != -1 || ed[0].Param == "" {
				t.Errorf("exported input dims %v: want a symbolic batch and the sample dims of %v", ed, od)
			}
			for i := 1; i < len(ed) && i < len(od); i++ {
				if ed[i] != od[i] {
					t.Errorf("exported input dims %v, the model's %v", ed, od)
				}
			}
			want := c.derivative
			if c.derivative == "value-and-jacobian" {
				want = "jacobian"
			}
			x, err := npy.ReadFile(filepath.Join(models, c.model, "x.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if orig.Inputs[0].Type == onnx.Float32 {
				// The exported model takes the model's float32 input: give
				// both sides the same, float32 values.
				x = x.Map(func(v float64) float64 { return float64(float32(v)) })
			}
			t.Run("onnxruntime", func(t *testing.T) {
				rt := ort.ForTest(t)
				for _, n := range []int{1, x.Shape()[0]} {
					xn, err := tensor.New(append([]int{n}, x.Shape()[1:]...), x.Data()[:n*x.Len()/x.Shape()[0]])
					if err != nil {
						t.Fatal(err)
					}
					xf := filepath.Join(dir, fmt.Sprintf("x%d.npy", n))
					ref := filepath.Join(dir, fmt.Sprintf("ref%d.npy", n))
					if err := npy.WriteFile(xf, xn); err != nil {
						t.Fatal(err)
					}
					mode := []string{}
					if len(c.args) > 1 && c.args[0] == "--mode" {
						mode = c.args[:2]
					}
					if i := slices.Index(c.args, "--dtype"); i >= 0 {
						mode = append(mode, c.args[i:i+2]...)
					}
					if code, _, stderr := runBin(t, append([]string{want, "--model", in, "--input", xf, "--output", ref, "--quiet"}, mode...)...); code != 0 {
						t.Fatalf("jacobi %s: exit %d: %s", want, code, stderr)
					}
					r, err := npy.ReadFile(ref)
					if err != nil {
						t.Fatal(err)
					}
					got, err := rt.Run(out, map[string]ort.Input{orig.Inputs[0].Name: {T: xn, Type: map[onnx.ElemType]string{onnx.Float32: "float32", onnx.Float64: "float64"}[orig.Inputs[0].Type]}})
					if err != nil {
						t.Fatal(err)
					}
					name := exp.Outputs[len(exp.Outputs)-1].Name
					g := got[name]
					if g == nil || !tensor.SameShape(g.Shape(), r.Shape()) {
						t.Fatalf("output %q of ONNX Runtime: %v, jacobi %s writes shape %v", name, g, want, r.Shape())
					}
					if want := map[bool]onnx.ElemType{true: orig.Inputs[0].Type, false: onnx.Float64}[float32Run]; exp.Outputs[len(exp.Outputs)-1].Type != want {
						t.Errorf("exported output %v, want %v", exp.Outputs, want)
					}
					// 1e-12 in float64: ~4500 ulps; as many float32 ulps
					// where the graph computes in float32.
					tol := 4500 * r.DType().Epsilon()
					fdcheck.Compare(t, fmt.Sprintf("%s at batch %d", name, n), g.Float64s(), r.Float64s(), r.Shape(), fdcheck.Tol{Rel: tol, Abs: tol * r.MaxAbs()})
				}
			})
		})
	}
}

// TestExportRefuses checks that bad input gets a clear error, the right
// exit code and no file.
func TestExportRefuses(t *testing.T) {
	models := filepath.Join("..", "..", "testdata", "models")
	dir := t.TempDir()
	out := filepath.Join(dir, "d.onnx")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a model that mixes samples", []string{"--model", filepath.Join(models, "mixing", "model.onnx"), "--output", out}, 1, "mixes samples"},
		{"a model that divides by its batch size", []string{"--model", filepath.Join(models, "batchsize", "model.onnx"), "--output", out}, 1, "depends on its batch size"},
		{"a model that reshapes to a batch of 2", []string{"--model", filepath.Join(models, "reshape_batch", "model.onnx"), "--output", out}, 1, "depends on its batch size"},
		{"no output", []string{"--model", filepath.Join(models, "mlp", "model.onnx")}, 2, "--output"},
		{"an unknown derivative", []string{"--derivative", "curl", "--output", out}, 2, "--derivative \"curl\""},
		{"a mode for a Laplacian", []string{"--derivative", "laplacian", "--mode", "forward", "--output", out}, 2, "--mode applies to Jacobians"},
		{"an opset too old", []string{"--opset", "11", "--output", out}, 2, "--opset 11"},
		{"a missing directory", []string{"--output", filepath.Join(dir, "no", "d.onnx")}, 1, "does not exist"},
		{"a directory", []string{"--output", dir}, 1, "is a directory"},
		{"a missing model", []string{"--model", filepath.Join(dir, "none.onnx"), "--output", out}, 1, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runBin(t, append([]string{"export"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}
