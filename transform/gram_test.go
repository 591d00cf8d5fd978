package transform_test

import (
	"slices"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// TestHessianGram checks the Hessian as a sum of Gram matrices against
// forward over reverse, on networks of every kind of primitive (products
// of two values that depend on x, quotients, reductions, matrix samples,
// several outputs) and on random programs, and against central
// differences of the gradient on the small network.
func TestHessianGram(t *testing.T) {
	rng := tensor.NewRand(23)
	cases := networks()
	for seed := uint64(1); seed <= 40; seed++ {
		cases = append(cases, randomProgram(seed, 6))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Program(t)
			xs := c.Sample(t, rng)
			want := fdcheck.Run(t, fdcheck.Must(t, "nested")(transform.Hessian(p)), xs...)[0]
			q := fdcheck.Valid(t, "gram", fdcheck.Must(t, "gram")(transform.HessianGram(p)), nil)
			got := fdcheck.Run(t, q, xs...)[0]
			if !tensor.SameShape(got.Shape(), want.Shape()) {
				t.Fatalf("shape %v, nested %v", got.Shape(), want.Shape())
			}
			fdcheck.Compare(t, "gram against nested", got.Data(), want.Data(), want.Shape(), fdcheck.Tight)

			// The diagonal and the trace alone.
			ny, nx := p.Out[0].Size(), p.In[0].Size()
			diag, trace := make([]float64, ny*nx), make([]float64, ny)
			for o := range ny {
				for i := range nx {
					v := want.Data()[o*nx*nx+i*nx+i]
					diag[o*nx+i] = v
					trace[o] += v
				}
			}
			dq := fdcheck.Valid(t, "gram diagonal", fdcheck.Must(t, "gram diagonal")(transform.HessianDiagGram(p)), nil)
			d := fdcheck.Run(t, dq, xs...)[0]
			if ds := slices.Concat(p.Out[0].Shape, p.In[0].Shape); !tensor.SameShape(d.Shape(), ds) {
				t.Fatalf("diagonal shape %v, want %v", d.Shape(), ds)
			}
			fdcheck.Compare(t, "gram diagonal against nested", d.Data(), diag, nil, fdcheck.Tight)
			lq := fdcheck.Valid(t, "gram laplacian", fdcheck.Must(t, "gram laplacian")(transform.LaplacianGram(p)), nil)
			l := fdcheck.Run(t, lq, xs...)[0]
			if !tensor.SameShape(l.Shape(), p.Out[0].Shape) {
				t.Fatalf("laplacian shape %v, want %v", l.Shape(), p.Out[0].Shape)
			}
			fdcheck.Compare(t, "gram laplacian against nested", l.Data(), trace, nil, fdcheck.Tight)
		})
	}

	p, in := smallNet(t)
	x := in[0]
	jp := fdcheck.Must(t, "jacobian")(transform.Jacobian(p, transform.Reverse))
	hf := mat.NewDense(6, 3, nil)
	fd.Jacobian(hf, func(y, xv []float64) {
		args := append([]*tensor.Tensor{tensor.MustNew([]int{3}, append([]float64{}, xv...))}, in[1:]...)
		copy(y, fdcheck.Run(t, jp, args...)[0].Data())
	}, x.Data(), &fd.JacobianSettings{Formula: fd.Central})
	h := fdcheck.Run(t, fdcheck.Must(t, "gram")(transform.HessianGram(p)), in...)[0]
	fdcheck.Compare(t, "gram against differences", h.Data(), hf.RawMatrix().Data, []int{2, 3, 3}, fdcheck.Second)
}

// TestHessianGramPrograms: an affine function's Hessian is zero, and
// programs it cannot take are errors that name the primitive.
func TestHessianGramPrograms(t *testing.T) {
	b := ir.NewBuilder(nil)
	x, w := b.Input([]int{2, 3}), b.Input([]int{3, 2})
	p, err := b.Build(b.Emit(op.MatMul{}, x, w))
	if err != nil {
		t.Fatal(err)
	}
	q := fdcheck.Must(t, "gram")(transform.HessianGram(p))
	rng := tensor.NewRand(3)
	h := fdcheck.Run(t, q, tensor.Randn(rng, 2, 3), tensor.Randn(rng, 3, 2))[0]
	if want := []int{2, 2, 2, 3, 2, 3}; !tensor.SameShape(h.Shape(), want) {
		t.Fatalf("shape %v, want %v", h.Shape(), want)
	}
	for i, v := range h.Data() {
		if v != 0 {
			t.Fatalf("affine function: H[%d] = %g", i, v)
		}
	}
	if _, err := transform.HessianGram(&ir.Program{In: p.In, Out: []*ir.Var{p.Out[0], p.Out[0]}, Eqns: p.Eqns}); err == nil {
		t.Error("two outputs accepted")
	}

	// A float32 part inside a float64 program: its terms are computed in
	// float32 and summed in float64, as forward over reverse does.
	b = ir.NewBuilder(nil)
	x = b.Input([]int{3})
	h32 := b.Emit(op.Tanh{}, b.Emit(op.Convert{From: tensor.Float64, To: tensor.Float32}, b.Emit(op.Sin{}, x)))
	y := b.Emit(op.ReduceSum{Axes: []int{0}}, b.Emit(op.Mul{}, x, b.Emit(op.Convert{From: tensor.Float32, To: tensor.Float64}, h32)))
	mixed, err := b.Build(y)
	if err != nil {
		t.Fatal(err)
	}
	xs := tensor.Randn(rng, 3)
	want := fdcheck.Run(t, fdcheck.Must(t, "nested")(transform.Hessian(mixed)), xs)[0]
	for name, build := range map[string]func(*ir.Program) (*ir.Program, error){"hessian": transform.HessianGram, "diagonal": transform.HessianDiagGram} {
		got := fdcheck.Run(t, fdcheck.Valid(t, "mixed "+name, fdcheck.Must(t, "mixed "+name)(build(mixed)), nil), xs)[0]
		if got.DType() != tensor.Float64 {
			t.Errorf("mixed %s: dtype %v, want float64", name, got.DType())
		}
		w := want.Data()
		if name == "diagonal" {
			w = []float64{w[0], w[4], w[8]}
		}
		fdcheck.Compare(t, "mixed "+name+" against nested", got.Data(), w, nil, fdcheck.Tol{Rel: 1e-6, Abs: 1e-6})
	}
}
