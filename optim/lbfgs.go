package optim

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"

	"github.com/jacobi-ad/jacobi/tensor"
)

// LBFGSConfig holds L-BFGS's settings. Start from DefaultLBFGS.
//
// The correspondence with the settings PINN codes use:
//
//	LBFGSConfig   torch.optim.LBFGS          SciPy L-BFGS-B (Raissi et al.)
//	History       history_size (100)         maxcor (50)
//	Loop.Steps    max_iter                   maxiter (50000)
//	MaxEvals      max_eval (1.25·max_iter)   maxfun (50000)  (0: 1.25·Loop.Steps + 1)
//	GradTol       tolerance_grad (1e-7)      gtol (1e-5)
//	ChangeTol     —                          ftol (machine epsilon)
//	StepTol       tolerance_change (1e-9)    —
//
// GradTol stops when the largest gradient element is at most GradTol;
// ChangeTol when an iteration lowers the loss f by at most
// ChangeTol·max(|f_k|, |f_k+1|, 1) (SciPy's rule); StepTol when an
// iteration moves no parameter by more than StepTol. Zero disables each.
type LBFGSConfig struct {
	History   int
	MaxEvals  int
	GradTol   float64
	ChangeTol float64
	StepTol   float64
}

// DefaultLBFGS returns the settings of Raissi, Perdikaris & Karniadakis's
// PINN code (SciPy's L-BFGS-B with maxcor 50 and ftol the machine epsilon),
// with PyTorch's gradient and step tolerances (1e-7, 1e-9) and no limit on
// evaluations but 1.25 times the iterations.
func DefaultLBFGS() LBFGSConfig {
	return LBFGSConfig{History: 50, GradTol: 1e-7, ChangeTol: 0x1p-52, StepTol: 1e-9}
}

// LBFGS is the limited-memory BFGS method with a line search that
// satisfies the strong Wolfe conditions (Moré & Thuente's, sufficient
// decrease 1e-4 and curvature 0.9, as PyTorch and SciPy): gonum's
// optimize.LBFGS and optimize.MoreThuente.
type LBFGS struct {
	cfg    LBFGSConfig
	params []*tensor.Tensor
}

// NewLBFGS returns L-BFGS over params (updated in place).
func NewLBFGS(params []*tensor.Tensor, cfg LBFGSConfig) (*LBFGS, error) {
	if err := checkParams("L-BFGS", params); err != nil {
		return nil, err
	}
	if cfg.History < 1 {
		return nil, fmt.Errorf("optim: L-BFGS: history of %d pairs, want at least 1", cfg.History)
	}
	if cfg.MaxEvals < 0 || !(cfg.GradTol >= 0) || !(cfg.ChangeTol >= 0) || !(cfg.StepTol >= 0) {
		return nil, fmt.Errorf("optim: L-BFGS: evaluations and tolerances must not be negative (%+v)", cfg)
	}
	return &LBFGS{cfg: cfg, params: params}, nil
}

// Params returns the parameters L-BFGS updates.
func (lb *LBFGS) Params() []*tensor.Tensor { return lb.params }

