package jacobi_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// f maps each sample (x0, x1) to (x0·x1, sin x0): its Jacobian is
// [[x1, x0], [cos x0, 0]].
func f(x *jacobi.Node) *jacobi.Node {
	x0, x1 := x.Slice(1, 0, 1), x.Slice(1, 1, 2)
	return jacobi.Concat(1, x0.Mul(x1), x0.Sin())
}

func ExampleBatchJacobian() {
	x := tensor.MustNew([]int{2, 2}, []float64{
		0, 2, // sample 0
		1, 3, // sample 1
	})
	j, err := jacobi.BatchJacobian(f, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j.Shape())
	for i := 0; i < 2; i++ {
		fmt.Printf("sample %d: [[%.4f %.4f] [%.4f %.4f]]\n", i, j.At(i, 0, 0), j.At(i, 0, 1), j.At(i, 1, 0), j.At(i, 1, 1))
	}
	// Output:
	// [2 2 2]
	// sample 0: [[2.0000 0.0000] [1.0000 0.0000]]
	// sample 1: [[3.0000 1.0000] [0.5403 0.0000]]
}

// A float32 batch gives float32 derivatives, computed in float32; the Go
// number 2 takes the input's dtype.
func ExampleBatchJacobian_float32() {
	x := tensor.MustNew32([]int{2, 2}, []float32{
		0, 2, // sample 0
		1, 3, // sample 1
	})
	g := func(x *jacobi.Node) *jacobi.Node { return f(x).Scale(2) }
	j, err := jacobi.BatchJacobian(g, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j.DType(), j.Shape())
	s1 := j.Data32()[4:8] // sample 1
	fmt.Printf("[[%.5f %.5f] [%.5f %.5f]]\n", s1[0], s1[1], s1[2], s1[3])
	// Output:
	// float32 [2 2 2]
	// [[6.00000 2.00000] [1.08060 0.00000]]
}

func ExampleBatchJacobian_mixingSamples() {
	// Centering by the batch mean makes every output depend on every
	// sample: the per-sample Jacobian is not what the user wants, and
	// jacobi says so instead of returning a wrong answer.
	center := func(x *jacobi.Node) *jacobi.Node { return x.Sub(x.MeanKeep(0)) }
	_, err := jacobi.BatchJacobian(center, tensor.Zeros(4, 3))
	fmt.Println(err != nil)
	// Output:
	// true
}

func ExampleBatchLaplacian() {
	// u(x) = x0² + 3·x1² + x0·x1 has Laplacian 2 + 6 = 8 everywhere.
	u := func(x *jacobi.Node) *jacobi.Node {
		x0, x1 := x.Slice(1, 0, 1), x.Slice(1, 1, 2)
		return x0.Square().Add(x1.Square().Scale(3)).Add(x0.Mul(x1))
	}
	lap, err := jacobi.BatchLaplacian(u, tensor.Randn(tensor.NewRand(1), 3, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lap.Shape(), lap.Data())
	// Output:
	// [3 1] [8 8 8]
}

func ExampleBatchHessian() {
	// u(x) = sin(x0)·x1² has the Hessian
	// [[−sin(x0)·x1², 2·cos(x0)·x1], [2·cos(x0)·x1, 2·sin(x0)]].
	u := func(x *jacobi.Node) *jacobi.Node {
		x0, x1 := x.Slice(1, 0, 1), x.Slice(1, 1, 2)
		return x0.Sin().Mul(x1.Square())
	}
	x := tensor.MustNew([]int{2, 2}, []float64{
		math.Pi / 2, 3, // sample 0
		0, 1, // sample 1
	})
	// By default the cost model picks forward over reverse or Gram
	// matrices; both give the same Hessians.
	for _, m := range []jacobi.Method{jacobi.MethodNested, jacobi.MethodGram} {
		h, err := jacobi.BatchHessian(u, x, jacobi.WithMethod(m))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m, h.Shape())
		for i := 0; i < 2; i++ {
			fmt.Printf("sample %d: [[%.4f %.4f] [%.4f %.4f]]\n", i, h.At(i, 0, 0, 0), h.At(i, 0, 0, 1), h.At(i, 0, 1, 0), h.At(i, 0, 1, 1))
		}
	}
	// Output:
	// nested [2 1 2 2]
	// sample 0: [[-9.0000 0.0000] [0.0000 2.0000]]
	// sample 1: [[0.0000 2.0000] [2.0000 0.0000]]
	// gram [2 1 2 2]
	// sample 0: [[-9.0000 0.0000] [0.0000 2.0000]]
	// sample 1: [[0.0000 2.0000] [2.0000 0.0000]]
}

func ExampleBatchJet() {
	// u(t, x) = t·x² at (t, x) = (2, 3) and (1, −1): the value, u_x along
	// e_x, and u_t − 0.5·u_xx (weight −0.5 on e_xᵀ H e_x, drift e_t), from
	// one Taylor pass: u_x = 2tx, u_t = x², u_xx = 2t.
	u := func(p *jacobi.Node) *jacobi.Node {
		t, x := p.Slice(1, 0, 1), p.Slice(1, 1, 2)
		return t.Mul(x.Square())
	}
	pts := tensor.MustNew([]int{2, 2}, []float64{2, 3, 1, -1})
	alongX := tensor.MustNew([]int{1, 2}, []float64{0, 1})
	dt := tensor.MustNew([]int{2}, []float64{1, 0})
	y, ux, lf, err := jacobi.BatchJet(u, pts, alongX, []float64{-0.5}, dt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Data(), ux.Shape(), ux.Data(), lf.Data())
	// Output:
	// [18 1] [2 1 1] [12 -2] [7 0]
}

