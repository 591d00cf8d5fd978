// Command burgers solves the viscous Burgers equation with a
// physics-informed network, as Raissi, Perdikaris & Karniadakis (2019,
// J. Comput. Phys. 378, §3.1) do:
//
//	u_t + u·u_x − (0.01/π)·u_xx = 0,  x ∈ [−1, 1], t ∈ [0, 1],
//	u(0, x) = −sin(πx),  u(t, −1) = u(t, 1) = 0,
//
// with an MLP 2 → 8×20 tanh → 1 (inputs (t, x) scaled to [−1, 1],
// Xavier-initialised), N_u = 100 points on the initial slice and the
// boundaries, N_f = 10 000 Latin-hypercube collocation points (plus the
// N_u points, as theirs), trained by L-BFGS (optionally after Adam; 5000
// iterations by default, where the paper allows 50 000). It
// computes the exact solution itself (Cole–Hopf, Gauss–Hermite
// quadrature) and reports the relative L2 error on the 100 × 256 grid of
// t ∈ [0, 0.99], x ∈ [−1, 1] that the paper uses; the paper reports 6.7e-4.
//
//	go run ./examples/burgers                 # defaults: the paper's setting
//	go run ./examples/burgers --lbfgs 50000 --target 1e-3  # stop at an error of 1e-3
//
// It writes burgers.png (predicted, exact, error), burgers-loss.csv, and
// with --eval-points P.npy --eval-output U.npy the network's values at
// the (N, 2) points (t, x) of P.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/examples/internal/pinn"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/optim"
	"github.com/jacobi-ad/jacobi/sample"
	"github.com/jacobi-ad/jacobi/tensor"
)

const defaultNodes = 200 // Gauss–Hermite nodes of the exact solution (100 already give 1e-12)

var nu = 0.01 / math.Pi

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "burgers:", err)
		os.Exit(1)
	}
}

type config struct {
	pinn.Flags
	adam, lbfgs int
	lr          float64
	nf, nu      int
	target      float64
	every       int
	form        string
	exportDir   string
	history     int
	json        string
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("burgers", flag.ContinueOnError)
	c.Register(fs, "burgers")
	fs.IntVar(&c.adam, "adam", 0, "Adam steps before L-BFGS")
	fs.Float64Var(&c.lr, "lr", 1e-3, "Adam's learning rate")
	fs.IntVar(&c.lbfgs, "lbfgs", 5000, "L-BFGS iterations at most (the paper allows 50000; 5000 reach an error below 1e-3)")
	fs.IntVar(&c.history, "history", 50, "L-BFGS history size (the paper's maxcor)")
	fs.IntVar(&c.nf, "nf", 10000, "collocation points N_f")
	fs.IntVar(&c.nu, "nu", 100, "initial and boundary points N_u")
	fs.Float64Var(&c.target, "target", 0, "stop once the relative L2 error is at most this (0: train to the end)")
	fs.IntVar(&c.every, "check-every", 100, "measure the error every this many steps")
	fs.StringVar(&c.form, "form", "jet", "how the loss takes its derivatives: jet (BatchJetOf: u, u_x and u_t − ν·u_xx from one Taylor pass), operator (BatchOperatorOf and JVPOf, forward mode), grad (BatchGradOf and BatchOperatorOf) or hessdiag (BatchGradOf and BatchHessianDiagOf)")
	fs.StringVar(&c.exportDir, "export", "", "write the training points and initial weights into this directory (for examples/burgers/burgers_torch.py) and stop")
	fs.StringVar(&c.json, "json", "", "write the timings and errors here as JSON (as burgers_torch.py --json does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	if c.form != "jet" && c.form != "operator" && c.form != "grad" && c.form != "hessdiag" {
		return fmt.Errorf("--form %q: want jet, operator, grad or hessdiag", c.form)
	}
	return train(c)
}

// problem holds the training data and the evaluation grid.
type problem struct {
	xu, uu, xf *tensor.Tensor // (N_u, 2), (N_u, 1), (N_f + N_u, 2)
	grid       *tensor.Tensor // (100·256, 2): rows (t, x), x fastest
	ts, xs     []float64
	exact      *tensor.Tensor // (100·256, 1)
}

