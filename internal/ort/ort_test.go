package ort

import (
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// TestMissing checks that a missing install is reported with the command
// that installs it.
func TestMissing(t *testing.T) {
	t.Setenv("JACOBI_ORT_DIR", t.TempDir())
	err := Available()
	if err == nil || !strings.Contains(err.Error(), "npm") {
		t.Fatalf("Available() = %v, want an error saying how to install ONNX Runtime", err)
	}
	if _, err := Start(); err == nil {
		t.Fatal("Start succeeds without ONNX Runtime")
	}
}

// TestBadModel checks that an error of ONNX Runtime comes back as an error
// naming the model, and that the runtime serves the next request.
func TestBadModel(t *testing.T) {
	rt := ForTest(t)
	x := map[string]Input{"x": {T: tensor.Zeros(2, 3)}}
	_, err := rt.Run(t.TempDir()+"/missing.onnx", x)
	if err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Fatalf("running a missing model: error %v", err)
	}
	if _, err := rt.Time(t.TempDir()+"/missing.onnx", x, 2, 3); err == nil {
		t.Fatal("timing a missing model succeeds")
	}
}
