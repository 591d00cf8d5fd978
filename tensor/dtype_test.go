package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestDTypeNames(t *testing.T) {
	for _, c := range []struct {
		d           DType
		name, short string
		size        int
		eps         float64
	}{
		{Float64, "float64", "f64", 8, math.Nextafter(1, 2) - 1},
		{Float32, "float32", "f32", 4, float64(math.Nextafter32(1, 2) - 1)},
	} {
		if c.d.String() != c.name || c.d.Short() != c.short || c.d.Size() != c.size || c.d.Epsilon() != c.eps || !c.d.Valid() {
			t.Errorf("%v: got %q %q %d %g", c.name, c.d.String(), c.d.Short(), c.d.Size(), c.d.Epsilon())
		}
		if d, err := ParseDType(c.name); err != nil || d != c.d {
			t.Errorf("ParseDType(%q) = %v, %v", c.name, d, err)
		}
	}
	if _, err := ParseDType("int8"); err == nil {
		t.Error("ParseDType(int8) did not fail")
	}
	if DType(7).Valid() {
		t.Error("DType(7) is valid")
	}
}

func TestFloat32Tensor(t *testing.T) {
	x := MustNew32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	if x.DType() != Float32 || x.Len() != 6 || x.At(1, 2) != 6 {
		t.Fatalf("got %v", x)
	}
	x.Set(0.1, 0, 0)
	if x.Data32()[0] != float32(0.1) {
		t.Errorf("Set rounds to float32: got %v", x.Data32()[0])
	}
	y := x.Convert(Float64)
	if y.DType() != Float64 || y.Data()[0] != float64(float32(0.1)) || x.Convert(Float32) != x {
		t.Errorf("Convert: got %v", y)
	}
	if z := y.Convert(Float32); MaxAbsDiff(z, x) != 0 || z.DType() != Float32 {
		t.Errorf("round trip: %v", z)
	}
	r, err := x.Reshape(3, -1)
	if err != nil || r.DType() != Float32 || &r.Data32()[0] != &x.Data32()[0] {
		t.Errorf("Reshape shares float32 data: %v %v", r, err)
	}
	c := x.Clone()
	c.Data32()[1] = 9
	if x.Data32()[1] == 9 {
		t.Error("Clone shares data")
	}
	s, err := Add(x, x)
	if err != nil || s.DType() != Float32 || s.Data32()[3] != 8 {
		t.Errorf("Add: %v %v", s, err)
	}
	if _, err := Add(x, y); err == nil || !strings.Contains(err.Error(), "float32 and float64") {
		t.Errorf("Add of mixed dtypes: %v", err)
	}
	if _, err := Concat(0, x, y); err == nil {
		t.Error("Concat of mixed dtypes did not fail")
	}
	st, err := Stack(0, x, x)
	if err != nil || st.DType() != Float32 || !SameShape(st.Shape(), []int{2, 2, 3}) {
		t.Errorf("Stack: %v %v", st, err)
	}
	if !strings.Contains(x.String(), "float32") {
		t.Errorf("String does not say float32: %s", x)
	}
	if m := x.Map(math.Sqrt); m.DType() != Float32 || m.Data32()[3] != 2 {
		t.Errorf("Map: %v", m)
	}
	if ZerosOf(Float32, 2).DType() != Float32 || FullOf(Float32, 0.5, 3).Data32()[2] != 0.5 || ScalarOf(Float32, 2).Rank() != 0 {
		t.Error("ZerosOf/FullOf/ScalarOf")
	}
	if _, err := New32([]int{2}, []float32{1}); err == nil {
		t.Error("New32 with too little data did not fail")
	}
}

func TestDataOfWrongDTypePanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Data of float32", func() { MustNew32([]int{1}, []float32{1}).Data() }},
		{"Data32 of float64", func() { Scalar(1).Data32() }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", c.name)
				}
			}()
			c.f()
		}()
	}
}
