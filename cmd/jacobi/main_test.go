package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

// bin is the tool built once for the end-to-end tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jacobi-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "jacobi")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBin runs the built tool and returns its exit code, stdout and stderr.
func runBin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runBinEnv(t, nil, args...)
}

// runBinEnv is runBin with variables added to the environment.
func runBinEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("jacobi %v panicked:\n%s", args, stderr.String())
	}
	return code, stdout.String(), stderr.String()
}

func closeRel(t *testing.T, what string, got, want *tensor.Tensor, rtol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	scale := 0.0
	for _, v := range want.Float64s() {
		scale = math.Max(scale, math.Abs(v))
	}
	gd := got.Float64s()
	for i, w := range want.Float64s() {
		g := gd[i]
		if math.Abs(g-w) > rtol*math.Max(math.Abs(w), 1e-3*scale)+1e-300 || math.IsNaN(g) {
			t.Fatalf("%s: element %d is %.17g, PyTorch says %.17g", what, i, g, w)
		}
	}
}

// TestMatchesPyTorch runs every command on every reference model and compares
// the output file with PyTorch's per-sample derivatives.
func TestMatchesPyTorch(t *testing.T) {
	models := []string{"mlp", "residual", "layernorm", "layernorm_op13", "fourier", "gelu_softplus", "zoo", "zoo2", "piecewise", "scalar"}
	cmds := map[string]string{"jacobian": "jacobian", "hessian": "hessian", "hessian-diag": "hessian_diag", "laplacian": "laplacian"}
	for _, name := range models {
		dir := filepath.Join("..", "..", "testdata", "models", name)
		for cmd, ref := range cmds {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.npy")
				args := []string{cmd, "--model", filepath.Join(dir, "model.onnx"), "--input", filepath.Join(dir, "x.npy"), "--output", out, "--quiet", "--dtype", "float64"}
				if cmd == "jacobian" && name == "fourier" {
					args = append(args, "--mode", "forward", "--chunk", "2")
				}
				code, stdout, stderr := runBin(t, args...)
				if code != 0 {
					t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
				}
				got, err := npy.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if got.DType() != tensor.Float64 {
					t.Errorf("--dtype float64 wrote %v", got.DType())
				}
				want, err := npy.ReadFile(filepath.Join(dir, ref+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				closeRel(t, name+" "+cmd, got, want, 1e-9)
				if !strings.Contains(stdout, "time") {
					t.Errorf("summary lacks the time:\n%s", stdout)
				}
			})
		}
	}
}

func TestDefaultRun(t *testing.T) {
	code, stdout, stderr := runBin(t, "jacobian", "--batch", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Linear(5,2)", "(8, 10, 5)", "naive"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// The naive results (full derivatives of the batch, then their diagonal
	// blocks) agree with the per-sample ones.
	for _, cmd := range []string{"jacobian", "hessian", "hessian-diag", "laplacian"} {
		code, stdout, stderr := runBin(t, cmd, "--batch", "6", "--dtype", "float64")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", cmd, code, stderr)
		}
		i := strings.Index(stdout, "largest difference ")
		if i < 0 {
			t.Fatalf("%s: no comparison in\n%s", cmd, stdout)
		}
		var diff float64
		if _, err := fmt.Sscan(stdout[i+len("largest difference "):], &diff); err != nil || diff > 1e-12 {
			t.Fatalf("%s: naive and per-sample results differ by %v (%v)\n%s", cmd, diff, err, stdout)
		}
	}
	// The default model on a file batch agrees with PyTorch's reference.
	out := filepath.Join(t.TempDir(), "j.npy")
	code, _, stderr = runBin(t, "jacobian", "--input", "../../testdata/models/mlp/x.npy", "--output", out, "--dtype", "float64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := npy.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadFile("../../testdata/models/mlp/jacobian.npy")
	if err != nil {
		t.Fatal(err)
	}
	closeRel(t, "default model", got, want, 1e-9)
}

func TestMixingModelFails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.npy")
	dir := "../../testdata/models/mixing"
	code, _, stderr := runBin(t, "jacobian", "--model", dir+"/model.onnx", "--input", dir+"/x.npy", "--output", out)
	if code == 0 {
		t.Fatal("a model that mixes samples succeeded")
	}
	for _, want := range []string{"mixes samples along the batch axis", "ReduceMean"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message lacks %q: %s", want, stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output file left behind: %v", err)
	}
}