func newProblem(c config) (*problem, error) {
	domain := sample.Box{Lo: []float64{0, -1}, Hi: []float64{1, 1}}
	xf, err := domain.Interior(sample.LatinHypercube, c.nf, c.Seed)
	if err != nil {
		return nil, err
	}
	// The initial slice t = 0 and the boundaries x = ±1.
	xu, err := domain.OnFaces(sample.LatinHypercube, c.nu, c.Seed+1, sample.Face{Axis: 0}, sample.Face{Axis: 1}, sample.Face{Axis: 1, High: true})
	if err != nil {
		return nil, err
	}
	uu := tensor.Zeros(c.nu, 1)
	for i := 0; i < c.nu; i++ {
		if xu.At(i, 0) == 0 {
			uu.Data()[i] = -math.Sin(math.Pi * xu.At(i, 1))
		}
	}
	if xf, err = tensor.Concat(0, xf, xu); err != nil {
		return nil, err
	}
	tg, _ := tensor.Linspace(0, 0.99, 100)
	xg, _ := tensor.Linspace(-1, 1, 256)
	grid, err := tensor.GridPoints(tg, xg)
	if err != nil {
		return nil, err
	}
	ch := newColeHopf(nu, defaultNodes)
	exact := tensor.Zeros(grid.Shape()[0], 1)
	for i := range exact.Data() {
		exact.Data()[i] = ch.u(grid.At(i, 0), grid.At(i, 1))
	}
	return &problem{xu: xu, uu: uu, xf: xf, grid: grid, ts: tg.Data(), xs: xg.Data(), exact: exact}, nil
}

// network returns u(params, X): the MLP on (t, x) scaled to [−1, 1]² as
// Raissi et al. scale their inputs.
func network(m *nn.MLP) func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
	scale := jacobi.Const(tensor.MustNew([]int{2}, []float64{2, 1}))
	shift := jacobi.Const(tensor.MustNew([]int{2}, []float64{-1, 0}))
	return func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
		return m.ApplyWith(ps, x.Mul(scale).Add(shift))
	}
}

// loss is the paper's: the mean squared misfit on the N_u points plus the
// mean squared residual u_t + u·u_x − ν·u_xx on the collocation points.
// The residual's derivatives come, by form:
//
//   - "jet": u, u_x (the derivative along e_x) and u_t − ν·u_xx (the
//     operator with direction e_x, weight −ν and drift e_t) from one pass
//     of collapsed Taylor mode (BatchJetOf): the fastest, as the value,
//     the first-order chain along x and the collapsed second-order chain
//     are each carried once;
//   - "operator": u_t − ν·u_xx as one second-order operator
//     (BatchOperatorOf, collapsed Taylor mode), u and u_x by a
//     forward-mode JVP along x (JVPOf with the tangent (0, 1) in every row,
//     passed as data[3]) — forward mode throughout, but the first-order
//     chain along x twice (the JVP's and the operator's);
//   - "grad": u_t, u_x by BatchGradOf (reverse mode), u_xx by
//     BatchOperatorOf;
//   - "hessdiag": u_t, u_x by BatchGradOf, u_xx by BatchHessianDiagOf —
//     the most literal transcription.
func loss(m *nn.MLP, form string) optim.Loss {
	net := network(m)
	d2x := tensor.MustNew([]int{2, 2}, []float64{0, 0, 0, 1})    // picks u_xx
	heat := tensor.MustNew([]int{2, 2}, []float64{0, 0, 0, -nu}) // −ν·u_xx …
	dt := tensor.MustNew([]int{2}, []float64{1, 0})              // … + u_t
	alongX := tensor.MustNew([]int{1, 2}, []float64{0, 1})       // u_x, and u_xx with weight −ν
	return func(ps, data []*jacobi.Node) *jacobi.Node {
		xu, uu, xf := data[0], data[1], data[2]
		u := func(x *jacobi.Node) *jacobi.Node { return net(ps, x) }
		var f *jacobi.Node
		switch form {
		case "jet":
			uf, ux, lf := jacobi.BatchJetOf(u, xf, alongX, []float64{-nu}, dt)
			f = lf.Add(uf.Mul(ux.Reshape(xf.Shape()[0], 1))) // ux: (N, 1, 1)
		case "operator":
			uf, ux := jacobi.JVPOf(u, xf, data[3])
			f = jacobi.BatchOperatorOf(u, xf, heat, dt).Add(uf.Mul(ux))
		default:
			g := jacobi.BatchGradOf(u, xf) // (N, 2): u_t, u_x
			ut, ux := g.Slice(1, 0, 1), g.Slice(1, 1, 2)
			var uxx *jacobi.Node
			if form == "hessdiag" {
				n := xf.Shape()[0]
				uxx = jacobi.BatchHessianDiagOf(u, xf).Slice(2, 1, 2).Reshape(n, 1) // (N, 1, 2) → u_xx
			} else {
				uxx = jacobi.BatchOperatorOf(u, xf, d2x, nil)
			}
			f = ut.Add(u(xf).Mul(ux)).Sub(uxx.Scale(nu))
		}
		return u(xu).Sub(uu).Square().Mean().Add(f.Square().Mean())
	}
}

