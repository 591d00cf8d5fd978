package onnx

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// maxWindows bounds the number of window slices a Conv lowers to (kernel
// positions times groups): a 7×7×7 kernel has 343.
const maxWindows = 1 << 12

// opConv lowers Conv (any number of spatial axes, strides, dilations,
// padding, groups) as one matrix product per group: the input windows
// (N, out..., kernel·C/group), gathered by strided slices of the padded
// input, times the kernel reshaped to (kernel·C/group, M/group).
func opConv(l *lowering) ([]*value, error) {
	xv, err := l.need(0)
	if err != nil {
		return nil, err
	}
	wv, err := l.need(1)
	if err != nil {
		return nil, err
	}
	x, w := xv.node(), wv.node()
	xs, ws := x.Shape(), w.Shape()
	if len(xs) < 3 || len(ws) != len(xs) {
		return nil, fmt.Errorf("needs an input (N, C, D...) and a kernel (M, C/group, k...) of the same rank, got %v and %v", xs, ws)
	}
	nsp := len(xs) - 2
	group := int(l.attrInt("group", 1))
	c, m := xs[1], ws[0]
	if group < 1 || c%group != 0 || m%group != 0 || ws[1] != c/group {
		return nil, fmt.Errorf("group %d does not fit %d input channels, a kernel of shape %v", group, c, ws)
	}
	kernel := ws[2:]
	if ks, ok := l.attrInts("kernel_shape"); ok && !slices.Equal(ks, kernel) {
		return nil, fmt.Errorf("kernel_shape %v differs from the kernel's shape %v", ks, ws)
	}
	ones := func() []int {
		s := make([]int, nsp)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	strides, dilations := ones(), ones()
	if s, ok := l.attrInts("strides"); ok {
		strides = s
	}
	if d, ok := l.attrInts("dilations"); ok {
		dilations = d
	}
	pads := make([]int, 2*nsp)
	if p, ok := l.attrInts("pads"); ok {
		pads = p
	}
	if len(strides) != nsp || len(dilations) != nsp || len(pads) != 2*nsp {
		return nil, fmt.Errorf("strides %v, dilations %v, pads %v do not fit %d spatial axes", strides, dilations, pads, nsp)
	}
	autoPad := "NOTSET"
	if a, ok := l.node.Attrs["auto_pad"]; ok && a.Type == "string" {
		autoPad = a.String
	}
	outs := make([]int, nsp)
	for i := range nsp {
		in, k, s, d := xs[2+i], kernel[i], strides[i], dilations[i]
		if s < 1 || d < 1 || pads[i] < 0 || pads[nsp+i] < 0 {
			return nil, fmt.Errorf("strides %v, dilations %v, pads %v: need positive strides and dilations, pads of at least 0", strides, dilations, pads)
		}
		span := (k-1)*d + 1
		switch autoPad {
		case "NOTSET":
		case "VALID":
			pads[i], pads[nsp+i] = 0, 0
		case "SAME_UPPER", "SAME_LOWER":
			total := max(0, ((in+s-1)/s-1)*s+span-in)
			lo := total / 2
			if autoPad == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[i], pads[nsp+i] = lo, total-lo
		default:
			return nil, fmt.Errorf("auto_pad %q is not supported", autoPad)
		}
		outs[i] = (in+pads[i]+pads[nsp+i]-span)/s + 1
		if outs[i] < 1 {
			return nil, fmt.Errorf("the kernel %v (dilations %v) does not fit the input %v padded by %v", kernel, dilations, xs, pads)
		}
	}
	// Zero padding, and at the end enough more that every strided window
	// slice below has its full length.
	padded := slices.Clone(xs)
	ends := make([]int, nsp)
	for i := range nsp {
		n := xs[2+i]
		ends[i] = pads[nsp+i] + max(0, (kernel[i]-1)*dilations[i]+outs[i]*strides[i]-(n+pads[i]+pads[nsp+i]))
		padded[2+i] = n + pads[i] + ends[i]
		if padded[2+i] > maxFolded {
			return nil, fmt.Errorf("the input %v padded by %v for kernel %v, strides %v, dilations %v is too large", xs, pads, kernel, strides, dilations)
		}
	}
	if tensor.Size(padded) > maxFolded || tensor.Size(kernel)*group > maxWindows || xs[0]*tensor.Size(outs)*c*tensor.Size(kernel) > maxFolded {
		return nil, fmt.Errorf("the windows of input %v under kernel %v are too large", xs, ws)
	}
	for i := range nsp {
		x = padZeros(x, 2+i, pads[i], ends[i])
	}
	// The windows, kernel position by kernel position: (N, C, out...)
	// moved to (N, out..., C).
	toLast := []int{0}
	for i := range nsp {
		toLast = append(toLast, 2+i)
	}
	toLast = append(toLast, 1)
	var windows []*jacobi.Node
	pos := make([]int, nsp)
	for {
		p := x
		for i := range nsp {
			p = stridedSlice(p, 2+i, pos[i]*dilations[i], outs[i], strides[i])
		}
		windows = append(windows, p.Transpose(toLast...))
		i := nsp - 1
		for ; i >= 0; i-- {
			if pos[i]++; pos[i] < kernel[i] {
				break
			}
			pos[i] = 0
		}
		if i < 0 {
			break
		}
	}
	cg, mg := c/group, m/group
	kc := len(windows) * cg
	// The kernel of each group as (k..., C/group, M/group) -> (k·C/group, M/group),
	// the same order as the windows' channels.
	wperm := []int{}
	for i := range nsp {
		wperm = append(wperm, 2+i)
	}
	wperm = append(wperm, 1, 0)
	var ys []*jacobi.Node
	for g := range group {
		var parts []*jacobi.Node
		for _, win := range windows {
			parts = append(parts, win.Slice(1+nsp, g*cg, (g+1)*cg))
		}
		cols := jacobi.Concat(1+nsp, parts...)
		wg := w.Slice(0, g*mg, (g+1)*mg).Transpose(wperm...).Reshape(kc, mg)
		ys = append(ys, cols.MatMul(wg))
	}
	y := jacobi.Concat(1+nsp, ys...) // (N, out..., M)
	back := []int{0, 1 + nsp}
	for i := range nsp {
		back = append(back, 1+i)
	}
	y = y.Transpose(back...) // (N, M, out...)
	if bv := l.in(2); bv != nil {
		bs := make([]int, 1+nsp)
		for i := range bs {
			bs[i] = 1
		}
		bs[0] = m
		y = y.Add(bv.node().Reshape(bs...))
	}
	return nodeOut(y), y.Err()
}

// padZeros pads axis a of x with lo zeros before and hi after.
func padZeros(x *jacobi.Node, a, lo, hi int) *jacobi.Node {
	if lo == 0 && hi == 0 {
		return x
	}
	zeros := func(n int) *jacobi.Node {
		s := slices.Clone(x.Shape())
		s[a] = n
		return jacobi.Const(tensor.Zeros(s...))
	}
	parts := []*jacobi.Node{x}
	if lo > 0 {
		parts = append([]*jacobi.Node{zeros(lo)}, parts...)
	}
	if hi > 0 {
		parts = append(parts, zeros(hi))
	}
	return jacobi.Concat(a, parts...)
}

// stridedSlice takes n elements of axis a, every step-th from start (the
// axis must hold start + n·step of them): a slice, then a reshape that
// puts each step in its own row, then the first column.
func stridedSlice(x *jacobi.Node, a, start, n, step int) *jacobi.Node {
	x = x.Slice(a, start, start+n*step)
	if step == 1 {
		return x
	}
	s := x.Shape()
	split := slices.Concat(s[:a], []int{n, step}, s[a+1:])
	return x.Reshape(split...).Slice(a+1, 0, 1).Reshape(slices.Concat(s[:a], []int{n}, s[a+1:])...)
}
