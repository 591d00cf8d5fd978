package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/examples/internal/pinn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// TestRunWritesOutputs runs the command on a tiny problem and checks
// every file it promises.
func TestRunWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	pts := tensor.MustNew([]int{3, 2}, []float64{0, -0.5, 0, 0.5, 0.5, 1})
	if err := pinn.WriteNpy(p("pts.npy"), pts); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--nf", "200", "--adam", "3", "--lbfgs", "3", "--quiet",
		"--png", p("b.png"), "--loss-csv", p("loss.csv"), "--save", p("m.safetensors"),
		"--eval-points", p("pts.npy"), "--eval-output", p("u.npy")})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"b.png", "loss.csv", "m.safetensors"} {
		if st, err := os.Stat(p(f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	u, err := pinn.ReadNpy(p("u.npy"))
	if err != nil || !tensor.SameShape(u.Shape(), []int{3, 1}) {
		t.Fatalf("eval output %v, %v", u, err)
	}
	csv, _ := os.ReadFile(p("loss.csv"))
	if n := strings.Count(string(csv), "\n"); n < 5 {
		t.Errorf("loss history of %d lines", n)
	}
	// Training again from the saved network starts where it ended.
	if err := run([]string{"--nf", "200", "--lbfgs", "1", "--quiet", "--png", "", "--loss-csv", "", "--init", p("m.safetensors")}); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--form", "nope"}); err == nil {
		t.Error("an unknown form accepted")
	}
}
