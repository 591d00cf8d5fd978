// Command poisson solves the Poisson equation on the unit square with a
// physics-informed network:
//
//	−Δu = 2π² sin(πx) sin(πy) on (0, 1)²,  u = 0 on the boundary,
//
// whose solution is u = sin(πx) sin(πy). The Laplacian inside the loss is
// jacobi.BatchLaplacianOf (collapsed Taylor mode). It trains an MLP
// 2 → 3×32 tanh → 1 (Xavier) on Latin-hypercube collocation points with
// Adam then L-BFGS, reports the relative L2 error on a 101 × 101 grid, and
// writes poisson.png (predicted, exact, error) and poisson-loss.csv.
//
//	go run ./examples/poisson
//	go run ./examples/poisson --eval-points P.npy --eval-output U.npy   # P: (N, 2) points (x, y)
package main

import (
	"flag"
	"fmt"
	"math"
	"os"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/examples/internal/pinn"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/optim"
	"github.com/jacobi-ad/jacobi/sample"
	"github.com/jacobi-ad/jacobi/tensor"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "poisson:", err)
		os.Exit(1)
	}
}

type config struct {
	pinn.Flags
	adam, lbfgs, nf, nb int
	lr                  float64
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("poisson", flag.ContinueOnError)
	c.Register(fs, "poisson")
	fs.IntVar(&c.adam, "adam", 1000, "Adam steps before L-BFGS")
	fs.Float64Var(&c.lr, "lr", 1e-3, "Adam's learning rate")
	fs.IntVar(&c.lbfgs, "lbfgs", 2000, "L-BFGS iterations at most")
	fs.IntVar(&c.nf, "nf", 2000, "collocation points inside the square")
	fs.IntVar(&c.nb, "nb", 400, "points on the boundary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	return train(c)
}

func exact(x, y float64) float64 { return math.Sin(math.Pi*x) * math.Sin(math.Pi*y) }

// loss is mean((Δu + f)²) inside plus mean(u²) on the boundary.
func loss(m *nn.MLP) optim.Loss {
	return func(ps, data []*jacobi.Node) *jacobi.Node {
		xf, f, xb := data[0], data[1], data[2]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x) }
		lap := jacobi.BatchLaplacianOf(u, xf) // (N, 1)
		return lap.Add(f).Square().Mean().Add(u(xb).Square().Mean())
	}
}

func train(c config) error {
	square := sample.Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}
	xf, err := square.Interior(sample.LatinHypercube, c.nf, c.Seed)
	if err != nil {
		return err
	}
	xb, err := square.OnFaces(sample.LatinHypercube, c.nb, c.Seed+1)
	if err != nil {
		return err
	}
	f := tensor.Zeros(c.nf, 1)
	for i := range f.Data() {
		f.Data()[i] = 2 * math.Pi * math.Pi * exact(xf.At(i, 0), xf.At(i, 1))
	}
	var m *nn.MLP
	if c.Init != "" {
		m, err = nn.LoadMLP(c.Init, "tanh")
	} else {
		m, err = nn.NewMLPFrom([]int{2, 32, 32, 32, 1}, "tanh", nn.XavierNormal, c.Seed)
	}
	if err != nil {
		return err
	}
	params := m.Params()
	obj, _, err := optim.NewObjective(loss(m), params, xf, f, xb)
	if err != nil {
		return err
	}
	out := c.Progress()
	var hist optim.History
	if c.adam > 0 {
		cfg := optim.DefaultAdam()
		cfg.LR = c.lr
		adam, err := optim.NewAdam(params, cfg)
		if err != nil {
			return err
		}
		h, err := optim.Loop{Steps: c.adam, Progress: out, Label: "Adam"}.Run(adam, obj)
		hist.Append(h)
		if err != nil {
			return err
		}
	}
	if c.lbfgs > 0 {
		lb, err := optim.NewLBFGS(params, optim.DefaultLBFGS())
		if err != nil {
			return err
		}
		h, err := lb.Run(obj, optim.Loop{Steps: c.lbfgs, Progress: out, Label: "L-BFGS"})
		hist.Append(h)
		if err != nil {
			return err
		}
	}
	axis, _ := tensor.Linspace(0, 1, 101)
	grid, _ := tensor.GridPoints(axis, axis) // rows (x, y), y fastest
	pred, err := jacobi.Eval(m.Apply, grid)
	if err != nil {
		return err
	}
	want := tensor.Zeros(grid.Shape()[0], 1)
	errs := make([]float64, want.Len())
	for i := range want.Data() {
		want.Data()[i] = exact(grid.At(i, 0), grid.At(i, 1))
		errs[i] = math.Abs(pred.Data()[i] - want.Data()[i])
	}
	e, err := tensor.RelErr(pred, want)
	if err != nil {
		return err
	}
	fmt.Printf("relative L2 error %.3e on the 101×101 grid; %d steps, final loss %.3e, %.1f s of training\n",
		e, len(hist.Loss), hist.Final(), pinn.TrainSeconds(&hist))
	if err := pinn.WriteLoss(c.LossCSV, &hist); err != nil {
		return err
	}
	if c.Save != "" {
		if err := m.Save(c.Save); err != nil {
			return err
		}
	}
	if err := pinn.Evaluate(m.Apply, 2, c.EvalPoints, c.EvalOutput); err != nil {
		return err
	}
	// The grid's rows are (x, y) with y fastest: index ix·101 + iy, which
	// Panels reads as y across and x up; draw it that way round.
	return pinn.Panels(c.Picture, "y", "x", axis.Data(), axis.Data(), []pinn.Field{
		{Title: "PINN u(x, y)", Values: pred.Data()},
		{Title: "exact sin(πx) sin(πy)", Values: want.Data()},
		{Title: "|error|", Values: errs, Error: true},
	})
}
