package onnx

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// reduceMax returns the maximum of v along axis, keeping the axis, by a
// tree of pairwise maxima.
func reduceMax(x *jacobi.Node, axis int) *jacobi.Node {
	for {
		if x.Err() != nil || axis >= x.Rank() {
			return x
		}
		n := x.Shape()[axis]
		if n <= 1 {
			return x
		}
		h := n / 2
		m := jacobi.Maximum(x.Slice(axis, 0, h), x.Slice(axis, h, 2*h))
		if n%2 == 1 {
			m = jacobi.Concat(axis, m, x.Slice(axis, 2*h, n))
		}
		x = m
	}
}

func opDiv(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if a.k != nil && b.k != nil {
		if err := foldable(a.shape(), b.shape()); err != nil {
			return nil, err
		}
		isInt := a.isInt && b.isInt
		out, err := folded(a.node().Div(b.node()), isInt)
		if err != nil || !isInt {
			return out, err
		}
		// Integer division truncates, and gives 0 for a zero divisor
		// (where the quotient is infinite or NaN).
		q := out[0].k.Clone()
		for i, v := range q.Data() {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				v = 0
			}
			q.Data()[i] = math.Trunc(v)
		}
		return []*value{known(q, true)}, nil
	}
	return nodeOut(a.node().Div(b.node())), nil
}

func opMean(l *lowering) ([]*value, error) {
	out, err := variadic(func(a, b *jacobi.Node) *jacobi.Node { return a.Add(b) })(l)
	if err != nil {
		return nil, err
	}
	return nodeOut(out[0].node().Scale(1 / float64(len(l.node.Inputs)))), nil
}

func opPow(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	y, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if x.k != nil && y.k != nil {
		// No primitive raises to a real power: broadcast by the primitives,
		// then math.Pow.
		s, err := tensor.BroadcastShapes(x.shape(), y.shape())
		if err != nil {
			return nil, err
		}
		if err := foldable(s); err != nil {
			return nil, err
		}
		bx, err := folded(x.node().BroadcastTo(s...), x.isInt)
		if err != nil {
			return nil, err
		}
		by, err := folded(y.node().BroadcastTo(s...), y.isInt)
		if err != nil {
			return nil, err
		}
		p := bx[0].k.Clone()
		for i, e := range by[0].k.Data() {
			p.Data()[i] = math.Pow(p.Data()[i], e)
		}
		return []*value{known(p, x.isInt)}, nil
	}
	if y.k != nil && y.k.Len() == 1 {
		e := y.k.Data()[0]
		xn := x.node()
		switch {
		case e == math.Trunc(e) && math.Abs(e) <= 64:
			return nodeOut(xn.Pow(int(e))), nil
		case e == 0.5:
			return nodeOut(xn.Sqrt()), nil
		case e == -0.5:
			return nodeOut(jacobi.Scalar(1).Div(xn.Sqrt())), nil
		}
		return nodeOut(xn.Log().Scale(e).Exp()), nil
	}
	// x^y = exp(y log x), for x > 0.
	return nodeOut(x.node().Log().Mul(y.node()).Exp()), nil
}

func opClip(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	n := x.node()
	if v := l.in(1); v != nil {
		n = jacobi.Maximum(n, v.node())
	} else if a, ok := l.node.Attrs["min"]; ok {
		n = jacobi.Maximum(n, jacobi.Scalar(a.Float))
	}
	if v := l.in(2); v != nil {
		n = jacobi.Minimum(n, v.node())
	} else if a, ok := l.node.Attrs["max"]; ok {
		n = jacobi.Minimum(n, jacobi.Scalar(a.Float))
	}
	return nodeOut(n), nil
}

func opWhere(l *lowering) ([]*value, error) {
	c, err := l.need(0)
	if err != nil {
		return nil, err
	}
	a, err := l.need(1)
	if err != nil {
		return nil, err
	}
	b, err := l.need(2)
	if err != nil {
		return nil, err
	}
	if c.k != nil && a.k != nil && b.k != nil {
		if err := foldable(c.shape(), a.shape(), b.shape()); err != nil {
			return nil, err
		}
		return folded(jacobi.Where(c.node(), a.node(), b.node()), a.isInt && b.isInt)
	}
	return nodeOut(jacobi.Where(c.node(), a.node(), b.node())), nil
}

// opReduce lowers the Reduce* operators; kind is the operator name without
// the "Reduce" prefix.
func opReduce(l *lowering, kind string) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	// ReduceSum takes its axes as an input from opset 13, the others from 18.
	axes, _, err := l.axesOf(1)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	if len(axes) == 0 {
		if l.attrInt("noop_with_empty_axes", 0) != 0 {
			return []*value{x}, nil
		}
		for i := range s {
			axes = append(axes, i)
		}
	}
	for i, a := range axes {
		if axes[i], err = normAxis(a, len(s)); err != nil {
			return nil, err
		}
	}
	keep := l.attrInt("keepdims", 1) != 0
	n := x.node()
	var y *jacobi.Node // the reduction with the axes kept
	switch kind {
	case "Sum":
		y = n.SumKeep(axes...)
	case "Mean":
		y = n.MeanKeep(axes...)
	case "SumSquare":
		y = n.Square().SumKeep(axes...)
	case "L1":
		y = n.Abs().SumKeep(axes...)
	case "L2":
		y = n.Square().SumKeep(axes...).Sqrt()
	case "Max", "Min", "LogSumExp":
		if kind == "Min" {
			n = n.Neg()
		}
		m := n
		for _, a := range axes {
			m = reduceMax(m, a)
		}
		switch kind {
		case "Max":
			y = m
		case "Min":
			y = m.Neg()
		default:
			// log Σ exp(x) = m + log Σ exp(x - m): the same function of x
			// (and so the same derivatives) for any m, without overflow.
			y = n.Sub(m).Exp().SumKeep(axes...).Log().Add(m)
		}
	default:
		return nil, fmt.Errorf("reduction %q is not supported", kind)
	}
	if !keep {
		var ns []int
		drop := map[int]bool{}
		for _, a := range axes {
			drop[a] = true
		}
		for i, d := range s {
			if !drop[i] {
				ns = append(ns, d)
			}
		}
		y = y.Reshape(ns...)
	}
	return nodeOut(y), nil
}
