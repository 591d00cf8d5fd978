package pinn

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

func TestPanelsWritesAPicture(t *testing.T) {
	xs, _ := tensor.Linspace(0, 1, 30)
	ys, _ := tensor.Linspace(-1, 1, 20)
	v := make([]float64, 600)
	for i := range v {
		v[i] = math.Sin(float64(i))
	}
	path := filepath.Join(t.TempDir(), "p.png")
	if err := Panels(path, "x", "y", xs.Data(), ys.Data(), []Field{{Title: "a", Values: v}, {Title: "err", Values: v, Error: true}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() <= b.Dy() {
		t.Errorf("two panels side by side should be wider than tall: %v", b)
	}
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "p.npy"), filepath.Join(dir, "u.npy")
	pts := tensor.MustNew([]int{3, 2}, []float64{1, 2, 3, 4, 5, 6})
	if err := WriteNpy(in, pts); err != nil {
		t.Fatal(err)
	}
	sum := func(x *jacobi.Node) *jacobi.Node { return x.SumKeep(1) }
	if err := Evaluate(sum, 2, in, out); err != nil {
		t.Fatal(err)
	}
	u, err := ReadNpy(out)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.AllClose(u, tensor.MustNew([]int{3, 1}, []float64{3, 7, 11}), 0, 0) {
		t.Errorf("values %v", u)
	}
	if err := Evaluate(sum, 3, in, out); err == nil || !strings.Contains(err.Error(), "want (N, 3)") {
		t.Errorf("wrong dimension: %v", err)
	}
	f := Flags{EvalPoints: in}
	if f.Check() == nil {
		t.Error("--eval-points without --eval-output accepted")
	}
}