// data returns the loss's data inputs.
func (p *problem) data() []*tensor.Tensor {
	n := p.xf.Shape()[0]
	ex := tensor.Zeros(n, 2) // the tangent (0, 1) of every collocation point
	for i := 0; i < n; i++ {
		ex.Data()[2*i+1] = 1
	}
	return []*tensor.Tensor{p.xu, p.uu, p.xf, ex}
}

func train(c config) error {
	prob, err := newProblem(c)
	if err != nil {
		return err
	}
	var m *nn.MLP
	if c.Init != "" {
		m, err = nn.LoadMLP(c.Init, "tanh")
	} else {
		m, err = nn.NewMLPFrom([]int{2, 20, 20, 20, 20, 20, 20, 20, 20, 1}, "tanh", nn.XavierNormal, c.Seed)
	}
	if err != nil {
		return err
	}
	if c.exportDir != "" {
		return export(c.exportDir, m, prob)
	}
	params := m.Params()
	t0 := time.Now()
	obj, step, err := optim.NewObjective(loss(m, c.form), params, prob.data()...)
	if err != nil {
		return err
	}
	out := c.Progress()
	if out != nil {
		fmt.Fprintf(out, "Burgers: %d parameters, N_u = %d, N_f = %d (+N_u), loss (%s form) traced in %.2f s, %.2f GFLOP a step\n",
			m.NumParams(), c.nu, c.nf, c.form, time.Since(t0).Seconds(), step.Cost().FLOPs/1e9)
		if why := step.WhyNotSplit(); why != nil {
			fmt.Fprintf(out, "the step is not split into per-sample chunks: %v\n", why)
		}
	}
	net := network(m)
	predict, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{net(in[:len(params)], in[len(params)])}
	}, append(shapesOf(params), prob.grid.Shape()))
	if err != nil {
		return err
	}
	relErr := func() (float64, *tensor.Tensor, error) {
		outs, err := predict.Run(append(append([]*tensor.Tensor{}, params...), prob.grid)...)
		if err != nil {
			return 0, nil, err
		}
		e, err := tensor.RelErr(outs[0], prob.exact)
		return e, outs[0], err
	}
	reached := -1.0 // training seconds when the target was reached
	hit := false
	var hist optim.History
	check := func(step int, _ float64) (bool, error) {
		if c.target <= 0 || step%c.every != 0 {
			return false, nil
		}
		e, _, err := relErr()
		if err != nil {
			return false, err
		}
		if e <= c.target {
			hit = true
			if out != nil {
				fmt.Fprintf(out, "relative L2 error %.3e ≤ %g at step %d\n", e, c.target, step)
			}
		}
		return hit, nil
	}
	done := func(h *optim.History) {
		hist.Append(h)
		if hit && reached < 0 {
			reached = hist.Seconds[len(hist.Seconds)-1]
		}
	}
	res := map[string]any{"framework": "jacobi", "form": c.form, "threads": runtime.GOMAXPROCS(0)}
	cpu0 := cpuTime()
	if c.adam > 0 {
		cfg := optim.DefaultAdam()
		cfg.LR = c.lr
		adam, err := optim.NewAdam(params, cfg)
		if err != nil {
			return err
		}
		h, err := optim.Loop{Steps: c.adam, Progress: out, Label: "Adam", Callback: check}.Run(adam, obj)
		done(h)
		res["adam_steps"] = len(h.Loss)
		res["adam_seconds_per_step"] = pinn.TrainSeconds(h) / float64(max(len(h.Loss), 1))
		if err != nil {
			return err
		}
	}
	if c.lbfgs > 0 && !hit {
		cfg := optim.DefaultLBFGS()
		cfg.History = c.history
		lb, err := optim.NewLBFGS(params, cfg)
		if err != nil {
			return err
		}
		h, err := lb.Run(obj, optim.Loop{Steps: c.lbfgs, Progress: out, Label: "L-BFGS", Every: 500, Callback: check})
		done(h)
		res["lbfgs_iterations"] = len(h.Loss)
		res["lbfgs_evaluations"] = h.Evals
		res["lbfgs_seconds_per_iteration"] = pinn.TrainSeconds(h) / float64(max(len(h.Loss), 1))
		res["lbfgs_seconds_per_evaluation"] = pinn.TrainSeconds(h) / float64(max(h.Evals, 1))
		if err != nil {
			return err
		}
	}
	res["cpu_seconds_per_evaluation"] = (cpuTime() - cpu0).Seconds() / float64(max(hist.Evals, 1))
	e, pred, err := relErr()
	if err != nil {
		return err
	}
	train := 0.0
	if n := len(hist.Seconds); n > 0 {
		train = hist.Seconds[n-1]
	}
	fmt.Printf("relative L2 error %.3e on the 100×256 grid (the paper: 6.7e-4); %d steps, %d loss evaluations, final loss %.3e, %.1f s of training\n",
		e, len(hist.Loss), hist.Evals, hist.Final(), train)
	if reached >= 0 {
		fmt.Printf("reached %g after %.2f s of training\n", c.target, reached)
		res["reached_target_seconds"] = reached
	} else {
		res["reached_target_seconds"] = nil
	}
	res["train_seconds"], res["final_rel_l2"], res["final_loss"] = train, e, hist.Final()
	if c.json != "" {
		err := pinn.WriteAtomic(c.json, func(w io.Writer) error { return json.NewEncoder(w).Encode(res) })
		if err != nil {
			return err
		}
	}
	if err := pinn.WriteLoss(c.LossCSV, &hist); err != nil {
		return err
	}
	if c.Save != "" {
		if err := m.Save(c.Save); err != nil {
			return err
		}
	}
	if err := pinn.Evaluate(func(x *jacobi.Node) *jacobi.Node { return net(consts(params), x) }, 2, c.EvalPoints, c.EvalOutput); err != nil {
		return err
	}
	return picture(c.Picture, prob, pred)
}

