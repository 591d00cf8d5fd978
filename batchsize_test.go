package jacobi_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// A function that uses its batch size as a value, or in a shape that fits
// one batch size only, is refused by Compile (which runs at every batch
// size) with the operation named; the one-shot derivatives trace at their
// input's batch size and give the exact derivative there.
func TestBatchSizeDependence(t *testing.T) {
	cases := []struct {
		name string
		f    jacobi.Fn
		prim string // the operation the error names
		mix  bool   // the second trace fails by mixing samples
		in   int    // the size of a sample (default 3)
	}{
		{"x/b", func(x *jacobi.Node) *jacobi.Node { return x.Scale(1 / float64(x.Shape()[0])).Tanh() }, "mul", false, 3},
		{"x+b", func(x *jacobi.Node) *jacobi.Node { return x.AddScalar(float64(x.Shape()[0])).Sin() }, "add", false, 3},
		{"constant of b rows of b", func(x *jacobi.Node) *jacobi.Node {
			b := x.Shape()[0]
			return x.Mul(jacobi.Const(tensor.Full(float64(b), b, 3)))
		}, "mul", false, 3},
		{"reshape to a literal (2, -1)", func(x *jacobi.Node) *jacobi.Node { return x.Reshape(2, -1).Tanh().Reshape(x.Shape()[0], -1) }, "reshape", true, 3},
		{"reshape to a literal (2, -1) that mixes", func(x *jacobi.Node) *jacobi.Node { return x.Reshape(2, -1).Tanh().Reshape(x.Shape()[0], -1) }, "reshape", true, 4},
		{"branch on b", func(x *jacobi.Node) *jacobi.Node {
			if x.Shape()[0]%2 == 0 {
				return x.Sin()
			}
			return x.Cos()
		}, "", false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []int{max(c.in, 3)}
			for _, m := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse} {
				_, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node {
					return jacobi.BatchJacobianOf(c.f, x, jacobi.WithMode(m))
				}, in)
				var be *transform.BatchSizeError
				if !errors.As(err, &be) {
					t.Fatalf("%v mode: error %v, want a *transform.BatchSizeError", m, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, "depends on the batch size") || !strings.Contains(msg, c.prim) || !strings.Contains(msg, "batchsize_test.go:") {
					t.Fatalf("%v mode: the error does not name the dependence, the %s and the line: %v", m, c.prim, msg)
				}
				var me *op.MixError
				if errors.As(err, &me) != c.mix {
					t.Fatalf("%v mode: wraps a mixing error: %v, want %v: %v", m, me != nil, c.mix, err)
				}
			}
			// The function itself, compiled, is refused too.
			if _, err := jacobi.Compile(c.f, in); err == nil || !strings.Contains(err.Error(), "depends on the batch size") {
				t.Fatalf("Compile of the function: %v", err)
			}
		})
	}

	// The one-shot derivative at the input's batch size is exact: the
	// per-sample Jacobian of tanh(x/b) is diag(sech²(x/b)/b).
	for _, b := range []int{1, 5, 8} {
		x := tensor.Randn(tensor.NewRand(uint64(b)), b, 3)
		j, err := jacobi.BatchJacobian(cases[0].f, x)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, b*9)
		for i := 0; i < b; i++ {
			for k := 0; k < 3; k++ {
				th := math.Tanh(x.At(i, k) / float64(b))
				want[i*9+k*3+k] = (1 - th*th) / float64(b)
			}
		}
		assertClose(t, "BatchJacobian of tanh(x/b)", j.Data(), want, 1e-14, 1e-16)
	}
}

// Functions that use the batch size only to say where the samples are —
// reshapes to (b, …), constants of b equal rows — are not batch-size
// dependent: Compile accepts them and agrees with the one-shot derivative.
func TestBatchSizeAsShapeIsAccepted(t *testing.T) {
	w := tensor.Randn(tensor.NewRand(3), 3, 2)
	f := func(x *jacobi.Node) *jacobi.Node {
		b := x.Shape()[0]
		h := x.Reshape(b, 1, 3).Reshape(b, -1).MatMul(jacobi.Const(w)).Tanh()
		return h.Add(jacobi.Const(tensor.Ones(b, 2))).Mul(x.Slice(1, 0, 2))
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x) }, []int{3})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []int{1, 4, 9} {
		x := tensor.Randn(tensor.NewRand(uint64(10+b)), b, 3)
		got, err := c.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := jacobi.BatchJacobian(f, x)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "compiled against one-shot", got.Data(), want.Data(), 1e-14, 1e-16)
	}
}

// An empty batch gives an empty result, also when f holds constants
// shaped like its batch.
func TestEmptyBatch(t *testing.T) {
	m := seedMLP(t)
	fs := []struct {
		name string
		f    jacobi.Fn
		out  int
	}{
		{"mlp", m.Apply, 10},
		{"constant of b rows", func(x *jacobi.Node) *jacobi.Node {
			return x.Add(jacobi.Const(tensor.Ones(x.Shape()[0], 5))).Tanh()
		}, 5},
		{"scalar constant", func(x *jacobi.Node) *jacobi.Node { return x.Scale(2).AddScalar(1).Sin() }, 5},
	}
	x := tensor.Zeros(0, 5)
	for _, c := range fs {
		t.Run(c.name, func(t *testing.T) {
			runs := []struct {
				name  string
				run   func() (*tensor.Tensor, error)
				shape []int
			}{
				{"BatchJacobian", func() (*tensor.Tensor, error) { return jacobi.BatchJacobian(c.f, x) }, []int{0, c.out, 5}},
				{"BatchHessian", func() (*tensor.Tensor, error) { return jacobi.BatchHessian(c.f, x) }, []int{0, c.out, 5, 5}},
				{"BatchHessianDiag", func() (*tensor.Tensor, error) { return jacobi.BatchHessianDiag(c.f, x) }, []int{0, c.out, 5}},
				{"BatchLaplacian", func() (*tensor.Tensor, error) { return jacobi.BatchLaplacian(c.f, x) }, []int{0, c.out}},
			}
			for _, r := range runs {
				got, err := r.run()
				if err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				if !tensor.SameShape(got.Shape(), r.shape) {
					t.Fatalf("%s: shape %v, want %v", r.name, got.Shape(), r.shape)
				}
			}
		})
	}
}

// A function whose output does not depend on the input and has no batch
// axis is reported as such, not as one that mixes samples.
func TestConstantOutput(t *testing.T) {
	f := func(x *jacobi.Node) *jacobi.Node { return jacobi.Const(tensor.Ones(3)) }
	_, err := jacobi.Compile(f, []int{2})
	if err == nil || !strings.Contains(err.Error(), "does not depend on the input and has no batch axis") || strings.Contains(err.Error(), "mixes") {
		t.Fatalf("error %v, want one that says the output is constant without a batch axis", err)
	}
}
