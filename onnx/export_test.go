package onnx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/internal/ort"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// exportTol is how closely exported models must reproduce jacobi's own
// results: in float64, 1e-12 relative to the element, or to the largest
// element for elements near zero; in float32, 1e-4.
func exportTol(want *tensor.Tensor) fdcheck.Tol {
	rel := 1e-12
	if want.DType() == tensor.Float32 {
		rel = 1e-4 // two engines' float32 roundings, 6e-8 an operation each
	}
	return fdcheck.Tol{Rel: rel, Abs: rel * want.MaxAbs()}
}

func compareOut(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no output", what)
		return
	}
	if !tensor.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	fdcheck.Compare(t, what, got.Float64s(), want.Float64s(), want.Shape(), exportTol(want))
}

func writeModel(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
	return path
}

// batchRows returns the first n rows of x (n may exceed x's batch: rows
// repeat, negated every other pass so that they differ).
func batchRows(x *tensor.Tensor, n int) *tensor.Tensor {
	b := x.Shape()[0]
	per := x.Len() / b
	out := make([]float64, n*per)
	for i := range n {
		src := x.Data()[(i%b)*per : (i%b+1)*per]
		for j, v := range src {
			if (i/b)%2 == 1 {
				v = -v
			}
			out[i*per+j] = v
		}
	}
	return tensor.MustNew(append([]int{n}, x.Shape()[1:]...), out)
}

// reimport evaluates a model of one input and one output with jacobi's
// own importer.
func reimport(t *testing.T, b []byte, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	m, err := Decode(b)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	f, err := m.Fn(x.Shape()[1:])
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	y, err := jacobi.Eval(f, x)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	return y
}

// ---- every primitive ----

// part returns size elements of the sample vector x from off, shaped.
func part(b *ir.Builder, x *ir.Var, off int, shape ...int) *ir.Var {
	n := tensor.Size(shape)
	s := b.Emit(op.Slice{Start: []int{off}, Limit: []int{off + n}}, x)
	return b.Emit(op.Reshape{Shape: shape}, s)
}

// primSample is a program of one sample vector of In elements drawn from
// [Lo, Hi] that exercises a primitive.
type primSample struct {
	name   string
	in     int
	lo, hi float64
	build  func(b *ir.Builder, x *ir.Var) *ir.Var
}

func unaryOn(p ir.Primitive, lo, hi float64) []primSample {
	return []primSample{{"", 12, lo, hi, func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(p, part(b, x, 0, 3, 4)) }}}
}

func binaryOn(p ir.Primitive, lo, hi float64) []primSample {
	return []primSample{
		{"two inputs", 24, lo, hi, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(p, part(b, x, 0, 3, 4), part(b, x, 12, 3, 4))
		}},
		{"an input and a constant", 12, lo, hi, func(b *ir.Builder, x *ir.Var) *ir.Var {
			c := tensor.Uniform(tensor.NewRand(5), lo, hi, 3, 4)
			return b.Emit(p, op.Const(b, c), part(b, x, 0, 3, 4))
		}},
		{"an input and a broadcast scalar", 12, lo, hi, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(p, part(b, x, 0, 3, 4), op.Full(b, (lo+hi)/2, tensor.Float64, []int{3, 4}))
		}},
	}
}

