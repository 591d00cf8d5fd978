package exec

import "testing"

// gatherRun copies what a layout describes, whatever its strides: plain,
// a row repeated (doubled copies), a broadcast scalar, transposed.
func TestGatherRun(t *testing.T) {
	src := make([]float64, 400)
	for i := range src {
		src[i] = float64(i)
	}
	for _, c := range []struct{ shape, strides []int }{
		{[]int{3, 5, 7}, []int{35, 7, 1}},
		{[]int{3, 5, 7}, []int{7, 0, 1}},
		{[]int{4, 8, 64}, []int{64, 0, 1}},
		{[]int{2, 3, 1}, []int{1, 0, 1}},
		{[]int{3, 5, 7}, []int{7, 0, 0}},
		{[]int{3, 5, 7}, []int{35, 1, 5}},
		{[]int{6, 9}, []int{1, 6}},
	} {
		g := gather{shape: c.shape, strides: c.strides, off: 3}
		n := 1
		for _, d := range c.shape {
			n *= d
		}
		out := make([]float64, n)
		gatherRun(g, out, src)
		idx := make([]int, len(c.shape))
		for i := range out {
			at := g.off
			for d := range idx {
				at += idx[d] * c.strides[d]
			}
			if out[i] != src[at] {
				t.Fatalf("shape %v strides %v: element %d (index %v) = %v, want %v", c.shape, c.strides, i, idx, out[i], src[at])
			}
			for d := len(idx) - 1; d >= 0; d-- {
				if idx[d]++; idx[d] < c.shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
}
