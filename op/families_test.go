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

// sample is a primitive with input shapes it accepts, and the lowering and
// derivative family it must have.
type sample struct {
	p       ir.Primitive
	in      [][]int
	lower   op.Lowering
	family  string // "smooth", "linear map", "bilinear", "zero", "" (own rules)
	inRange [2]float64
}

// samples holds, by type name, a sample of every primitive of package op.
func samples() map[string][]sample {
	m := [][]int{{3, 37}, {3, 37}}
	u := [][]int{{3, 37}}
	pos := [2]float64{0.25, 2}
	any := [2]float64{-2, 2}
	ew := func(p ir.Primitive, in [][]int, family string, r [2]float64) []sample {
		return []sample{{p, in, op.Fused, family, r}}
	}
	return map[string][]sample{
		"Add":     ew(op.Add{}, m, "linear map", any),
		"Sub":     ew(op.Sub{}, m, "linear map", any),
		"Mul":     ew(op.Mul{}, m, "bilinear", any),
		"Div":     ew(op.Div{}, m, "", pos),
		"Neg":     ew(op.Neg{}, u, "linear map", any),
		"Exp":     ew(op.Exp{}, u, "smooth", any),
		"Log":     ew(op.Log{}, u, "smooth", pos),
		"Log1p":   ew(op.Log1p{}, u, "smooth", [2]float64{-0.5, 2}),
		"Tanh":    ew(op.Tanh{}, u, "smooth", any),
		"Sigmoid": ew(op.Sigmoid{}, u, "smooth", any),
		"Sin":     ew(op.Sin{}, u, "smooth", any),
		"Cos":     ew(op.Cos{}, u, "smooth", any),
		"Erf":     ew(op.Erf{}, u, "smooth", any),
		"Sqrt":    ew(op.Sqrt{}, u, "smooth", pos),
		"IntPow": append(append(ew(op.IntPow{N: 3}, u, "smooth", any), ew(op.IntPow{N: -2}, u, "smooth", pos)...),
			ew(op.IntPow{N: 0}, u, "smooth", any)...),
		"Compare": ew(op.Compare{Op: op.GE}, m, "zero", any),
		"Select":  ew(op.Select{}, [][]int{{3, 37}, {3, 37}, {3, 37}}, "linear map", any),
		"MatMul": {
			{op.MatMul{}, [][]int{{2, 3, 4}, {4, 5}}, op.MatrixProduct, "bilinear", any},
			{op.MatMul{}, [][]int{{2, 3, 4}, {2, 4, 5}}, op.MatrixProduct, "bilinear", any},
		},
		"Transpose": {{op.Transpose{Perm: []int{2, 0, 1}}, [][]int{{2, 3, 4}}, op.Strided, "linear map", any}},
		"Reshape":   {{op.Reshape{Shape: []int{6, 4}}, [][]int{{2, 3, 4}}, op.Strided, "linear map", any}},
		"Broadcast": {
			{op.Broadcast{Shape: []int{2, 5, 3, 4}, Dims: []int{0, 2, 3}}, [][]int{{2, 3, 4}}, op.Strided, "linear map", any},
			{op.Broadcast{Shape: []int{2, 3, 4}, Dims: []int{0, 1, 2}}, [][]int{{2, 1, 4}}, op.Strided, "linear map", any},
		},
		"ReduceSum": {{op.ReduceSum{Axes: []int{0, 2}}, [][]int{{2, 3, 4}}, op.Reduction, "linear map", any}},
		"Concat":    {{op.Concat{Axis: 1}, [][]int{{2, 3}, {2, 5}}, op.Evaluated, "linear map", any}},
		"Slice":     {{op.Slice{Start: []int{0, 1, 1}, Limit: []int{2, 3, 4}}, [][]int{{2, 3, 4}}, op.Strided, "linear map", any}},
		"Pad":       {{op.Pad{Lo: []int{0, 1}, Hi: []int{2, 0}}, [][]int{{2, 3}}, op.Evaluated, "linear map", any}},
		"Constant":  {{op.Constant{Value: tensor.Randn(tensor.NewRand(3), 2, 3)}, nil, op.Literal, "zero", any}},
		"Basis": {
			{op.Basis{Shape: []int{2, 3}}, nil, op.Generated, "zero", any},
			{op.Basis{Shape: []int{4}, DType: tensor.Float32}, nil, op.Generated, "zero", any},
		},
		"Convert": {
			{op.Convert{From: tensor.Float64, To: tensor.Float32}, u, op.Conversion, "linear map", any},
			{op.Convert{From: tensor.Float64, To: tensor.Float64}, u, op.Conversion, "linear map", any},
		},
	}
}

