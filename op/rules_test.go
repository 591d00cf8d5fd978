package op_test

import (
	"math"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- the table of primitive cases ----

func unary(p ir.Primitive) func(b *ir.Builder, in []*ir.Var) *ir.Var {
	return func(b *ir.Builder, in []*ir.Var) *ir.Var { return b.Emit(p, in[0]) }
}

func binaryP(p ir.Primitive) func(b *ir.Builder, in []*ir.Var) *ir.Var {
	return func(b *ir.Builder, in []*ir.Var) *ir.Var { return b.Emit(p, in[0], in[1]) }
}

// timesY applies a primitive to x and multiplies the result by a second
// input y, so that second derivatives (the cross terms) are not zero.
func timesY(p ir.Primitive) func(b *ir.Builder, in []*ir.Var) *ir.Var {
	return func(b *ir.Builder, in []*ir.Var) *ir.Var { return b.Emit(op.Mul{}, b.Emit(p, in[0]), in[1]) }
}

var (
	cmat = tensor.MustNew([]int{2, 3}, []float64{0.5, -1.25, 2, 0.75, 1.5, -0.3})
	cvec = tensor.MustNew([]int{2, 3}, []float64{1, 2, 3, -1, -2, -3})
)

// pairGaps accepts two inputs that differ by at least 0.1 everywhere.
func pairGaps(in [][]float64) bool {
	for i := range in[0] {
		if math.Abs(in[0][i]-in[1][i]) < 0.1 {
			return false
		}
	}
	return true
}

func progCases() []fdcheck.ProgCase {
	s23 := []int{2, 3}
	pos := fdcheck.Positive
	cases := []fdcheck.ProgCase{
		{Name: "add", Build: binaryP(op.Add{}), Shapes: [][]int{s23, s23}, Ref: mapRef2(func(a, b float64) float64 { return a + b })},
		{Name: "sub", Build: binaryP(op.Sub{}), Shapes: [][]int{s23, s23}, Ref: mapRef2(func(a, b float64) float64 { return a - b })},
		{Name: "mul", Build: binaryP(op.Mul{}), Shapes: [][]int{s23, s23}, Ref: mapRef2(func(a, b float64) float64 { return a * b })},
		{Name: "mul_self", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var { return b.Emit(op.Mul{}, in[0], in[0]) }, Shapes: [][]int{s23}, Ref: mapRef(func(a float64) float64 { return a * a })},
		{Name: "div", Build: binaryP(op.Div{}), Shapes: [][]int{s23, s23}, Domains: []fdcheck.Domain{{}, pos}, Ref: mapRef2(func(a, b float64) float64 { return a / b })},
		{Name: "div_self_denominator", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Div{}, b.Emit(op.Sin{}, in[0]), in[0])
		}, Shapes: [][]int{s23}, Domains: []fdcheck.Domain{pos}, Ref: mapRef(func(a float64) float64 { return math.Sin(a) / a })},
		{Name: "neg", Build: unary(op.Neg{}), Shapes: [][]int{s23}, Ref: mapRef(func(a float64) float64 { return -a })},
		{Name: "neg_times_y", Build: timesY(op.Neg{}), Shapes: [][]int{s23, s23}, Ref: mapRef2(func(a, b float64) float64 { return -a * b })},
		{Name: "exp", Build: unary(op.Exp{}), Shapes: [][]int{s23}, Ref: mapRef(math.Exp)},
		{Name: "log", Build: unary(op.Log{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{pos}, Ref: mapRef(math.Log)},
		{Name: "log1p", Build: unary(op.Log1p{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{pos}, Ref: mapRef(math.Log1p)},
		{Name: "log1p", Build: unary(op.Log1p{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{{Lo: -0.5, Hi: 2}}, Ref: mapRef(math.Log1p)},
		{Name: "log1p_tiny", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Log1p{}, op.Scale(b, 1e-10, in[0]))
		}, Shapes: [][]int{s23}, Ref: mapRef(func(a float64) float64 { return math.Log1p(1e-10 * a) })},
		{Name: "tanh", Build: unary(op.Tanh{}), Shapes: [][]int{s23}, Ref: mapRef(math.Tanh)},
		{Name: "sigmoid", Build: unary(op.Sigmoid{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{{Lo: -4, Hi: 4}}, Ref: mapRef(func(a float64) float64 { return 1 / (1 + math.Exp(-a)) })},
		{Name: "sin", Build: unary(op.Sin{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{{Lo: -4, Hi: 4}}, Ref: mapRef(math.Sin)},
		{Name: "cos", Build: unary(op.Cos{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{{Lo: -4, Hi: 4}}, Ref: mapRef(math.Cos)},
		{Name: "erf", Build: unary(op.Erf{}), Shapes: [][]int{s23}, Ref: mapRef(math.Erf)},
		{Name: "sqrt", Build: unary(op.Sqrt{}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{pos}, Ref: mapRef(math.Sqrt)},
		{Name: "exp_of_product", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Exp{}, b.Emit(op.Mul{}, in[0], in[1]))
		}, Shapes: [][]int{s23, s23}, Domains: []fdcheck.Domain{{Lo: -1, Hi: 1}, {Lo: -1, Hi: 1}}, Ref: mapRef2(func(a, b float64) float64 { return math.Exp(a * b) })},

		// matmul: 2-D, batched, 2-D right operand under a batched left one,
		// and a product of x with itself (both operands carry the tangent).
		{Name: "matmul_2d", Build: binaryP(op.MatMul{}), Shapes: [][]int{{3, 4}, {4, 2}}, Ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], []int{3, 4}, in[1], []int{4, 2})
		}},
		{Name: "matmul_batched", Build: binaryP(op.MatMul{}), Shapes: [][]int{{2, 3, 4}, {2, 4, 2}}, Ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], []int{2, 3, 4}, in[1], []int{2, 4, 2})
		}},
		{Name: "matmul_batched_left_2d_right", Build: binaryP(op.MatMul{}), Shapes: [][]int{{2, 3, 4}, {4, 2}}, Ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], []int{2, 3, 4}, in[1], []int{4, 2})
		}},
		{Name: "matmul_rank4_left_2d_right", Build: binaryP(op.MatMul{}), Shapes: [][]int{{2, 2, 2, 3}, {3, 2}}, Ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], []int{2, 2, 2, 3}, in[1], []int{3, 2})
		}},
		{Name: "matmul_self", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var { return b.Emit(op.MatMul{}, in[0], in[0]) }, Shapes: [][]int{{3, 3}}, Ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], []int{3, 3}, in[0], []int{3, 3})
		}},
		{Name: "matmul_tanh_matmul", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			h := b.Emit(op.Tanh{}, b.Emit(op.MatMul{}, in[0], in[1]))
			return b.Emit(op.MatMul{}, h, in[2])
		}, Shapes: [][]int{{2, 3}, {3, 4}, {4, 2}}, Ref: func(in [][]float64) []float64 {
			h := refMatMul(in[0], []int{2, 3}, in[1], []int{3, 4})
			for i := range h {
				h[i] = math.Tanh(h[i])
			}
			return refMatMul(h, []int{2, 4}, in[2], []int{4, 2})
		}},

		// Structural primitives, each times a second input.
		{Name: "transpose", Build: timesY(op.Transpose{Perm: []int{2, 0, 1}}), Shapes: [][]int{{2, 3, 4}, {4, 2, 3}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refTranspose(in[0], []int{2, 3, 4}, []int{2, 0, 1}), in[1])
		}},
		{Name: "transpose_2d", Build: timesY(op.Transpose{Perm: []int{1, 0}}), Shapes: [][]int{{2, 3}, {3, 2}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refTranspose(in[0], []int{2, 3}, []int{1, 0}), in[1])
		}},
		{Name: "reshape", Build: timesY(op.Reshape{Shape: []int{4, 6}}), Shapes: [][]int{{2, 3, 4}, {4, 6}}, Ref: func(in [][]float64) []float64 {
			return mulRef(in[0], in[1])
		}},
		{Name: "broadcast_size1_and_new_axis", Build: timesY(op.Broadcast{Shape: []int{2, 3, 4}, Dims: []int{1, 2}}), Shapes: [][]int{{3, 1}, {2, 3, 4}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refBroadcast(in[0], []int{3, 1}, []int{2, 3, 4}, []int{1, 2}), in[1])
		}},
		{Name: "broadcast_middle_axis", Build: timesY(op.Broadcast{Shape: []int{2, 3, 4}, Dims: []int{0, 2}}), Shapes: [][]int{{2, 4}, {2, 3, 4}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refBroadcast(in[0], []int{2, 4}, []int{2, 3, 4}, []int{0, 2}), in[1])
		}},
		{Name: "broadcast_scalar", Build: timesY(op.Broadcast{Shape: []int{2, 3}, Dims: []int{}}), Shapes: [][]int{{}, s23}, Ref: func(in [][]float64) []float64 {
			return mulRef(refBroadcast(in[0], []int{}, s23, []int{}), in[1])
		}},
		{Name: "reduce_sum_axes_0_2", Build: timesY(op.ReduceSum{Axes: []int{0, 2}}), Shapes: [][]int{{2, 3, 4}, {3}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refReduce(in[0], []int{2, 3, 4}, []int{0, 2}), in[1])
		}},
		{Name: "reduce_sum_axis_1", Build: timesY(op.ReduceSum{Axes: []int{1}}), Shapes: [][]int{{2, 3, 4}, {2, 4}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refReduce(in[0], []int{2, 3, 4}, []int{1}), in[1])
		}},
		{Name: "reduce_sum_all", Build: timesY(op.ReduceSum{Axes: []int{0, 1}}), Shapes: [][]int{s23, {}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refReduce(in[0], s23, []int{0, 1}), in[1])
		}},
		{Name: "slice", Build: timesY(op.Slice{Start: []int{1, 0}, Limit: []int{3, 4}}), Shapes: [][]int{{4, 5}, {2, 4}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refSlice(in[0], []int{4, 5}, []int{1, 0}, []int{3, 4}), in[1])
		}},
		{Name: "pad", Build: timesY(op.Pad{Lo: []int{1, 0}, Hi: []int{0, 2}}), Shapes: [][]int{s23, {3, 5}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refPad(in[0], s23, []int{1, 0}, []int{0, 2}), in[1])
		}},
		// A conversion to the same dtype (its rules; the float32 tests
		// convert between dtypes).
		{Name: "convert_same_dtype", Build: timesY(op.Convert{From: tensor.Float64, To: tensor.Float64}), Shapes: [][]int{s23, s23}, Ref: mapRef2(func(a, b float64) float64 { return a * b })},
		{Name: "concat_axis_1", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Mul{}, b.Emit(op.Concat{Axis: 1}, in[0], in[1], in[2]), in[3])
		}, Shapes: [][]int{{2, 1}, {2, 3}, {2, 2}, {2, 6}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refConcat(in[:3], [][]int{{2, 1}, {2, 3}, {2, 2}}, 1), in[3])
		}},
		{Name: "concat_axis_0_with_constant", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			c := op.Const(b, tensor.MustNew([]int{1, 3}, []float64{0.5, -1, 2}))
			return b.Emit(op.Mul{}, b.Emit(op.Concat{Axis: 0}, in[0], c, in[0]), in[1])
		}, Shapes: [][]int{s23, {5, 3}}, Ref: func(in [][]float64) []float64 {
			return mulRef(refConcat([][]float64{in[0], {0.5, -1, 2}, in[0]}, [][]int{s23, {1, 3}, s23}, 0), in[1])
		}},
		{Name: "constant", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Add{}, b.Emit(op.Mul{}, b.Emit(op.Sin{}, in[0]), op.Const(b, cmat)), op.Const(b, cvec))
		}, Shapes: [][]int{s23}, Ref: func(in [][]float64) []float64 {
			out := make([]float64, 6)
			for i := range out {
				out[i] = math.Sin(in[0][i])*cmat.Data()[i] + cvec.Data()[i]
			}
			return out
		}},

		// basis: row k of the basis picks element k of sin(x).
		{Name: "basis", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			e := b.Emit(op.Basis{Shape: s23}) // (6, 2, 3)
			s := b.Emit(op.Broadcast{Shape: []int{6, 2, 3}, Dims: []int{1, 2}}, b.Emit(op.Sin{}, in[0]))
			return b.Emit(op.ReduceSum{Axes: []int{1, 2}}, b.Emit(op.Mul{}, e, s))
		}, Shapes: [][]int{s23}, Ref: mapRef(math.Sin)},

		// compare + select: max(x, y), and a piecewise function of x.
		{Name: "select_max", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, in[0], in[1]), in[0], in[1])
		}, Shapes: [][]int{s23, s23}, Accept: pairGaps, Ref: mapRef2(math.Max)},
		{Name: "select_piecewise", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			pred := b.Emit(op.Compare{Op: op.LE}, in[0], op.Zeros(b, tensor.Float64, in[0].Shape))
			return b.Emit(op.Select{}, pred, b.Emit(op.Sin{}, in[0]), b.Emit(op.Mul{}, in[0], in[0]))
		}, Shapes: [][]int{s23}, Domains: []fdcheck.Domain{fdcheck.AwayFromZero}, Ref: mapRef(func(a float64) float64 {
			if a <= 0 {
				return math.Sin(a)
			}
			return a * a
		})},
	}
	// Edge cases: empty axis lists, zero-size operands, size-1 axes.
	cases = append(cases,
		fdcheck.ProgCase{Name: "edge_reduce_sum_no_axes", Build: timesY(op.ReduceSum{Axes: []int{}}), Shapes: [][]int{s23, s23}, Ref: func(in [][]float64) []float64 {
			return mulRef(in[0], in[1])
		}},
		fdcheck.ProgCase{Name: "edge_concat_empty", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Exp{}, b.Emit(op.Concat{Axis: 1}, in[1], in[0], in[1]))
		}, Shapes: [][]int{s23, {2, 0}}, Ref: mapRef(math.Exp)},
		fdcheck.ProgCase{Name: "edge_matmul_inner_zero", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Add{}, b.Emit(op.MatMul{}, in[1], in[2]), b.Emit(op.Sin{}, in[0]))
		}, Shapes: [][]int{s23, {2, 0}, {0, 3}}, Ref: func(in [][]float64) []float64 { return mapRef(math.Sin)(in[:1]) }},
		fdcheck.ProgCase{Name: "edge_slice_empty", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			e := b.Emit(op.Slice{Start: []int{0, 2}, Limit: []int{2, 2}}, in[0]) // (2, 0)
			return b.Emit(op.Concat{Axis: 1}, b.Emit(op.Tanh{}, in[0]), b.Emit(op.Exp{}, e))
		}, Shapes: [][]int{s23}, Ref: mapRef(math.Tanh)},
		fdcheck.ProgCase{Name: "edge_size1_axes", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			x := b.Emit(op.Broadcast{Shape: []int{1, 3}, Dims: []int{0, 1}}, in[0])
			x = b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Mul{}, x, x))
			return b.Emit(op.ReduceSum{Axes: []int{1}}, b.Emit(op.MatMul{}, x, in[1])) // (3)
		}, Shapes: [][]int{{1, 3}, {1, 2}}, Ref: func(in [][]float64) []float64 {
			out := make([]float64, 3)
			for i := range out {
				out[i] = in[0][i] * in[0][i] * (in[1][0] + in[1][1])
			}
			return out
		}},
		fdcheck.ProgCase{Name: "edge_scalar_ops", Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Div{}, b.Emit(op.Sin{}, in[0]), b.Emit(op.Exp{}, b.Emit(op.Mul{}, in[0], in[1])))
		}, Shapes: [][]int{{}, {}}, Ref: mapRef2(func(a, b float64) float64 { return math.Sin(a) / math.Exp(a*b) })},
	)
	for _, c := range []struct {
		op   string
		pred func(a, b float64) bool
	}{
		{op.GT, func(a, b float64) bool { return a > b }},
		{op.GE, func(a, b float64) bool { return a >= b }},
		{op.LT, func(a, b float64) bool { return a < b }},
		{op.LE, func(a, b float64) bool { return a <= b }},
	} {
		// select(x op y, x², y³): the derivative follows the branch taken.
		cmp := op.Compare{Op: c.op}
		pred := c.pred
		cases = append(cases, fdcheck.ProgCase{Name: "select_compare_" + c.op, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			return b.Emit(op.Select{}, b.Emit(cmp, in[0], in[1]), b.Emit(op.IntPow{N: 2}, in[0]), b.Emit(op.IntPow{N: 3}, in[1]))
		}, Shapes: [][]int{s23, s23}, Accept: pairGaps, Ref: mapRef2(func(a, b float64) float64 {
			if pred(a, b) {
				return a * a
			}
			return b * b * b
		})})
	}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, -1, -2, -3} {
		d := fdcheck.Domain{Lo: -2, Hi: 2}
		if n < 0 {
			d = fdcheck.Domain{Lo: -2, Hi: 2, Avoid: []float64{0}, Gap: 0.5}
		}
		cases = append(cases, fdcheck.ProgCase{Name: "integer_pow_" + strings.ReplaceAll(itoa(n), "-", "neg"), Build: unary(op.IntPow{N: n}), Shapes: [][]int{s23}, Domains: []fdcheck.Domain{d}, Ref: mapRef(powRef(n))})
	}
	return cases
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestPrimitiveDerivatives checks every primitive's rules through the
// transforms: first derivatives by JVP and VJP and second derivatives by
// JVP∘VJP against fd, JVP against VJP, Vmap against a loop, Unbatch of the
// Vmap against the original, Simplify against the unsimplified programs.
func TestPrimitiveDerivatives(t *testing.T) {
	rng := tensor.NewRand(1)
	for _, c := range progCases() {
		t.Run(c.Name, func(t *testing.T) { fdcheck.CheckProgram(t, c, rng) })
	}
}

