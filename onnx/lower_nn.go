package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

func opGemm(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	if len(a.shape()) != 2 || len(b.shape()) != 2 {
		return nil, fmt.Errorf("operands must be 2-D, got %v and %v", a.shape(), b.shape())
	}
	an, bn := a.node(), b.node()
	if l.attrInt("transA", 0) != 0 {
		an = an.T()
	}
	if l.attrInt("transB", 0) != 0 {
		bn = bn.T() // a known b is transposed at once
	}
	y := an.MatMul(bn)
	if alpha := l.attrFloat("alpha", 1); alpha != 1 {
		y = y.Scale(alpha)
	}
	if c := l.in(2); c != nil {
		cn := c.node()
		if beta := l.attrFloat("beta", 1); beta != 1 {
			cn = cn.Scale(beta)
		}
		y = y.Add(cn)
	}
	return nodeOut(y), nil
}

func opMatMul(l *lowering) ([]*value, error) {
	a, err := l.need(0)
	if err != nil {
		return nil, err
	}
	b, err := l.need(1)
	if err != nil {
		return nil, err
	}
	x, y := a.node(), b.node()
	// ONNX broadcasts the leading (batch) dimensions of the operands as
	// numpy does; jacobi's product wants them equal, or y a matrix.
	if sx, sy := x.Shape(), y.Shape(); len(sx) >= 2 && len(sy) > 2 {
		lead, err := tensor.BroadcastShapes(sx[:len(sx)-2], sy[:len(sy)-2])
		if err != nil {
			return nil, fmt.Errorf("operands %v and %v: %w", sx, sy, err)
		}
		if !tensor.SameShape(lead, sx[:len(sx)-2]) {
			x = x.BroadcastTo(append(append([]int{}, lead...), sx[len(sx)-2:]...)...)
		}
		if !tensor.SameShape(lead, sy[:len(sy)-2]) {
			y = y.BroadcastTo(append(append([]int{}, lead...), sy[len(sy)-2:]...)...)
		}
	}
	return nodeOut(x.MatMul(y)), nil
}

func opLayerNorm(l *lowering) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	axis, err := normAxis(int(l.attrInt("axis", -1)), len(s))
	if err != nil {
		return nil, err
	}
	eps := l.attrFloat("epsilon", 1e-5)
	var axes []int
	for a := axis; a < len(s); a++ {
		axes = append(axes, a)
	}
	n := x.node()
	mu := n.MeanKeep(axes...)
	d := n.Sub(mu)
	inv := jacobi.Scalar(1).Div(d.Square().MeanKeep(axes...).AddScalar(eps).Sqrt())
	y := d.Mul(inv)
	if v := l.in(1); v != nil {
		y = y.Mul(v.node())
	}
	if v := l.in(2); v != nil {
		y = y.Add(v.node())
	}
	return []*value{{n: y}, {n: mu}, {n: inv}}, nil
}

func opBatchNorm(l *lowering) ([]*value, error) {
	if l.attrInt("training_mode", 0) != 0 || len(l.node.Outputs) > 1 && l.node.Outputs[1] != "" {
		return nil, errors.New("batch normalization in training mode mixes samples along the batch axis (it normalizes with the batch's statistics); export the model in eval mode (model.eval())")
	}
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	var p [4]*tensor.Tensor
	for i := range p {
		if p[i], err = l.knownIn(i + 1); err != nil {
			return nil, err
		}
	}
	s := x.shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("input of shape %v has no channel axis", s)
	}
	c := s[1]
	for i, t := range p {
		if t.Len() != c {
			return nil, fmt.Errorf("parameter %d has %d values for %d channels", i+1, t.Len(), c)
		}
	}
	eps := l.attrFloat("epsilon", 1e-5)
	scale := make([]float64, c)
	shift := make([]float64, c)
	for i := 0; i < c; i++ {
		scale[i] = p[0].Data()[i] / math.Sqrt(p[3].Data()[i]+eps)
		shift[i] = p[1].Data()[i] - p[2].Data()[i]*scale[i]
	}
	ps := []int{c}
	for range s[2:] {
		ps = append(ps, 1)
	}
	n := x.node().Mul(jacobi.WeakConst(tensor.MustNew(ps, scale))).Add(jacobi.WeakConst(tensor.MustNew(ps, shift)))
	return nodeOut(n), nil
}

func opSoftmax(l *lowering, logOut bool) ([]*value, error) {
	x, err := l.need(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	def := int64(-1)
	if l.m.Opset < 13 {
		def = 1
	}
	axis, err := normAxis(int(l.attrInt("axis", def)), len(s))
	if err != nil {
		return nil, err
	}
	n := x.node()
	coerce := l.m.Opset < 13 && axis != len(s)-1
	if coerce {
		// Before opset 13 the input is flattened to 2-D at axis: a
		// softmax over the axes from axis on. Only those are merged, the
		// ones before stay apart, so that a batch axis among them stays
		// one (merging it with the next axis would be refused as mixing
		// samples although every row of the matrix lies in one sample).
		n = n.Reshape(append(append([]int{}, s[:axis]...), tensor.Size(s[axis:]))...)
	}
	// Subtracting the maximum changes neither the value nor any derivative
	// (softmax is invariant to a shift along its axis) but avoids overflow.
	z := n.Sub(reduceMax(n, axis))
	e := z.Exp()
	sum := e.SumKeep(axis)
	var y *jacobi.Node
	if logOut {
		y = z.Sub(sum.Log())
	} else {
		y = e.Div(sum)
	}
	if coerce {
		y = y.Reshape(s...)
	}
	return nodeOut(y), nil
}
