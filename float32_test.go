package jacobi_test

import (
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// netOf is a network in dtype dt with weakly typed constants (Scale,
// AddScalar) that must take its dtype: (b, 3) to (b, 2).
func netOf(t testing.TB, dt tensor.DType) jacobi.Fn {
	m, err := nn.RandomMLP(tensor.NewRand(21), []int{3, 12, 12, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m = m.Convert(dt)
	return func(x *jacobi.Node) *jacobi.Node {
		return m.Apply(x).Sin().Scale(1.5).Add(x.Slice(1, 0, 2).Square()).AddScalar(0.25)
	}
}

// scalarOf sums f's outputs per sample: (b, 3) to (b,).
func scalarOf(f jacobi.Fn) jacobi.Fn { return func(x *jacobi.Node) *jacobi.Node { return f(x).Sum(1) } }

// within checks a float32 result against the float64 one within the
// rounding bounds of the float32 program that computed it (p32) and of the
// float64 one (p64), both at the float64 inputs in64.
func within(t *testing.T, what string, got, want *tensor.Tensor, p32, p64 *ir.Program, in64 []*tensor.Tensor) {
	t.Helper()
	if got.DType() != tensor.Float32 {
		t.Errorf("%s: the result is %v, want float32", what, got.DType())
		return
	}
	same := fdcheck.Must(t, what+" in float64")(fdcheck.Retype(p32, tensor.Float64))
	b32 := fdcheck.ErrorBound(t, same, p32, in64)
	b64 := fdcheck.ErrorBound(t, p64, p64, in64)
	if len(b32) != 1 || len(b64) != 1 {
		t.Fatalf("%s: programs of %d and %d outputs, want 1", what, len(b32), len(b64))
	}
	s, err := tensor.Add(b32[0], b64[0])
	if err != nil {
		t.Fatal(err)
	}
	fdcheck.CompareBound(t, what, got, want, s)
}

// The public derivatives of a float32 function at a float32 batch are
// float32, and within the rounding bound of the program that ran of the
// float64 derivatives of the same function at the same values.
func TestFloat32Derivatives(t *testing.T) {
	f32, f64 := tensor.Float32, tensor.Float64
	x32 := tensor.Randn(tensor.NewRand(22), 6, 3).Convert(f32)
	x64 := x32.Convert(f64)
	a := tensor.MustNew([]int{3, 3}, []float64{2, 0.5, 0, 0.5, 1, -0.25, 0, -0.25, 3})
	drift := tensor.MustNew([]int{3}, []float64{1, -2, 0.5})
	perSample := []struct {
		name string
		f    func(f jacobi.Fn) jacobi.Fn // the derivative, inside a trace
		run  func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error)
		g    func(jacobi.Fn) jacobi.Fn // the function differentiated (nil: the network)
	}{
		{"BatchJacobian", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x) }
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchJacobian(f, x) }, nil},
		{"BatchJacobian reverse", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeReverse))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.ModeReverse))
		}, nil},
		{"BatchJacobian forward", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeForward))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.ModeForward))
		}, nil},
		{"BatchHessian", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(f, x) }
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchHessian(f, x) }, nil},
		{"BatchHessian, Gram matrices", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchHessianOf(f, x, jacobi.WithMethod(jacobi.MethodGram))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchHessian(f, x, jacobi.WithMethod(jacobi.MethodGram))
		}, nil},
		{"BatchHessianDiag taylor", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchHessianDiagOf(f, x, jacobi.WithMethod(jacobi.MethodTaylor))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchHessianDiag(f, x, jacobi.WithMethod(jacobi.MethodTaylor))
		}, nil},
		{"BatchHessianDiag nested", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchHessianDiagOf(f, x, jacobi.WithMethod(jacobi.MethodNested))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchHessianDiag(f, x, jacobi.WithMethod(jacobi.MethodNested))
		}, nil},
		{"BatchLaplacian", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f, x) }
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchLaplacian(f, x) }, nil},
		{"BatchLaplacian nested", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchLaplacianOf(f, x, jacobi.WithMethod(jacobi.MethodNested))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchLaplacian(f, x, jacobi.WithMethod(jacobi.MethodNested))
		}, nil},
		{"BatchLaplacian hutchinson", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchLaplacianOf(f, x, jacobi.WithEstimator(jacobi.Hutchinson(4, 1)))
			}
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchLaplacian(f, x, jacobi.WithEstimator(jacobi.Hutchinson(4, 1)))
		}, nil},
		{"BatchOperator", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchOperatorOf(f, x, a, drift) }
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
			return jacobi.BatchOperator(f, x, a, drift)
		}, nil},
		{"BatchGrad", func(f jacobi.Fn) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchGradOf(f, x) }
		}, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.BatchGrad(f, x) }, scalarOf},
	}
	for _, c := range perSample {
		t.Run(c.name, func(t *testing.T) {
			g32, g64 := netOf(t, f32), netOf(t, f64)
			if c.g != nil {
				g32, g64 = c.g(g32), c.g(g64)
			}
			got, err := c.run(g32, x32)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.run(g64, x64)
			if err != nil {
				t.Fatal(err)
			}
			p32, err := jacobi.ChunkProgram(c.f(g32), x32)
			if err != nil {
				t.Fatal(err)
			}
			p64, err := jacobi.ChunkProgram(c.f(g64), x64)
			if err != nil {
				t.Fatal(err)
			}
			within(t, c.name, got, want, p32, p64, []*tensor.Tensor{x64})
		})
	}

	// The functions of one input that are not per sample.
	h := func(f jacobi.Fn) jacobi.Fn { return func(x *jacobi.Node) *jacobi.Node { return f(x).Sum() } }
	whole := []struct {
		name string
		of   func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node
		run  func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error)
		g    func(jacobi.Fn) jacobi.Fn
	}{
		{"Eval", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node { return f(x) }, jacobi.Eval, nil},
		{"Jacobian", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node { return jacobi.JacobianOf(f, x) },
			func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.Jacobian(f, x) }, nil},
		{"Grad", jacobi.GradOf, jacobi.Grad, h},
		{"Hessian", func(f jacobi.Fn, x *jacobi.Node) *jacobi.Node { return jacobi.HessianOf(f, x) }, func(f jacobi.Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return jacobi.Hessian(f, x) }, h},
	}
	for _, c := range whole {
		t.Run(c.name, func(t *testing.T) {
			g32, g64 := netOf(t, f32), netOf(t, f64)
			if c.g != nil {
				g32, g64 = c.g(g32), c.g(g64)
			}
			got, err := c.run(g32, x32)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.run(g64, x64)
			if err != nil {
				t.Fatal(err)
			}
			prog := func(g jacobi.Fn, x *tensor.Tensor) *ir.Program {
				p, err := jacobi.TracedProgram(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{c.of(g, in[0])} }, x)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			within(t, c.name, got, want, prog(g32, x32), prog(g64, x64), []*tensor.Tensor{x64})
		})
	}
}

