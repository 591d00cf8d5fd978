package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// elementwiseONNX pairs each ONNX operator that is exactly one elementwise
// primitive of jacobi with it: the exporter writes the primitive as the
// operator, and the importer (ops.go) lowers the operator through the Node
// method that emits the primitive. Div is exported as ONNX Div, but
// imported by opDiv, which also folds integer division of shapes.
var elementwiseONNX = []struct {
	prim   ir.Primitive
	onnx   string
	unary  func(*jacobi.Node) *jacobi.Node
	binary func(a, b *jacobi.Node) *jacobi.Node
}{
	{op.Neg{}, "Neg", (*jacobi.Node).Neg, nil},
	{op.Exp{}, "Exp", (*jacobi.Node).Exp, nil},
	{op.Log{}, "Log", (*jacobi.Node).Log, nil},
	{op.Sqrt{}, "Sqrt", (*jacobi.Node).Sqrt, nil},
	{op.Tanh{}, "Tanh", (*jacobi.Node).Tanh, nil},
	{op.Sigmoid{}, "Sigmoid", (*jacobi.Node).Sigmoid, nil},
	{op.Sin{}, "Sin", (*jacobi.Node).Sin, nil},
	{op.Cos{}, "Cos", (*jacobi.Node).Cos, nil},
	{op.Erf{}, "Erf", (*jacobi.Node).Erf, nil},
	{op.Add{}, "Add", nil, (*jacobi.Node).Add},
	{op.Sub{}, "Sub", nil, (*jacobi.Node).Sub},
	{op.Mul{}, "Mul", nil, (*jacobi.Node).Mul},
	{op.Div{}, "Div", nil, nil},
	{op.Compare{Op: op.GT}, "Greater", nil, (*jacobi.Node).Greater},
	{op.Compare{Op: op.GE}, "GreaterOrEqual", nil, (*jacobi.Node).GreaterEqual},
	{op.Compare{Op: op.LT}, "Less", nil, (*jacobi.Node).Less},
	{op.Compare{Op: op.LE}, "LessOrEqual", nil, (*jacobi.Node).LessEqual},
	{op.Compare{Op: op.EQ}, "Equal", nil, (*jacobi.Node).Equal},
}

// elementwiseOp returns the ONNX operator of an elementwise primitive in
// elementwiseONNX.
func elementwiseOp(p ir.Primitive) (string, bool) {
	key := p.Name() + params(p)
	for _, e := range elementwiseONNX {
		if e.prim.Name()+params(e.prim) == key {
			return e.onnx, true
		}
	}
	return "", false
}