func consts(ts []*tensor.Tensor) []*jacobi.Node {
	ns := make([]*jacobi.Node, len(ts))
	for i, t := range ts {
		ns[i] = jacobi.Const(t)
	}
	return ns
}

func shapesOf(ts []*tensor.Tensor) [][]int {
	s := make([][]int, len(ts))
	for i, t := range ts {
		s[i] = t.Shape()
	}
	return s
}

func picture(path string, p *problem, pred *tensor.Tensor) error {
	// The grid's rows are (t, x) with x fastest: plot x across, t up.
	// Panels wants index iy·len(xs) + ix with xs across: t across, x up
	// reads as the paper's figure, so transpose.
	nt, nx := len(p.ts), len(p.xs)
	tr := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for it := 0; it < nt; it++ {
			for ix := 0; ix < nx; ix++ {
				out[ix*nt+it] = v[it*nx+ix]
			}
		}
		return out
	}
	errs := make([]float64, len(pred.Data()))
	for i, v := range pred.Data() {
		errs[i] = math.Abs(v - p.exact.Data()[i])
	}
	return pinn.Panels(path, "t", "x", p.ts, p.xs, []pinn.Field{
		{Title: "PINN u(t, x)", Values: tr(pred.Data())},
		{Title: "exact u(t, x) (Cole–Hopf)", Values: tr(p.exact.Data())},
		{Title: "|error|", Values: tr(errs), Error: true},
	})
}

// export writes what examples/burgers/burgers_torch.py needs to train the same
// network from the same start on the same points.
func export(dir string, m *nn.MLP, p *problem) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, t := range map[string]*tensor.Tensor{"xu.npy": p.xu, "uu.npy": p.uu, "xf.npy": p.xf, "grid.npy": p.grid, "exact.npy": p.exact} {
		if err := pinn.WriteNpy(filepath.Join(dir, name), t); err != nil {
			return err
		}
	}
	return m.Save(filepath.Join(dir, "init.safetensors"))
}

// cpuTime returns the CPU time the process has used: on a shared machine
// a steadier measure of work than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
