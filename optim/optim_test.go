package optim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

type torchCase struct {
	Kind   string                                `json:"kind"`
	Config map[string]any                        `json:"config"`
	Shapes [][]int                               `json:"shapes"`
	Start  [][]float64                           `json:"start"`
	Steps  []struct{ Grads, Params [][]float64 } `json:"steps"`
}

func num(m map[string]any, k string, def float64) float64 {
	if v, ok := m[k].(float64); ok {
		return v
	}
	return def
}

// newFromTorch builds the optimizer a torch.optim configuration describes.
func newFromTorch(t *testing.T, c torchCase, params []*tensor.Tensor) Optimizer {
	t.Helper()
	var opt Optimizer
	var err error
	switch c.Kind {
	case "adam", "adamw":
		cfg := DefaultAdam()
		if c.Kind == "adamw" {
			cfg = DefaultAdamW()
		}
		cfg.LR = num(c.Config, "lr", cfg.LR)
		cfg.Eps = num(c.Config, "eps", cfg.Eps)
		cfg.WeightDecay = num(c.Config, "weight_decay", cfg.WeightDecay)
		if b, ok := c.Config["betas"].([]any); ok {
			cfg.Beta1, cfg.Beta2 = b[0].(float64), b[1].(float64)
		}
		opt, err = NewAdam(params, cfg)
	case "sgd":
		nesterov, _ := c.Config["nesterov"].(bool)
		opt, err = NewSGD(params, SGDConfig{
			LR: num(c.Config, "lr", 0), Momentum: num(c.Config, "momentum", 0),
			Dampening: num(c.Config, "dampening", 0), WeightDecay: num(c.Config, "weight_decay", 0),
			Nesterov: nesterov,
		})
	default:
		t.Fatalf("unknown optimizer %q", c.Kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// TestStepsMatchPyTorch replays the gradients recorded by
// testdata/torch_steps.py and compares every step's parameters with
// torch.optim's.
func TestStepsMatchPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_steps.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []torchCase }
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 8 {
		t.Fatalf("%d reference cases, want 8", len(ref.Cases))
	}
	for ci, c := range ref.Cases {
		params := make([]*tensor.Tensor, len(c.Shapes))
		for i, s := range c.Shapes {
			params[i] = tensor.MustNew(s, append([]float64(nil), c.Start[i]...))
		}
		opt := newFromTorch(t, c, params)
		worst := 0.0
		for si, st := range c.Steps {
			grads := make([]*tensor.Tensor, len(params))
			for i, s := range c.Shapes {
				grads[i] = tensor.MustNew(s, st.Grads[i])
			}
			if err := opt.Step(grads); err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				for k, v := range p.Data() {
					d := math.Abs(v - st.Params[i][k])
					worst = math.Max(worst, d)
					if d > 1e-12 {
						t.Fatalf("case %d (%s %v) step %d parameter %d[%d]: %.17g, torch %.17g", ci, c.Kind, c.Config, si+1, i, k, v, st.Params[i][k])
					}
				}
			}
		}
		t.Logf("case %d (%s %v): largest difference to torch %.2g", ci, c.Kind, c.Config, worst)
	}
}

// rosenbrock is f(x, y) = (1−x)² + 100(y−x²)², minimum 0 at (1, 1).
func rosenbrock(p *tensor.Tensor) Objective {
	return func(g []*tensor.Tensor) (float64, error) {
		x, y := p.Data()[0], p.Data()[1]
		g[0].Data()[0] = -2*(1-x) - 400*x*(y-x*x)
		g[0].Data()[1] = 200 * (y - x*x)
		return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x), nil
	}
}

// leastSquares is ½·mean((A·w + c − b)²) with b = A·w* + c* exactly, so the
// minimiser is (w*, c*).
func leastSquares(w, c *tensor.Tensor) (Objective, []float64) {
	rng := tensor.NewRand(7)
	const n, d = 40, 4
	a := tensor.Randn(rng, n, d)
	want := []float64{1.5, -2, 0.25, 3, -0.75} // w*, then c*
	b := make([]float64, n)
	for i := range b {
		b[i] = want[d]
		for j := 0; j < d; j++ {
			b[i] += a.At(i, j) * want[j]
		}
	}
	return func(g []*tensor.Tensor) (float64, error) {
		gw, gc := g[0].Data(), g[1].Data()
		clear(gw)
		gc[0] = 0
		loss := 0.0
		for i := 0; i < n; i++ {
			r := c.Data()[0] - b[i]
			for j := 0; j < d; j++ {
				r += a.At(i, j) * w.Data()[j]
			}
			loss += r * r / (2 * n)
			for j := 0; j < d; j++ {
				gw[j] += r * a.At(i, j) / n
			}
			gc[0] += r / n
		}
		return loss, nil
	}, want
}