// lowerEqn writes one equation, whose inputs are in and whose output has
// dimensions out, into the graph. Every primitive of package op has a
// case here or an entry in elementwiseONNX; TestEveryPrimitiveExports
// enforces it.
func (g *graph) lowerEqn(e *ir.Eqn, in []*gval, out []dim) (*gval, error) {
	switch p := e.Prim.(type) {
	case op.Constant:
		return g.lowerConstant(e, p, out)
	case op.Basis:
		return g.lowerBasis(p, out), nil
	case op.Broadcast:
		return g.lowerBroadcast(p, in[0], out)
	case op.Reshape:
		return g.lowerReshape(in[0], out)
	case op.Transpose:
		x, err := g.mat(in[0])
		if err != nil {
			return nil, err
		}
		return &gval{name: g.node("Transpose", []string{x}, attrInts("perm", p.Perm)), shape: out}, nil
	case op.ReduceSum:
		if len(p.Axes) == 0 {
			return in[0], nil
		}
		x, err := g.mat(in[0])
		if err != nil {
			return nil, err
		}
		return &gval{name: g.node("ReduceSum", []string{x, g.int64s(ints64(p.Axes)...)}, attrInt("keepdims", 0)), shape: out}, nil
	case op.MatMul:
		args, err := g.operands(in, out, matmulShape)
		if err != nil {
			return nil, err
		}
		return &gval{name: g.node("MatMul", args), shape: out}, nil
	case op.Concat:
		args := make([]string, len(in))
		for i, v := range in {
			x, err := g.mat(v)
			if err != nil {
				return nil, err
			}
			args[i] = x
		}
		return &gval{name: g.node("Concat", args, attrInt("axis", int64(p.Axis))), shape: out}, nil
	case op.Slice:
		return g.lowerSlice(p, in[0], out)
	case op.Pad:
		x, err := g.mat(in[0])
		if err != nil {
			return nil, err
		}
		pads := append(ints64(p.Lo), ints64(p.Hi)...)
		zero := true
		for _, v := range pads {
			zero = zero && v == 0
		}
		if zero {
			return in[0], nil
		}
		return &gval{name: g.node("Pad", []string{x, g.int64s(pads...)}), shape: out}, nil
	case op.Select:
		c, err := g.cond(in[0])
		if err != nil {
			return nil, err
		}
		args, err := g.operands([]*gval{{name: c, shape: in[0].shape}, in[1], in[2]}, out, broadcastShape)
		if err != nil {
			return nil, err
		}
		return &gval{name: g.node("Where", args), shape: out}, nil
	case op.Compare:
		args, err := g.operands(in, out, broadcastShape)
		if err != nil {
			return nil, err
		}
		var pred string
		if p.Op == op.NE {
			pred = g.node("Not", []string{g.node("Equal", args)})
		} else {
			name, ok := elementwiseOp(p)
			if !ok {
				return nil, fmt.Errorf("comparison %q has no ONNX operator", p.Op)
			}
			pred = g.node(name, args)
		}
		return &gval{pred: pred, shape: out}, nil
	case op.IntPow:
		if p.N == 0 {
			return &gval{src: &gval{name: g.scalar(1), shape: []dim{}}, shape: out}, nil
		}
		return g.unary(in[0], out, func(x string) string { return g.powi(x, p.N) })
	case op.Log1p:
		return g.unary(in[0], out, g.log1p)
	case op.Erf:
		return g.unary(in[0], out, g.erf)
	case op.Convert:
		if p.From == p.To {
			return in[0], nil
		}
		to := pb.TensorProto_DOUBLE
		if p.To == tensor.Float32 {
			to = pb.TensorProto_FLOAT
		}
		return g.unary(in[0], out, func(x string) string { return g.node("Cast", []string{x}, attrInt("to", int64(to))) })
	}
	name, ok := elementwiseOp(e.Prim)
	if !ok {
		return nil, fmt.Errorf("primitive %s has no ONNX lowering", e.Prim.Name())
	}
	if len(in) == 1 {
		return g.unary(in[0], out, func(x string) string { return g.node(name, []string{x}) })
	}
	args, err := g.operands(in, out, broadcastShape)
	if err != nil {
		return nil, err
	}
	return &gval{name: g.node(name, args), shape: out}, nil
}

// unary applies f, which emits a unary elementwise function of a tensor;
// to a lazy broadcast's smaller tensor, which keeps the result lazy.
func (g *graph) unary(x *gval, out []dim, f func(string) string) (*gval, error) {
	if x.src != nil {
		return &gval{src: &gval{name: f(x.src.name), shape: x.src.shape}, shape: out}, nil
	}
	n, err := g.mat(x)
	if err != nil {
		return nil, err
	}
	return &gval{name: f(n), shape: out}, nil
}

// powi emits x^n by the repeated squaring of op.Powi, so that the results
// agree to the bit.
func (g *graph) powi(x string, n int) string {
	switch n {
	case 1:
		return x
	case 2:
		return g.node("Mul", []string{x, x})
	case 3:
		return g.node("Mul", []string{g.node("Mul", []string{x, x}), x})
	}
	if n < 0 {
		return g.node("Reciprocal", []string{g.powi(x, -n)})
	}
	r := ""
	for n > 0 {
		if n&1 == 1 {
			if r == "" {
				r = x
			} else {
				r = g.node("Mul", []string{r, x})
			}
		}
		n >>= 1
		if n > 0 {
			x = g.node("Mul", []string{x, x})
		}
	}
	return r
}

// log1p emits log(1 + x) accurately for tiny x, which ONNX has no operator
// for: with u = 1 + x rounded, log(u)·x/(u − 1) (Goldberg's "What every
// computer scientist should know about floating-point arithmetic",
// theorem 4), x itself where u = 1, and log(u) where u − 1 = x (huge or
// infinite x).
func (g *graph) log1p(x string) string {
	one, zero := g.scalar(1), g.scalar(0)
	u := g.node("Add", []string{x, one})
	d := g.node("Sub", []string{u, one})
	q := g.node("Where", []string{g.node("Equal", []string{d, x}), one, g.node("Div", []string{x, d})})
	return g.node("Where", []string{g.node("Equal", []string{d, zero}), x, g.node("Mul", []string{g.node("Log", []string{u}), q})})
}

// matmulShape is the output shape of ONNX MatMul (numpy's matmul for
// operands of rank 2 or more).
func matmulShape(s [][]dim) ([]dim, bool) {
	a, b := s[0], s[1]
	if len(a) < 2 || len(b) < 2 || a[len(a)-1] != b[len(b)-2] {
		return nil, false
	}
	lead, ok := broadcastShape([][]dim{a[:len(a)-2], b[:len(b)-2]})
	if !ok {
		return nil, false
	}
	return append(lead, a[len(a)-2], b[len(b)-1]), true
}

