package tensor

import (
	"fmt"
	"math"
	"testing"
)

func TestLinspace(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 5, []float64{0, 0.25, 0.5, 0.75, 1}},
		{-1, 1, 3, []float64{-1, 0, 1}},
		{2, 2, 1, []float64{2}},
		{1, -1, 2, []float64{1, -1}},
	}
	for _, c := range cases {
		got, err := Linspace(c.lo, c.hi, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if !AllClose(got, MustNew([]int{len(c.want)}, c.want), 0, 1e-15) {
			t.Errorf("Linspace(%g, %g, %d) = %v, want %v", c.lo, c.hi, c.n, got.Data(), c.want)
		}
	}
	// The last point is hi exactly, whatever the rounding of the step.
	x, _ := Linspace(0, 0.99, 100)
	if x.Data()[99] != 0.99 {
		t.Errorf("last point %v, want 0.99 exactly", x.Data()[99])
	}
	for _, bad := range []struct {
		lo, hi float64
		n      int
	}{{0, 1, 0}, {math.NaN(), 1, 3}, {0, math.Inf(1), 3}} {
		if _, err := Linspace(bad.lo, bad.hi, bad.n); err == nil {
			t.Errorf("Linspace(%g, %g, %d) accepted", bad.lo, bad.hi, bad.n)
		}
	}
}

func TestMeshgridAndGridPoints(t *testing.T) {
	a := MustNew([]int{2}, []float64{1, 2})
	b := MustNew([]int{3}, []float64{10, 20, 30})
	g, err := Meshgrid(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			if g[0].At(i, j) != a.At(i) || g[1].At(i, j) != b.At(j) {
				t.Fatalf("meshgrid at (%d,%d): %v %v", i, j, g[0].At(i, j), g[1].At(i, j))
			}
		}
	}
	p, err := GridPoints(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 10, 1, 20, 1, 30, 2, 10, 2, 20, 2, 30}
	if !SameShape(p.Shape(), []int{6, 2}) || !AllClose(p, MustNew([]int{6, 2}, want), 0, 0) {
		t.Errorf("GridPoints = %v", p)
	}
	if _, err := Meshgrid(a, Zeros(2, 2)); err == nil {
		t.Error("Meshgrid of a matrix accepted")
	}
}

func TestStackConcatColumn(t *testing.T) {
	x := MustNew([]int{3}, []float64{1, 2, 3})
	y := MustNew([]int{3}, []float64{4, 5, 6})
	cases := []struct {
		axis  int
		shape []int
		data  []float64
	}{
		{0, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}},
		{1, []int{3, 2}, []float64{1, 4, 2, 5, 3, 6}},
		{-1, []int{3, 2}, []float64{1, 4, 2, 5, 3, 6}},
	}
	for _, c := range cases {
		s, err := Stack(c.axis, x, y)
		if err != nil {
			t.Fatal(err)
		}
		if !AllClose(s, MustNew(c.shape, c.data), 0, 0) {
			t.Errorf("Stack(%d) = %v", c.axis, s)
		}
	}
	s, _ := Stack(1, x, y)
	for j, want := range []*Tensor{x, y} {
		col, err := s.Column(j)
		if err != nil || !AllClose(col, want, 0, 0) {
			t.Errorf("column %d = %v, %v", j, col, err)
		}
	}
	if _, err := s.Column(2); err == nil {
		t.Error("column 2 of a 2-column matrix accepted")
	}
	if _, err := Stack(0, x, Zeros(2)); err == nil {
		t.Error("stacking different shapes accepted")
	}
	c, err := Concat(0, Zeros(1, 2), Ones(2, 2))
	if err != nil || !AllClose(c, MustNew([]int{3, 2}, []float64{0, 0, 1, 1, 1, 1}), 0, 0) {
		t.Errorf("Concat = %v, %v", c, err)
	}
	if _, err := Concat(0, Zeros(1, 2), Ones(2, 3)); err == nil {
		t.Error("concatenating (1,2) and (2,3) along 0 accepted")
	}
}