// exportSamples holds, by the type name of every primitive of package op,
// programs that use it.
func exportSamples() map[string][]primSample {
	const lo, hi = -2.0, 2.0
	s := map[string][]primSample{
		"Add": binaryOn(op.Add{}, lo, hi), "Sub": binaryOn(op.Sub{}, lo, hi), "Mul": binaryOn(op.Mul{}, lo, hi),
		"Div": binaryOn(op.Div{}, 0.5, 2),
		"Neg": unaryOn(op.Neg{}, lo, hi), "Exp": unaryOn(op.Exp{}, lo, hi), "Log": unaryOn(op.Log{}, 0.1, 3),
		"Log1p": append(unaryOn(op.Log1p{}, -0.9, 3), unaryOn(op.Log1p{}, -1e-9, 1e-9)...),
		"Tanh":  unaryOn(op.Tanh{}, lo, hi), "Sigmoid": unaryOn(op.Sigmoid{}, -5, 5),
		"Sin": unaryOn(op.Sin{}, -4, 4), "Cos": unaryOn(op.Cos{}, -4, 4), "Sqrt": unaryOn(op.Sqrt{}, 0.01, 4),
		"Erf": append(unaryOn(op.Erf{}, -7, 7), unaryOn(op.Erf{}, -1.5, 1.5)...),
		"Convert": append(unaryOn(op.Convert{From: tensor.Float64, To: tensor.Float64}, lo, hi),
			primSample{"through float32", 12, lo, hi, func(b *ir.Builder, x *ir.Var) *ir.Var {
				y := b.Emit(op.Convert{From: tensor.Float64, To: tensor.Float32}, part(b, x, 0, 3, 4))
				y = b.Emit(op.Neg{}, y)
				return b.Emit(op.Convert{From: tensor.Float32, To: tensor.Float64}, y)
			}}),
	}
	for _, n := range []int{0, 1, 2, 3, 5, 8, -1, -2, -3} {
		s["IntPow"] = append(s["IntPow"], unaryOn(op.IntPow{N: n}, 0.3, 1.7)...)
	}
	for _, c := range []string{op.GT, op.GE, op.LT, op.LE, op.EQ, op.NE} {
		s["Compare"] = append(s["Compare"], primSample{c, 12, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			v := part(b, x, 0, 2, 3)
			// Half the pairs equal, so that EQ and NE see both outcomes.
			w := b.Emit(op.Concat{Axis: 0}, part(b, x, 0, 1, 3), part(b, x, 9, 1, 3))
			return b.Emit(op.Compare{Op: c}, v, w)
		}})
	}
	s["Select"] = []primSample{
		{"a comparison's predicate", 24, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			p := b.Emit(op.Compare{Op: op.GT}, part(b, x, 0, 3, 4), op.Zeros(b, tensor.Float64, []int{3, 4}))
			return b.Emit(op.Select{}, p, part(b, x, 12, 3, 4), op.Full(b, 0.5, tensor.Float64, []int{3, 4}))
		}},
		{"a numeric predicate", 12, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			mask := tensor.MustNew([]int{3, 4}, []float64{1, 0, 0, 2, 0, -1, 1, 0, 0.5, 0, 0, 1})
			v := part(b, x, 0, 3, 4)
			return b.Emit(op.Select{}, op.Const(b, mask), v, b.Emit(op.Neg{}, v))
		}},
	}
	s["MatMul"] = []primSample{
		{"two inputs", 18, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, part(b, x, 0, 2, 3), part(b, x, 6, 3, 4))
		}},
		{"batched", 44, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, part(b, x, 0, 2, 2, 3), part(b, x, 12, 2, 3, 4))
		}},
		{"a constant on the right", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			w := tensor.Randn(tensor.NewRand(6), 3, 5)
			return b.Emit(op.MatMul{}, part(b, x, 0, 2, 3), op.Const(b, w))
		}},
		{"a constant on the left", 12, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			w := tensor.Randn(tensor.NewRand(7), 5, 3)
			return b.Emit(op.MatMul{}, op.Const(b, w), part(b, x, 0, 3, 4))
		}},
	}
	s["Transpose"] = []primSample{{"", 24, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
		return b.Emit(op.Transpose{Perm: []int{2, 0, 1}}, part(b, x, 0, 2, 3, 4))
	}}}
	s["Reshape"] = []primSample{{"", 24, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
		return b.Emit(op.Reshape{Shape: []int{4, 6}}, part(b, x, 0, 2, 3, 4))
	}}}
	s["Broadcast"] = []primSample{
		{"new leading axes", 4, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Broadcast{Shape: []int{2, 3, 4}, Dims: []int{2}}, part(b, x, 0, 4))
		}},
		{"a new middle axis", 8, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Broadcast{Shape: []int{2, 3, 4}, Dims: []int{0, 2}}, part(b, x, 0, 2, 4))
		}},
		{"a size-1 axis stretched, then added", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			y := b.Emit(op.Broadcast{Shape: []int{3, 2}, Dims: []int{0, 1}}, part(b, x, 0, 1, 2))
			return b.Emit(op.Add{}, y, part(b, x, 0, 3, 2))
		}},
		{"a broadcast of a broadcast", 3, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			y := b.Emit(op.Broadcast{Shape: []int{4, 3}, Dims: []int{1}}, part(b, x, 0, 3))
			return b.Emit(op.Broadcast{Shape: []int{2, 4, 3}, Dims: []int{1, 2}}, y)
		}},
	}
	s["ReduceSum"] = []primSample{
		{"two axes", 24, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.ReduceSum{Axes: []int{0, 2}}, part(b, x, 0, 2, 3, 4))
		}},
		{"every axis", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.ReduceSum{Axes: []int{0, 1}}, part(b, x, 0, 2, 3))
		}},
		{"no axis", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.ReduceSum{Axes: []int{}}, part(b, x, 0, 2, 3))
		}},
	}
	s["Concat"] = []primSample{{"", 15, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
		return b.Emit(op.Concat{Axis: 1}, part(b, x, 0, 3, 2), part(b, x, 6, 3, 3), op.Full(b, 1.5, tensor.Float64, []int{3, 1}))
	}}}
	s["Slice"] = []primSample{{"", 24, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
		return b.Emit(op.Slice{Start: []int{0, 1, 1}, Limit: []int{2, 3, 4}}, part(b, x, 0, 2, 3, 4))
	}}}
	s["Pad"] = []primSample{
		{"", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Pad{Lo: []int{0, 1}, Hi: []int{2, 0}}, part(b, x, 0, 2, 3))
		}},
		{"nothing", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Pad{Lo: []int{0, 0}, Hi: []int{0, 0}}, part(b, x, 0, 2, 3))
		}},
	}
	s["Basis"] = []primSample{
		{"picks sin(x)", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			e := b.Emit(op.Basis{Shape: []int{2, 3}}) // (6, 2, 3)
			sx := b.Emit(op.Broadcast{Shape: []int{6, 2, 3}, Dims: []int{1, 2}}, b.Emit(op.Sin{}, part(b, x, 0, 2, 3)))
			return b.Emit(op.ReduceSum{Axes: []int{1, 2}}, b.Emit(op.Mul{}, e, sx))
		}},
		{"a matrix", 4, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, part(b, x, 0, 1, 4), b.Emit(op.Basis{Shape: []int{4}}))
		}},
	}
	s["Constant"] = []primSample{
		{"a tensor", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Mul{}, op.Const(b, tensor.Randn(tensor.NewRand(8), 2, 3)), part(b, x, 0, 2, 3))
		}},
		{"a uniform tensor", 6, -2, 2, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Add{}, op.Const(b, tensor.Full(0.25, 2, 3)), part(b, x, 0, 2, 3))
		}},
		{"the output", 6, -2, 2, func(b *ir.Builder, _ *ir.Var) *ir.Var {
			return op.Const(b, tensor.Randn(tensor.NewRand(9), 2, 3))
		}},
	}
	return s
}