// lowerConstant writes a constant: an initializer, a scalar broadcast
// lazily when uniform, or a value of the batch size computed at run time.
func (g *graph) lowerConstant(e *ir.Eqn, p op.Constant, out []dim) (*gval, error) {
	sc := g.s.consts[e]
	if sc == nil {
		return g.constantValue(p.Value.Convert(tensor.Float64), out), nil // written in the equation's type
	}
	if sc.perBatch == 0 {
		return g.constantValue(sc.value, out), nil
	}
	n, err := g.batchScalar()
	if err != nil {
		return nil, err
	}
	opType := "Div"
	if sc.perBatch > 0 {
		opType = "Mul"
	}
	v := &gval{name: g.node(opType, []string{g.scalar(sc.value.Data()[0]), n}), shape: []dim{}}
	if len(out) == 0 {
		return v, nil
	}
	return &gval{src: v, shape: out}, nil
}

// lowerBasis writes the identity of order n reshaped to (n, shape...) as
// EyeLike of ConstantOfShape: computed by the runtime, not stored in the
// file.
func (g *graph) lowerBasis(p op.Basis, out []dim) *gval {
	n := int64(tensor.Size(p.Shape))
	zero := floatTensor(g.fresh("z"), tensor.MustNew([]int{1}, []float64{0}), g.elem)
	value := &pb.AttributeProto{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(), T: zero}
	eye := g.node("EyeLike", []string{g.node("ConstantOfShape", []string{g.int64s(n, n)}, value)})
	if len(p.Shape) == 1 {
		return &gval{name: eye, shape: out}
	}
	shape := append([]int64{n}, ints64(p.Shape)...)
	return &gval{name: g.node("Reshape", []string{eye, g.int64s(shape...)}), shape: out}
}

// constantValue writes t, of the shape out but with size 1 where out is
// symbolic, as a value of shape out.
func (g *graph) constantValue(t *tensor.Tensor, out []dim) *gval {
	full := true
	for _, d := range out {
		full = full && !d.symbolic()
	}
	if f, ok := uniformValue(t); ok && (t.Len() > 1 || !full) {
		return &gval{src: &gval{name: g.scalar(f), shape: []dim{}}, shape: out}
	}
	if full {
		return &gval{name: g.constant(t), shape: out}
	}
	return &gval{src: &gval{name: g.constant(t), shape: fixedDims(t.Shape())}, shape: out}
}

// lowerBroadcast writes a broadcast lazily: operators that broadcast as
// numpy does take the smaller tensor, the others get an Expand.
func (g *graph) lowerBroadcast(p op.Broadcast, x *gval, out []dim) (*gval, error) {
	trailing := true
	off := len(out) - len(x.shape)
	for i, d := range p.Dims {
		trailing = trailing && d == off+i
	}
	if trailing && x.src != nil {
		// A broadcast of a broadcast: one broadcast of the smaller tensor.
		return &gval{src: x.src, shape: out}, nil
	}
	n, err := g.mat(x)
	if err != nil {
		return nil, err
	}
	src := &gval{name: n, shape: x.shape}
	if !trailing {
		// Insert the axes that Dims skips, so that numpy's alignment
		// from the right holds.
		var axes []int
		shape := make([]dim, len(out))
		j := 0
		for i := range out {
			if j < len(p.Dims) && p.Dims[j] == i {
				shape[i] = x.shape[j]
				j++
			} else {
				shape[i] = fixed(1)
				axes = append(axes, i)
			}
		}
		src = &gval{name: g.node("Unsqueeze", []string{n, g.int64s(ints64(axes)...)}), shape: shape}
	}
	return &gval{src: src, shape: out}, nil
}

// lowerReshape writes a reshape. Its target shape is a constant when at
// most one dimension is symbolic (written as -1, which ONNX infers), and
// computed from the batch size at run time otherwise.
func (g *graph) lowerReshape(x *gval, out []dim) (*gval, error) {
	n, err := g.mat(x)
	if err != nil {
		return nil, err
	}
	nsym, zero := 0, false
	for _, d := range out {
		if d.symbolic() {
			nsym++
		} else if d.c == 0 {
			zero = true
		}
	}
	var target string
	switch {
	case zero:
		return nil, fmt.Errorf("a reshape to %v: tensors with no elements are not exported", out)
	case nsym <= 1:
		v := make([]int64, len(out))
		for i, d := range out {
			v[i] = int64(d.c)
			if d.symbolic() {
				v[i] = -1
			}
		}
		target = g.int64s(v...)
	default:
		if target, err = g.shapeTensor(out); err != nil {
			return nil, err
		}
	}
	return &gval{name: g.node("Reshape", []string{n, target}), shape: out}, nil
}

