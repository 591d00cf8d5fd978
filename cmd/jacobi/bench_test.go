package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/kernels"
)

func TestBenchJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"bench", "--only", "seed_tiny", "--budget", "20ms", "--json", "--quiet"}, &out, &errb, false)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	methods := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r struct {
			Case    string  `json:"case"`
			Method  string  `json:"method"`
			Seconds float64 `json:"seconds"`
			GFLOPs  float64 `json:"gflops"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if r.Case != "seed_tiny" || !(r.Seconds > 0) {
			t.Fatalf("bad result %+v", r)
		}
		methods[r.Method] = true
	}
	for _, m := range []string{"jacobi", "forward", "reverse", "naive", "loop"} {
		if !methods[m] {
			t.Errorf("method %s missing from %v", m, methods)
		}
	}
	// The table says where it was measured: the CPU, the kernels, the
	// DGEMM rate its "of GEMM" column is read against (float64 cases).
	out.Reset()
	if code := run([]string{"bench", "--only", "seed_tiny", "--budget", "20ms", "--quiet"}, &out, &errb, false); code != 0 {
		t.Fatalf("table: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"CPU: ", "kernels: " + kernels.Path(), "DGEMM 1024×1024×1024: ", "of GEMM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if code := run([]string{"bench", "--cases", "/nonexistent.json"}, &out, &errb, false); code != 1 {
		t.Errorf("a missing cases file gave exit %d", code)
	}
	// In float32: the case renamed, the lines and the table say so.
	out.Reset()
	if code := run([]string{"bench", "--dtype", "float32", "--only", "seed_tiny_f32", "--methods", "forward", "--budget", "20ms", "--json", "--quiet"}, &out, &errb, false); code != 0 {
		t.Fatalf("float32: exit %d: %s", code, errb.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.Contains(line, `"case":"seed_tiny_f32"`) || !strings.Contains(line, `"dtype":"float32"`) {
			t.Errorf("float32 line %q", line)
		}
	}
	out.Reset()
	if code := run([]string{"bench", "--dtype", "float32", "--only", "seed_tiny_f32", "--methods", "none", "--budget", "20ms", "--quiet"}, &out, &errb, false); code != 0 || !strings.Contains(out.String(), "SGEMM 1024×1024×1024: ") {
		t.Errorf("float32 table: exit %d:\n%s", code, out.String())
	}
	if code := run([]string{"bench", "--dtype", "float16"}, &out, &errb, false); code != 2 {
		t.Errorf("--dtype float16 gave exit %d", code)
	}
}
