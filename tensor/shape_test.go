package tensor

import (
	"slices"
	"testing"
)

func TestSizeAndStrides(t *testing.T) {
	for _, c := range []struct {
		shape   []int
		size    int
		strides []int
	}{
		{[]int{}, 1, []int{}},
		{[]int{5}, 5, []int{1}},
		{[]int{2, 3, 4}, 24, []int{12, 4, 1}},
		{[]int{3, 0, 2}, 0, []int{0, 2, 1}},
	} {
		if got := Size(c.shape); got != c.size {
			t.Errorf("Size(%v) = %d, want %d", c.shape, got, c.size)
		}
		if got := Strides(c.shape); !slices.Equal(got, c.strides) {
			t.Errorf("Strides(%v) = %v, want %v", c.shape, got, c.strides)
		}
	}
	// The strides address every element of a tensor exactly once, in order.
	x := Randn(NewRand(1), 2, 3, 4)
	st := Strides(x.Shape())
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				if got := x.Data()[i*st[0]+j*st[1]+k*st[2]]; got != x.At(i, j, k) {
					t.Fatalf("element (%d,%d,%d) by strides is %v, At says %v", i, j, k, got, x.At(i, j, k))
				}
			}
		}
	}
}

func TestBroadcastShapes(t *testing.T) {
	for _, c := range []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{3, 1}, []int{4}, []int{3, 4}, true},
		{[]int{}, []int{2, 3}, []int{2, 3}, true},
		{[]int{2, 1, 5}, []int{7, 1}, []int{2, 7, 5}, true},
		{[]int{3}, []int{4}, nil, false},
		{[]int{2, 3}, []int{3, 3}, nil, false},
	} {
		got, err := BroadcastShapes(c.a, c.b)
		if (err == nil) != c.ok || c.ok && !slices.Equal(got, c.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v (ok %v)", c.a, c.b, got, err, c.want, c.ok)
		}
		back, err2 := BroadcastShapes(c.b, c.a)
		if (err2 == nil) != (err == nil) || !slices.Equal(back, got) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, but the other order gives %v", c.a, c.b, got, back)
		}
	}
}

func TestRemoveInsertAxis(t *testing.T) {
	s := []int{2, 3, 4}
	for axis := range 3 {
		w := RemoveAxis(s, axis)
		if len(w) != 2 || Size(w)*s[axis] != Size(s) {
			t.Errorf("RemoveAxis(%v, %d) = %v", s, axis, w)
		}
		if back := InsertAxis(w, axis, s[axis]); !SameShape(back, s) {
			t.Errorf("InsertAxis(RemoveAxis(%v, %d)) = %v", s, axis, back)
		}
	}
	if !slices.Equal(s, []int{2, 3, 4}) {
		t.Errorf("the argument was modified: %v", s)
	}
}