// Models that depend on their batch size are refused (exit 1) with the
// node named, for every command, and nothing is written: traced at one
// batch size, their derivatives would be wrong at another.
func TestBatchSizeModelsFail(t *testing.T) {
	for _, c := range []struct{ model, node string }{{"batchsize", `Div node "/Div"`}, {"reshape_batch", `Reshape node "/Reshape"`}} {
		dir := "../../testdata/models/" + c.model
		for _, cmd := range commands {
			out := filepath.Join(t.TempDir(), "out.npy")
			code, _, stderr := runBin(t, cmd.name, "--model", dir+"/model.onnx", "--input", dir+"/x.npy", "--output", out)
			if code != 1 {
				t.Errorf("%s %s: exit %d, want 1: %s", c.model, cmd.name, code, stderr)
			}
			for _, want := range []string{"depends on its batch size", c.node} {
				if !strings.Contains(stderr, want) {
					t.Errorf("%s %s: message lacks %q: %s", c.model, cmd.name, want, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s %s: output file left behind: %v", c.model, cmd.name, err)
			}
		}
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("definitely not protobuf \xff\xff\xff"), 0o644)
	model, _ := os.ReadFile("../../testdata/models/mlp/model.onnx")
	trunc := filepath.Join(dir, "trunc.onnx")
	os.WriteFile(trunc, model[:len(model)*2/3], 0o644)
	x, _ := os.ReadFile("../../testdata/models/mlp/x.npy")
	shortX := filepath.Join(dir, "short.npy")
	os.WriteFile(shortX, x[:len(x)-3], 0o644)
	out := filepath.Join(dir, "out.npy")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"jacobian", "--model", junk, "--input", "../../testdata/models/mlp/x.npy", "--output", out}, "junk.onnx"},
		{[]string{"jacobian", "--model", trunc, "--input", "../../testdata/models/mlp/x.npy", "--output", out}, "trunc.onnx"},
		{[]string{"jacobian", "--input", shortX, "--output", out}, "truncated"},
		{[]string{"jacobian", "--input", "../../testdata/npy/fortran.npy", "--output", out}, "Fortran"},
		{[]string{"jacobian", "--input", "../../testdata/models/layernorm/x.npy", "--output", out}, "shape"},
		{[]string{"hessian", "--model", filepath.Join(dir, "missing.onnx")}, "missing.onnx"},
		{[]string{"laplacian", "--output", filepath.Join(dir, "nodir", "out.npy")}, "does not exist"},
		{[]string{"laplacian", "--output", dir}, "is a directory"},
	}
	for _, c := range cases {
		code, _, stderr := runBin(t, c.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1 (%s)", c.args, code, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: message %q lacks %q", c.args, stderr, c.want)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "out") || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("failed runs left %s behind", e.Name())
		}
	}
}

// JACOBI_KERNEL forces a kernel path: every path this CPU runs gives
// PyTorch's numbers, and one it cannot run (or an unknown name) is an
// error before any work, for the derivative commands and bench alike.
func TestKernelEnv(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "models", "mlp")
	for _, path := range kernels.Paths() {
		env := []string{"JACOBI_KERNEL=" + path}
		if code, stdout, _ := runBinEnv(t, env, "--version"); code != 0 || !strings.Contains(stdout, path+" kernels") {
			t.Errorf("JACOBI_KERNEL=%s --version: exit %d, %q", path, code, stdout)
		}
		out := filepath.Join(t.TempDir(), "j.npy")
		code, stdout, stderr := runBinEnv(t, env, "jacobian", "--model", filepath.Join(dir, "model.onnx"), "--input", filepath.Join(dir, "x.npy"), "--output", out, "--quiet", "--dtype", "float64")
		if code != 0 {
			t.Fatalf("JACOBI_KERNEL=%s: exit %d\n%s%s", path, code, stdout, stderr)
		}
		got, err := npy.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := npy.ReadFile(filepath.Join(dir, "jacobian.npy"))
		if err != nil {
			t.Fatal(err)
		}
		closeRel(t, "JACOBI_KERNEL="+path, got, want, 1e-9)
	}
	for _, bad := range []string{"avx3", "neon", "avx512"} {
		if slices.Contains(kernels.Paths(), bad) {
			continue
		}
		for _, args := range [][]string{{"jacobian", "--quiet"}, {"bench", "--only", "seed_tiny", "--budget", "1ms"}} {
			code, _, stderr := runBinEnv(t, []string{"JACOBI_KERNEL=" + bad}, args...)
			if code != 1 || !strings.Contains(stderr, "JACOBI_KERNEL="+bad) {
				t.Errorf("JACOBI_KERNEL=%s jacobi %s: exit %d, %q", bad, args[0], code, stderr)
			}
		}
	}
}

