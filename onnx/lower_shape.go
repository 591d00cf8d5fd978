package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- shape helpers ----

func (l *lowering) reshape(v *value, shape []int) (*value, error) {
	if tensor.Size(v.shape()) > 0 {
		if _, err := tensor.ResolveShape(tensor.Size(v.shape()), shape); err != nil {
			return nil, fmt.Errorf("reshape %v to %v: %w", v.shape(), shape, err)
		}
	}
	if v.k != nil {
		t, err := v.k.Reshape(shape...)
		if err != nil {
			return nil, err
		}
		return known(t, v.isInt), nil
	}
	return &value{n: v.n.Reshape(shape...)}, nil
}

func perm(rank int, p []int) ([]int, error) {
	if len(p) == 0 {
		p = make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
	}
	if len(p) != rank {
		return nil, fmt.Errorf("perm %v for rank %d", p, rank)
	}
	seen := make([]bool, rank)
	for _, a := range p {
		if a < 0 || a >= rank || seen[a] {
			return nil, fmt.Errorf("bad perm %v", p)
		}
		seen[a] = true
	}
	return p, nil
}

// slice takes v[start:end] along axis, clamping as ONNX does.
func slice(v *value, axis, start, end int) *value {
	n := v.node().Slice(axis, start, end)
	if t, ok := n.Value(); ok {
		return known(t, v.isInt)
	}
	return &value{n: n}
}

