package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/examples/internal/pinn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// TestRunTrains runs the command on a small problem, checks the files it
// writes and that the loss fell.
func TestRunTrains(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	d := 3
	pts := tensor.Full(0.25, 4, d)
	if err := pinn.WriteNpy(p("pts.npy"), pts); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--nf", "300", "--nb", "100", "--adam", "30", "--lbfgs", "20", "--quiet",
		"--png", p("a.png"), "--loss-csv", p("loss.csv"),
		"--eval-points", p("pts.npy"), "--eval-output", p("u.npy"), "--dim", "3", "--width", "16"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(p("a.png")); err != nil || st.Size() == 0 {
		t.Errorf("picture: %v", err)
	}
	u, err := pinn.ReadNpy(p("u.npy"))
	if err != nil || !tensor.SameShape(u.Shape(), []int{4, 1}) {
		t.Fatalf("eval output %v, %v", u, err)
	}
	csv, _ := os.ReadFile(p("loss.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	loss := func(line string) float64 {
		v, err := strconv.ParseFloat(strings.Split(line, ",")[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if first, last := loss(lines[1]), loss(lines[len(lines)-1]); !(last < first/5) {
		t.Errorf("loss %v → %v", first, last)
	}
}