func TestUsage(t *testing.T) {
	if code, stdout, _ := runBin(t, "--version"); code != 0 || !strings.Contains(stdout, version) {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
	for _, c := range commands {
		code, stdout, _ := runBin(t, "help", c.name)
		if code != 0 || !strings.Contains(stdout, c.shape) || !strings.Contains(stdout, "--model") {
			t.Errorf("help %s: exit %d\n%s", c.name, code, stdout)
		}
	}
	if code, stdout, stderr := runBin(t); code != 0 || !strings.Contains(stdout, "per-sample Jacobians (256, 10, 5)") {
		t.Errorf("no arguments (the main job on the built-in model): exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runBin(t, "help"); code != 0 || !strings.Contains(stdout, "Commands") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
	if code, _, _ := runBin(t, "jacobian", "--mode", "sideways"); code != 2 {
		t.Errorf("bad --mode: exit %d, want 2", code)
	}
	if code, _, _ := runBin(t, "integrate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestProgressBar runs the tool in-process as if stderr were a terminal, with
// the bar's delay at zero, and checks that the bar is drawn and the result
// is the same as without it.
func TestProgressBar(t *testing.T) {
	progressAfter = 0
	defer func() { progressAfter = time.Second }()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"laplacian", "--batch", "3000", "--chunk", "16", "--output", filepath.Join(dir, "a.npy")}
	if code := run(args, &stdout, &stderr, true); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "samples") || !strings.Contains(stderr.String(), "/3000") {
		t.Fatalf("no progress bar on the terminal:\n%q", stderr.String())
	}
	stderr.Reset()
	args = []string{"laplacian", "--batch", "3000", "--output", filepath.Join(dir, "b.npy"), "--quiet"}
	if code := run(args, &stdout, &stderr, true); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("--quiet printed %q", stderr.String())
	}
	a, err := npy.ReadFile(filepath.Join(dir, "a.npy"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := npy.ReadFile(filepath.Join(dir, "b.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if a.DType() != b.DType() {
		t.Fatalf("%v with the bar, %v without", a.DType(), b.DType())
	}
	bd := b.Float64s()
	for i, v := range a.Float64s() {
		if v != bd[i] {
			t.Fatalf("element %d: %v with the bar, %v without", i, v, bd[i])
		}
	}
}

// A float32 model computes and writes float32 by default — the numbers the
// library computes in float32, bit for bit — and float64 with --dtype
// float64; a float64 model stays float64 whatever its input's dtype.
func TestPrecision(t *testing.T) {
	models := filepath.Join("..", "..", "testdata", "models")
	tmp := t.TempDir()
	x32 := filepath.Join(tmp, "x32.npy")
	x, err := npy.ReadFile(filepath.Join(models, "mlp", "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(x32, x.Convert(tensor.Float32)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model, input, dtype string
		want                tensor.DType
	}{
		{"mlp", x32, "", tensor.Float32},
		{"mlp", filepath.Join(models, "mlp", "x.npy"), "", tensor.Float32},
		{"mlp", x32, "float64", tensor.Float64},
		{"mlp", x32, "float32", tensor.Float32},
	} {
		out := filepath.Join(tmp, "j.npy")
		args := []string{"jacobian", "--model", filepath.Join(models, c.model, "model.onnx"), "--input", c.input, "--output", out, "--quiet"}
		if c.dtype != "" {
			args = append(args, "--dtype", c.dtype)
		}
		code, stdout, stderr := runBin(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		got, err := npy.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType() != c.want || !strings.Contains(stdout, c.want.String()) {
			t.Errorf("%v: wrote %v, want %v\n%s", args, got.DType(), c.want, stdout)
		}
		// The library's result in that precision.
		m, err := onnx.Load(filepath.Join(models, c.model, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		xin, err := npy.ReadFile(c.input)
		if err != nil {
			t.Fatal(err)
		}
		xin = xin.Convert(c.want)
		f, err := m.Fn(xin.Shape()[1:], jacobi.WithDType(c.want))
		if err != nil {
			t.Fatal(err)
		}
		want, err := jacobi.BatchJacobian(f, xin)
		if err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(got, want); d != 0 {
			t.Errorf("%v: differs from the library's %v result by %g", args, c.want, d)
		}
	}
	// A float64 model given a float32 batch computes in float64.
	out := filepath.Join(tmp, "l.npy")
	fourier := filepath.Join(models, "fourier")
	fx, err := npy.ReadFile(filepath.Join(fourier, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	fx32 := filepath.Join(tmp, "fx32.npy")
	if err := npy.WriteFile(fx32, fx.Convert(tensor.Float32)); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runBin(t, "laplacian", "--model", filepath.Join(fourier, "model.onnx"), "--input", fx32, "--output", out, "--quiet"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if got, err := npy.ReadFile(out); err != nil || got.DType() != tensor.Float64 {
		t.Errorf("a float64 model: %v, %v", got, err)
	}
	if code, _, _ := runBin(t, "jacobian", "--dtype", "float16"); code != 2 {
		t.Errorf("--dtype float16: exit %d, want 2", code)
	}
}