// Go numbers take the dtype of what they meet; tensors of two dtypes in
// one operation are an error that names the operation and the line;
// Convert changes a node's dtype inside a traced function.
func TestDTypesInTracedFunctions(t *testing.T) {
	f32, f64 := tensor.Float32, tensor.Float64
	x32 := tensor.Randn(tensor.NewRand(23), 4, 3).Convert(f32)
	y, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node {
		return x.Scale(2).AddScalar(1).Add(jacobi.Scalar(0.1)).Relu().Clip(0, 3).Mean(1)
	}, x32)
	if err != nil || y.DType() != f32 {
		t.Fatalf("weak scalars on a float32 input: %v, %v", y, err)
	}
	// Constants alone stay weak until they meet a typed value.
	y, err = jacobi.Eval(func(x *jacobi.Node) *jacobi.Node { return x.Mul(jacobi.Scalar(2).Mul(jacobi.Scalar(3))) }, x32)
	if err != nil || y.DType() != f32 || y.At(0, 0) != float64(float32(6)*x32.Data32()[0]) {
		t.Fatalf("folded weak scalars: %v, %v", y, err)
	}
	w64 := jacobi.Const(tensor.Ones(3, 2))
	_, err = jacobi.Eval(func(x *jacobi.Node) *jacobi.Node { return x.MatMul(w64) }, x32)
	if err == nil || !strings.Contains(err.Error(), "matmul (at") || !strings.Contains(err.Error(), "float32_test.go") ||
		!strings.Contains(err.Error(), "float32 (operand 0) and float64 (operand 1)") {
		t.Errorf("a float64 constant times a float32 input: %v", err)
	}
	// Convert: computed in float64 inside a float32 function.
	y, err = jacobi.Eval(func(x *jacobi.Node) *jacobi.Node {
		return x.Convert(f64).MatMul(w64).Exp().Convert(f32)
	}, x32)
	if err != nil || y.DType() != f32 {
		t.Fatalf("convert: %v, %v", y, err)
	}
	for i := 0; i < 4; i++ {
		s := 0.0
		for j := 0; j < 3; j++ {
			s += float64(x32.Data32()[i*3+j])
		}
		if got, want := y.At(i, 0), float64(float32(exp(s))); got != want {
			t.Errorf("row %d: %v, want %v", i, got, want)
		}
	}
	// Its derivative is the identity, converted.
	g, err := jacobi.BatchGrad(func(x *jacobi.Node) *jacobi.Node { return x.Convert(f64).Square().Sum(1).Convert(f32) }, x32)
	if err != nil || g.DType() != f32 {
		t.Fatalf("the gradient through conversions: %v, %v", g, err)
	}
	for i, v := range g.Data32() {
		if want := 2 * x32.Data32()[i]; v != want {
			t.Errorf("element %d: %v, want %v", i, v, want)
		}
	}
	// A Go number given as a cotangent takes the dtype the VJP expects.
	g, err = jacobi.Eval(func(x *jacobi.Node) *jacobi.Node {
		_, vj := jacobi.VJPOf(func(x *jacobi.Node) *jacobi.Node { return x.Square().Sum() }, x, jacobi.Scalar(1))
		return vj
	}, x32)
	if err != nil || g.DType() != f32 || g.Data32()[0] != 2*x32.Data32()[0] {
		t.Errorf("VJPOf with a weakly typed cotangent: %v, %v", g, err)
	}
	// WithDType converts a one-shot derivative's input.
	j, err := jacobi.BatchJacobian(netOf(t, f32), x32.Convert(f64), jacobi.WithDType(f32))
	if err != nil || j.DType() != f32 {
		t.Errorf("BatchJacobian WithDType(float32) of a float64 batch: %v", err)
	}
}