func uniformIn(rng interface{ Float64() float64 }, shape []int, r [2]float64) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = r[0] + (r[1]-r[0])*rng.Float64()
	}
	return t
}

// TestFamilies checks, for every primitive, the lowering and the derivative
// family it declares, and that the cost model charges the primitives that
// compute.
func TestFamilies(t *testing.T) {
	all := samples()
	for _, typ := range fdcheck.PrimitiveTypes(t, ".") {
		ss, ok := all[typ]
		if !ok {
			t.Errorf("primitive type op.%s has no sample in samples(): add one", typ)
			continue
		}
		for _, s := range ss {
			r, err := op.RulesOf(s.p)
			if err != nil {
				t.Errorf("op.%s: %v", typ, err)
				continue
			}
			if got := r.Lowering(); got != s.lower {
				t.Errorf("op.%s lowers as %v, want %v", typ, got, s.lower)
			}
			family := ""
			switch s.p.(type) {
			case op.Smooth:
				family = "smooth"
			case op.LinearMap:
				family = "linear map"
			case op.Bilinear:
				family = "bilinear"
			case op.ZeroDerivative:
				family = "zero"
			}
			if family != s.family {
				t.Errorf("op.%s is in family %q, want %q", typ, family, s.family)
			}
			out, err := s.p.OutShape(s.in)
			if err != nil {
				t.Fatalf("op.%s on %v: %v", typ, s.in, err)
			}
			flops := r.FLOPs(s.in, out)
			switch s.lower {
			case op.Fused, op.Reduction, op.Conversion:
				if flops < float64(tensor.Size(out)) {
					t.Errorf("op.%s costs %g FLOPs for %d outputs", typ, flops, tensor.Size(out))
				}
			case op.MatrixProduct:
				k := s.in[0][len(s.in[0])-1]
				if want := 2 * float64(tensor.Size(out)*k); flops != want {
					t.Errorf("op.%s costs %g FLOPs, want %g", typ, flops, want)
				}
			default:
				if flops != 0 {
					t.Errorf("op.%s (%v) costs %g FLOPs, want 0: it computes nothing", typ, s.lower, flops)
				}
			}
		}
	}
}

// TestKernelsMatchEval checks every elementwise primitive's row kernel
// (what the runtime runs) against its Eval (the reference), on operand rows
// longer than the output row as the runtime passes them.
func TestKernelsMatchEval(t *testing.T) {
	rng := tensor.NewRand(7)
	for typ, ss := range samples() {
		for _, s := range ss {
			ew, ok := s.p.(op.Elementwise)
			if !ok {
				continue
			}
			in := make([]*tensor.Tensor, len(s.in))
			rows := make([][]float64, 3)
			for i, sh := range s.in {
				in[i] = uniformIn(rng, sh, s.inRange)
				if _, sel := s.p.(op.Select); sel && i == 0 {
					for j := range in[i].Data() {
						in[i].Data()[j] = math.Floor(2 * rng.Float64())
					}
				}
				rows[i] = append(append([]float64{}, in[i].Data()...), 7, 7, 7)
			}
			want, err := s.p.(op.Evaluator).Eval(in)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			got := make([]float64, want.Len())
			ew.Kernel()(got, rows[0], rows[1], rows[2])
			fdcheck.Compare(t, typ+" kernel against eval", got, want.Data(), want.Shape(), fdcheck.Tol{Rel: 1e-14, Abs: 1e-15})
		}
	}
}

