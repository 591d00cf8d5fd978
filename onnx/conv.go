package onnx

import (
	"fmt"
	"math"
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
	geom, err := l.windowing(xs, kernel, group)
	if err != nil {
		return nil, err
	}
	// The windows, kernel position by kernel position: (N, C, out...)
	// moved to (N, out..., C).
	toLast := []int{0}
	for i := range nsp {
		toLast = append(toLast, 2+i)
	}
	toLast = append(toLast, 1)
	var windows []*jacobi.Node
	for _, win := range geom.windows(x, 0) {
		windows = append(windows, win.Transpose(toLast...))
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

// opPool lowers AveragePool and MaxPool: the mean or the maximum of the
// windows of each channel. An average leaves the padding out of its count
// unless count_include_pad is set; a maximum never picks the padding.
func opPool(l *lowering, maxPool bool) ([]*value, error) {
	if len(l.node.Outputs) > 1 && l.node.Outputs[1] != "" {
		return nil, fmt.Errorf("the Indices output is not supported")
	}
	x, xs, err := l.spatialInput()
	if err != nil {
		return nil, err
	}
	kernel, ok := l.attrInts("kernel_shape")
	if !ok {
		return nil, fmt.Errorf("the kernel_shape attribute is missing")
	}
	geom, err := l.windowing(xs, kernel, 1)
	if err != nil {
		return nil, err
	}
	if maxPool {
		// The padding is the most negative number, never a window's
		// maximum (a window holds at least one input element).
		ws := geom.windows(x, -math.MaxFloat64)
		y := ws[0]
		for _, w := range ws[1:] {
			y = jacobi.Maximum(y, w)
		}
		return nodeOut(y), y.Err()
	}
	sum := func(ws []*jacobi.Node) *jacobi.Node {
		y := ws[0]
		for _, w := range ws[1:] {
			y = y.Add(w)
		}
		return y
	}
	y := sum(geom.windows(x, 0))
	if l.attrInt("count_include_pad", 0) != 0 {
		return nodeOut(y.Scale(1 / float64(tensor.Size(kernel)))), y.Err()
	}
	// The count of input elements in each window: the same windows of a
	// constant one-channel image of ones, padded with zeros.
	ones := slices.Clone(xs)
	ones[0], ones[1] = 1, 1
	counts, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node { return sum(geom.windows(x, 0)) }, tensor.Full(1, ones...))
	if err != nil {
		return nil, err
	}
	return nodeOut(y.Div(jacobi.WeakConst(counts))), y.Err()
}

// spatialInput returns the node's first input, which must be (N, C, D...).
func (l *lowering) spatialInput() (*jacobi.Node, []int, error) {
	xv, err := l.need(0)
	if err != nil {
		return nil, nil, err
	}
	x := xv.node()
	if xs := x.Shape(); len(xs) < 3 {
		return nil, nil, fmt.Errorf("needs an input (N, C, D...), got shape %v", xs)
	}
	return x, x.Shape(), nil
}

// opGlobalPool lowers GlobalAveragePool and GlobalMaxPool: the mean or
// maximum over every spatial axis, kept with size 1.
func opGlobalPool(l *lowering, maxPool bool) ([]*value, error) {
	x, xs, err := l.spatialInput()
	if err != nil {
		return nil, err
	}
	var axes []int
	for a := 2; a < len(xs); a++ {
		axes = append(axes, a)
	}
	if !maxPool {
		return nodeOut(x.MeanKeep(axes...)), nil
	}
	for _, a := range axes {
		x = reduceMax(x, a) // keeps the axis with size 1
	}
	return nodeOut(x), x.Err()
}

// windowing is the geometry of a convolution or pooling over the spatial
// axes 2... of its input: strides, dilations, padding and output sizes.
type windowing struct {
	kernel, strides, dilations []int
	lo, hi                     []int // padding before and after each axis, the end including what the last window needs
	outs                       []int
}

// windowing reads the strides, dilations, pads and auto_pad of the node for
// an input of shape xs and a kernel of the given spatial shape; copies is
// how many times the windows are used (a Conv's groups), for the size limits.
func (l *lowering) windowing(xs, kernel []int, copies int) (*windowing, error) {
	nsp := len(xs) - 2
	if len(kernel) != nsp {
		return nil, fmt.Errorf("kernel_shape %v does not fit an input of shape %v", kernel, xs)
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
		pads = slices.Clone(p)
	}
	if len(strides) != nsp || len(dilations) != nsp || len(pads) != 2*nsp {
		return nil, fmt.Errorf("strides %v, dilations %v, pads %v do not fit %d spatial axes", strides, dilations, pads, nsp)
	}
	if l.attrInt("ceil_mode", 0) != 0 {
		return nil, fmt.Errorf("ceil_mode 1 is not supported")
	}
	autoPad := "NOTSET"
	if a, ok := l.node.Attrs["auto_pad"]; ok && a.Type == "string" {
		autoPad = a.String
	}
	w := &windowing{kernel: kernel, strides: strides, dilations: dilations, lo: make([]int, nsp), hi: make([]int, nsp), outs: make([]int, nsp)}
	padded := slices.Clone(xs)
	for i := range nsp {
		in, k, s, d := xs[2+i], kernel[i], strides[i], dilations[i]
		if k < 1 || s < 1 || d < 1 || pads[i] < 0 || pads[nsp+i] < 0 {
			return nil, fmt.Errorf("kernel %v, strides %v, dilations %v, pads %v: need positive sizes, strides and dilations, pads of at least 0", kernel, strides, dilations, pads)
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
		w.outs[i] = (in+pads[i]+pads[nsp+i]-span)/s + 1
		if w.outs[i] < 1 {
			return nil, fmt.Errorf("the kernel %v (dilations %v) does not fit the input %v padded by %v", kernel, dilations, xs, pads)
		}
		// At the end, enough more that every strided window slice has its
		// full length.
		w.lo[i] = pads[i]
		w.hi[i] = pads[nsp+i] + max(0, (k-1)*d+w.outs[i]*s-(in+pads[i]+pads[nsp+i]))
		padded[2+i] = in + w.lo[i] + w.hi[i]
		if padded[2+i] > maxFolded {
			return nil, fmt.Errorf("the input %v padded by %v for kernel %v, strides %v, dilations %v is too large", xs, pads, kernel, strides, dilations)
		}
	}
	if tensor.Size(padded) > maxFolded || tensor.Size(kernel)*copies > maxWindows || xs[0]*tensor.Size(w.outs)*xs[1]*tensor.Size(kernel) > maxFolded {
		return nil, fmt.Errorf("the windows of input %v under kernel %v are too large", xs, kernel)
	}
	return w, nil
}

// windows pads x (N, C, D...) with fill and returns its windows (N, C,
// out...), one per kernel position in row-major order.
func (w *windowing) windows(x *jacobi.Node, fill float64) []*jacobi.Node {
	for i := range w.outs {
		x = padWith(x, 2+i, w.lo[i], w.hi[i], fill)
	}
	var out []*jacobi.Node
	pos := make([]int, len(w.kernel))
	for {
		p := x
		for i := range w.kernel {
			p = stridedSlice(p, 2+i, pos[i]*w.dilations[i], w.outs[i], w.strides[i])
		}
		out = append(out, p)
		i := len(pos) - 1
		for ; i >= 0; i-- {
			if pos[i]++; pos[i] < w.kernel[i] {
				break
			}
			pos[i] = 0
		}
		if i < 0 {
			return out
		}
	}
}

// padWith pads axis a of x with lo copies of fill before and hi after.
func padWith(x *jacobi.Node, a, lo, hi int, fill float64) *jacobi.Node {
	if lo == 0 && hi == 0 {
		return x
	}
	zeros := func(n int) *jacobi.Node {
		s := slices.Clone(x.Shape())
		s[a] = n
		return jacobi.WeakConst(tensor.Full(fill, s...))
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