// perSampleProgram builds the sample's program of one sample.
func (s primSample) program(t *testing.T) *ir.Program {
	t.Helper()
	b := ir.NewBuilder(nil)
	x := b.Input([]int{s.in})
	p, err := b.Build(s.build(b, x))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exportPerSample exports p, a program of one sample, mapped over a
// symbolic batch, as ExportCompiled does.
func exportPerSample(t *testing.T, p *ir.Program, opts ...ExportOption) []byte {
	t.Helper()
	cfg, err := configureExport(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns := batchSizes(programInts(p))
	progs := make([]*ir.Program, len(ns))
	for i, n := range ns {
		v, err := transform.Vmap(p, []bool{true}, n)
		if err == nil {
			v, err = transform.Simplify(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		progs[i] = v
	}
	b, err := exportPrograms(progs, ns, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// perSampleLoop evaluates p on every row of x by interpreting its
// primitives' Eval: the reference, independent of Vmap and the runtime.
func perSampleLoop(t *testing.T, p *ir.Program, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	n := x.Shape()[0]
	var out []float64
	var shape []int
	for i := range n {
		row := fdcheck.Row(x, i)
		ys, err := fdcheck.Interpret(p, []*tensor.Tensor{row})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ys[0].Data()...)
		shape = ys[0].Shape()
	}
	return tensor.MustNew(append([]int{n}, shape...), out)
}

// TestEveryPrimitiveExports checks that every primitive of package op
// lowers to ONNX: each has samples here, and each sample, mapped over a
// symbolic batch, gives in ONNX Runtime (opset 17, 13 or 21 in turn) and through jacobi's
// own importer what the primitives' evaluations give sample by sample, at
// two batch sizes. A new primitive without an export lowering fails here.
func TestEveryPrimitiveExports(t *testing.T) {
	samples := exportSamples()
	for _, typ := range fdcheck.PrimitiveTypes(t, "../op") {
		ss, ok := samples[typ]
		if !ok {
			t.Errorf("primitive op.%s has no export sample: give it an ONNX lowering (export_ops.go) and samples in exportSamples", typ)
			continue
		}
		for k, s := range ss {
			name := fmt.Sprintf("%s/%d_%s", typ, k, strings.ReplaceAll(s.name, " ", "_"))
			t.Run(name, func(t *testing.T) {
				p := s.program(t)
				rng := rand.New(rand.NewPCG(uint64(k), 11))
				xs := []*tensor.Tensor{tensor.Uniform(rng, s.lo, s.hi, 1, s.in), tensor.Uniform(rng, s.lo, s.hi, 5, s.in)}
				opset := []int{17, 13, 21}[k%3]
				model := exportPerSample(t, p, Opset(opset))
				for _, x := range xs {
					want := perSampleLoop(t, p, x)
					compareOut(t, fmt.Sprintf("re-imported at batch %d", x.Shape()[0]), reimport(t, model, x), want)
				}
				t.Run("onnxruntime", func(t *testing.T) {
					rt := ort.ForTest(t)
					path := writeModel(t, model)
					for _, x := range xs {
						got, err := rt.Run(path, map[string]ort.Input{"x": {T: x}})
						if err != nil {
							t.Fatal(err)
						}
						compareOut(t, fmt.Sprintf("opset %d, batch %d", opset, x.Shape()[0]), got["y"], perSampleLoop(t, p, x))
					}
				})
			})
		}
	}
}

// TestExportSpecialValues checks the functions ONNX has no double operator
// for (Erf, log1p) and integer powers at NaN, infinities, zeros, tiny
// numbers and the boundaries of Erf's intervals, against Go's math.
func TestExportSpecialValues(t *testing.T) {
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e-300, -1e-300, 1e-20, -3e-9,
		0.84375, -0.84375, 0.84374999, 1.25, 1.2499999, -1.25, 1 / 0.35, 2.857142, 6, 5.999999, -6, 7, 27, 1e300, -1, -0.5, 0.5, 3}
	x := tensor.MustNew([]int{len(vals), 1}, vals)
	cases := []struct {
		p   ir.Primitive
		ref func(float64) float64
	}{
		{op.Erf{}, math.Erf},
		{op.Log1p{}, math.Log1p},
		{op.IntPow{N: -3}, func(v float64) float64 { return op.Powi(v, -3) }},
		{op.IntPow{N: 7}, func(v float64) float64 { return op.Powi(v, 7) }},
	}
	for _, c := range cases {
		t.Run(c.p.Name()+params(c.p), func(t *testing.T) {
			b := ir.NewBuilder(nil)
			in := b.Input([]int{1})
			p, err := b.Build(b.Emit(c.p, in))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, len(vals))
			for i, v := range vals {
				want[i] = c.ref(v)
			}
			check := func(t *testing.T, what string, got *tensor.Tensor) {
				for i, v := range vals {
					g, w := got.Data()[i], want[i]
					if math.IsNaN(w) != math.IsNaN(g) || (!math.IsNaN(w) && !(fdcheck.Tol{Rel: 4e-16}).Close(g, w)) {
						t.Errorf("%s at %g: got %.17g, want %.17g", what, v, g, w)
					}
				}
			}
			model := exportPerSample(t, p)
			if c.p.Name() != "erf" && c.p.Name() != "log1p" {
				// The importer evaluates Erf and Log1p's ONNX forms in its
				// own arithmetic (no float32 rounding): ONNX Runtime is
				// their reference.
				check(t, "re-imported", reimport(t, model, x))
			}
			t.Run("onnxruntime", func(t *testing.T) {
				rt := ort.ForTest(t)
				got, err := rt.Run(writeModel(t, model), map[string]ort.Input{"x": {T: x}})
				if err != nil {
					t.Fatal(err)
				}
				check(t, "onnxruntime", got["y"])
			})
		})
	}
}

// TestElementwiseTableImports checks the table that the importer and the
// exporter share: importing each operator gives its primitive.
func TestElementwiseTableImports(t *testing.T) {
	for _, e := range elementwiseONNX {
		if e.unary == nil && e.binary == nil {
			continue
		}
		n := 1
		if e.binary != nil {
			n = 2
		}
		m := &Model{Input: "x", Output: "y", InputShape: []Dim{{Size: -1}, {Size: 3}}}
		inputs := []string{"x", "x"}[:n]
		m.Nodes = []*Node{{OpType: e.onnx, Inputs: inputs, Outputs: []string{"y"}}}
		tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
			y, err := m.Apply(in[0])
			if err != nil {
				return []*jacobi.Node{in[0].Fail(err)}
			}
			return []*jacobi.Node{y}
		}, [][]int{{2, 3}})
		if err != nil {
			t.Errorf("%s: %v", e.onnx, err)
			continue
		}
		found := false
		for _, q := range tr.Program().Eqns {
			found = found || q.Prim.Name()+params(q.Prim) == e.prim.Name()+params(e.prim)
		}
		if !found {
			t.Errorf("importing %s does not give the primitive %s%s:\n%v", e.onnx, e.prim.Name(), params(e.prim), tr)
		}
	}
}

// ---- models and networks ----

// derivative is a per-sample derivative the exporter is checked on.
type derivative struct {
	name string
	of   func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node
	flat bool // the derivative wants vector samples: flatten others
}

var derivatives = []derivative{
	{"jacobian_forward", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node {
		return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeForward))
	}, false},
	{"jacobian_reverse", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node {
		return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeReverse))
	}, false},
	{"hessian_nested", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node {
		return jacobi.BatchHessianOf(f, x, jacobi.WithMethod(jacobi.MethodNested))
	}, false},
	{"hessian_gram", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node {
		return jacobi.BatchHessianOf(f, x, jacobi.WithMethod(jacobi.MethodGram))
	}, false},
	{"hessian_diag", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(f, x) }, true},
	{"hessian_diag_gram", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node {
		return jacobi.BatchHessianDiagOf(f, x, jacobi.WithMethod(jacobi.MethodGram))
	}, true},
	{"laplacian", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f, x) }, true},
}

