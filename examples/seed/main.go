// Command seed prints the per-sample Jacobian of the seed network,
// Linear(5,2) → Sigmoid → Linear(2,10), on a batch of 3 seeded random inputs,
// and checks it against the diagonal blocks of the full Jacobian.
package main

import (
	"fmt"
	"math"
	"os"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run() error {
	rng := tensor.NewRand(0)
	mlp, err := nn.RandomMLP(rng, []int{5, 2, 10}, "sigmoid")
	if err != nil {
		return err
	}
	x := tensor.Randn(rng, 3, 5)
	j, err := jacobi.BatchJacobian(mlp.Apply, x)
	if err != nil {
		return err
	}
	full, err := jacobi.Jacobian(mlp.Apply, x)
	if err != nil {
		return err
	}
	worst := 0.0
	for i := 0; i < 3; i++ {
		for o := 0; o < 10; o++ {
			for k := 0; k < 5; k++ {
				worst = math.Max(worst, math.Abs(j.At(i, o, k)-full.At(i, o, i, k)))
			}
		}
	}
	fmt.Printf("seed network Linear(5,2) → Sigmoid → Linear(2,10), batch x %v\n", x.Shape())
	fmt.Printf("per-sample Jacobian %v (the full Jacobian is %v, mostly zeros)\n\n", j.Shape(), full.Shape())
	for i := 0; i < 3; i++ {
		s := tensor.MustNew([]int{10, 5}, j.Data()[i*50:(i+1)*50])
		fmt.Printf("sample %d: d f(x_%d) / d x_%d =\n%v\n\n", i, i, i, s)
	}
	fmt.Printf("max |difference| to the diagonal blocks of the full Jacobian: %.3g\n", worst)
	return nil
}