func ExampleCompile() {
	// Trace and transform once; run at any batch size.
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x) }, []int{2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range []int{1, 1000} {
		j, err := c.Run(tensor.Ones(b, 2))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(j.Shape(), j.At(b-1, 0, 0))
	}
	// Output:
	// [1 2 2] 1
	// [1000 2 2] 1
}

func ExampleBatchGradOf() {
	// A loss that contains per-sample derivatives, differentiated with
	// respect to a parameter: d/dw mean(|∇ₓ (w·Σx²)|²) = d/dw 4w²·mean|x|².
	loss := func(in []*jacobi.Node) *jacobi.Node {
		w, x := in[0], in[1]
		u := func(x *jacobi.Node) *jacobi.Node { return x.Square().Sum(1).Mul(w) }
		g := jacobi.BatchGradOf(u, x) // (b, 2) = 2w·x
		return g.Square().Sum(1).Mean()
	}
	w := tensor.Scalar(0.5)
	x := tensor.MustNew([]int{2, 2}, []float64{1, 0, 0, 2}) // mean |x|² = 2.5
	val, grads, err := jacobi.ValueAndGrad(loss, w, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(val.Data()[0], grads[0].Data()[0]) // 4w²·2.5 and 8w·2.5
	// Output:
	// 2.5 10
}

func ExampleTrace() {
	t, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{in[0].Tanh().Sum(1)}
	}, [][]int{[]int{4, 3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t)
	// Output:
	// { lambda a:f64[4,3] .
	//   b:f64[4,3] = tanh a
	//   c:f64[4] = reduce_sum[axes=[1]] b
	//   in (c) }
}

func ExampleValueAndGradOf() {
	// A training step traced once and run as often as needed: the loss
	// mean((∂u/∂x - 2x)²) of u(x) = w·x² is (2w-2)²·mean(x²), its
	// derivative 4(2w-2)·mean(x²). (For a network and batch large enough,
	// Run computes the per-sample part in cache-sized chunks of the batch,
	// one per core, then the sums.)
	const b = 1000
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		loss := func(in []*jacobi.Node) *jacobi.Node {
			w, x := in[0], in[1]
			u := func(x *jacobi.Node) *jacobi.Node { return x.Square().Mul(w) }
			ux := jacobi.BatchGradOf(u, x) // (b, 1) = 2w·x
			return ux.Sub(x.Scale(2)).Square().Mean()
		}
		v, g := jacobi.ValueAndGradOf(loss, in)
		return []*jacobi.Node{v, g[0]}
	}, [][]int{[]int{}, []int{b, 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float64, b)
	for i := range x {
		x[i] = float64(i+1) / b // mean(x²) = 1001·2001/(6·1000²)
	}
	out, err := step.Run(tensor.Scalar(1.5), tensor.MustNew([]int{b, 1}, x))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.7f, d loss/dw %.6f\n", out[0].Data()[0], out[1].Data()[0])
	// Output:
	// loss 0.3338335, d loss/dw 1.335334
}

func ExampleTraced_RunInto() {
	// A training step traced once and run into the same outputs every
	// iteration: once warm, a run allocates nothing.
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(func(in []*jacobi.Node) *jacobi.Node {
			w, x := in[0], in[1]
			return x.Mul(w).Sub(x.Scale(3)).Square().Mean() // fit w·x to 3·x
		}, in)
		return []*jacobi.Node{v, g[0]}
	}, [][]int{{}, {4, 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	w, x := tensor.Scalar(0), tensor.MustNew([]int{4, 1}, []float64{1, 2, 3, 4})
	var out []*tensor.Tensor
	for _, s := range step.OutShapes() {
		out = append(out, tensor.Zeros(s...))
	}
	for range 20 { // gradient descent on w
		if err := step.RunInto([]*tensor.Tensor{w, x}, out); err != nil {
			fmt.Println(err)
			return
		}
		w.Data()[0] -= 0.05 * out[1].Data()[0]
	}
	fmt.Printf("w = %.4f\n", w.Data()[0])
	// Output:
	// w = 3.0000
}

func ExampleTraced_WhyNotSplit() {
	// Centering by the batch mean is per-sample work after a sum over the
	// samples: the step cannot run in chunks of the batch, and says why.
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		x := in[0]
		return []*jacobi.Node{x.Sub(x.MeanKeep(0)).Square().Mean()}
	}, [][]int{{1000, 3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	why := step.WhyNotSplit()
	var mix *op.MixError
	fmt.Println(errors.As(why, &mix), mix.Prim)
	// Output:
	// true sub
}

func ExampleVmapOf() {
	// Derivatives nest in time: VmapOf's function uses w, the variable of
	// the VJPOf it runs in, while x comes from the traced function.
	// d/dw Σᵢ tanh(w·xᵢ) = Σᵢ xᵢ·(1 − tanh²(w·xᵢ)).
	t, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		w, x := in[0], in[1]
		_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node {
			return jacobi.VmapOf(func(s *jacobi.Node) *jacobi.Node { return s.Mul(w).Tanh() }, x).Sum()
		}, w, jacobi.Scalar(1))
		return []*jacobi.Node{g}
	}, [][]int{{}, {3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := t.Run(tensor.Scalar(0.5), tensor.MustNew([]int{3}, []float64{1, 2, 3}))
	if err != nil {
		fmt.Println(err)
		return
	}
	want := 0.0
	for _, x := range []float64{1, 2, 3} {
		want += x * (1 - math.Pow(math.Tanh(0.5*x), 2))
	}
	fmt.Printf("%.6f %.6f\n", out[0].Data()[0], want)
	// Output:
	// 2.168516 2.168516
}