// primitives lists one value of every primitive type, by type name.
var primitives = map[string]ir.Primitive{
	"Add": op.Add{}, "Sub": op.Sub{}, "Mul": op.Mul{}, "Div": op.Div{}, "Neg": op.Neg{},
	"Exp": op.Exp{}, "Log": op.Log{}, "Log1p": op.Log1p{}, "Tanh": op.Tanh{}, "Sigmoid": op.Sigmoid{},
	"Sin": op.Sin{}, "Cos": op.Cos{}, "Erf": op.Erf{}, "Sqrt": op.Sqrt{},
	"IntPow": op.IntPow{N: 2}, "Compare": op.Compare{Op: op.GT}, "Select": op.Select{},
	"MatMul": op.MatMul{}, "Transpose": op.Transpose{Perm: []int{1, 0}},
	"Reshape": op.Reshape{Shape: []int{1}}, "Broadcast": op.Broadcast{Shape: []int{1}, Dims: []int{0}},
	"ReduceSum": op.ReduceSum{Axes: []int{0}}, "Concat": op.Concat{Axis: 0},
	"Slice": op.Slice{Start: []int{0}, Limit: []int{1}}, "Pad": op.Pad{Lo: []int{0}, Hi: []int{0}},
	"Constant": op.Constant{Value: tensor.Scalar(1)}, "Basis": op.Basis{Shape: []int{2, 3}}, "Convert": op.Convert{From: tensor.Float64, To: tensor.Float32},
}