func concat(axis int, vs []*value) (*value, error) {
	allKnown, isInt := true, true
	ns := make([]*jacobi.Node, len(vs))
	for i, v := range vs {
		allKnown = allKnown && v.k != nil
		isInt = isInt && v.isInt
		ns[i] = v.node()
	}
	n := jacobi.Concat(axis, ns...)
	if allKnown {
		out, err := folded(n, isInt)
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	return &value{n: n}, nil
}

func opConcat(l *lowering) ([]*value, error) {
	var vs []*value
	for i := range l.node.Inputs {
		v := l.in(i)
		if v == nil {
			continue
		}
		if tensor.Size(v.shape()) == 0 && len(v.shape()) == 1 {
			continue // torch emits empty shape pieces
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, errors.New("no inputs")
	}
	axis, err := normAxis(int(l.attrInt("axis", 0)), len(vs[0].shape()))
	if err != nil {
		return nil, err
	}
	v, err := concat(axis, vs)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opSlice(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	starts, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	ends, err := l.knownIn(2)
	if err != nil {
		return nil, err
	}
	s, e := ints(starts), ints(ends)
	if len(s) != len(e) {
		return nil, fmt.Errorf("%d starts and %d ends", len(s), len(e))
	}
	rank := len(x.shape())
	axes := make([]int, len(s))
	for i := range axes {
		axes[i] = i
	}
	if v := l.in(3); v != nil {
		if v.k == nil || v.k.Len() != len(s) {
			return nil, errors.New("axes must be a constant with one entry per start")
		}
		axes = ints(v.k)
	}
	if v := l.in(4); v != nil {
		if v.k == nil {
			return nil, errors.New("steps must be a constant")
		}
		for _, st := range ints(v.k) {
			if st != 1 {
				return nil, fmt.Errorf("slice step %d is not supported (only 1)", st)
			}
		}
	}
	for i, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		dim := x.shape()[a]
		clamp := func(v int) int {
			if v < 0 {
				v += dim
			}
			return max(0, min(v, dim))
		}
		lo, hi := clamp(s[i]), clamp(e[i])
		if hi < lo {
			hi = lo
		}
		if lo == 0 && hi == dim {
			continue
		}
		x = slice(x, a, lo, hi)
	}
	return []*value{x}, nil
}

func opGather(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	idx, err := l.knownIn(1)
	if err != nil {
		return nil, fmt.Errorf("indices computed from the input are not supported: %w", err)
	}
	rank := len(x.shape())
	axis, err := normAxis(int(l.attrInt("axis", 0)), rank)
	if err != nil {
		return nil, err
	}
	dim := x.shape()[axis]
	if idx.Len() > maxGather {
		return nil, fmt.Errorf("%d indices are too many (at most %d)", idx.Len(), maxGather)
	}
	var pieces []*value
	for _, i := range ints(idx) {
		if i < 0 {
			i += dim
		}
		if i < 0 || i >= dim {
			return nil, fmt.Errorf("index %d out of range for axis %d of size %d", i, axis, dim)
		}
		pieces = append(pieces, slice(x, axis, i, i+1))
	}
	if len(pieces) == 0 {
		return nil, errors.New("no indices")
	}
	v, err := concat(axis, pieces)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	out := append(append(append([]int{}, s[:axis]...), idx.Shape()...), s[axis+1:]...)
	v, err = l.reshape(v, out)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opReshape(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	st, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	shape := ints(st)
	allowZero := l.attrInt("allowzero", 0) != 0
	in := x.shape()
	for i, d := range shape {
		if d == 0 && !allowZero {
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v", shape, i, in)
			}
			shape[i] = in[i]
		}
		if d < -1 {
			return nil, fmt.Errorf("bad shape %v", shape)
		}
	}
	// A batch size fixed at export time stands for the batch axis.
	if fb := l.m.fixedBatch(); x.dep && fb > 0 && fb != l.batch && len(shape) > 0 && shape[0] == fb {
		shape[0] = l.batch
	}
	v, err := l.reshape(x, shape)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opFlatten(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	a := int(l.attrInt("axis", 1))
	if a < 0 {
		a += len(s)
	}
	if a < 0 || a > len(s) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", a, s)
	}
	v, err := l.reshape(x, []int{tensor.Size(s[:a]), tensor.Size(s[a:])})
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opTranspose(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	p, _ := l.attrInts("perm")
	p, err = perm(len(x.shape()), p)
	if err != nil {
		return nil, err
	}
	if x.k != nil {
		return folded(x.node().Transpose(p...), x.isInt)
	}
	return nodeOut(x.n.Transpose(p...)), nil
}

func opSqueeze(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	axes, ok, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	drop := make([]bool, len(s))
	if !ok {
		for i, d := range s {
			drop[i] = d == 1 && !(i == 0 && x.dep)
		}
	}
	for _, a := range axes {
		a, err := normAxis(a, len(s))
		if err != nil {
			return nil, err
		}
		if s[a] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, s)
		}
		drop[a] = true
	}
	var ns []int
	for i, d := range s {
		if !drop[i] {
			ns = append(ns, d)
		}
	}
	v, err := l.reshape(x, ns)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opUnsqueeze(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	axes, _, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	r := len(s) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[a] {
			return nil, fmt.Errorf("repeated axis %d", a)
		}
		ins[a] = true
	}
	ns := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			ns = append(ns, 1)
		} else {
			ns = append(ns, s[j])
			j++
		}
	}
	v, err := l.reshape(x, ns)
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func opConstant(l *lowering) ([]*value, error) {
	for name, a := range l.node.Attrs {
		switch name {
		case "value":
			if a.Tensor == nil {
				return nil, errors.New("attribute value is not a tensor")
			}
			return []*value{known(a.Tensor.Value, a.Tensor.Int)}, nil
		case "value_float":
			return []*value{known(tensor.Scalar(a.Float), false)}, nil
		case "value_int":
			return []*value{known(tensor.Scalar(float64(a.Int)), true)}, nil
		case "value_floats":
			return []*value{known(tensor.MustNew([]int{len(a.Floats)}, append([]float64{}, a.Floats...)), false)}, nil
		case "value_ints":
			d := make([]float64, len(a.Ints))
			for i, v := range a.Ints {
				d[i] = float64(v)
			}
			return []*value{known(tensor.MustNew([]int{len(d)}, d), true)}, nil
		}
	}
	return nil, errors.New("Constant without a supported value attribute")
}