// perSampleFn returns the derivative d of f as a function of a batch of
// samples of the given shape, flattening them where d wants vectors.
func (d derivative) perSampleFn(f jacobi.Fn, sample []int) (jacobi.Fn, []int) {
	if !d.flat || len(sample) == 1 {
		return func(x *jacobi.Node) *jacobi.Node { return d.of(f, x) }, sample
	}
	fv := func(v *jacobi.Node) *jacobi.Node { return f(v.Reshape(append([]int{v.Shape()[0]}, sample...)...)) }
	return func(x *jacobi.Node) *jacobi.Node { return d.of(fv, x) }, []int{tensor.Size(sample)}
}

// checkCompiled exports g compiled for samples of the given shape and
// checks the model, re-imported and in ONNX Runtime at opset, against
// jacobi's Run at the batches xs.
func checkCompiled(t *testing.T, g jacobi.Fn, sample []int, xs []*tensor.Tensor, opset int) {
	t.Helper()
	c, err := jacobi.Compile(g, sample)
	if err != nil {
		t.Fatal(err)
	}
	model, err := ExportCompiled(c, Opset(opset))
	if err != nil {
		t.Fatal(err)
	}
	wants := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		if x, err = x.Reshape(append([]int{x.Shape()[0]}, sample...)...); err != nil {
			t.Fatal(err)
		}
		xs[i] = x
		if wants[i], err = c.Run(x); err != nil {
			t.Fatal(err)
		}
		compareOut(t, fmt.Sprintf("re-imported at batch %d", x.Shape()[0]), reimport(t, model, x), wants[i])
	}
	t.Run("onnxruntime", func(t *testing.T) {
		rt := ort.ForTest(t)
		path := writeModel(t, model)
		for i, x := range xs {
			got, err := rt.Run(path, map[string]ort.Input{"x": {T: x}})
			if err != nil {
				t.Fatal(err)
			}
			compareOut(t, fmt.Sprintf("opset %d, batch %d", opset, x.Shape()[0]), got["y"], wants[i])
		}
	})
}

