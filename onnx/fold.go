package onnx

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- known-value (constant folding) helpers ----

// expandTo broadcasts t to shape.
func expandTo(t *tensor.Tensor, shape []int) *tensor.Tensor {
	if tensor.SameShape(t.Shape(), shape) {
		return t
	}
	n := tensor.Size(shape)
	out := make([]float64, n)
	ts := t.Shape()
	st := tensor.Strides(ts)
	off := len(shape) - len(ts)
	os := tensor.Strides(shape)
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
	s, err := tensor.BroadcastShapes(a.Shape(), b.Shape())
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
	st := tensor.Strides(s)
	os := tensor.Strides(ns)
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
