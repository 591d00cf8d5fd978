// Command ortbench times ONNX Runtime (CPU, 2 intra-op threads) running the
// derivatives jacobi exports against jacobi's own runtime running the same
// programs, on the standard benchmark cases, in one run: case by case, the
// two sides alternate for several rounds, and each keeps its best round
// (the median of its runs within the round). It also checks that both give
// the same results (the largest difference relative to the largest
// element). It needs ONNX Runtime installed (see package ort).
//
//	go run ./internal/ort/ortbench [-cases ../shared/bench/cases.json] [-rounds 3] [-budget 1s]
//
// For each case it builds the MLP and the batch as package bench does
// (seeded weights and a standard-normal batch), compiles the case's
// derivative (BatchJacobianOf in auto mode, BatchHessianOf,
// BatchLaplacianOf) or traces the PINN training step, exports it with
// package onnx, and times Run on the whole batch against ONNX Runtime's run
// of the exported model on the same batch.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/bench"
	"github.com/jacobi-ad/jacobi/internal/ort"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

// result is one case's measurement.
type result struct {
	Case       string  `json:"case"`
	Derivative string  `json:"derivative"`
	Batch      int     `json:"batch"`
	Jacobi     float64 `json:"jacobi_seconds"`
	ORT        float64 `json:"ort_seconds"`
	FLOPs      float64 `json:"flops"`
	RelDiff    float64 `json:"rel_diff"`
	Nodes      int     `json:"onnx_nodes"`
	Bytes      int     `json:"onnx_bytes"`
}

func main() {
	casesFile := flag.String("cases", "", "cases `file` in the schema of shared/bench/cases.json (default: the standard cases)")
	only := flag.String("only", "", "comma-separated case `names` (default: all)")
	rounds := flag.Int("rounds", 3, "alternating `rounds` per case")
	budget := flag.Duration("budget", time.Second, "timing `budget` per side and round")
	opset := flag.Int("opset", onnx.DefaultOpset, "ONNX `opset` of the exported models")
	keep := flag.String("keep", "", "`directory` to keep the exported models in (default: a temporary one)")
	jsonOut := flag.String("json", "", "also write the results as JSON lines to `file`")
	flag.Parse()

	cases := bench.DefaultCases()
	if *casesFile != "" {
		var err error
		if cases, err = bench.LoadCases(*casesFile); err != nil {
			fatal(err)
		}
	}
	rt, err := ort.Start()
	if err != nil {
		fatal(err)
	}
	defer rt.Close()
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ortbench-"); err != nil {
			fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	var results []result
	for _, c := range cases {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), c.Name) {
			continue
		}
		r, err := runCase(rt, c, dir, *rounds, *budget, *opset)
		if err != nil {
			fatal(fmt.Errorf("%s: %w", c.Name, err))
		}
		fmt.Fprintf(os.Stderr, "%s: jacobi %.4g s, ONNX Runtime %.4g s, ratio %.3g, rel. diff %.2g\n", c.Name, r.Jacobi, r.ORT, r.ORT/r.Jacobi, r.RelDiff)
		results = append(results, r)
	}
	writeTable(results)
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			fatal(err)
		}
		enc := json.NewEncoder(f)
		for _, r := range results {
			enc.Encode(r)
		}
		if err := f.Close(); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "ortbench: %v\n", err)
	os.Exit(1)
}

// prepared is a case ready to time on both sides.
type prepared struct {
	run    func() ([]*tensor.Tensor, error) // jacobi
	model  []byte
	inputs map[string]ort.Input
	names  []string // the model's outputs, in the order run returns them
	flops  float64
}

func prepare(c bench.Case, opset int) (*prepared, error) {
	rng := tensor.NewRand(0)
	m, err := nn.RandomMLP(rng, c.Sizes, c.Activation)
	if err != nil {
		return nil, err
	}
	x := tensor.Randn(rng, c.Batch, c.Sizes[0])
	if c.Derivative == bench.PINNStep {
		return preparePINN(m, x, opset)
	}
	var f jacobi.Fn
	switch c.Derivative {
	case bench.Jacobian:
		f = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }
	case bench.Hessian:
		f = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(m.Apply, x) }
	case bench.Laplacian:
		f = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(m.Apply, x) }
	default:
		return nil, fmt.Errorf("derivative %q", c.Derivative)
	}
	comp, err := jacobi.Compile(f, []int{c.Sizes[0]})
	if err != nil {
		return nil, err
	}
	cost, err := comp.Cost(c.Batch)
	if err != nil {
		return nil, err
	}
	model, err := onnx.ExportCompiled(comp, onnx.Opset(opset))
	if err != nil {
		return nil, err
	}
	return &prepared{
		run: func() ([]*tensor.Tensor, error) {
			y, err := comp.Run(x)
			return []*tensor.Tensor{y}, err
		},
		model:  model,
		inputs: map[string]ort.Input{"x": {T: x}},
		names:  []string{"y"},
		flops:  cost.FLOPs,
	}, nil
}

