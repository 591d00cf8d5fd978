package jacobi_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Compiling a derivative whose basis has in² elements (forward mode, the
// Laplacian, the Hessian diagonal) does not allocate them: the basis is
// generated when the program runs (op.Basis), not stored as an identity
// matrix. At in = 8192 the identity would be 512 MB; compiling takes a
// small fraction of it.
func TestCompileDoesNotStoreTheBasis(t *testing.T) {
	const in = 8192
	w := tensor.Randn(tensor.NewRand(1), in, 2)
	f := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)).Tanh() }
	identity := uint64(in) * in * 8
	for _, c := range []struct {
		name   string
		derive func(x *jacobi.Node) *jacobi.Node
	}{
		{"forward Jacobian", func(x *jacobi.Node) *jacobi.Node {
			return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeForward))
		}},
		{"Laplacian", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f, x) }},
		{"Hessian diagonal", func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(f, x) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if _, err := jacobi.Compile(c.derive, []int{in}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > identity/8 {
				t.Errorf("compiling allocated %s, more than an eighth of the %s identity", mb(got), mb(identity))
			}
		})
	}
}

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// Above Simplify's folding limit the basis stays generated at run time;
// the derivatives it gives match their closed forms. For y_j = tanh(a_j),
// a = x·W[:, j]: ∂y_j/∂x_i = (1 - y_j²) W_ij and ∂²y_j/∂x_i² = -2 y_j (1 -
// y_j²) W_ij².
func TestGeneratedBasisValues(t *testing.T) {
	const in, b = 1100, 3 // a basis of 1.21 M elements: above the folding limit
	w := tensor.Randn(tensor.NewRand(1), in, 2).Scale(0.05)
	x := tensor.Randn(tensor.NewRand(2), b, in)
	f := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)).Tanh() }
	jac, diag, lap := tensor.Zeros(b, 2, in), tensor.Zeros(b, 2, in), tensor.Zeros(b, 2)
	for s := range b {
		for j := range 2 {
			var a float64
			for i := range in {
				a += x.Data()[s*in+i] * w.Data()[i*2+j]
			}
			yj := math.Tanh(a)
			for i := range in {
				wij := w.Data()[i*2+j]
				jac.Data()[(s*2+j)*in+i] = (1 - yj*yj) * wij
				diag.Data()[(s*2+j)*in+i] = -2 * yj * (1 - yj*yj) * wij * wij
				lap.Data()[s*2+j] += diag.Data()[(s*2+j)*in+i]
			}
		}
	}
	for _, c := range []struct {
		name string
		run  func() (*tensor.Tensor, error)
		want *tensor.Tensor
	}{
		{"forward Jacobian", func() (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.ModeForward))
		}, jac},
		{"Hessian diagonal", func() (*tensor.Tensor, error) { return jacobi.BatchHessianDiag(f, x) }, diag},
		{"Laplacian", func() (*tensor.Tensor, error) { return jacobi.BatchLaplacian(f, x) }, lap},
	} {
		got, err := c.run()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		assertClose(t, c.name, got.Data(), c.want.Data(), 1e-12, 1e-14)
	}
}
