package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestNewChecksShape(t *testing.T) {
	cases := []struct {
		shape []int
		n     int
		ok    bool
	}{
		{[]int{2, 3}, 6, true},
		{[]int{}, 1, true},
		{[]int{0, 5}, 0, true},
		{[]int{2, 3}, 5, false},
		{[]int{-1, 3}, 3, false},
		{[]int{1 << 30, 1 << 30, 1 << 30}, 0, false},
	}
	for _, c := range cases {
		_, err := New(c.shape, make([]float64, c.n))
		if (err == nil) != c.ok {
			t.Errorf("New(%v, %d values): error %v, want ok=%v", c.shape, c.n, err, c.ok)
		}
	}
}

func TestReshape(t *testing.T) {
	x := MustNew([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	y, err := x.Reshape(3, -1)
	if err != nil || !SameShape(y.Shape(), []int{3, 2}) || y.At(2, 1) != 6 {
		t.Fatalf("reshape to (3,-1): %v %v", y, err)
	}
	for _, bad := range [][]int{{4, -1}, {-1, -1}, {7}} {
		if _, err := x.Reshape(bad...); err == nil {
			t.Errorf("reshape to %v accepted", bad)
		}
	}
}

func TestCompare(t *testing.T) {
	a := MustNew([]int{3}, []float64{1, 2, 3})
	b := MustNew([]int{3}, []float64{1, 2.001, 3})
	if AllClose(a, b, 1e-4, 0) || !AllClose(a, b, 1e-3, 0) {
		t.Error("AllClose relative tolerance wrong")
	}
	if d := MaxAbsDiff(a, b); math.Abs(d-0.001) > 1e-12 {
		t.Errorf("MaxAbsDiff = %g", d)
	}
	if !math.IsInf(MaxAbsDiff(a, Zeros(2)), 1) || AllClose(a, Zeros(2), 1, 1) {
		t.Error("different shapes compare as close")
	}
	nan := MustNew([]int{1}, []float64{math.NaN()})
	if AllClose(nan, nan, 1, 1) {
		t.Error("NaN is close to NaN")
	}
}

func TestConstructors(t *testing.T) {
	e := Eye(3)
	if e.At(1, 1) != 1 || e.At(0, 1) != 0 {
		t.Error("Eye")
	}
	r1, r2 := Randn(NewRand(5), 100), Randn(NewRand(5), 100)
	if MaxAbsDiff(r1, r2) != 0 {
		t.Error("Randn not reproducible from a seed")
	}
	mean := 0.0
	for _, v := range Randn(NewRand(6), 10000).Data() {
		mean += v / 10000
	}
	if math.Abs(mean) > 0.05 {
		t.Errorf("Randn mean %g", mean)
	}
	u := Uniform(NewRand(7), -2, 3, 1000)
	for _, v := range u.Data() {
		if v < -2 || v >= 3 {
			t.Fatalf("Uniform gave %g", v)
		}
	}
}

func TestString(t *testing.T) {
	s := Zeros(2, 20).String()
	if !strings.Contains(s, "Tensor[2 20]") || !strings.Contains(s, "...") {
		t.Errorf("long rows are not elided:\n%s", s)
	}
	if s := Scalar(2.5).String(); !strings.Contains(s, "2.5") {
		t.Errorf("scalar printed as %q", s)
	}
}