func TestOptimizersConverge(t *testing.T) {
	type problem struct {
		name   string
		params func() ([]*tensor.Tensor, Objective, []float64)
	}
	problems := []problem{
		{"rosenbrock", func() ([]*tensor.Tensor, Objective, []float64) {
			p := tensor.MustNew([]int{2}, []float64{-1.2, 1})
			return []*tensor.Tensor{p}, rosenbrock(p), []float64{1, 1}
		}},
		{"least squares", func() ([]*tensor.Tensor, Objective, []float64) {
			w, c := tensor.Zeros(4), tensor.Zeros(1)
			obj, want := leastSquares(w, c)
			return []*tensor.Tensor{w, c}, obj, want
		}},
	}
	type method struct {
		name  string
		tol   float64 // on the parameters
		steps map[string]int
		run   func(ps []*tensor.Tensor, obj Objective, steps int) (*History, error)
	}
	first := func(make func([]*tensor.Tensor) (Optimizer, error)) func([]*tensor.Tensor, Objective, int) (*History, error) {
		return func(ps []*tensor.Tensor, obj Objective, steps int) (*History, error) {
			opt, err := make(ps)
			if err != nil {
				return nil, err
			}
			return Loop{Steps: steps}.Run(opt, obj)
		}
	}
	methods := []method{
		{"adam", 1e-4, map[string]int{"rosenbrock": 20000, "least squares": 5000}, first(func(ps []*tensor.Tensor) (Optimizer, error) {
			c := DefaultAdam()
			c.LR = 1e-2
			return NewAdam(ps, c)
		})},
		{"adam cosine", 1e-4, map[string]int{"rosenbrock": 20000, "least squares": 5000}, func(ps []*tensor.Tensor, obj Objective, steps int) (*History, error) {
			opt, err := NewAdam(ps, DefaultAdam())
			if err != nil {
				return nil, err
			}
			return Loop{Steps: steps, Schedule: Cosine(2e-2, 1e-4, steps)}.Run(opt, obj)
		}},
		{"adamw", 1e-4, map[string]int{"rosenbrock": 20000, "least squares": 5000}, first(func(ps []*tensor.Tensor) (Optimizer, error) {
			c := DefaultAdamW()
			c.LR, c.WeightDecay = 1e-2, 0 // decay moves the minimiser
			return NewAdam(ps, c)
		})},
		{"sgd nesterov", 1e-4, map[string]int{"rosenbrock": 40000, "least squares": 2000}, first(func(ps []*tensor.Tensor) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 1e-3, Momentum: 0.9, Nesterov: true})
		})},
		{"lbfgs", 1e-7, map[string]int{"rosenbrock": 200, "least squares": 100}, func(ps []*tensor.Tensor, obj Objective, steps int) (*History, error) {
			lb, err := NewLBFGS(ps, DefaultLBFGS())
			if err != nil {
				return nil, err
			}
			return lb.Run(obj, Loop{Steps: steps})
		}},
	}
	for _, p := range problems {
		for _, m := range methods {
			ps, obj, want := p.params()
			h, err := m.run(ps, obj, m.steps[p.name])
			if err != nil {
				t.Fatalf("%s on %s: %v", m.name, p.name, err)
			}
			var got []float64
			for _, t := range ps {
				got = append(got, t.Data()...)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > m.tol {
					t.Errorf("%s on %s: parameters %v, want %v (within %g); %d steps, %s", m.name, p.name, got, want, m.tol, len(h.Loss), h.Reason)
					break
				}
			}
			if len(h.Loss) < 2 || !(h.Final() < h.Loss[0]) {
				t.Errorf("%s on %s: loss did not decrease: %v … %v", m.name, p.name, h.Loss[0], h.Final())
			}
		}
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name string
		s    Schedule
		want map[int]float64
	}{
		{"step", StepDecay(1, 2, 0.5), map[int]float64{0: 1, 1: 1, 2: 0.5, 3: 0.5, 4: 0.25, 5: 0.25}},
		{"exponential", ExponentialDecay(2, 0.9), map[int]float64{0: 2, 1: 1.8, 3: 2 * 0.729}},
		{"cosine", Cosine(1, 0.1, 10), map[int]float64{0: 1, 5: 0.55, 10: 0.1, 20: 0.1}},
	}
	for _, c := range cases {
		for step, want := range c.want {
			if got := c.s(step); math.Abs(got-want) > 1e-15 {
				t.Errorf("%s schedule at step %d: %v, want %v", c.name, step, got, want)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	p := tensor.Zeros(2, 3)
	adam, _ := NewAdam([]*tensor.Tensor{p}, DefaultAdam())
	nan := tensor.Zeros(2, 3)
	nan.Data()[4] = math.NaN()
	cases := []struct {
		name  string
		grads []*tensor.Tensor
		want  string
	}{
		{"count", []*tensor.Tensor{}, "0 gradients for 1 parameters"},
		{"shape", []*tensor.Tensor{tensor.Zeros(3, 2)}, "shape [3 2], the parameter [2 3]"},
		{"nil", []*tensor.Tensor{nil}, "is nil"},
		{"nan", []*tensor.Tensor{nan}, "parameter 0 is NaN at element 4"},
		{"float32", []*tensor.Tensor{tensor.ZerosOf(tensor.Float32, 2, 3)}, "parameter 0 is float32"},
	}
	for _, c := range cases {
		err := adam.Step(c.grads)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if p.MaxAbs() != 0 {
			t.Errorf("%s: a failed step changed the parameters", c.name)
		}
	}
	// float32 parameters are refused with the way out, not a panic.
	p32 := []*tensor.Tensor{tensor.ZerosOf(tensor.Float32, 2)}
	if _, err := NewAdam(p32, DefaultAdam()); err == nil || !strings.Contains(err.Error(), "Convert") {
		t.Errorf("float32 parameters: %v", err)
	}
	if _, err := NewSGD(p32, SGDConfig{LR: 0.1}); err == nil {
		t.Error("SGD of float32 parameters: no error")
	}
	if _, err := NewLBFGS(p32, DefaultLBFGS()); err == nil {
		t.Error("L-BFGS of float32 parameters: no error")
	}
	// A diverging loss stops the loop with an error naming the step, for
	// every method.
	diverge := func(g []*tensor.Tensor) (float64, error) {
		g[0].Data()[0] = 1
		if p.Data()[0] < -2e-3 {
			return math.NaN(), nil
		}
		return p.Data()[0], nil
	}
	p1 := tensor.Zeros(1)
	a1, _ := NewAdam([]*tensor.Tensor{p1}, DefaultAdam())
	p = p1
	h, err := Loop{Steps: 100}.Run(a1, diverge)
	if err == nil || !strings.Contains(err.Error(), "step 4: the loss is NaN") || len(h.Loss) != 3 {
		t.Errorf("NaN loss: %v after %d steps", err, len(h.Loss))
	}
	p2 := tensor.MustNew([]int{1}, []float64{1})
	p = p2
	lb, _ := NewLBFGS([]*tensor.Tensor{p2}, DefaultLBFGS())
	if _, err := lb.Run(diverge, Loop{Steps: 10}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("L-BFGS on a NaN loss: %v", err)
	}
	badGrad := func(g []*tensor.Tensor) (float64, error) {
		g[0].Data()[0] = math.Inf(1)
		return 1, nil
	}
	if _, err := lb.Run(badGrad, Loop{Steps: 10}); err == nil || !strings.Contains(err.Error(), "+Inf at element 0") {
		t.Errorf("L-BFGS on an infinite gradient: %v", err)
	}
	for _, bad := range []func() error{
		func() error { _, err := NewAdam(nil, DefaultAdam()); return err },
		func() error { c := DefaultAdam(); c.LR = -1; _, err := NewAdam([]*tensor.Tensor{p}, c); return err },
		func() error { c := DefaultAdam(); c.Beta2 = 1; _, err := NewAdam([]*tensor.Tensor{p}, c); return err },
		func() error { _, err := NewSGD([]*tensor.Tensor{p}, SGDConfig{LR: 1, Nesterov: true}); return err },
		func() error { _, err := NewLBFGS([]*tensor.Tensor{p}, LBFGSConfig{}); return err },
		func() error { _, err := Loop{}.Run(a1, diverge); return err },
	} {
		if bad() == nil {
			t.Error("bad settings accepted")
		}
	}
}

func TestLoopStopsAndReports(t *testing.T) {
	p := tensor.MustNew([]int{2}, []float64{-1.2, 1})
	sgd, _ := NewSGD([]*tensor.Tensor{p}, SGDConfig{LR: 1e-3, Momentum: 0.9})
	var out bytes.Buffer
	h, err := Loop{Steps: 100000, Tol: 1e-3, Progress: &out, Every: 500, Label: "rb"}.Run(sgd, rosenbrock(p))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.Loss); n == 100000 || h.Final() > 1e-3 || h.Loss[n-2] <= 1e-3 {
		t.Errorf("tolerance: stopped after %d steps at %v", n, h.Final())
	}
	if !strings.Contains(out.String(), "rb  step 500/100000  loss") || !strings.Contains(h.Reason, "tolerance") {
		t.Errorf("progress %q, reason %q", out.String()[:min(200, out.Len())], h.Reason)
	}
	var csv bytes.Buffer
	if err := h.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != len(h.Loss)+1 || !strings.HasPrefix(csv.String(), "step,loss,seconds\n1,") {
		t.Errorf("CSV has %d lines for %d steps", lines, len(h.Loss))
	}
	// The callback stops L-BFGS at its third iteration.
	q := tensor.MustNew([]int{2}, []float64{-1.2, 1})
	lb, _ := NewLBFGS([]*tensor.Tensor{q}, DefaultLBFGS())
	h2, err := lb.Run(rosenbrock(q), Loop{Steps: 100, Callback: func(step int, _ float64) (bool, error) { return step == 3, nil }})
	if err != nil || len(h2.Loss) != 3 || h2.Reason != "stopped by the callback" {
		t.Errorf("callback stop: %v, %d steps, %q", err, len(h2.Loss), h2.Reason)
	}
	all := &History{}
	all.Append(h)
	all.Append(h2)
	if len(all.Loss) != len(h.Loss)+3 || all.Seconds[len(all.Seconds)-1] < h.Seconds[len(h.Seconds)-1] {
		t.Error("Append lost steps or time")
	}
}

// TestNewObjectiveTrains fits u(x) = w·x + c to 2x − 1 with a traced loss
// and checks the traced gradient against the closed form.
func TestNewObjectiveTrains(t *testing.T) {
	x, _ := tensor.Linspace(-1, 1, 600)
	x, _ = x.Unsqueeze(1)
	y := x.Scale(2).AddScalar(-1)
	w, c := tensor.Scalar(0.5), tensor.Scalar(0)
	loss := func(ps, d []*jacobi.Node) *jacobi.Node {
		return d[0].Mul(ps[0]).Add(ps[1]).Sub(d[1]).Square().Mean()
	}
	obj, step, err := NewObjective(loss, []*tensor.Tensor{w, c}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if step == nil {
		t.Fatal("no traced step")
	}
	g := ZerosLike([]*tensor.Tensor{w, c})
	l, err := obj(g)
	if err != nil {
		t.Fatal(err)
	}
	// loss = mean((−1.5x + 1)²) = 2.25·mean(x²) + 1; d/dw = 2·mean((−1.5x+1)x), d/dc = 2·mean(−1.5x+1).
	mx2 := x.Map(func(v float64) float64 { return v * v }).Mean()
	if math.Abs(l-(2.25*mx2+1)) > 1e-13 || math.Abs(g[0].Data()[0]-(-3*mx2)) > 1e-13 || math.Abs(g[1].Data()[0]-2) > 1e-13 {
		t.Errorf("loss %v grads %v %v", l, g[0].Data(), g[1].Data())
	}
	adam, _ := NewAdam([]*tensor.Tensor{w, c}, AdamConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	h, err := Loop{Steps: 50}.Run(adam, obj)
	if err != nil || !(h.Final() < h.Loss[0]/10) {
		t.Fatalf("Adam: %v, loss %v → %v", err, h.Loss[0], h.Final())
	}
	lb, _ := NewLBFGS([]*tensor.Tensor{w, c}, DefaultLBFGS())
	if _, err := lb.Run(obj, Loop{Steps: 50}); err != nil {
		t.Fatal(err)
	}
	if math.Abs(w.Data()[0]-2) > 1e-8 || math.Abs(c.Data()[0]+1) > 1e-8 {
		t.Errorf("fit w=%v c=%v, want 2, −1", w.Data()[0], c.Data()[0])
	}
}

// TestStepAllocatesNothing checks that a training step (the traced
// objective, split over its 1024 points, and Adam's update) allocates
// nothing once warm, as BenchmarkTrainingStep reports.
func TestStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	rng := tensor.NewRand(2)
	params := []*tensor.Tensor{tensor.Randn(rng, 16, 2).Scale(0.3), tensor.Zeros(16), tensor.Randn(rng, 1, 16).Scale(0.3), tensor.Zeros(1)}
	x := tensor.Uniform(rng, -1, 1, 1024, 2)
	loss := func(ps, d []*jacobi.Node) *jacobi.Node {
		u := func(x *jacobi.Node) *jacobi.Node {
			return x.MatMul(ps[0].T()).Add(ps[1]).Tanh().MatMul(ps[2].T()).Add(ps[3])
		}
		return jacobi.BatchLaplacianOf(u, d[0]).AddScalar(1).Square().Mean()
	}
	obj, _, err := NewObjective(loss, params, x)
	if err != nil {
		t.Fatal(err)
	}
	adam, _ := NewAdam(params, DefaultAdam())
	grads := ZerosLike(params)
	step := func() {
		if _, err := obj(grads); err != nil {
			t.Fatal(err)
		}
		if err := adam.Step(grads); err != nil {
			t.Fatal(err)
		}
	}
	// No collection may empty the pools that hold scratch memory meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	n := 0.0
	for range 50 { // warm: the pools are per processor (see split_test.go)
		if n = testing.AllocsPerRun(10, step); n == 0 {
			break
		}
	}
	if n != 0 {
		t.Errorf("%v allocations per step after 500 steps", n)
	}
}

// BenchmarkTrainingStep is one Adam step of a small physics-informed loss
// (an MLP 2 → 32 → 32 → 1 and its Laplacian on 1024 points): the traced
// objective and the update should allocate nothing per step.
func BenchmarkTrainingStep(b *testing.B) {
	rng := tensor.NewRand(1)
	sizes := []int{2, 32, 32, 1}
	var params []*tensor.Tensor
	for i := 0; i+1 < len(sizes); i++ {
		params = append(params, tensor.Randn(rng, sizes[i+1], sizes[i]).Scale(0.3), tensor.Zeros(sizes[i+1]))
	}
	x := tensor.Uniform(rng, -1, 1, 1024, 2)
	loss := func(ps, d []*jacobi.Node) *jacobi.Node {
		u := func(x *jacobi.Node) *jacobi.Node {
			h := x
			for i := 0; i < len(ps); i += 2 {
				h = h.MatMul(ps[i].T()).Add(ps[i+1])
				if i+2 < len(ps) {
					h = h.Tanh()
				}
			}
			return h
		}
		return jacobi.BatchLaplacianOf(u, d[0]).AddScalar(1).Square().Mean()
	}
	obj, _, err := NewObjective(loss, params, x)
	if err != nil {
		b.Fatal(err)
	}
	adam, _ := NewAdam(params, DefaultAdam())
	grads := ZerosLike(params)
	step := func() {
		if _, err := obj(grads); err != nil {
			b.Fatal(err)
		}
		if err := adam.Step(grads); err != nil {
			b.Fatal(err)
		}
	}
	step() // compiles what the runs need
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

func TestNewObjectiveRejects(t *testing.T) {
	w := tensor.Zeros(3)
	x := tensor.Zeros(5, 3)
	vector := func(ps, d []*jacobi.Node) *jacobi.Node { return d[0].MatMul(ps[0].Reshape(3, 1)) } // (5, 1): not a scalar
	if _, _, err := NewObjective(vector, []*tensor.Tensor{w}, x); err == nil || !strings.Contains(err.Error(), "single element") {
		t.Errorf("a non-scalar loss: %v", err)
	}
	scalar := func(ps, d []*jacobi.Node) *jacobi.Node { return d[0].MatMul(ps[0].Reshape(3, 1)).Square().Mean() }
	obj, _, err := NewObjective(scalar, []*tensor.Tensor{w}, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj([]*tensor.Tensor{tensor.Zeros(4)}); err == nil || !strings.Contains(err.Error(), "gradient buffer 0") {
		t.Errorf("a gradient buffer of the wrong shape: %v", err)
	}
	if _, _, err := NewObjective(nil, []*tensor.Tensor{w}, x); err == nil {
		t.Error("a nil loss accepted")
	}
}
