package onnx

import (
	"errors"
	"fmt"
	"sort"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/op"
)

// ---- the operators ----

func unary(f func(*jacobi.Node) *jacobi.Node) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		x, err := l.need(0)
		if err != nil {
			return nil, err
		}
		return nodeOut(f(x.node())), nil
	}
}

func binaryOp(f func(a, b *jacobi.Node) *jacobi.Node) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
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
			return folded(f(a.node(), b.node()), a.isInt && b.isInt)
		}
		return nodeOut(f(a.node(), b.node())), nil
	}
}

var ops map[string]func(*lowering) ([]*value, error)

// Supported returns the sorted list of supported operator types.
func Supported() []string {
	var s []string
	for k := range ops {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func init() {
	ops = map[string]func(*lowering) ([]*value, error){
		"Identity": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			return []*value{x}, err
		},
		"Dropout": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if v := l.in(2); v != nil && (v.k == nil || v.k.Data()[0] != 0) {
				return nil, errors.New("dropout in training mode is not supported")
			}
			return []*value{x}, err
		},
		"Abs":        unary(func(x *jacobi.Node) *jacobi.Node { return x.Abs() }),
		"Relu":       unary(func(x *jacobi.Node) *jacobi.Node { return x.Relu() }),
		"Softplus":   unary(nn.Softplus),
		"Reciprocal": unary(func(x *jacobi.Node) *jacobi.Node { return jacobi.Scalar(1).Div(x) }),
		"Not":        unary(func(x *jacobi.Node) *jacobi.Node { return jacobi.Scalar(1).Sub(x) }),
		"Div":        opDiv,
		"And":        binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return a.Mul(b) }),
		"Or":         binaryOp(func(a, b *jacobi.Node) *jacobi.Node { return jacobi.Maximum(a, b) }),
		"Max":        variadic(jacobi.Maximum),
		"Min":        variadic(jacobi.Minimum),
		"Sum":        variadic(func(a, b *jacobi.Node) *jacobi.Node { return a.Add(b) }),
		"Mean":       opMean,
		"Pow":        opPow,
		"LeakyRelu": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if err != nil {
				return nil, err
			}
			alpha := l.attrFloat("alpha", 0.01)
			n := x.node()
			return nodeOut(jacobi.Where(n.Greater(jacobi.Scalar(0)), n, n.Scale(alpha))), nil
		},
		"Clip":              opClip,
		"Where":             opWhere,
		"Gemm":              opGemm,
		"MatMul":            opMatMul,
		"Einsum":            opEinsum,
		"Conv":              opConv,
		"AveragePool":       func(l *lowering) ([]*value, error) { return opPool(l, false) },
		"MaxPool":           func(l *lowering) ([]*value, error) { return opPool(l, true) },
		"GlobalAveragePool": func(l *lowering) ([]*value, error) { return opGlobalPool(l, false) },
		"GlobalMaxPool":     func(l *lowering) ([]*value, error) { return opGlobalPool(l, true) },
		"Concat":            opConcat,
		"Slice":             opSlice,
		"Gather":            opGather,
		"Reshape":           opReshape,
		"Flatten":           opFlatten,
		"Transpose":         opTranspose,
		"Squeeze":           opSqueeze,
		"Unsqueeze":         opUnsqueeze,
		"ReduceSum":         func(l *lowering) ([]*value, error) { return opReduce(l, "Sum") },
		"ReduceMean":        func(l *lowering) ([]*value, error) { return opReduce(l, "Mean") },
		"ReduceMax":         func(l *lowering) ([]*value, error) { return opReduce(l, "Max") },
		"ReduceMin":         func(l *lowering) ([]*value, error) { return opReduce(l, "Min") },
		"ReduceSumSquare":   func(l *lowering) ([]*value, error) { return opReduce(l, "SumSquare") },
		"ReduceL1":          func(l *lowering) ([]*value, error) { return opReduce(l, "L1") },
		"ReduceL2":          func(l *lowering) ([]*value, error) { return opReduce(l, "L2") },
		"ReduceLogSumExp":   func(l *lowering) ([]*value, error) { return opReduce(l, "LogSumExp") },
		"Elu": func(l *lowering) ([]*value, error) {
			alpha := l.attrFloat("alpha", 1)
			return unary(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.Where(x.Greater(jacobi.Scalar(0)), x, x.Exp().AddScalar(-1).Scale(alpha))
			})(l)
		},
		"Selu": func(l *lowering) ([]*value, error) {
			// The attributes are float32; the defaults that torch writes
			// stand for SELU's exact constants.
			alpha := exactConst(l.attrFloat("alpha", 1.6732632423543772), 1.6732632423543772848170429916717)
			gamma := exactConst(l.attrFloat("gamma", 1.0507009873554805), 1.0507009873554804934193349852946)
			return unary(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.Where(x.Greater(jacobi.Scalar(0)), x, x.Exp().AddScalar(-1).Scale(alpha)).Scale(gamma)
			})(l)
		},
		"PRelu": func(l *lowering) ([]*value, error) {
			x, err := l.need(0)
			if err != nil {
				return nil, err
			}
			slope, err := l.need(1)
			if err != nil {
				return nil, err
			}
			n := x.node()
			return nodeOut(jacobi.Where(n.Greater(jacobi.Scalar(0)), n, n.Mul(slope.node()))), nil
		},
		"HardSigmoid": func(l *lowering) ([]*value, error) {
			alpha, beta := l.attrFloat("alpha", 0.2), l.attrFloat("beta", 0.5)
			return unary(func(x *jacobi.Node) *jacobi.Node { return hardSigmoid(x, alpha, beta) })(l)
		},
		"HardSwish": unary(func(x *jacobi.Node) *jacobi.Node { return x.Mul(hardSigmoid(x, 1.0/6, 0.5)) }),
		"Gelu": func(l *lowering) ([]*value, error) {
			switch a := l.node.Attrs["approximate"]; a.String {
			case "", "none":
				return unary(nn.GELU)(l)
			case "tanh":
				return unary(nn.GELUTanh)(l)
			default:
				return nil, fmt.Errorf("approximation %q is not supported", a.String)
			}
		},
		"Mish":     unary(func(x *jacobi.Node) *jacobi.Node { return x.Mul(nn.Softplus(x).Tanh()) }),
		"Softsign": unary(func(x *jacobi.Node) *jacobi.Node { return x.Div(x.Abs().AddScalar(1)) }),
		"Tan":      unary(func(x *jacobi.Node) *jacobi.Node { return x.Sin().Div(x.Cos()) }),
		"Sign": unary(func(x *jacobi.Node) *jacobi.Node {
			return x.Greater(jacobi.Scalar(0)).Sub(x.Less(jacobi.Scalar(0)))
		}),
		"Constant":           opConstant,
		"ConstantOfShape":    opConstantOfShape,
		"EyeLike":            opEyeLike,
		"Shape":              opShape,
		"Cast":               opCast,
		"Expand":             opExpand,
		"Range":              opRange,
		"Tile":               opTile,
		"Pad":                opPad,
		"Split":              opSplit,
		"LayerNormalization": opLayerNorm,
		"BatchNormalization": opBatchNorm,
		"Softmax":            func(l *lowering) ([]*value, error) { return opSoftmax(l, false) },
		"LogSoftmax":         func(l *lowering) ([]*value, error) { return opSoftmax(l, true) },
	}
	// The operators that are one primitive each, shared with the exporter.
	for _, e := range elementwiseONNX {
		switch {
		case e.unary != nil:
			ops[e.onnx] = unary(e.unary)
		case e.binary != nil:
			if _, ok := e.prim.(op.Compare); ok {
				ops[e.onnx] = cmpOp(e.binary)
			} else {
				ops[e.onnx] = binaryOp(e.binary)
			}
		}
	}
}

