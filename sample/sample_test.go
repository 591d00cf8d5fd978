package sample

import (
	"fmt"
	"math"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

var box = Box{Lo: []float64{0, -1, 2}, Hi: []float64{1, 1, 2.5}}

func inBox(t *testing.T, name string, p *tensor.Tensor, b Box) {
	t.Helper()
	d := b.Dim()
	for i := 0; i < p.Shape()[0]; i++ {
		for j := 0; j < d; j++ {
			if v := p.At(i, j); v < b.Lo[j] || v > b.Hi[j] {
				t.Fatalf("%s: point %d coordinate %d = %v outside [%v, %v]", name, i, j, v, b.Lo[j], b.Hi[j])
			}
		}
	}
}

func TestInteriorBoundsAndSeeds(t *testing.T) {
	for _, m := range []Method{Uniform, LatinHypercube, Halton} {
		p, err := box.Interior(m, 500, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(p.Shape(), []int{500, 3}) {
			t.Fatalf("%v: shape %v", m, p.Shape())
		}
		inBox(t, m.String(), p, box)
		again, _ := box.Interior(m, 500, 1)
		other, _ := box.Interior(m, 500, 2)
		if tensor.MaxAbsDiff(p, again) != 0 {
			t.Errorf("%v: the same seed gave different points", m)
		}
		if tensor.MaxAbsDiff(p, other) == 0 {
			t.Errorf("%v: different seeds gave the same points", m)
		}
		// Every axis's mean is its midpoint, within 5 standard errors of
		// a uniform draw (LHS and Halton do far better).
		for j := 0; j < 3; j++ {
			col, _ := p.Column(j)
			mid, w := (box.Lo[j]+box.Hi[j])/2, box.Hi[j]-box.Lo[j]
			if se := w / math.Sqrt(12*500); math.Abs(col.Mean()-mid) > 5*se {
				t.Errorf("%v: axis %d mean %v, want %v ± %v", m, j, col.Mean(), mid, 5*se)
			}
		}
		if m, err := ParseMethod(m.String()); err != nil || m.String() == "" {
			t.Errorf("ParseMethod: %v", err)
		}
	}
}

// TestLatinHypercubeStratifies checks the defining property: on every axis,
// each of the n equal strata holds exactly one of the n points.
func TestLatinHypercubeStratifies(t *testing.T) {
	for _, n := range []int{1, 7, 100, 1000} {
		p, err := box.Interior(LatinHypercube, n, uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			seen := make([]int, n)
			for i := 0; i < n; i++ {
				u := (p.At(i, j) - box.Lo[j]) / (box.Hi[j] - box.Lo[j])
				seen[min(int(u*float64(n)), n-1)]++
			}
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("n=%d axis %d: stratum %d holds %d points", n, j, k, c)
				}
			}
		}
	}
}