// linearPrims are the primitives that must implement op.Linear.
var linearPrims = []string{"Add", "Sub", "Neg", "Mul", "Div", "Select", "MatMul", "Transpose", "Reshape", "Broadcast", "ReduceSum", "Slice", "Pad", "Concat", "Convert"}

// TestEveryPrimitiveHasRules checks that every primitive type declared in
// package op has all its rules (its own or its families': shape, eval, JVP,
// transpose where linear, batch, unbatch, Taylor, cost, lowering), that
// exactly the linear ones implement op.Linear, and that the derivative
// table — first and second derivatives, Taylor, Vmap and Unbatch against
// finite differences and loops — uses every primitive.
func TestEveryPrimitiveHasRules(t *testing.T) {
	types := fdcheck.PrimitiveTypes(t, ".")
	if len(types) < len(primitives) {
		t.Fatalf("found only %d primitive types in package op (%v)", len(types), types)
	}
	linear := map[string]bool{}
	for _, n := range linearPrims {
		linear[n] = true
	}
	names := map[string]bool{}
	for _, typ := range types {
		p, ok := primitives[typ]
		if !ok {
			t.Errorf("primitive type op.%s is not in this test's table: add it (and a derivative case)", typ)
			continue
		}
		names[p.Name()] = true
		if err := op.Check(p); err != nil {
			t.Errorf("op.%s: %v", typ, err)
		}
		l, isLin := p.(op.Linear)
		switch {
		case linear[typ] && !isLin:
			t.Errorf("op.%s does not implement op.Linear", typ)
		case !linear[typ] && isLin:
			t.Errorf("op.%s implements op.Linear but is not linear in any input", typ)
		}
		if isLin && linear[typ] {
			for i := 0; i < 3; i++ {
				want := true
				switch typ {
				case "Div":
					want = i == 0
				case "Select":
					want = i > 0
				}
				if got := l.LinearIn(i); got != want {
					t.Errorf("op.%s.LinearIn(%d) = %v, want %v", typ, i, got, want)
				}
			}
		}
	}

	// Every primitive appears in the derivative table's programs.
	used := map[string]bool{}
	for _, c := range progCases() {
		for _, e := range c.Program(t).Eqns {
			used[e.Prim.Name()] = true
		}
	}
	for n := range names {
		if !used[n] {
			t.Errorf("primitive %s is not exercised by the derivative table", n)
		}
	}
}