// TestExportModels exports the per-sample derivatives of every model in
// testdata and checks them against jacobi's runtime at two batch sizes
// (one sample, and more than the model's example batch), at opset 17 and
// 13 in turn.
func TestExportModels(t *testing.T) {
	for k, name := range refModels {
		for _, d := range derivatives {
			t.Run(name+"/"+d.name, func(t *testing.T) {
				_, f, x := loadModel(t, name, "model.onnx")
				g, sample := d.perSampleFn(f, x.Shape()[1:])
				opset := []int{17, 13}[k%2]
				checkCompiled(t, g, sample, []*tensor.Tensor{batchRows(x, 1), batchRows(x, 2*x.Shape()[0]+1)}, opset)
			})
		}
	}
}

// TestExportModelVariants exports derivatives of the models stored in other
// forms (weights in typed fields, convolutions with auto_pad).
func TestExportModelVariants(t *testing.T) {
	for _, v := range []struct{ model, file string }{
		{"mlp", "model_float_data.onnx"}, {"mlp", "model_double_data.onnx"}, {"convs", "model_autopad.onnx"},
	} {
		for _, d := range []derivative{derivatives[1], derivatives[4]} {
			t.Run(v.model+"/"+v.file+"/"+d.name, func(t *testing.T) {
				_, f, x := loadModel(t, v.model, v.file)
				g, sample := d.perSampleFn(f, x.Shape()[1:])
				checkCompiled(t, g, sample, []*tensor.Tensor{batchRows(x, 2), batchRows(x, x.Shape()[0]+3)}, 17)
			})
		}
	}
}