// lowerSlice writes a slice over the axes it narrows.
func (g *graph) lowerSlice(p op.Slice, x *gval, out []dim) (*gval, error) {
	var axes []int
	var starts []int64
	var ends []dim
	for d := range out {
		end := dim{out[d].a, out[d].c + p.Start[d]}
		if p.Start[d] == 0 && end == x.shape[d] {
			continue
		}
		axes = append(axes, d)
		starts = append(starts, int64(p.Start[d]))
		if end == x.shape[d] {
			end = fixed(math.MaxInt64)
		}
		ends = append(ends, end)
	}
	if len(axes) == 0 {
		return x, nil
	}
	n, err := g.mat(x)
	if err != nil {
		return nil, err
	}
	e, err := g.shapeTensor(ends)
	if err != nil {
		return nil, err
	}
	return &gval{name: g.node("Slice", []string{n, g.int64s(starts...), e, g.int64s(ints64(axes)...)}), shape: out}, nil
}

// erf emits the error function. ONNX Runtime's CPU provider has no Erf
// for double, so in double it is written out as Go's math.Erf computes it
// (FreeBSD's s_erf.c): rational approximations on [0, 0.84375),
// [0.84375, 1.25), [1.25, 1/0.35), [1/0.35, 6) and 1 beyond, with the sign
// of x. The split of x for exp(-x²) rounds x to float32 (a 24-bit x whose
// square is exact) where Go truncates it to 20 bits.
func (g *graph) erf(x string) string {
	if g.elem == pb.TensorProto_FLOAT {
		return g.node("Erf", []string{x})
	}
	c := g.scalar
	mul := func(a, b string) string { return g.node("Mul", []string{a, b}) }
	add := func(a, b string) string { return g.node("Add", []string{a, b}) }
	div := func(a, b string) string { return g.node("Div", []string{a, b}) }
	less := func(a string, v float64) string { return g.node("Less", []string{a, c(v)}) }
	atLeast := func(a string, v float64) string { return g.node("GreaterOrEqual", []string{a, c(v)}) }
	where := func(cond, a, b string) string { return g.node("Where", []string{cond, a, b}) }
	// poly is c[0] + s·(c[1] + s·(…)), Horner's rule as Go writes it.
	poly := func(s string, cs ...float64) string {
		r := c(cs[len(cs)-1])
		for i := len(cs) - 2; i >= 0; i-- {
			r = add(c(cs[i]), mul(s, r))
		}
		return r
	}
	a := g.node("Abs", []string{x})
	z := mul(a, a)
	// [0, 0.84375): a + a·r/s.
	r1 := poly(z, 1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02, -5.77027029648944159157e-03, -2.37630166566501626084e-05)
	s1 := poly(z, 1, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03, 1.32494738004321644526e-04, -3.96022827877536812320e-06)
	t1 := add(a, mul(a, div(r1, s1)))
	// [0.84375, 1.25): erx + P/Q at a − 1.
	s := g.node("Sub", []string{a, c(1)})
	p2 := poly(s, -2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01, 3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02, -2.16637559486879084300e-03)
	q2 := poly(s, 1, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02, 1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
	t2 := add(c(8.45062911510467529297e-01), div(p2, q2))
	// [1.25, 6): 1 − exp(−a² − 0.5625 + R/S)/a, R/S at 1/a².
	w := g.node("Reciprocal", []string{z})
	ra := poly(w, -9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00)
	sa := poly(w, 1, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02)
	rb := poly(w, -9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02)
	sb := poly(w, 1, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01)
	rs := where(less(a, 1/0.35), div(ra, sa), div(rb, sb))
	h := g.node("Cast", []string{g.node("Cast", []string{a}, attrInt("to", int64(pb.TensorProto_FLOAT)))}, attrInt("to", int64(g.elem)))
	e1 := g.node("Exp", []string{g.node("Sub", []string{g.node("Neg", []string{mul(h, h)}), c(0.5625)})})
	e2 := g.node("Exp", []string{add(mul(g.node("Sub", []string{h, a}), add(h, a)), rs)})
	t3 := g.node("Sub", []string{c(1), div(mul(e1, e2), a)})
	// NaN fails every comparison and falls through to t1, which keeps it.
	t := where(atLeast(a, 6), c(1), where(atLeast(a, 1.25), t3, where(atLeast(a, 0.84375), t2, t1)))
	return where(less(x, 0), g.node("Neg", []string{t}), t)
}