func opConstantOfShape(l *lowering) ([]*value, error) {
	st, err := l.knownIn(0)
	if err != nil {
		return nil, err
	}
	shape := ints(st)
	n := 1
	for _, d := range shape {
		if d < 0 || (d != 0 && n > maxFolded/d) {
			return nil, fmt.Errorf("bad shape %v", shape)
		}
		n *= d
	}
	v, isInt := 0.0, false
	if a, ok := l.node.Attrs["value"]; ok && a.Tensor != nil && a.Tensor.Value.Len() == 1 {
		v, isInt = a.Tensor.Value.Data()[0], a.Tensor.Int
	}
	return []*value{known(tensor.Full(v, shape...), isInt)}, nil
}

// opEyeLike is a matrix of the input's shape with ones on its diagonal k
// (attribute k) and zeros elsewhere; the input must be known (jacobi's
// exporter writes its bases as EyeLike of ConstantOfShape).
func opEyeLike(l *lowering) ([]*value, error) {
	x, err := l.knownIn(0)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("EyeLike of a tensor of shape %v: it takes a matrix", s)
	}
	k := int(l.attrInt("k", 0))
	out := tensor.Zeros(s...)
	for i := range s[0] {
		if j := i + k; j >= 0 && j < s[1] {
			out.Data()[i*s[1]+j] = 1
		}
	}
	return []*value{known(out, false)}, nil
}

func opShape(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	r := len(s)
	start, end := int(l.attrInt("start", 0)), int(l.attrInt("end", int64(r)))
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = max(0, min(start, r)), max(0, min(end, r))
	end = max(start, end)
	d := make([]float64, end-start)
	for i := range d {
		d[i] = float64(s[start+i])
	}
	return []*value{known(tensor.MustNew([]int{len(d)}, d), true)}, nil
}

func opCast(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	to := l.attrInt("to", 1)
	isFloat := to == 1 || to == 10 || to == 11 || to == 16
	if x.k != nil {
		if isFloat {
			return []*value{known(x.k, false)}, nil
		}
		d := make([]float64, x.k.Len())
		for i, v := range x.k.Data() {
			if to == 9 {
				d[i] = b2f(v != 0)
			} else {
				d[i] = math.Trunc(v)
			}
		}
		return []*value{known(tensor.MustNew(x.k.Shape(), d), true)}, nil
	}
	if isFloat {
		dt := tensor.Float32 // FLOAT, and FLOAT16 and BFLOAT16, which jacobi computes in float32
		if to == 11 {
			dt = tensor.Float64
		}
		if l.dt != l.m.DType() {
			dt = l.dt // the model run in another precision
		}
		return []*value{{n: x.node().Convert(dt)}}, nil
	}
	if to == 9 {
		n := x.node()
		return nodeOut(jacobi.Scalar(1).Sub(n.Equal(jacobi.Scalar(0)))), nil
	}
	return nil, fmt.Errorf("casting a computed value to integer type %d is not supported", to)
}

func opExpand(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	st, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	s, err := tensor.BroadcastShapes(x.shape(), ints(st))
	if err != nil {
		return nil, err
	}
	if tensor.Size(s) > maxFolded {
		return nil, fmt.Errorf("shape %v too large", s)
	}
	if x.k != nil {
		return folded(x.node().BroadcastTo(s...), x.isInt)
	}
	return nodeOut(x.n.BroadcastTo(s...)), nil
}

func opSplit(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	axis, err := normAxis(int(l.attrInt("axis", 0)), len(s))
	if err != nil {
		return nil, err
	}
	var sizes []int
	if v := l.in(1); v != nil {
		if v.k == nil {
			return nil, errors.New("split sizes must be a constant")
		}
		sizes = ints(v.k)
	} else if a, ok := l.attrInts("split"); ok {
		sizes = a
	} else {
		k := len(l.node.Outputs)
		if k == 0 || s[axis]%k != 0 {
			return nil, fmt.Errorf("cannot split axis of size %d into %d equal parts", s[axis], k)
		}
		for range k {
			sizes = append(sizes, s[axis]/k)
		}
	}
	var outs []*value
	at := 0
	for _, n := range sizes {
		if n < 0 || at+n > s[axis] {
			return nil, fmt.Errorf("split sizes %v do not fit axis of size %d", sizes, s[axis])
		}
		outs = append(outs, slice(x, axis, at, at+n))
		at += n
	}
	return outs, nil
}

