// Package ort runs ONNX models in ONNX Runtime (CPU) from Go without cgo:
// it drives the Node.js package onnxruntime-node, through the small script
// _node/run.js, over pipes. jacobi's tests use it to check that the models
// it exports run in a real ONNX engine and agree with its own runtime, and
// its benchmark to time ONNX Runtime on them.
//
// ONNX Runtime is installed apart from the Go build, once:
//
//	npm ci --ignore-scripts --prefix internal/ort/_node
//
// (node 18 or later; --ignore-scripts keeps the CPU binaries the package
// ships and skips its download of CUDA ones). JACOBI_ORT_DIR may name
// another directory holding run.js and node_modules.
package ort

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Install is the command that installs ONNX Runtime for this package, from
// the repository's root.
const Install = "npm ci --ignore-scripts --prefix internal/ort/_node"

// RequireEnv is the environment variable that turns a missing ONNX Runtime
// from a skipped test into a failed one (CI sets it).
const RequireEnv = "JACOBI_ORT"

// Dir returns the directory holding run.js and node_modules: JACOBI_ORT_DIR
// when set, otherwise this package's _node directory in the source tree.
func Dir() string {
	if d := os.Getenv("JACOBI_ORT_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("internal", "ort", "_node")
	}
	return filepath.Join(filepath.Dir(file), "_node")
}

// Available returns nil when node and onnxruntime-node are installed, and
// otherwise what is missing and how to install it.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("ONNX Runtime checks need node (18 or later) on PATH, then: %s", Install)
	}
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return fmt.Errorf("onnxruntime-node is not installed in %s: run %s", dir, Install)
	}
	return nil
}

// Runtime is a running ONNX Runtime: one node process serving requests one
// at a time. It is safe for concurrent use (requests are serialised).
type Runtime struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *strings.Builder
}

// Start starts ONNX Runtime.
func Start() (*Runtime, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", filepath.Join(Dir(), "run.js"), "--serve")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ort: starting node: %w", err)
	}
	return &Runtime{cmd: cmd, in: stdin, out: bufio.NewReader(stdout), stderr: &stderr}, nil
}

// Close stops the node process.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.in.Close()
	return r.cmd.Wait()
}

// Input is one input of a run: a tensor and the element type the model
// takes ("float64", the default, or "float32").
type Input struct {
	T    *tensor.Tensor
	Type string
}

type request struct {
	Model   string               `json:"model"`
	Inputs  map[string]inputSpec `json:"inputs"`
	Out     string               `json:"out"`
	Threads int                  `json:"threads"`
	Repeat  int                  `json:"repeat"`
	Write   bool                 `json:"write"`
	Keep    bool                 `json:"keep"`
}

type inputSpec struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

type reply struct {
	Outputs map[string]string `json:"outputs"`
	Seconds []float64         `json:"seconds"`
	Error   string            `json:"error"`
}

// Run runs the model file on the inputs (by input name) with two threads
// and returns its outputs by name, widened to float64. The model stays
// loaded until a Run of another model.
func (r *Runtime) Run(model string, inputs map[string]Input) (map[string]*tensor.Tensor, error) {
	rep, dir, err := r.call(model, inputs, 2, 0, true)
	defer os.RemoveAll(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	for name, file := range rep.Outputs {
		t, err := npy.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", name, err)
		}
		out[name] = t.Convert(tensor.Float64) // exact for float32 outputs
	}
	return out, nil
}

// Time runs the model once to warm up, then repeat times on threads
// intra-op threads, and returns the seconds of each timed run. The model's
// session is kept for later calls, so loading it is not timed.
func (r *Runtime) Time(model string, inputs map[string]Input, threads, repeat int) ([]float64, error) {
	rep, dir, err := r.call(model, inputs, threads, repeat, false)
	os.RemoveAll(dir)
	if err != nil {
		return nil, err
	}
	return rep.Seconds, nil
}

func (r *Runtime) call(model string, inputs map[string]Input, threads, repeat int, write bool) (*reply, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dir, err := os.MkdirTemp("", "jacobi-ort-")
	if err != nil {
		return nil, "", err
	}
	req := request{Model: model, Inputs: map[string]inputSpec{}, Out: dir, Threads: threads, Repeat: repeat, Write: write, Keep: repeat > 0}
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		in := inputs[name]
		file := filepath.Join(dir, fmt.Sprintf("in%d.npy", i))
		if err := npy.WriteFile(file, in.T); err != nil {
			return nil, dir, err
		}
		req.Inputs[name] = inputSpec{Path: file, Type: in.Type}
	}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, dir, err
	}
	if _, err := r.in.Write(append(line, '\n')); err != nil {
		return nil, dir, r.dead(err)
	}
	ans, err := r.out.ReadBytes('\n')
	if err != nil {
		return nil, dir, r.dead(err)
	}
	var rep reply
	if err := json.Unmarshal(ans, &rep); err != nil {
		return nil, dir, fmt.Errorf("ort: bad reply %q: %w", ans, err)
	}
	if rep.Error != "" {
		return nil, dir, fmt.Errorf("ort: %s: %s", filepath.Base(model), rep.Error)
	}
	return &rep, dir, nil
}

func (r *Runtime) dead(err error) error {
	return fmt.Errorf("ort: the node process stopped (%w): %s", err, strings.TrimSpace(r.stderr.String()))
}

// ---- for tests ----

var (
	shared     *Runtime
	sharedErr  error
	sharedOnce sync.Once
)

// ForTest returns a Runtime shared by the tests of one test binary. When
// ONNX Runtime is not installed it skips the test, saying how to install
// it — or fails it when the environment variable JACOBI_ORT is set (as CI
// does), so that the checks never go missing unnoticed there. The node
// process ends with the test binary.
func ForTest(t testing.TB) *Runtime {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is set but ONNX Runtime cannot run: %v", RequireEnv, sharedErr)
		}
		t.Skipf("skipping the ONNX Runtime checks: %v (set %s=1 to make this a failure)", sharedErr, RequireEnv)
	}
	return shared
}