// TestViewsMatchEval checks every view's strides against its Eval, on a
// contiguous input and on one stored transposed.
func TestViewsMatchEval(t *testing.T) {
	rng := tensor.NewRand(8)
	for typ, ss := range samples() {
		for _, s := range ss {
			v, ok := s.p.(op.View)
			if !ok {
				continue
			}
			x := tensor.Randn(rng, s.in[0]...)
			want, err := s.p.(op.Evaluator).Eval([]*tensor.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			shape := x.Shape()
			// Contiguous, at an offset in a longer buffer.
			buf := append([]float64{9, 9}, x.Data()...)
			off, st, ok := v.View(2, tensor.Strides(shape), shape, want.Shape())
			if !ok {
				t.Errorf("%s: no view of a contiguous input", typ)
			} else {
				fdcheck.Compare(t, typ+" view of a contiguous input", gatherView(buf, off, st, want.Shape()), want.Data(), want.Shape(), fdcheck.Tol{})
			}
			// Stored transposed: axis order reversed in memory.
			r := len(shape)
			rev := make([]int, r)
			for i := range rev {
				rev[i] = shape[r-1-i]
			}
			revSt := tensor.Strides(rev)
			xst := make([]int, r)
			for i := range xst {
				xst[i] = revSt[r-1-i]
			}
			tbuf := make([]float64, x.Len())
			forEach(shape, func(idx []int, flat int) {
				o := 0
				for d := range idx {
					o += idx[d] * xst[d]
				}
				tbuf[o] = x.Data()[flat]
			})
			off, st, ok = v.View(0, xst, shape, want.Shape())
			_, isReshape := s.p.(op.Reshape)
			switch {
			case !ok && !isReshape:
				t.Errorf("%s: no view of a transposed input", typ)
			case ok && isReshape:
				t.Errorf("%s: a view of a transposed input", typ)
			case ok:
				fdcheck.Compare(t, typ+" view of a transposed input", gatherView(tbuf, off, st, want.Shape()), want.Data(), want.Shape(), fdcheck.Tol{})
			}
		}
	}
}

// gatherView reads the elements of a view (offset, strides) of buf.
func gatherView(buf []float64, off int, st, shape []int) []float64 {
	out := make([]float64, tensor.Size(shape))
	forEach(shape, func(idx []int, flat int) {
		o := off
		for d := range idx {
			o += idx[d] * st[d]
		}
		out[flat] = buf[o]
	})
	return out
}

// TestIdentitiesHold checks every algebraic identity a primitive or its
// family gives Simplify: on inputs filled with 0, 1 or 2.5 or random, and
// with two operands the same variable, each rewrite must evaluate to what
// the primitive evaluates to (where that is finite).
func TestIdentitiesHold(t *testing.T) {
	rng := tensor.NewRand(9)
	fills := []float64{math.NaN(), 0, 1, 2.5} // NaN: random values
	fired := map[string]bool{}
	for typ, ss := range samples() {
		for _, s := range ss {
			r, err := op.RulesOf(s.p)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := s.p.OutShape(s.in)
			n := len(s.in)
			combos := 1
			for range n {
				combos *= len(fills) + 1 // the last choice: same as input 1
			}
			for c := range combos {
				b := ir.NewBuilder(nil)
				vars := make([]*ir.Var, n)
				vals := make([]*tensor.Tensor, n)
				ops := make([]op.Operand, n)
				valid := true
				for i, k := 0, c; i < n; i, k = i+1, k/(len(fills)+1) {
					choice := k % (len(fills) + 1)
					if choice == len(fills) {
						if i < 2 || !tensor.SameShape(s.in[i], s.in[1]) {
							valid = false
							break
						}
						vars[i], vals[i], ops[i] = vars[1], vals[1], ops[1]
						continue
					}
					vars[i] = b.Input(s.in[i])
					ops[i].Var = vars[i]
					if f := fills[choice]; math.IsNaN(f) {
						vals[i] = uniformIn(rng, s.in[i], s.inRange)
					} else {
						vals[i] = tensor.Full(f, s.in[i]...)
						ops[i].Uniform, ops[i].Fill = true, f
					}
				}
				if !valid {
					continue
				}
				want, err := s.p.(op.Evaluator).Eval(vals)
				if err != nil {
					t.Fatal(err)
				}
				finite := true
				for _, v := range want.Float64s() {
					finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
				}
				w := r.Identity(ops, out)
				var got *tensor.Tensor
				switch w.Kind {
				case op.NoRewrite:
					continue
				case op.UseInput:
					got = vals[w.Input]
				case op.UseFill:
					got = tensor.FullOf(want.DType(), w.Fill, out...)
				case op.Apply:
					args := make([]*tensor.Tensor, len(w.Args))
					for i, a := range w.Args {
						args[i] = vals[a]
					}
					if got, err = w.Prim.(op.Evaluator).Eval(args); err != nil {
						t.Fatal(err)
					}
				}
				fired[typ] = true
				if !finite {
					continue
				}
				if !tensor.SameShape(got.Shape(), want.Shape()) {
					t.Errorf("%s %v: rewrite %+v gives shape %v, want %v", typ, ops, w, got.Shape(), want.Shape())
					continue
				}
				if got.DType() != want.DType() {
					t.Errorf("%s %v: rewrite %+v gives %v, want %v", typ, ops, w, got.DType(), want.DType())
				}
				fdcheck.Compare(t, typ+" identity", got.Float64s(), want.Float64s(), want.Shape(), fdcheck.Tol{})
			}
		}
	}
	// The identities Simplify relies on fire where they should.
	for _, typ := range []string{"Add", "Sub", "Mul", "Div", "Neg", "Select", "MatMul", "Transpose", "Reshape", "Broadcast", "ReduceSum", "Slice", "Pad", "Concat", "Convert"} {
		if !fired[typ] {
			t.Errorf("no identity of %s fired", typ)
		}
	}
}

// incomplete is a primitive with a shape rule and an evaluation only.
type incomplete struct{}

func (incomplete) Name() string                                     { return "incomplete" }
func (incomplete) OutShape(in [][]int) ([]int, error)               { return in[0], nil }
func (incomplete) Eval(in []*tensor.Tensor) (*tensor.Tensor, error) { return in[0], nil }

// twoLowerings claims to be both elementwise and lowered on its own.
type twoLowerings struct{ incomplete }

func (twoLowerings) Kernel() op.RowKernel     { return nil }
func (twoLowerings) Kernel32() op.RowKernel32 { return nil }
func (twoLowerings) ElementFLOPs() float64    { return 1 }
func (twoLowerings) Lowering() op.Lowering    { return op.Evaluated }
func (twoLowerings) Deriv(*ir.Builder, *ir.Var, *ir.Var) *ir.Var {
	return nil
}
func (twoLowerings) Deriv2(*ir.Builder, *ir.Var, *ir.Var, *ir.Var) *ir.Var { return nil }

// TestCheckNamesMissingRules checks that a primitive without its rules is
// refused, with every missing rule named.
func TestCheckNamesMissingRules(t *testing.T) {
	err := op.Check(incomplete{})
	if err == nil {
		t.Fatal("a primitive without rules passes the check")
	}
	for _, rule := range []string{"jvp", "batch", "unbatch", "taylor", "cost", "lowering"} {
		if !strings.Contains(err.Error(), rule) {
			t.Errorf("the error %q does not name the missing %s rule", err, rule)
		}
	}
	if _, err := op.RulesOf(incomplete{}); err == nil {
		t.Error("RulesOf gives rules for a primitive without them")
	}
	// Elementwise and smooth give every rule; two lowerings are refused.
	err = op.Check(twoLowerings{})
	if err == nil || !strings.Contains(err.Error(), "lowerings") {
		t.Errorf("a primitive with two lowerings: error %v", err)
	}
	if _, err := op.RulesOf(twoLowerings{}); err != nil {
		t.Errorf("an elementwise smooth primitive lacks rules: %v", err)
	}
}