// TestCompareEval checks the six comparisons' values, ties included.
func TestCompareEval(t *testing.T) {
	x := tensor.MustNew([]int{5}, []float64{1, 2, 3, -1, 0})
	y := tensor.MustNew([]int{5}, []float64{2, 2, 1, -1, math.Copysign(0, -1)})
	want := map[string][]float64{
		op.GT: {0, 0, 1, 0, 0},
		op.GE: {0, 1, 1, 1, 1},
		op.LT: {1, 0, 0, 0, 0},
		op.LE: {1, 1, 0, 1, 1},
		op.EQ: {0, 1, 0, 1, 1},
		op.NE: {1, 0, 1, 0, 0},
	}
	for o, w := range want {
		got, err := op.Compare{Op: o}.Eval([]*tensor.Tensor{x, y})
		if err != nil {
			t.Fatal(err)
		}
		fdcheck.Compare(t, "compare "+o, got.Data(), w, []int{5}, fdcheck.Tol{})
	}
	if _, err := (op.Compare{Op: "xx"}).OutShape([][]int{{1}, {1}}); err == nil {
		t.Error("compare with an unknown operator: no error")
	}
	pred := tensor.MustNew([]int{5}, []float64{1, 0, -2, 0.5, 0})
	sel, err := op.Select{}.Eval([]*tensor.Tensor{pred, x, y})
	if err != nil {
		t.Fatal(err)
	}
	fdcheck.Compare(t, "select", sel.Data(), []float64{1, 2, 3, -1, 0}, []int{5}, fdcheck.Tol{})
}

