// Command poissonnd solves a Poisson equation in d dimensions (default 10)
// with a physics-informed network, the kind of problem where the
// Laplacian inside the loss dominates the cost and collapsed Taylor mode
// (jacobi.BatchLaplacianOf: one forward pass carrying 2 + d vectors, not d
// nested backward passes) pays most:
//
//	Δu = −(π²/4)·(1/d)·Σᵢ sin(πxᵢ/2) in (0, 1)^d,  u = g on the boundary,
//
// whose solution is u = (1/d)·Σᵢ sin(πxᵢ/2) (g is its boundary value).
// It trains an MLP d → 3×32 tanh → 1 (Xavier) with Adam then L-BFGS on
// Halton collocation points, reports the relative L2 error on 10 000
// random points, and writes poissonnd.png (a slice through the centre:
// x₁, x₂ vary, the others are ½) and poissonnd-loss.csv.
//
//	go run ./examples/poissonnd
//	go run ./examples/poissonnd --dim 5 --eval-points P.npy --eval-output U.npy   # P: (N, 5)
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
		fmt.Fprintln(os.Stderr, "poissonnd:", err)
		os.Exit(1)
	}
}

type config struct {
	pinn.Flags
	dim, adam, lbfgs, nf, nb, width int
	lr                              float64
	method                          string
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("poissonnd", flag.ContinueOnError)
	c.Register(fs, "poissonnd")
	fs.IntVar(&c.dim, "dim", 10, "dimension d")
	fs.IntVar(&c.width, "width", 32, "width of the 3 hidden layers")
	fs.IntVar(&c.adam, "adam", 500, "Adam steps before L-BFGS")
	fs.Float64Var(&c.lr, "lr", 1e-3, "Adam's learning rate")
	fs.IntVar(&c.lbfgs, "lbfgs", 1000, "L-BFGS iterations at most")
	fs.IntVar(&c.nf, "nf", 2000, "collocation points inside the cube")
	fs.IntVar(&c.nb, "nb", 1000, "points on the boundary")
	fs.StringVar(&c.method, "laplacian", "taylor", "how the loss takes the Laplacian: taylor (collapsed Taylor mode) or nested (forward over reverse), to compare")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	if c.dim < 1 {
		return fmt.Errorf("--dim %d: want at least 1", c.dim)
	}
	if c.method != "taylor" && c.method != "nested" {
		return fmt.Errorf("--laplacian %q: want taylor or nested", c.method)
	}
	return train(c)
}

// solution returns u at every row of x.
func solution(x *tensor.Tensor) *tensor.Tensor {
	n, d := x.Shape()[0], x.Shape()[1]
	u := tensor.Zeros(n, 1)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			s += math.Sin(math.Pi * x.At(i, j) / 2)
		}
		u.Data()[i] = s / float64(d)
	}
	return u
}

// loss is mean((Δu − f)²) inside plus mean((u − g)²) on the boundary, with
// f = −(π²/4)·u_exact.
func loss(m *nn.MLP, method jacobi.Method) optim.Loss {
	return func(ps, data []*jacobi.Node) *jacobi.Node {
		xf, f, xb, g := data[0], data[1], data[2], data[3]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x) }
		lap := jacobi.BatchLaplacianOf(u, xf, jacobi.WithMethod(method)) // (N, 1)
		return lap.Sub(f).Square().Mean().Add(u(xb).Sub(g).Square().Mean())
	}
}

func train(c config) error {
	lo, hi := make([]float64, c.dim), make([]float64, c.dim)
	for i := range hi {
		hi[i] = 1
	}
	cube := sample.Box{Lo: lo, Hi: hi}
	xf, err := cube.Interior(sample.Halton, c.nf, c.Seed)
	if err != nil {
		return err
	}
	xb, err := cube.OnFaces(sample.Halton, c.nb, c.Seed+1)
	if err != nil {
		return err
	}
	f := solution(xf).Scale(-math.Pi * math.Pi / 4)
	g := solution(xb)
	var m *nn.MLP
	if c.Init != "" {
		m, err = nn.LoadMLP(c.Init, "tanh")
	} else {
		m, err = nn.NewMLPFrom([]int{c.dim, c.width, c.width, c.width, 1}, "tanh", nn.XavierNormal, c.Seed)
	}
	if err != nil {
		return err
	}
	if m.In() != c.dim {
		return fmt.Errorf("--init: the network takes %d inputs, --dim is %d", m.In(), c.dim)
	}
	params := m.Params()
	method := jacobi.MethodTaylor
	if c.method == "nested" {
		method = jacobi.MethodNested
	}
	obj, step, err := optim.NewObjective(loss(m, method), params, xf, f, xb, g)
	if err != nil {
		return err
	}
	out := c.Progress()
	if out != nil {
		fmt.Fprintf(out, "%d-d Poisson: %d parameters, %d + %d points, Laplacian by %s: %.3g GFLOP a step\n",
			c.dim, m.NumParams(), c.nf, c.nb, method, step.Cost().FLOPs/1e9)
	}
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
	test, err := cube.Interior(sample.Uniform, 10000, c.Seed+2)
	if err != nil {
		return err
	}
	pred, err := jacobi.Eval(m.Apply, test)
	if err != nil {
		return err
	}
	e, err := tensor.RelErr(pred, solution(test))
	if err != nil {
		return err
	}
	fmt.Printf("%d-d Poisson: relative L2 error %.3e on 10 000 random points; %d steps, final loss %.3e, %.1f s of training\n",
		c.dim, e, len(hist.Loss), hist.Final(), pinn.TrainSeconds(&hist))
	if err := pinn.WriteLoss(c.LossCSV, &hist); err != nil {
		return err
	}
	if c.Save != "" {
		if err := m.Save(c.Save); err != nil {
			return err
		}
	}
	if err := pinn.Evaluate(m.Apply, c.dim, c.EvalPoints, c.EvalOutput); err != nil {
		return err
	}
	return slice(c, m)
}

// slice draws u on the plane through the centre where x₁ and x₂ vary.
func slice(c config, m *nn.MLP) error {
	if c.Picture == "" || c.dim < 2 {
		return nil
	}
	axis, _ := tensor.Linspace(0, 1, 81)
	plane, _ := tensor.GridPoints(axis, axis) // (x₁, x₂), x₂ fastest
	n := plane.Shape()[0]
	pts := tensor.Full(0.5, n, c.dim)
	for i := 0; i < n; i++ {
		pts.Set(plane.At(i, 0), i, 0)
		pts.Set(plane.At(i, 1), i, 1)
	}
	pred, err := jacobi.Eval(m.Apply, pts)
	if err != nil {
		return err
	}
	want := solution(pts)
	errs := make([]float64, n)
	for i := range errs {
		errs[i] = math.Abs(pred.Data()[i] - want.Data()[i])
	}
	return pinn.Panels(c.Picture, "x₂", "x₁", axis.Data(), axis.Data(), []pinn.Field{
		{Title: fmt.Sprintf("PINN u, %d-d, slice x₃…=½", c.dim), Values: pred.Data()},
		{Title: "exact (1/d)·Σ sin(πxᵢ/2)", Values: want.Data()},
		{Title: "|error|", Values: errs, Error: true},
	})
}