// Run minimises obj for at most l.Steps iterations (l.Schedule does not
// apply) and leaves the best parameters found in place. The history holds
// the loss at every iteration, the first at the starting point. A line
// search that can make no more progress ends the run without an error
// (History.Reason says so); a NaN or infinite loss or gradient, or an
// error of the objective, ends it with an error.
func (lb *LBFGS) Run(obj Objective, l Loop) (*History, error) {
	if obj == nil {
		return nil, fmt.Errorf("optim: L-BFGS needs an objective")
	}
	if l.Steps < 1 {
		return nil, fmt.Errorf("optim: L-BFGS: %d iterations, want at least one", l.Steps)
	}
	r := newReporter(l, "L-BFGS")
	defer r.finish()

	n := 0
	for _, p := range lb.params {
		n += p.Len()
	}
	x0 := make([]float64, n)
	flatten(x0, lb.params)
	grads := zerosLike(lb.params)

	// gonum asks for the value and the gradient separately; the objective
	// computes both at once, so the last evaluation is kept.
	var (
		lastX, lastG = make([]float64, n), make([]float64, n)
		lastF        float64
		valid        bool
		evalErr      error
	)
	eval := func(x []float64) {
		if valid && equal(x, lastX) || evalErr != nil {
			return
		}
		unflatten(lb.params, x)
		f, err := evaluate(obj, grads, len(r.hist.Loss)+1)
		r.hist.Evals++
		if err == nil {
			err = checkGrads(lb.params, grads)
			if err != nil {
				err = fmt.Errorf("optim: L-BFGS iteration %d: %w", len(r.hist.Loss)+1, err)
			}
		}
		if err != nil {
			evalErr, f = err, math.NaN()
		}
		copy(lastX, x)
		flatten(lastG, grads)
		lastF, valid = f, true
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
	}
	maxEvals := lb.cfg.MaxEvals
	if maxEvals == 0 {
		maxEvals = l.Steps + l.Steps/4 + 1 // and the evaluation at the start
	}
	var prev []float64 // the last iterate, for StepTol
	var cbErr error    // the callback's
	rec := recorder(func(loc *optimize.Location, op optimize.Operation, stats *optimize.Stats) error {
		if evalErr != nil {
			return evalErr
		}
		if op == optimize.PostIteration && len(r.hist.Loss) < stats.MajorIterations {
			// The iteration that ended the run (gonum does not show it to
			// the recorder): its point is the best one.
			r.hist.Loss = append(r.hist.Loss, loc.F)
			r.hist.Seconds = append(r.hist.Seconds, r.elapsed())
			return nil
		}
		if op != optimize.MajorIteration {
			return nil
		}
		if err := r.record(loc.F, 0); err != nil {
			if !errors.Is(err, errStop) {
				cbErr = err
			}
			return err
		}
		if lb.cfg.StepTol > 0 && prev != nil {
			moved := 0.0
			for i, v := range loc.X {
				moved = math.Max(moved, math.Abs(v-prev[i]))
			}
			if moved <= lb.cfg.StepTol {
				r.hist.Reason = fmt.Sprintf("no parameter moved by more than %g", lb.cfg.StepTol)
				return errStop
			}
		}
		prev = append(prev[:0], loc.X...)
		return nil
	})
	settings := &optimize.Settings{
		MajorIterations:   l.Steps,
		FuncEvaluations:   maxEvals,
		GradientThreshold: lb.cfg.GradTol,
		Converger:         &changeConverger{tol: lb.cfg.ChangeTol},
		Recorder:          rec,
	}
	method := &optimize.LBFGS{
		Store:             lb.cfg.History,
		Linesearcher:      &optimize.MoreThuente{},
		GradStopThreshold: math.NaN(), // GradientThreshold (the largest element) decides
	}
	res, err := optimize.Minimize(prob, x0, settings, method)
	if res != nil && len(res.X) == n && !math.IsInf(res.F, 1) {
		unflatten(lb.params, res.X) // the best point, not the last trial
	}
	switch {
	case evalErr != nil:
		r.hist.Reason = evalErr.Error()
		return r.hist, evalErr
	case errors.Is(err, errStop):
		return r.hist, nil
	case cbErr != nil:
		r.hist.Reason = cbErr.Error()
		return r.hist, cbErr
	case err != nil:
		// The line search could not lower the loss along the direction:
		// at the limit of the floating-point precision of the loss, as
		// SciPy's ABNORMAL_TERMINATION_IN_LNSRCH.
		r.hist.Reason = "the line search made no progress: " + err.Error()
		return r.hist, nil
	}
	if r.hist.Reason == "" {
		r.hist.Reason = describe(res.Status, lb.cfg, l.Steps)
	}
	return r.hist, nil
}

func describe(s optimize.Status, cfg LBFGSConfig, steps int) string {
	switch s {
	case optimize.GradientThreshold:
		return fmt.Sprintf("no gradient element above %g", cfg.GradTol)
	case optimize.FunctionConvergence:
		return fmt.Sprintf("an iteration lowered the loss by at most %g relative", cfg.ChangeTol)
	case optimize.IterationLimit:
		return fmt.Sprintf("%d iterations done", steps)
	case optimize.FunctionEvaluationLimit, optimize.GradientEvaluationLimit:
		return "the limit of evaluations is reached"
	}
	return s.String()
}

// recorder adapts a function to gonum's Recorder.
type recorder func(loc *optimize.Location, op optimize.Operation, stats *optimize.Stats) error

func (f recorder) Init() error { return nil }

func (f recorder) Record(loc *optimize.Location, op optimize.Operation, stats *optimize.Stats) error {
	return f(loc, op, stats)
}

// changeConverger is SciPy's ftol test: stop when (f_k − f_k+1) /
// max(|f_k|, |f_k+1|, 1) ≤ tol.
type changeConverger struct {
	tol   float64
	prev  float64
	first bool
}

func (c *changeConverger) Init(int) { c.first = true }

func (c *changeConverger) Converged(l *optimize.Location) optimize.Status {
	if c.first || c.tol == 0 {
		c.prev, c.first = l.F, false
		return optimize.NotTerminated
	}
	d := (c.prev - l.F) / math.Max(math.Max(math.Abs(c.prev), math.Abs(l.F)), 1)
	c.prev = l.F
	if d <= c.tol {
		return optimize.FunctionConvergence
	}
	return optimize.NotTerminated
}

func flatten(dst []float64, ts []*tensor.Tensor) {
	off := 0
	for _, t := range ts {
		off += copy(dst[off:], t.Data())
	}
}

func unflatten(ts []*tensor.Tensor, src []float64) {
	off := 0
	for _, t := range ts {
		off += copy(t.Data(), src[off:])
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