// exactConst returns exact when attr is exact rounded to float32 (ONNX stores
// float attributes in float32), and attr otherwise.
func exactConst(attr, exact float64) float64 {
	if attr == float64(float32(exact)) {
		return exact
	}
	return attr
}

func hardSigmoid(x *jacobi.Node, alpha, beta float64) *jacobi.Node {
	y := x.Scale(alpha).AddScalar(beta)
	return jacobi.Minimum(jacobi.Maximum(y, jacobi.Scalar(0)), jacobi.Scalar(1))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func cmpOp(f func(a, b *jacobi.Node) *jacobi.Node) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		out, err := binaryOp(f)(l)
		if err == nil && out[0].k != nil {
			out[0].isInt = true
		}
		return out, err
	}
}

func variadic(f func(a, b *jacobi.Node) *jacobi.Node) func(*lowering) ([]*value, error) {
	return func(l *lowering) ([]*value, error) {
		acc, err := l.need(0)
		if err != nil {
			return nil, err
		}
		for i := 1; i < len(l.node.Inputs); i++ {
			b, err := l.need(i)
			if err != nil {
				return nil, err
			}
			if acc.k != nil && b.k != nil {
				if err := foldable(acc.shape(), b.shape()); err != nil {
					return nil, err
				}
				out, err := folded(f(acc.node(), b.node()), acc.isInt && b.isInt)
				if err != nil {
					return nil, err
				}
				acc = out[0]
				continue
			}
			acc = &value{n: f(acc.node(), b.node())}
		}
		return []*value{acc}, nil
	}
}