// TestHaltonCovers checks that the scrambled Halton points fill the unit
// square evenly: 1024 points in an 8×8 grid of cells give every cell close
// to its 16 (uniform random points leave some cells with 6 or fewer).
func TestHaltonCovers(t *testing.T) {
	unitSq := Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}
	worst := func(m Method) int {
		p, _ := unitSq.Interior(m, 1024, 3)
		var cells [64]int
		for i := 0; i < 1024; i++ {
			cells[min(int(p.At(i, 0)*8), 7)*8+min(int(p.At(i, 1)*8), 7)]++
		}
		w := 0
		for _, c := range cells {
			w = max(w, abs(c-16))
		}
		return w
	}
	if w := worst(Halton); w > 3 {
		t.Errorf("Halton: a cell is %d points off its 16", w)
	}
	if w := worst(LatinHypercube); w > 12 {
		t.Errorf("LHS: a cell is %d points off its 16", w)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestOnFaces(t *testing.T) {
	// A space-time box (t, x) ∈ [0, 1] × [−1, 1]: the initial slice t = 0
	// has length 2, each boundary x = ±1 length 1, so 100 points split
	// 50/25/25.
	st := Box{Lo: []float64{0, -1}, Hi: []float64{1, 1}}
	faces := []Face{{0, false}, {1, false}, {1, true}}
	for _, m := range []Method{Uniform, LatinHypercube, Halton} {
		p, err := st.OnFaces(m, 100, 5, faces...)
		if err != nil {
			t.Fatal(err)
		}
		inBox(t, m.String(), p, st)
		for i := 0; i < 100; i++ {
			tt, x := p.At(i, 0), p.At(i, 1)
			var ok bool
			switch {
			case i < 50:
				ok = tt == 0
			case i < 75:
				ok = x == -1
			default:
				ok = x == 1
			}
			if !ok {
				t.Fatalf("%v: point %d (%v, %v) is not on its face", m, i, tt, x)
			}
		}
		// On the initial slice, x is spread over [−1, 1].
		lo, hi := 1.0, -1.0
		for i := 0; i < 50; i++ {
			lo, hi = math.Min(lo, p.At(i, 1)), math.Max(hi, p.At(i, 1))
		}
		reach := 0.9 // LHS and Halton spread 50 points to within 1/25 of the ends
		if m == Uniform {
			reach = 0.7 // (0.85)^50: a one-in-3000 chance of failing for a given seed
		}
		if lo > -reach || hi < reach {
			t.Errorf("%v: initial points span only [%v, %v]", m, lo, hi)
		}
	}
	// All faces of the 3-d box: areas 1, 1, 0.5, 0.5, 2, 2 (axis 0 faces
	// span 2×0.5, axis 1 faces 1×0.5, axis 2 faces 1×2).
	p, err := box.OnFaces(LatinHypercube, 140, 1)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Face]int{}
	for i := 0; i < 140; i++ {
		for j := 0; j < 3; j++ {
			if p.At(i, j) == box.Lo[j] {
				counts[Face{j, false}]++
			} else if p.At(i, j) == box.Hi[j] {
				counts[Face{j, true}]++
			}
		}
	}
	want := map[Face]int{{0, false}: 20, {0, true}: 20, {1, false}: 10, {1, true}: 10, {2, false}: 40, {2, true}: 40}
	for f, c := range want {
		if counts[f] != c {
			t.Errorf("face %v holds %d points, want %d", f, counts[f], c)
		}
	}
	for _, bad := range []func() error{
		func() error { _, err := box.OnFaces(Uniform, 10, 0, Face{3, false}); return err },
		func() error { _, err := (Box{Lo: []float64{1}, Hi: []float64{0}}).Interior(Uniform, 3, 0); return err },
		func() error { _, err := box.Interior(Method(7), 3, 0); return err },
		func() error { _, err := box.Interior(Uniform, -1, 0); return err },
		func() error { _, err := NewBox([]float64{0}, []float64{1, 2}); return err },
	} {
		if bad() == nil {
			t.Error("bad input accepted")
		}
	}
}

func TestApportion(t *testing.T) {
	cases := []struct {
		n    int
		w    []float64
		want []int
	}{
		{100, []float64{2, 1, 1}, []int{50, 25, 25}},
		{10, []float64{1, 1, 1}, []int{4, 3, 3}},
		{1, []float64{1, 1}, []int{1, 0}},
		{0, []float64{1, 3}, []int{0, 0}},
	}
	for _, c := range cases {
		total := 0.0
		for _, v := range c.w {
			total += v
		}
		got := apportion(c.n, c.w, total)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", c.n, c.w, got, c.want)
		}
	}
}

func ExampleBox_Interior() {
	// Raissi et al.'s Burgers collocation points: 10 000 Latin-hypercube
	// points in (t, x) ∈ [0, 1] × [−1, 1], and 100 points on the initial
	// slice and the two boundaries.
	domain := Box{Lo: []float64{0, -1}, Hi: []float64{1, 1}}
	xf, _ := domain.Interior(LatinHypercube, 10000, 1234)
	xu, _ := domain.OnFaces(LatinHypercube, 100, 1234, Face{Axis: 0}, Face{Axis: 1}, Face{Axis: 1, High: true})
	fmt.Println(xf.Shape(), xu.Shape(), xu.At(0, 0), xu.At(99, 1))
	// Output:
	// [10000 2] [100 2] 0 1
}