// preparePINN traces the physics-informed step of package bench's cases
// — loss mean((Δu + u)²) + mean(|∇u|²) and its gradient with respect to
// every parameter — and exports it with a symbolic batch.
func preparePINN(m *nn.MLP, x *tensor.Tensor, opset int) (*prepared, error) {
	np := len(m.Params())
	step := func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(func(in []*jacobi.Node) *jacobi.Node {
			params, x := in[:np], in[np]
			u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
			lap := jacobi.BatchLaplacianOf(u, x)
			grad := jacobi.BatchGradOf(u, x)
			return lap.Add(u(x)).Square().Mean().Add(grad.Square().Sum(1).Mean())
		}, in)
		return append([]*jacobi.Node{v}, g[:np]...)
	}
	args := append(m.Params(), x)
	shapes := make([][]int, len(args))
	inputs := map[string]ort.Input{}
	names := []string{"loss"}
	inNames := make([]string, len(args))
	for i, a := range args {
		shapes[i] = a.Shape()
		inNames[i] = fmt.Sprintf("p%d", i)
		if i == np {
			inNames[i] = "x"
		} else {
			names = append(names, "grad_"+inNames[i])
		}
		inputs[inNames[i]] = ort.Input{T: a}
	}
	t, err := jacobi.Trace(step, shapes)
	if err != nil {
		return nil, err
	}
	sym := slices.Clone(shapes)
	sym[np] = []int{-1, x.Shape()[1]}
	model, err := onnx.ExportFunc(step, sym, onnx.Opset(opset), onnx.InputNames(inNames...), onnx.OutputNames(names...))
	if err != nil {
		return nil, err
	}
	return &prepared{
		run:    func() ([]*tensor.Tensor, error) { return t.Run(args...) },
		model:  model,
		inputs: inputs,
		names:  names,
		flops:  t.Cost().FLOPs,
	}, nil
}

func runCase(rt *ort.Runtime, c bench.Case, dir string, rounds int, budget time.Duration, opset int) (result, error) {
	p, err := prepare(c, opset)
	if err != nil {
		return result{}, err
	}
	path := filepath.Join(dir, c.Name+".onnx")
	if err := onnx.WriteFile(path, p.model); err != nil {
		return result{}, err
	}
	info, err := onnx.Inspect(p.model)
	if err != nil {
		return result{}, err
	}
	r := result{Case: c.Name, Derivative: c.Derivative, Batch: c.Batch, FLOPs: p.flops, Nodes: info.Nodes, Bytes: len(p.model),
		Jacobi: math.Inf(1), ORT: math.Inf(1)}

	// The same results on both sides.
	want, err := p.run()
	if err != nil {
		return r, err
	}
	got, err := rt.Run(path, p.inputs)
	if err != nil {
		return r, err
	}
	for i, name := range p.names {
		g := got[name]
		if g == nil || !tensor.SameShape(g.Shape(), want[i].Shape()) {
			return r, fmt.Errorf("output %s: ONNX Runtime gives %v, jacobi shape %v", name, g, want[i].Shape())
		}
		r.RelDiff = math.Max(r.RelDiff, tensor.MaxAbsDiff(g, want[i])/math.Max(want[i].MaxAbs(), 1e-300))
	}

	// Alternating rounds; each side keeps its best round's median.
	for range rounds {
		s, err := timeJacobi(p.run, budget)
		if err != nil {
			return r, err
		}
		r.Jacobi = math.Min(r.Jacobi, s)
		s, err = timeORT(rt, path, p.inputs, budget)
		if err != nil {
			return r, err
		}
		r.ORT = math.Min(r.ORT, s)
	}
	return r, nil
}

// runsFor is how many runs of one seconds each fit the budget, within
// [3, 50].
func runsFor(one float64, budget time.Duration) int {
	return max(3, min(50, int(budget.Seconds()/math.Max(one, 1e-9))))
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	sort.Float64s(s)
	return s[len(s)/2]
}

func timeJacobi(run func() ([]*tensor.Tensor, error), budget time.Duration) (float64, error) {
	start := time.Now()
	if _, err := run(); err != nil { // warm-up
		return 0, err
	}
	n := runsFor(time.Since(start).Seconds(), budget)
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		if _, err := run(); err != nil {
			return 0, err
		}
		times[i] = time.Since(start).Seconds()
	}
	return median(times), nil
}

func timeORT(rt *ort.Runtime, path string, inputs map[string]ort.Input, budget time.Duration) (float64, error) {
	one, err := rt.Time(path, inputs, 2, 1) // a warm-up run, then one timed
	if err != nil {
		return 0, err
	}
	times, err := rt.Time(path, inputs, 2, runsFor(one[0], budget))
	if err != nil {
		return 0, err
	}
	return median(times), nil
}

func writeTable(rs []result) {
	fmt.Printf("| case | derivative | batch | jacobi s | ONNX Runtime s | ratio (ORT/jacobi) | jacobi GFLOP/s | ORT GFLOP/s | ONNX nodes | rel. diff |\n")
	fmt.Printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	logSum := 0.0
	for _, r := range rs {
		fmt.Printf("| %s | %s | %d | %.4g | %.4g | %.3g | %.3g | %.3g | %d | %.1e |\n", r.Case, r.Derivative, r.Batch, r.Jacobi, r.ORT, r.ORT/r.Jacobi,
			r.FLOPs/r.Jacobi/1e9, r.FLOPs/r.ORT/1e9, r.Nodes, r.RelDiff)
		logSum += math.Log(r.ORT / r.Jacobi)
	}
	if len(rs) > 0 {
		fmt.Printf("\nGeometric mean of the ratios over %d cases: %.3g (GOMAXPROCS %d, %s/%s).\n", len(rs), math.Exp(logSum/float64(len(rs))), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	}
}
