package optim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Loop says how long to train and how to report it. The zero value but
// Steps is a silent run of exactly Steps steps.
type Loop struct {
	// Steps is the most steps (for L-BFGS, iterations) to take.
	Steps int
	// Tol stops the run once the loss is at most Tol (0: never).
	Tol float64
	// Schedule sets the learning rate before every step of a first-order
	// optimizer (nil: the optimizer's rate stays).
	Schedule Schedule
	// Progress receives the progress: on a terminal a progress bar with the
	// current loss, otherwise a plain line every Every steps and at the end.
	// Nil: no output.
	Progress io.Writer
	// Every is how many steps lie between plain progress lines (default:
	// a twentieth of Steps).
	Every int
	// Label names the run in the progress output (default: the method).
	Label string
	// Callback, when not nil, runs after every step with the step's number
	// (from 1) and loss; returning true stops the run, an error stops it
	// and is returned. Its time is not counted in History.Seconds, so it
	// can measure the model (say, its error against a known solution)
	// without skewing the timings.
	Callback func(step int, loss float64) (stop bool, err error)
}

// History records a run: the loss of every step (the value the objective
// returned before the step's update), the training time spent when it
// was returned, and why the run stopped.
type History struct {
	Loss    []float64 // loss at each step
	Seconds []float64 // cumulative training time, Callback excluded
	Evals   int       // objective evaluations (L-BFGS's line search evaluates several times a step)
	Reason  string    // why the run stopped
}

// Final returns the last recorded loss (NaN for an empty history).
func (h *History) Final() float64 {
	if len(h.Loss) == 0 {
		return math.NaN()
	}
	return h.Loss[len(h.Loss)-1]
}

// WriteCSV writes the history as CSV with a header: step, loss, seconds.
func (h *History) WriteCSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "step,loss,seconds"); err != nil {
		return err
	}
	for i, l := range h.Loss {
		if _, err := fmt.Fprintf(w, "%d,%.17g,%.6f\n", i+1, l, h.Seconds[i]); err != nil {
			return err
		}
	}
	return nil
}

// Append adds another run's history after h's (times continue from h's
// last), for a run of Adam followed by L-BFGS.
func (h *History) Append(o *History) {
	t0 := 0.0
	if n := len(h.Seconds); n > 0 {
		t0 = h.Seconds[n-1]
	}
	h.Loss = append(h.Loss, o.Loss...)
	for _, s := range o.Seconds {
		h.Seconds = append(h.Seconds, t0+s)
	}
	h.Evals += o.Evals
	h.Reason = o.Reason
}

// errStop ends a run early without being an error.
var errStop = errors.New("stop")

// reporter shows a run's progress and records its history.
type reporter struct {
	loop    Loop
	label   string
	bar     *progressbar.ProgressBar
	hist    *History
	start   time.Time
	skipped time.Duration // spent in the callback
}

func newReporter(l Loop, method string) *reporter {
	r := &reporter{loop: l, label: l.Label, hist: &History{}, start: time.Now()}
	if r.label == "" {
		r.label = method
	}
	if f, ok := l.Progress.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r.bar = progressbar.NewOptions(l.Steps,
			progressbar.OptionSetWriter(f),
			progressbar.OptionSetDescription(r.label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if r.loop.Every <= 0 {
		r.loop.Every = max(l.Steps/20, 1)
	}
	return r
}

func (r *reporter) elapsed() float64 { return (time.Since(r.start) - r.skipped).Seconds() }

// record notes step's loss and reports it; it returns errStop when the run
// should stop (the tolerance or the callback) and the callback's error.
func (r *reporter) record(loss, lr float64) error {
	h := r.hist
	h.Loss = append(h.Loss, loss)
	h.Seconds = append(h.Seconds, r.elapsed())
	step := len(h.Loss)
	if r.bar != nil {
		r.bar.Describe(fmt.Sprintf("%s  loss %.3e", r.label, loss))
		_ = r.bar.Set(step)
	} else if r.loop.Progress != nil && (step%r.loop.Every == 0 || step == 1) {
		r.line(step, loss, lr)
	}
	if r.loop.Callback != nil {
		t := time.Now()
		stop, err := r.loop.Callback(step, loss)
		r.skipped += time.Since(t)
		if err != nil {
			return err
		}
		if stop {
			h.Reason = "stopped by the callback"
			return errStop
		}
	}
	if r.loop.Tol > 0 && loss <= r.loop.Tol {
		h.Reason = fmt.Sprintf("loss %.3e is at most the tolerance %.3e", loss, r.loop.Tol)
		return errStop
	}
	return nil
}

func (r *reporter) line(step int, loss, lr float64) {
	s := fmt.Sprintf("%s  step %d/%d  loss %.4e", r.label, step, r.loop.Steps, loss)
	if lr > 0 {
		s += fmt.Sprintf("  lr %.2e", lr)
	}
	fmt.Fprintf(r.loop.Progress, "%s  %.1f s\n", s, r.elapsed())
}

// finish closes the progress output with the reason the run stopped.
func (r *reporter) finish() {
	if r.hist.Reason == "" {
		r.hist.Reason = fmt.Sprintf("%d steps done", r.loop.Steps)
	}
	if r.bar != nil {
		_ = r.bar.Finish()
	}
	if r.loop.Progress != nil {
		fmt.Fprintf(r.loop.Progress, "%s: %d steps, loss %.4e, %.1f s: %s\n", r.label, len(r.hist.Loss), r.hist.Final(), r.elapsed(), r.hist.Reason)
	}
}

// Run minimises obj with a first-order optimizer for at most l.Steps steps
// and returns the history. A NaN or infinite loss, a bad gradient or an
// objective's error stops the run with an error that names the step; the
// history up to it is returned too.
func (l Loop) Run(opt Optimizer, obj Objective) (*History, error) {
	if opt == nil || obj == nil {
		return nil, fmt.Errorf("optim: Run needs an optimizer and an objective")
	}
	if l.Steps < 1 {
		return nil, fmt.Errorf("optim: Run: %d steps, want at least one", l.Steps)
	}
	r := newReporter(l, fmt.Sprintf("%T", opt)[len("*optim."):])
	grads := zerosLike(opt.Params())
	defer r.finish()
	for step := 0; step < l.Steps; step++ {
		if l.Schedule != nil {
			opt.SetLR(l.Schedule(step))
		}
		loss, err := evaluate(obj, grads, step+1)
		r.hist.Evals++
		if err != nil {
			r.hist.Reason = err.Error()
			return r.hist, err
		}
		if err := opt.Step(grads); err != nil {
			r.hist.Reason = err.Error()
			return r.hist, err
		}
		if err := r.record(loss, opt.LR()); err != nil {
			if err == errStop {
				return r.hist, nil
			}
			r.hist.Reason = err.Error()
			return r.hist, err
		}
	}
	return r.hist, nil
}

// evaluate runs the objective and rejects a non-finite loss.
func evaluate(obj Objective, grads []*tensor.Tensor, step int) (float64, error) {
	loss, err := obj(grads)
	if err != nil {
		return loss, fmt.Errorf("optim: step %d: %w", step, err)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("optim: step %d: the loss is %v (diverged? try a smaller learning rate)", step, loss)
	}
	return loss, nil
}