// TestExportNetworks exports derivatives of networks defined in Go and
// runs them at three batch sizes, an empty batch included.
func TestExportNetworks(t *testing.T) {
	rng := tensor.NewRand(3)
	tanh, err := nn.RandomMLP(rng, []int{3, 16, 16, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	wide, err := nn.RandomMLP(rng, []int{2, 24, 1}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	gelu := func(x *jacobi.Node) *jacobi.Node {
		return nn.GELU(wide.Apply(x)).Add(nn.Softplus(x.Slice(1, 0, 1)).Mul(x.Slice(1, 1, 2).Sin()))
	}
	nets := []struct {
		name string
		f    jacobi.Fn
		in   int
	}{{"tanh_mlp", tanh.Apply, 3}, {"gelu_softplus", gelu, 2}}
	for k, net := range nets {
		for _, d := range derivatives {
			t.Run(net.name+"/"+d.name, func(t *testing.T) {
				xs := []*tensor.Tensor{tensor.Randn(rng, 4, net.in), tensor.Randn(rng, 9, net.in), tensor.Zeros(0, net.in)}
				checkCompiled(t, func(x *jacobi.Node) *jacobi.Node { return d.of(net.f, x) }, []int{net.in}, xs, []int{17, 13}[k%2])
			})
		}
	}
}

// pinnStep is a physics-informed training step: the loss
// mean((Δu + u)²) + mean(|∇u|²) of the network u at the batch x, and its
// gradient with respect to every parameter. Its inputs are the
// parameters, then x.
func pinnStep(m *nn.MLP) jacobi.MultiFn {
	np := len(m.Params())
	return func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(func(in []*jacobi.Node) *jacobi.Node {
			params, x := in[:np], in[np]
			u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
			lap := jacobi.BatchLaplacianOf(u, x)
			grad := jacobi.BatchGradOf(u, x)
			return lap.Add(u(x)).Square().Mean().Add(grad.Square().Sum(1).Mean())
		}, in)
		return append([]*jacobi.Node{v}, g[:np]...)
	}
}

// checkFunc exports f with ExportFunc at the shapes (-1: the batch) and
// checks it in ONNX Runtime against jacobi's Trace at each batch size,
// given the inputs for a batch size.
func checkFunc(t *testing.T, f jacobi.MultiFn, shapes [][]int, inputs func(n int) []*tensor.Tensor, batches []int, opts ...ExportOption) {
	t.Helper()
	model, err := ExportFunc(f, shapes, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeProto(model)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("onnxruntime", func(t *testing.T) {
		rt := ort.ForTest(t)
		path := writeModel(t, model)
		for _, n := range batches {
			in := inputs(n)
			at := make([][]int, len(in))
			feeds := map[string]ort.Input{}
			for i, x := range in {
				at[i] = x.Shape()
				feeds[m.GetGraph().GetInput()[i].GetName()] = ort.Input{T: x}
			}
			tr, err := jacobi.Trace(f, at, jacobi.WithDType(in[len(in)-1].DType()))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tr.Run(in...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rt.Run(path, feeds)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				name := m.GetGraph().GetOutput()[i].GetName()
				compareOut(t, fmt.Sprintf("output %s at batch %d", name, n), got[name], w)
			}
		}
	})
}

// TestExportTrainingStep exports a physics-informed training step — a
// mean over the batch, so the model divides by the batch size at run
// time — and runs it at two batch sizes.
func TestExportTrainingStep(t *testing.T) {
	m, err := nn.RandomMLP(tensor.NewRand(4), []int{2, 12, 12, 1}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	var shapes [][]int
	for _, p := range m.Params() {
		shapes = append(shapes, p.Shape())
	}
	shapes = append(shapes, []int{-1, 2})
	rng := tensor.NewRand(5)
	inputs := func(n int) []*tensor.Tensor { return append(m.Params(), tensor.Randn(rng, n, 2)) }
	for _, opset := range []int{13, 17, 21} {
		t.Run(fmt.Sprint("opset", opset), func(t *testing.T) {
			checkFunc(t, pinnStep(m), shapes, inputs, []int{3, 50}, Opset(opset))
		})
	}
	// Per sample, the same step is refused: it sums over the samples.
	_, err = ExportFunc(pinnStep(m), shapes, PerSample())
	if err == nil || !strings.Contains(err.Error(), "mixes samples") {
		t.Errorf("a per-sample export of a mean over the batch: error %v", err)
	}
}

// TestExportValueAndJacobian exports a function of two outputs, the value
// and the per-sample Jacobian, with names.
func TestExportValueAndJacobian(t *testing.T) {
	m, err := nn.RandomMLP(tensor.NewRand(6), []int{3, 8, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	f := func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{m.Apply(in[0]), jacobi.BatchJacobianOf(m.Apply, in[0])}
	}
	rng := tensor.NewRand(7)
	checkFunc(t, f, [][]int{{-1, 3}}, func(n int) []*tensor.Tensor { return []*tensor.Tensor{tensor.Randn(rng, n, 3)} }, []int{1, 6},
		PerSample(), InputNames("points"), OutputNames("value", "jacobian"), BatchName("n"))
}

// TestExportTraced exports a traced program at its fixed shapes.
func TestExportTraced(t *testing.T) {
	m, err := nn.RandomMLP(tensor.NewRand(8), []int{3, 8, 2}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{jacobi.BatchHessianDiagOf(m.Apply, in[0])}
	}, [][]int{{5, 3}})
	if err != nil {
		t.Fatal(err)
	}
	model, err := ExportTraced(tr, Opset(13))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(info.Inputs, info.Outputs); got != "[x: double (5, 3)] [y: double (5, 2, 3)]" {
		t.Errorf("inputs and outputs %s, want fixed shapes", got)
	}
	x := tensor.Randn(tensor.NewRand(9), 5, 3)
	want, err := tr.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	// Re-imported at its one batch size (Model.Fn would try others).
	dm, err := Decode(model)
	if err != nil {
		t.Fatal(err)
	}
	y, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node {
		y, err := dm.Apply(x)
		if err != nil {
			return x.Fail(err)
		}
		return y
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	compareOut(t, "re-imported", y, want[0])
	t.Run("onnxruntime", func(t *testing.T) {
		got, err := ort.ForTest(t).Run(writeModel(t, model), map[string]ort.Input{"x": {T: x}})
		if err != nil {
			t.Fatal(err)
		}
		compareOut(t, "onnxruntime", got["y"], want[0])
	})
}

// TestExportFloat32Programs exports programs compiled and traced in float32 — Erf
// by ONNX's own operator there, a mean over the batch that is k/N in
// float32 — and a float32 program that runs a float64 network inside
// (casts where it converts), and checks them in ONNX Runtime.
func TestExportFloat32Programs(t *testing.T) {
	rng := tensor.NewRand(10)
	m, err := nn.RandomMLP(rng, []int{3, 16, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m32 := m.Convert(tensor.Float32)
	gelu64 := func(x *jacobi.Node) *jacobi.Node {
		return nn.GELU(m.Apply(x.Convert(tensor.Float64))).Convert(tensor.Float32)
	}
	for _, c := range []struct {
		name string
		f    jacobi.Fn
		out  ElemType
	}{
		{"laplacian", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(m32.Apply, x) }, Float32},
		{"hessian_diag of a GELU network", func(x *jacobi.Node) *jacobi.Node {
			return jacobi.BatchHessianDiagOf(func(x *jacobi.Node) *jacobi.Node { return nn.GELU(m32.Apply(x)) }, x)
		}, Float32},
		{"jacobian of a float64 GELU network", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(gelu64, x) }, Float32},
		{"the float64 jacobian of it", func(x *jacobi.Node) *jacobi.Node {
			return jacobi.BatchJacobianOf(gelu64, x).Convert(tensor.Float64)
		}, Float64},
	} {
		t.Run(c.name, func(t *testing.T) {
			comp, err := jacobi.Compile(c.f, []int{3}, jacobi.WithDType(tensor.Float32))
			if err != nil {
				t.Fatal(err)
			}
			model, err := ExportCompiled(comp)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(model)
			if err != nil {
				t.Fatal(err)
			}
			if info.Inputs[0].Type != Float32 || info.Outputs[0].Type != c.out {
				t.Errorf("input %v, output %v: want float and %v", info.Inputs[0], info.Outputs[0], c.out)
			}
			x := tensor.Randn(rng, 6, 3).Convert(tensor.Float32)
			want, err := comp.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("onnxruntime", func(t *testing.T) {
				got, err := ort.ForTest(t).Run(writeModel(t, model), map[string]ort.Input{"x": {T: x}})
				if err != nil {
					t.Fatal(err)
				}
				compareOut(t, "onnxruntime", got["y"].Convert(want.DType()), want)
			})
		})
	}
	t.Run("training step", func(t *testing.T) {
		var shapes [][]int
		for _, p := range m32.Params() {
			shapes = append(shapes, p.Shape())
		}
		shapes = append(shapes, []int{-1, 3})
		checkFunc(t, pinnStep(m32), shapes, func(n int) []*tensor.Tensor {
			return append(m32.Params(), tensor.Randn(rng, n, 3).Convert(tensor.Float32))
		}, []int{4, 9}, DType(tensor.Float32))
	})
}

// ---- what cannot be exported ----

// opaque is a primitive with every rule but no ONNX lowering.
type opaque struct{ op.Exp }

func (opaque) Name() string { return "opaque" }

func TestExportRefuses(t *testing.T) {
	scaleByBatchSquared := func(in []*jacobi.Node) []*jacobi.Node {
		n := float64(in[0].Shape()[0])
		return []*jacobi.Node{in[0].Scale(n * n)}
	}
	pairRows := func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{in[0].Reshape(2, -1)} }
	firstRowsConst := func(in []*jacobi.Node) []*jacobi.Node {
		n := in[0].Shape()[0]
		idx := make([]float64, n)
		for i := range idx {
			idx[i] = float64(i)
		}
		return []*jacobi.Node{in[0].Add(jacobi.Const(tensor.MustNew([]int{n, 1}, idx)))}
	}
	for _, c := range []struct {
		name   string
		f      jacobi.MultiFn
		shapes [][]int
		opts   []ExportOption
		want   string
	}{
		{"the batch size squared", scaleByBatchSquared, [][]int{{-1, 3}}, nil, "a value of the batch size other than k/N"},
		{"a mean, per sample", func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{in[0].Sub(in[0].Mean())} }, [][]int{{-1, 3}}, []ExportOption{PerSample()}, "mixes samples"},
		{"the batch size, per sample", func(in []*jacobi.Node) []*jacobi.Node {
			return []*jacobi.Node{in[0].Scale(1 / float64(in[0].Shape()[0]))}
		}, [][]int{{-1, 3}}, []ExportOption{PerSample()}, "depends on the batch size"},
		{"two batch axes", scaleByBatchSquared, [][]int{{-1, -1}}, nil, "one batch axis"},
		{"a reshape that pairs samples", pairRows, [][]int{{-1, 3}}, nil, "tracing at batch size"},
		{"an iota over the batch", firstRowsConst, [][]int{{-1, 3}}, nil, "varies along the batch"},
		{"a bad shape", pairRows, [][]int{{-2, 3}}, nil, "-1 for the batch"},
		{"an opset too old", pairRows, [][]int{{4, 3}}, []ExportOption{Opset(12)}, "opset 12"},
		{"too few names", scaleByBatchSquared, [][]int{{4, 3}}, []ExportOption{OutputNames("a", "b")}, "2 names for 1 values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ExportFunc(c.f, c.shapes, c.opts...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if b != nil {
				t.Error("a model came with the error")
			}
		})
	}
	// A primitive without a lowering.
	bld := ir.NewBuilder(nil)
	x := bld.Input([]int{2, 3})
	p, err := bld.Build(bld.Emit(opaque{}, x))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exportPrograms([]*ir.Program{p}, nil, &exportConfig{opset: 17, batchName: "batch"}); err == nil || !strings.Contains(err.Error(), "opaque has no ONNX lowering") {
		t.Errorf("a primitive without a lowering: error %v", err)
	}
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "missing", "m.onnx"), []byte("x")); err == nil {
		t.Error("writing into a missing directory succeeds")
	}
	path := filepath.Join(dir, "m.onnx")
	if err := WriteFile(path, []byte("model")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "model" {
		t.Fatalf("read back %q, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the model alone", len(entries))
	}
	if err := WriteFile(dir, []byte("x")); err == nil {
		t.Error("writing over a directory succeeds")
	}
}

