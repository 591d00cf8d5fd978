package jacobi_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Every function takes only the options it honours, by type: an option
// that shapes a derivative goes only to the derivatives it applies to, an
// option that says how a program runs only to what compiles and runs.
func TestOptionTypes(t *testing.T) {
	iface := func(p any) reflect.Type { return reflect.TypeOf(p).Elem() }
	kinds := []struct {
		name string
		typ  reflect.Type
	}{
		{"JacobianOption", iface((*jacobi.JacobianOption)(nil))},
		{"HessianDiagOption", iface((*jacobi.HessianDiagOption)(nil))},
		{"LaplacianOption", iface((*jacobi.LaplacianOption)(nil))},
		{"BatchJacobianOption", iface((*jacobi.BatchJacobianOption)(nil))},
		{"BatchHessianDiagOption", iface((*jacobi.BatchHessianDiagOption)(nil))},
		{"BatchLaplacianOption", iface((*jacobi.BatchLaplacianOption)(nil))},
	}
	options := []struct {
		opt  any
		want []string // the kinds it is, the others not
	}{
		{jacobi.WithMode(jacobi.ModeForward), []string{"JacobianOption", "BatchJacobianOption"}},
		{jacobi.WithMethod(jacobi.MethodTaylor), []string{"HessianDiagOption", "LaplacianOption", "BatchHessianDiagOption", "BatchLaplacianOption"}},
		{jacobi.WithEstimator(jacobi.Hutchinson(4, 1)), []string{"LaplacianOption", "BatchLaplacianOption"}},
		{jacobi.WithChunk(8), []string{"BatchJacobianOption", "BatchHessianDiagOption", "BatchLaplacianOption"}},
		{jacobi.WithWorkers(2), []string{"BatchJacobianOption", "BatchHessianDiagOption", "BatchLaplacianOption"}},
	}
	for _, o := range options {
		typ := reflect.TypeOf(o.opt)
		for _, k := range kinds {
			want := false
			for _, w := range o.want {
				want = want || w == k.name
			}
			if got := typ.Implements(k.typ); got != want {
				t.Errorf("%v implements %s: %v, want %v", typ, k.name, got, want)
			}
		}
	}
}

// Options out of range, and nil options, are errors of the function they
// are given to, naming the option.
func TestInvalidOptions(t *testing.T) {
	x := tensor.Randn(tensor.NewRand(1), 4, 3)
	f := func(x *jacobi.Node) *jacobi.Node { return x.Tanh().Sum(1) }
	inTrace := func(g jacobi.Fn) error {
		_, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{g(in[0])} }, [][]int{x.Shape()})
		return err
	}
	var nilJacobian jacobi.JacobianOption
	var nilLaplacian jacobi.BatchLaplacianOption
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"BatchJacobianOf mode 99", func() error {
			return inTrace(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.Mode(99)))
			})
		}, "WithMode(Mode(99))"},
		{"BatchJacobianOf nil option", func() error {
			return inTrace(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x, nilJacobian) })
		}, "option 0 is nil"},
		{"BatchJacobian mode -1", func() error {
			_, err := jacobi.BatchJacobian(f, x, jacobi.WithMode(jacobi.Mode(-1)))
			return err
		}, "WithMode(Mode(-1))"},
		{"BatchJacobian chunk -1", func() error {
			_, err := jacobi.BatchJacobian(f, x, jacobi.WithChunk(-1))
			return err
		}, "WithChunk(-1)"},
		{"BatchHessian workers -5", func() error {
			_, err := jacobi.BatchHessian(f, x, jacobi.WithWorkers(-5))
			return err
		}, "WithWorkers(-5)"},
		{"BatchHessian by Taylor mode", func() error {
			_, err := jacobi.BatchHessian(f, x, jacobi.WithMethod(jacobi.MethodTaylor))
			return err
		}, "Hessians are computed by MethodAuto, MethodNested or MethodGram"},
		{"HessianOf by Taylor mode", func() error {
			return inTrace(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.HessianOf(func(x *jacobi.Node) *jacobi.Node { return f(x).Sum() }, x, jacobi.WithMethod(jacobi.MethodTaylor))
			})
		}, "Hessians are computed by"},
		{"BatchGrad chunk 0", func() error {
			_, err := jacobi.BatchGrad(f, x, jacobi.WithChunk(0))
			return err
		}, "WithChunk(0)"},
		{"BatchLaplacian nil option", func() error {
			_, err := jacobi.BatchLaplacian(f, x, nilLaplacian)
			return err
		}, "option 0 is nil"},
		{"BatchLaplacian method 7", func() error {
			_, err := jacobi.BatchLaplacian(f, x, jacobi.WithMethod(jacobi.Method(7)))
			return err
		}, "WithMethod(Method(7))"},
		{"BatchLaplacianOf unknown estimator", func() error {
			return inTrace(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchLaplacianOf(f, x, jacobi.WithEstimator(jacobi.Estimator{Kind: 9, Samples: 2}))
			})
		}, "EstimatorKind(9) is not an estimator kind"},
		{"BatchLaplacian estimator without samples", func() error {
			_, err := jacobi.BatchLaplacian(f, x, jacobi.WithEstimator(jacobi.Hutchinson(0, 1)))
			return err
		}, "at least one sample"},
		{"BatchLaplacian estimator and nested", func() error {
			_, err := jacobi.BatchLaplacian(f, x, jacobi.WithEstimator(jacobi.Hutchinson(3, 1)), jacobi.WithMethod(jacobi.MethodNested))
			return err
		}, "do not go together"},
		{"BatchLaplacian estimator and Gram", func() error {
			_, err := jacobi.BatchLaplacian(f, x, jacobi.WithEstimator(jacobi.Hutchinson(3, 1)), jacobi.WithMethod(jacobi.MethodGram))
			return err
		}, "WithMethod(gram) do not go together"},
		{"BatchHessianDiagOf method -2", func() error {
			return inTrace(func(x *jacobi.Node) *jacobi.Node {
				return jacobi.BatchHessianDiagOf(f, x, jacobi.WithMethod(jacobi.Method(-2)))
			})
		}, "WithMethod(Method(-2))"},
		{"Jacobian mode 3", func() error {
			_, err := jacobi.Jacobian(f, x, jacobi.WithMode(jacobi.Mode(3)))
			return err
		}, "WithMode(Mode(3))"},
		{"Compile chunk -1", func() error {
			_, err := jacobi.Compile(f, []int{3}, jacobi.WithChunk(-1))
			return err
		}, "WithChunk(-1)"},
		{"Compile empty option", func() error {
			_, err := jacobi.Compile(f, []int{3}, jacobi.RunOption{})
			return err
		}, "empty RunOption"},
		{"Trace workers 0", func() error {
			_, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { return in }, [][]int{{3}}, jacobi.WithWorkers(0))
			return err
		}, "WithWorkers(0)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if strings.Count(err.Error(), "jacobi: ") != 1 {
				t.Errorf("the package prefix is not there exactly once: %v", err)
			}
		})
	}
}