// TestGemmEmptyInnerDimension: with k = 0 the product is zero; with
// beta = 0, C must not be read (the kernels' contract), so NaN or Inf left
// in a recycled buffer must not leak into the result. End to end: the
// runtime reuses the buffer of a NaN intermediate for an empty product.
func TestGemmEmptyInnerDimension(t *testing.T) {
	c := []float64{math.NaN(), math.Inf(1), math.NaN(), math.Inf(-1), 1, 2}
	op.Gemm(false, false, 2, 3, 0, 1, nil, 1, nil, 3, 0, c, 3)
	fdcheck.Compare(t, "Gemm with k = 0, beta = 0", c, make([]float64, 6), []int{2, 3}, fdcheck.Tol{})

	b := ir.NewBuilder(nil)
	x := b.Input([]int{2, 3})
	e1 := b.Input([]int{2, 0})
	e2 := b.Input([]int{0, 3})
	nan := b.Emit(op.Sqrt{}, b.Emit(op.Neg{}, b.Emit(op.Exp{}, x)))
	s := b.Emit(op.ReduceSum{Axes: []int{0, 1}}, nan)
	m := b.Emit(op.MatMul{}, e1, e2)
	p, err := b.Build(s, m)
	fdcheck.Valid(t, "program", p, err)
	out := fdcheck.Run(t, p, tensor.Ones(2, 3), tensor.Zeros(2, 0), tensor.Zeros(0, 3))
	fdcheck.Compare(t, "empty product after a NaN intermediate", out[1].Data(), make([]float64, 6), []int{2, 3}, fdcheck.Tol{})
}

