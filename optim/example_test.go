package optim_test

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/optim"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Fit u(x) = w·x + c to data from 2x − 1: a few Adam steps, then L-BFGS.
func Example() {
	x, _ := tensor.Linspace(-1, 1, 100)
	x, _ = x.Unsqueeze(1)         // (100, 1)
	y := x.Scale(2).AddScalar(-1) // the targets
	w, c := tensor.Scalar(0), tensor.Scalar(0)
	params := []*tensor.Tensor{w, c}

	loss := func(ps, data []*jacobi.Node) *jacobi.Node {
		u := data[0].Mul(ps[0]).Add(ps[1])
		return u.Sub(data[1]).Square().Mean()
	}
	obj, _, err := optim.NewObjective(loss, params, x, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	adam, _ := optim.NewAdam(params, optim.DefaultAdam())
	h, err := optim.Loop{Steps: 100, Schedule: optim.ExponentialDecay(0.1, 0.99)}.Run(adam, obj)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("Adam: loss %.1e after %d steps\n", h.Final(), len(h.Loss))

	lbfgs, _ := optim.NewLBFGS(params, optim.DefaultLBFGS())
	h, err = lbfgs.Run(obj, optim.Loop{Steps: 100, Tol: 1e-20})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("L-BFGS: w = %.6f, c = %.6f\n", w.Data()[0], c.Data()[0])
	// Output:
	// Adam: loss 4.0e-05 after 100 steps
	// L-BFGS: w = 2.000000, c = -1.000000
}
