package onnx

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- known-value (constant folding) helpers ----

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

func broadcast(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// expandTo broadcasts t to shape.
func expandTo(t *tensor.Tensor, shape []int) *tensor.Tensor {
	if tensor.SameShape(t.Shape(), shape) {
		return t
	}
	n := tensor.Size(shape)
	out := make([]float64, n)
	ts := t.Shape()
	st := strides(ts)
	off := len(shape) - len(ts)
	os := strides(shape)
	for i := range out {
		src := 0
		for d := range shape {
			j := d - off
			if j < 0 {
				continue
			}
			idx := (i / os[d]) % shape[d]
			if ts[j] != 1 {
				src += idx * st[j]
			}
		}
		out[i] = t.Data()[src]
	}
	return tensor.MustNew(shape, out)
}

func foldBinary(a, b *tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	s, err := broadcast(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	if tensor.Size(s) > maxFolded {
		return nil, fmt.Errorf("shape %v too large", s)
	}
	ea, eb := expandTo(a, s), expandTo(b, s)
	out := make([]float64, tensor.Size(s))
	for i := range out {
		out[i] = f(ea.Data()[i], eb.Data()[i])
	}
	return tensor.MustNew(s, out), nil
}

// foldSlice takes t[start:end] along axis.
func foldSlice(t *tensor.Tensor, axis, start, end int) *tensor.Tensor {
	s := t.Shape()
	outer := tensor.Size(s[:axis])
	inner := tensor.Size(s[axis+1:])
	n := end - start
	out := make([]float64, 0, outer*n*inner)
	for o := 0; o < outer; o++ {
		base := o * s[axis] * inner
		out = append(out, t.Data()[base+start*inner:base+end*inner]...)
	}
	ns := append([]int{}, s...)
	ns[axis] = n
	return tensor.MustNew(ns, out)
}

func foldConcat(axis int, ts []*tensor.Tensor) (*tensor.Tensor, error) {
	s0 := ts[0].Shape()
	total := 0
	for _, t := range ts {
		s := t.Shape()
		if len(s) != len(s0) {
			return nil, fmt.Errorf("concat of ranks %d and %d", len(s0), len(s))
		}
		for d := range s {
			if d != axis && s[d] != s0[d] {
				return nil, fmt.Errorf("concat of shapes %v and %v along axis %d", s0, s, axis)
			}
		}
		total += s[axis]
	}
	outer := tensor.Size(s0[:axis])
	inner := tensor.Size(s0[axis+1:])
	var out []float64
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			k := t.Shape()[axis] * inner
			out = append(out, t.Data()[o*k:(o+1)*k]...)
		}
	}
	ns := append([]int{}, s0...)
	ns[axis] = total
	return tensor.New(ns, out)
}

func foldTranspose(t *tensor.Tensor, perm []int) *tensor.Tensor {
	s := t.Shape()
	ns := make([]int, len(s))
	for i, p := range perm {
		ns[i] = s[p]
	}
	st := strides(s)
	os := strides(ns)
	out := make([]float64, t.Len())
	for i := range out {
		src := 0
		for d := range ns {
			src += ((i / os[d]) % ns[d]) * st[perm[d]]
		}
		out[i] = t.Data()[src]
	}
	return tensor.MustNew(ns, out)
}