func opRange(l *lowering) ([]*value, error) {
	var v [3]float64
	isInt := true
	for i := range v {
		t, err := l.knownIn(i)
		if err != nil {
			return nil, err
		}
		if t.Len() != 1 {
			return nil, fmt.Errorf("input %d has shape %v, want a scalar", i, t.Shape())
		}
		v[i] = t.Data()[0]
		isInt = isInt && l.in(i).isInt
	}
	start, limit, delta := v[0], v[1], v[2]
	if delta == 0 || math.IsNaN(start+limit+delta) {
		return nil, fmt.Errorf("range(%v, %v, %v)", start, limit, delta)
	}
	n := math.Max(math.Ceil((limit-start)/delta), 0)
	if n > maxFolded {
		return nil, fmt.Errorf("range of %v elements is too large", n)
	}
	d := make([]float64, int(n))
	for i := range d {
		d[i] = start + float64(i)*delta
	}
	return []*value{known(tensor.MustNew([]int{len(d)}, d), isInt)}, nil
}

func opTile(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	rt, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	reps := ints(rt)
	s := x.shape()
	if len(reps) != len(s) {
		return nil, fmt.Errorf("%d repeats for shape %v", len(reps), s)
	}
	size := tensor.Size(s)
	for _, r := range reps {
		if r < 0 || (r != 0 && size > maxFolded/r) {
			return nil, fmt.Errorf("repeats %v of shape %v give too large a tensor", reps, s)
		}
		size *= r
	}
	for a, r := range reps {
		if r == 1 {
			continue
		}
		copies := make([]*value, r)
		for i := range copies {
			copies[i] = x
		}
		if r == 0 {
			x = slice(x, a, 0, 0)
			continue
		}
		if x, err = concat(a, copies); err != nil {
			return nil, err
		}
	}
	return []*value{x}, nil
}

// opPad lowers Pad in constant mode: concatenation with constant blocks
// (negative pads crop).
func opPad(l *lowering) ([]*value, error) {
	if a, ok := l.node.Attrs["mode"]; ok && a.String != "constant" {
		return nil, fmt.Errorf("mode %q is not supported (only constant)", a.String)
	}
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	pt, err := l.knownIn(1)
	if err != nil {
		return nil, err
	}
	pads := ints(pt)
	fill := 0.0
	if v := l.in(2); v != nil {
		if v.k == nil || v.k.Len() != 1 {
			return nil, errors.New("constant_value must be a constant scalar")
		}
		fill = v.k.Data()[0]
	}
	rank := len(x.shape())
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	if v := l.in(3); v != nil {
		if v.k == nil {
			return nil, errors.New("axes must be a constant")
		}
		axes = ints(v.k)
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	for i, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		lo, hi := pads[i], pads[i+len(axes)]
		dim := x.shape()[a]
		if lo < 0 || hi < 0 {
			start, end := max(0, -lo), dim-max(0, -hi)
			if end < start {
				return nil, fmt.Errorf("pads %v crop axis %d of size %d to nothing", pads, a, dim)
			}
			x = slice(x, a, start, end)
			lo, hi = max(lo, 0), max(hi, 0)
		}
		if lo == 0 && hi == 0 {
			continue
		}
		block := func(n int) *value {
			s := append([]int{}, x.shape()...)
			s[a] = n
			return known(tensor.Full(fill, s...), x.isInt)
		}
		if lo > maxFolded || hi > maxFolded {
			return nil, fmt.Errorf("pads %v are too large", pads)
		}
		s := append([]int{}, x.shape()...)
		s[a] += lo + hi
		if tensor.Size(s) > maxFolded {
			return nil, fmt.Errorf("padding to shape %v is too large", s)
		}
		var parts []*value
		if lo > 0 {
			parts = append(parts, block(lo))
		}
		parts = append(parts, x)
		if hi > 0 {
			parts = append(parts, block(hi))
		}
		if x, err = concat(a, parts); err != nil {
			return nil, err
		}
	}
	return []*value{x}, nil
}