// TestStaleBuffers: primitives whose output is partly or wholly not
// copied from an input (pad's border, sums over empty axes, products with
// an empty inner dimension) write every element, even into a buffer the
// runtime recycles from a NaN intermediate.
func TestStaleBuffers(t *testing.T) {
	cases := []struct {
		name  string
		shape []int // of the op's input
		build func(b *ir.Builder, x *ir.Var) *ir.Var
		want  []float64
	}{
		{"pad", []int{1, 2}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Pad{Lo: []int{1, 0}, Hi: []int{0, 1}}, x)
		}, []float64{0, 0, 0, 1, 1, 0}},
		{"reduce_sum over an empty axis", []int{6, 0}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.ReduceSum{Axes: []int{1}}, x)
		}, make([]float64, 6)},
		{"reshape of a sum over an empty axis", []int{2, 0, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Reshape{Shape: []int{6}}, b.Emit(op.ReduceSum{Axes: []int{1}}, x))
		}, make([]float64, 6)},
		{"matmul with empty inner dimension, batched", []int{2, 1, 0}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, x, op.Zeros(b, tensor.Float64, []int{2, 0, 3}))
		}, make([]float64, 6)},
		{"matmul with empty inner dimension, shared right", []int{2, 1, 0}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, x, op.Const(b, tensor.Zeros(0, 3)))
		}, make([]float64, 6)},
	}
	for _, c := range cases {
		b := ir.NewBuilder(nil)
		w := b.Input([]int{2, 3})
		x := b.Input(c.shape)
		nan := b.Emit(op.Sqrt{}, b.Emit(op.Neg{}, b.Emit(op.Exp{}, w)))
		s := b.Emit(op.ReduceSum{Axes: []int{0, 1}}, nan)
		y := c.build(b, x)
		p, err := b.Build(s, y)
		fdcheck.Valid(t, c.name, p, err)
		out := fdcheck.Run(t, p, tensor.Ones(2, 3), tensor.Ones(c.shape...))
		fdcheck.Compare(t, c.name+" after a NaN intermediate", out[1].Data(), c.want, nil, fdcheck.Tol{})
		ev, err := fdcheck.Interpret(p, []*tensor.Tensor{tensor.Ones(2, 3), tensor.Ones(c.shape...)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fdcheck.Compare(t, c.name+" by Eval", ev[1].Data(), c.want, nil, fdcheck.Tol{})
	}
}

// TestPrimitiveDerivativesFloat32 checks every primitive's program, first
// derivatives (JVP, VJP) and second derivatives (JVP of VJP, collapsed
// Taylor mode) computed in float32 against the same derivatives of the
// float64 program, within twice the first-order bound of float32's
// rounding errors of each case (fdcheck.ErrorBound).
func TestPrimitiveDerivativesFloat32(t *testing.T) {
	rng := tensor.NewRand(11)
	worst := 0.0
	for _, c := range progCases() {
		t.Run(c.Name, func(t *testing.T) {
			r := fdcheck.CheckFloat32(t, c, rng)
			t.Logf("largest error / bound: %.3g", r.MaxRatio)
			worst = max(worst, r.MaxRatio)
		})
	}
	t.Logf("largest error / bound over all cases: %.3g", worst)
}

// TestConvertDerivatives checks programs that convert between dtypes —
// float32 inputs computed on in float64, float64 inputs computed on in
// float32 — and their derivatives, against the same programs all in
// float64, within the bound of their float32 rounding errors.
func TestConvertDerivatives(t *testing.T) {
	f32, f64 := tensor.Float32, tensor.Float64
	rng := tensor.NewRand(12)
	w := tensor.Randn(rng, 3, 4)
	cases := []struct {
		name  string
		in    []tensor.DType
		build func(b *ir.Builder, x, y *ir.Var) *ir.Var
	}{
		{"float32 computed in float64", []tensor.DType{f32, f32}, func(b *ir.Builder, x, y *ir.Var) *ir.Var {
			x64 := b.Emit(op.Convert{From: f32, To: f64}, x)
			y64 := b.Emit(op.Convert{From: f32, To: f64}, y)
			z := b.Emit(op.Add{}, b.Emit(op.Exp{}, b.Emit(op.Mul{}, x64, y64)), b.Emit(op.Tanh{}, x64))
			return b.Emit(op.Convert{From: f64, To: f32}, z)
		}},
		{"float64 computed in float32", []tensor.DType{f64, f64}, func(b *ir.Builder, x, y *ir.Var) *ir.Var {
			x32 := b.Emit(op.Convert{From: f64, To: f32}, x)
			h := b.Emit(op.MatMul{}, b.Emit(op.Sin{}, x32), op.Const(b, w.Convert(f32)))
			h64 := b.Emit(op.ReduceSum{Axes: []int{1}}, b.Emit(op.Convert{From: f32, To: f64}, h))
			return b.Emit(op.Mul{}, h64, b.Emit(op.ReduceSum{Axes: []int{1}}, y))
		}},
		{"mixed inputs", []tensor.DType{f32, f64}, func(b *ir.Builder, x, y *ir.Var) *ir.Var {
			y32 := b.Emit(op.Convert{From: f64, To: f32}, y)
			return b.Emit(op.Sigmoid{}, b.Emit(op.Mul{}, x, y32))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder(nil)
			x := b.InputOf(c.in[0], []int{2, 3})
			y := b.InputOf(c.in[1], []int{2, 3})
			p, err := b.Build(c.build(b, x, y))
			if err != nil {
				t.Fatal(err)
			}
			xs := []*tensor.Tensor{tensor.Randn(rng, 2, 3), tensor.Randn(rng, 2, 3)}
			r := fdcheck.CheckLowPrecision(t, p, xs, rng)
			t.Logf("largest error / bound: %.3g", r.MaxRatio)
		})
	}
}