func TestSqueezeUnsqueeze(t *testing.T) {
	x := Zeros(3, 1, 2, 1)
	cases := []struct {
		axes []int
		want []int
		ok   bool
	}{
		{nil, []int{3, 2}, true},
		{[]int{1}, []int{3, 2, 1}, true},
		{[]int{-1}, []int{3, 1, 2}, true},
		{[]int{0}, nil, false},
		{[]int{4}, nil, false},
	}
	for _, c := range cases {
		got, err := x.Squeeze(c.axes...)
		if (err == nil) != c.ok {
			t.Errorf("Squeeze(%v): error %v, want ok=%v", c.axes, err, c.ok)
			continue
		}
		if c.ok && !SameShape(got.Shape(), c.want) {
			t.Errorf("Squeeze(%v) shape %v, want %v", c.axes, got.Shape(), c.want)
		}
	}
	u, err := Zeros(3).Unsqueeze(-1)
	if err != nil || !SameShape(u.Shape(), []int{3, 1}) {
		t.Errorf("Unsqueeze(-1): %v %v", u.Shape(), err)
	}
}

func TestArithmeticBroadcasts(t *testing.T) {
	a := MustNew([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	row := MustNew([]int{3}, []float64{10, 20, 30})
	col := MustNew([]int{2, 1}, []float64{100, 200})
	cases := []struct {
		name string
		f    func(a, b *Tensor) (*Tensor, error)
		x, y *Tensor
		want []float64
	}{
		{"add same", Add, a, a, []float64{2, 4, 6, 8, 10, 12}},
		{"add row", Add, a, row, []float64{11, 22, 33, 14, 25, 36}},
		{"sub col", Sub, a, col, []float64{-99, -98, -97, -196, -195, -194}},
		{"mul scalar", Mul, Scalar(2), a, []float64{2, 4, 6, 8, 10, 12}},
		{"div row", Div, a, row, []float64{0.1, 0.1, 0.1, 0.4, 0.25, 0.2}},
	}
	for _, c := range cases {
		got, err := c.f(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !AllClose(got, MustNew([]int{2, 3}, c.want), 1e-15, 0) {
			t.Errorf("%s = %v, want %v", c.name, got.Data(), c.want)
		}
	}
	if _, err := Add(a, Zeros(2)); err == nil {
		t.Error("adding (2,3) and (2) accepted")
	}
}

func TestReductionsAndRelErr(t *testing.T) {
	x := MustNew([]int{2, 2}, []float64{3, -4, 0, 0})
	if x.Norm() != 5 || x.Sum() != -1 || x.Mean() != -0.25 || x.MaxAbs() != 4 {
		t.Errorf("norm %v sum %v mean %v maxabs %v", x.Norm(), x.Sum(), x.Mean(), x.MaxAbs())
	}
	huge := MustNew([]int{2}, []float64{3e300, 4e300})
	if got := huge.Norm(); math.Abs(got-5e300) > 1e286 {
		t.Errorf("norm of huge values %v, want 5e300", got)
	}
	want := MustNew([]int{3}, []float64{3, 0, 4})
	got := MustNew([]int{3, 1}, []float64{3, 0.5, 4})
	e, err := RelErr(got, want)
	if err != nil || math.Abs(e-0.1) > 1e-16 {
		t.Errorf("RelErr = %v, %v; want 0.1", e, err)
	}
	if _, err := RelErr(Zeros(2), want); err == nil {
		t.Error("RelErr of different sizes accepted")
	}
}

func ExampleGridPoints() {
	t, _ := Linspace(0, 1, 2)
	x, _ := Linspace(-1, 1, 3)
	p, _ := GridPoints(t, x) // rows (t, x), x fastest
	fmt.Println(p.Shape(), p.Data())
	// Output:
	// [6 2] [0 -1 0 0 0 1 1 -1 1 0 1 1]
}