func exp(x float64) float64 {
	e, err := jacobi.Eval(func(n *jacobi.Node) *jacobi.Node { return n.Exp() }, tensor.Scalar(x))
	if err != nil {
		panic(err)
	}
	return e.At()
}

// Compile and Trace take float32 inputs WithDType, and refuse the other
// dtype; a float32 training step splits over its batch like a float64 one.
func TestCompileAndTraceFloat32(t *testing.T) {
	f32 := tensor.Float32
	net := netOf(t, f32)
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(net, x) }, []int{3}, jacobi.WithDType(f32))
	if err != nil {
		t.Fatal(err)
	}
	if c.DType() != f32 || c.OutDType() != f32 {
		t.Fatalf("compiled for %v to %v", c.DType(), c.OutDType())
	}
	x := tensor.Randn(tensor.NewRand(24), 40, 3)
	if _, err := c.Run(x); err == nil || !strings.Contains(err.Error(), "float64, the program was compiled for float32") {
		t.Errorf("a float64 batch into a float32 program: %v", err)
	}
	j, err := c.Run(x.Convert(f32))
	if err != nil || j.DType() != f32 {
		t.Fatalf("run: %v", err)
	}
	want, err := jacobi.BatchJacobian(net, x.Convert(f32))
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(j, want); d != 0 {
		t.Errorf("Compile's Run and BatchJacobian differ by %g", d)
	}
	if _, err := jacobi.Compile(net, []int{3}, jacobi.WithDType(tensor.DType(9))); err == nil {
		t.Error("WithDType(9) is accepted")
	}

	m, err := nn.RandomMLP(tensor.NewRand(25), []int{2, 16, 1}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m = m.Convert(f32)
	loss := func(in []*jacobi.Node) *jacobi.Node {
		params, x := in[:len(in)-1], in[len(in)-1]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
		return jacobi.BatchLaplacianOf(u, x).Square().Mean()
	}
	shapes := [][]int{}
	in := []*tensor.Tensor{}
	for _, p := range m.Params() {
		shapes = append(shapes, p.Shape())
		in = append(in, p)
	}
	xb := tensor.Randn(tensor.NewRand(26), 1000, 2).Convert(f32)
	shapes, in = append(shapes, xb.Shape()), append(in, xb)
	step := func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(loss, in)
		return append([]*jacobi.Node{v}, g...)
	}
	tr, err := jacobi.Trace(step, shapes, jacobi.WithDType(f32), jacobi.WithChunk(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.WhyNotSplit(); err != nil {
		t.Errorf("the float32 step does not split: %v", err)
	}
	outs, err := tr.Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o.DType() != f32 {
			t.Errorf("output %d is %v", i, o.DType())
		}
	}
	whole, err := tr.RunWhole(in...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range outs {
		// Split and whole sum in different orders: the same values up to
		// float32 rounding of the sums.
		if d, s := tensor.MaxAbsDiff(outs[i], whole[i]), whole[i].MaxAbs(); d > 1e-4*s {
			t.Errorf("output %d: split and whole differ by %g (scale %g)", i, d, s)
		}
	}
	v, g, err := jacobi.ValueAndGrad(loss, in...)
	if err != nil || v.DType() != f32 || g[0].DType() != f32 {
		t.Fatalf("ValueAndGrad in float32: %v", err)
	}
	if _, err := tr.Run(append(in[:len(in)-1:len(in)-1], xb.Convert(tensor.Float64))...); err == nil || !strings.Contains(err.Error(), "float64, the program takes float32") {
		t.Errorf("a float64 batch into a float32 step: %v", err)
	}
}