func decodeProto(b []byte) (*pb.ModelProto, error) {
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// TestExportRefusesBatchDependentModels exports per-sample Jacobians of
// the models that use their batch size in testdata (tanh(x / x.shape[0]),
// a reshape to a literal batch of 2), lowered without Model.Fn's checks:
// ExportFunc refuses them itself, naming the ONNX node.
func TestExportRefusesBatchDependentModels(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"batchsize", "depends on the batch size"},
		{"reshape_batch", "tracing at batch size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(filepath.Join(modelsDir, c.name, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			f := func(x *jacobi.Node) *jacobi.Node {
				y, err := m.Apply(x)
				if err != nil {
					return x.Fail(err)
				}
				return y
			}
			sample := make([]int, len(m.InputShape)-1)
			for i, d := range m.InputShape[1:] {
				sample[i] = d.Size
			}
			_, err = ExportFunc(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{jacobi.BatchJacobianOf(f, in[0])} },
				[][]int{append([]int{-1}, sample...)}, PerSample())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "node") {
				t.Errorf("error %v, want one saying %q and naming the node", err, c.want)
			}
		})
	}
}

// TestExportBasis exports generated bases as they are (unsimplified:
// Simplify turns small ones into constants), written as EyeLike of
// ConstantOfShape, and checks them in ONNX Runtime and re-imported.
func TestExportBasis(t *testing.T) {
	for _, s := range exportSamples()["Basis"] {
		t.Run(strings.ReplaceAll(s.name, " ", "_"), func(t *testing.T) {
			p := s.program(t)
			ns := batchSizes(programInts(p))
			progs := make([]*ir.Program, len(ns))
			for i, n := range ns {
				v, err := transform.Vmap(p, []bool{true}, n)
				if err != nil {
					t.Fatal(err)
				}
				progs[i] = v
			}
			cfg, _ := configureExport(nil)
			model, err := exportPrograms(progs, ns, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(model, []byte("EyeLike")) {
				t.Fatal("the basis was not written as EyeLike")
			}
			rng := rand.New(rand.NewPCG(5, 6))
			xs := []*tensor.Tensor{tensor.Uniform(rng, s.lo, s.hi, 1, s.in), tensor.Uniform(rng, s.lo, s.hi, 4, s.in)}
			for _, x := range xs {
				compareOut(t, fmt.Sprintf("re-imported at batch %d", x.Shape()[0]), reimport(t, model, x), perSampleLoop(t, p, x))
			}
			rt := ort.ForTest(t)
			path := writeModel(t, model)
			for _, x := range xs {
				got, err := rt.Run(path, map[string]ort.Input{"x": {T: x}})
				if err != nil {
					t.Fatal(err)
				}
				compareOut(t, fmt.Sprintf("ONNX Runtime, batch %d", x.Shape()[0]), got["y"], perSampleLoop(t, p, x))
			}
		})
	}
}
