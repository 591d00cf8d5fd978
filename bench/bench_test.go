package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/tensor"
)

// smallCases cover every derivative kind with tiny networks, small enough
// that every method (including the full Jacobian and the loop) runs.
var smallCases = []Case{
	{Name: "jac", Sizes: []int{3, 7, 4}, Activation: "tanh", Batch: 5, Derivative: Jacobian},
	{Name: "jac_sig", Sizes: []int{5, 2, 10}, Activation: "sigmoid", Batch: 3, Derivative: Jacobian},
	{Name: "hess", Sizes: []int{3, 6, 5, 1}, Activation: "tanh", Batch: 4, Derivative: Hessian},
	{Name: "lap", Sizes: []int{3, 6, 5, 1}, Activation: "tanh", Batch: 4, Derivative: Laplacian},
	{Name: "pinn", Sizes: []int{2, 5, 5, 1}, Activation: "tanh", Batch: 6, Derivative: PINNStep},
	{Name: "jac32", Sizes: []int{3, 7, 4}, Activation: "tanh", Batch: 5, Derivative: Jacobian, DType: "float32"},
	{Name: "hess32", Sizes: []int{3, 6, 5, 1}, Activation: "tanh", Batch: 4, Derivative: Hessian, DType: "float32"},
	{Name: "lap32", Sizes: []int{3, 6, 5, 1}, Activation: "tanh", Batch: 4, Derivative: Laplacian, DType: "float32"},
	{Name: "pinn32", Sizes: []int{2, 5, 5, 1}, Activation: "tanh", Batch: 6, Derivative: PINNStep, DType: "float32"},
}

var wantMethods = map[string][]string{
	Jacobian:  {MethodJacobi, MethodForward, MethodReverse, MethodNaive, MethodLoop},
	Hessian:   {MethodJacobi, MethodNested, MethodRevRev, MethodGram, MethodNaive, MethodLoop},
	Laplacian: {MethodJacobi, MethodTaylor, MethodNested, MethodHessDiag, MethodGram, MethodLoop},
	PINNStep:  {MethodJacobi, MethodTaylor, MethodNested, MethodValueAndGrad},
}

func runSmall(t *testing.T) []Result {
	t.Helper()
	var lines []string
	var mc Machine
	rs, err := Run(smallCases, Options{Budget: time.Millisecond, Machine: &mc, Progress: func(s string) { lines = append(lines, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(rs)+1 || !strings.Contains(lines[0], "DGEMM") {
		t.Errorf("%d progress lines for %d results and the DGEMM rate:\n%s", len(lines), len(rs), strings.Join(lines, "\n"))
	}
	// The machine: the kernels in use and a DGEMM rate every result is
	// read against.
	// The float32 cases are read against an SGEMM rate of the same run.
	if mc.Kernels != kernels.Path() || mc.CPU == "" || mc.Workers != kernels.Workers() || !(mc.DGEMM > 0) || !(mc.SGEMM > 0) {
		t.Errorf("machine %+v", mc)
	}
	for _, r := range rs {
		if g := mc.GEMMRate(r.DType); r.Kernels != mc.Kernels || r.OfDGEMM != r.GFLOPs/g {
			t.Errorf("%s/%s: kernels %q, of GEMM %g, want %q and %g/%g", r.Case, r.Method, r.Kernels, r.OfDGEMM, mc.Kernels, r.GFLOPs, g)
		}
	}
	return rs
}

func TestRunEveryMethodAgrees(t *testing.T) {
	rs := runSmall(t)
	for _, c := range smallCases {
		var got []string
		for _, r := range rs {
			if r.Case != c.Name {
				continue
			}
			got = append(got, r.Method)
			if !(r.Seconds > 0) || math.IsInf(r.Seconds, 0) {
				t.Errorf("%s/%s: seconds %g", r.Case, r.Method, r.Seconds)
			}
			// Different programs round differently: by a few hundred
			// thousand ulps at most, of values of order one.
			tol := 1e-10
			if c.DType == "float32" {
				tol = 1e-4
			}
			if !(r.Err <= tol) {
				t.Errorf("%s/%s: differs from jacobi by %g", r.Case, r.Method, r.Err)
			}
			if want := c.dtype().String(); r.DType != want {
				t.Errorf("%s/%s: dtype %q, want %q", r.Case, r.Method, r.DType, want)
			}
			if r.Method == MethodJacobi && r.Err != 0 {
				t.Errorf("%s/jacobi: err %g against itself", r.Case, r.Err)
			}
			if r.Method != MethodValueAndGrad && !(r.GFLOPs > 0) {
				t.Errorf("%s/%s: GFLOP/s %g, want > 0", r.Case, r.Method, r.GFLOPs)
			}
		}
		if want := wantMethods[c.Derivative]; !slices.Equal(got, want) {
			t.Errorf("%s: methods %v, want %v", c.Name, got, want)
		}
	}
}

// TestReferenceIsRight checks the reference itself, not only the
// agreement between methods: the jacobi result of a linear network (no
// hidden layer) is its weight matrix for every sample.
func TestReferenceIsRight(t *testing.T) {
	c := Case{Name: "lin", Sizes: []int{3, 2}, Activation: "tanh", Batch: 4, Derivative: Jacobian}
	s, err := newSetup(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := methodsFor(Jacobian)[0].prepare(s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.run()
	if err != nil {
		t.Fatal(err)
	}
	out := flatten(res)
	w := s.m.Weights[0].Data() // (2, 3)
	if len(out) != 4*len(w) {
		t.Fatalf("result has %d values, want %d", len(out), 4*len(w))
	}
	for i := range 4 {
		if d := maxAbsDiff(out[i*len(w):(i+1)*len(w)], w); d > 1e-15 {
			t.Errorf("sample %d: Jacobian differs from W by %g", i, d)
		}
	}
}

func TestSkipsLikeTorchAnchor(t *testing.T) {
	big := Case{Name: "big", Sizes: []int{2, 8, 1}, Activation: "tanh", Batch: 4096, Derivative: Jacobian}
	if tooBigNaive(big) == "" || tooBigLoop(big) == "" {
		t.Errorf("batch 4096: naive and loop should be skipped")
	}
	mid := Case{Name: "mid", Sizes: []int{5, 2, 10}, Activation: "sigmoid", Batch: 1024, Derivative: Jacobian}
	if tooBigNaive(mid) == "" { // 1024*10*1024*5 = 5.2e7 > 2e7
		t.Errorf("seed_b1024: naive should be skipped")
	}
	if tooBigLoop(mid) != "" {
		t.Errorf("seed_b1024: loop should run")
	}
	tiny := Case{Name: "tiny", Sizes: []int{5, 2, 10}, Activation: "sigmoid", Batch: 3, Derivative: Jacobian}
	if tooBigNaive(tiny) != "" {
		t.Errorf("seed_tiny: naive should run")
	}
}

func TestJSONLinesParse(t *testing.T) {
	rs := []Result{
		{Case: "a", Method: MethodJacobi, Seconds: 0.5, GFLOPs: 3, PeakBytes: 1 << 20, Kernels: "avx2", OfDGEMM: 0.25},
		{Case: "a", Method: MethodLoop, Seconds: 2, GFLOPs: 1, Err: 1e-16},
		{Case: "b", Method: MethodNaive, Seconds: 1, Err: math.NaN()},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(rs) {
		t.Fatalf("%d lines for %d results:\n%s", len(lines), len(rs), buf.String())
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		for _, k := range []string{"case", "method", "seconds", "gflops"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d has no %q: %s", i, k, l)
			}
		}
		if m["case"] != rs[i].Case || m["seconds"] != rs[i].Seconds {
			t.Errorf("line %d: %s, want case %s seconds %g", i, l, rs[i].Case, rs[i].Seconds)
		}
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back[0] != rs[0] || back[1] != rs[1] || back[2].Err != -1 {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := ReadJSON(strings.NewReader("{\"case\": \"a\"}\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a line without a method: error %v, want one naming line 1", err)
	}
}

func TestRealRunJSON(t *testing.T) {
	rs, err := Run(smallCases[:1], Options{Budget: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rs) {
		t.Fatalf("read back %d results, wrote %d", len(back), len(rs))
	}
	for i := range rs {
		if back[i] != rs[i] {
			t.Errorf("result %d: read back %+v, wrote %+v", i, back[i], rs[i])
		}
	}
	var tab bytes.Buffer
	if err := WriteTable(&tab, rs); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(tab.String(), "\n"); got != len(rs)+1 {
		t.Errorf("table has %d lines, want %d:\n%s", got, len(rs)+1, tab.String())
	}
}

func TestCompare(t *testing.T) {
	cases := []Case{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	ours := []Result{
		{Case: "a", Method: MethodJacobi, Seconds: 1, GFLOPs: 2},
		{Case: "a", Method: MethodForward, Seconds: 0.5},
		{Case: "b", Method: MethodJacobi, Seconds: 4},
		{Case: "b", Method: MethodJacobi, Seconds: 5}, // a second, slower round
	}
	torch := []Result{
		{Case: "a", Method: "slow", Seconds: 9},
		{Case: "a", Method: "fast", Seconds: 2},
		{Case: "b", Method: "only", Seconds: 1},
		{Case: "c", Method: "x", Seconds: 1},
	}
	cs := Compare(cases, ours, torch)
	if len(cs) != 2 {
		t.Fatalf("%d comparisons, want 2 (c has no jacobi result): %+v", len(cs), cs)
	}
	if cs[0].TorchMethod != "fast" || cs[0].Ratio != 2 || cs[0].BestMethod != MethodForward {
		t.Errorf("case a: %+v", cs[0])
	}
	if cs[1].Ratio != 0.25 {
		t.Errorf("case b: ratio %g, want 0.25", cs[1].Ratio)
	}
	if g := GeoMeanRatio(cs); math.Abs(g-math.Sqrt(0.5)) > 1e-15 {
		t.Errorf("geometric mean %g, want %g", g, math.Sqrt(0.5))
	}
	f := Fastest(ours)
	if len(f) != 3 || f[2].Seconds != 4 || f[0].Method != MethodJacobi {
		t.Errorf("Fastest: %+v", f)
	}
	var buf bytes.Buffer
	if err := WriteComparison(&buf, cs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "| a |") || !strings.Contains(buf.String(), "0.707") {
		t.Errorf("comparison table:\n%s", buf.String())
	}
}

// The float32 cases are the standard cases in float32, named with _f32.
func TestFloat32Cases(t *testing.T) {
	f32, err := LoadCases("cases_float32.json")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultCases()
	if len(f32) != len(def) {
		t.Fatalf("%d float32 cases, %d standard ones", len(f32), len(def))
	}
	for i, c := range InFloat32(def) {
		if a := f32[i]; a.Name != c.Name || a.DType != c.DType || !slices.Equal(a.Sizes, c.Sizes) {
			t.Errorf("case %d: InFloat32 gives %+v, the file %+v", i, c, a)
		}
	}
	for i, c := range f32 {
		d := def[i]
		if c.Name != d.Name+"_f32" || c.DType != "float32" || c.dtype() != tensor.Float32 || !slices.Equal(c.Sizes, d.Sizes) ||
			c.Batch != d.Batch || c.Activation != d.Activation || c.Derivative != d.Derivative {
			t.Errorf("case %d: %+v is not %+v in float32", i, c, d)
		}
	}
}

func TestCompareDTypes(t *testing.T) {
	cases := []Case{{Name: "a_f32", DType: "float32"}, {Name: "b_f32", DType: "float32"}, {Name: "c"}}
	f32 := []Result{
		{Case: "a_f32", Method: MethodJacobi, Seconds: 2},
		{Case: "a_f32", Method: MethodJacobi, Seconds: 1}, // the faster round counts
		{Case: "a_f32", Method: MethodForward, Seconds: 0.1},
		{Case: "b_f32", Method: MethodJacobi, Seconds: 1},
	}
	f64 := []Result{{Case: "a", Method: MethodJacobi, Seconds: 3}, {Case: "c", Method: MethodJacobi, Seconds: 1}}
	cs := CompareDTypes(cases, f32, f64)
	if len(cs) != 1 || cs[0].F64Name != "a" || cs[0].Speedup != 3 {
		t.Fatalf("comparisons %+v, want a_f32 against a, 3x", cs)
	}
	var buf bytes.Buffer
	if err := WriteDTypeComparison(&buf, cs); err != nil || !strings.Contains(buf.String(), "| a |") || !strings.Contains(buf.String(), "| 3.00 |") {
		t.Errorf("table %q, %v", buf.String(), err)
	}
}

func TestCases(t *testing.T) {
	def := DefaultCases()
	if len(def) < 10 {
		t.Fatalf("%d default cases", len(def))
	}
	shared, err := filepath.Abs("../../shared/bench/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(shared); err == nil {
		fromFile, err := LoadCases(shared)
		if err != nil {
			t.Fatal(err)
		}
		if len(fromFile) != len(def) {
			t.Errorf("shared cases.json has %d cases, the embedded copy %d", len(fromFile), len(def))
		}
		for i := range min(len(fromFile), len(def)) {
			if a, b := fromFile[i], def[i]; a.Name != b.Name || !slices.Equal(a.Sizes, b.Sizes) || a.Batch != b.Batch ||
				a.Activation != b.Activation || a.Derivative != b.Derivative {
				t.Errorf("case %d: shared %+v, embedded %+v", i, a, b)
			}
		}
	}
	bad := map[string]string{
		`[{"name": "x", "sizes": [2], "activation": "tanh", "batch": 1, "derivative": "jacobian"}]`:                        "sizes",
		`[{"name": "x", "sizes": [2, 3], "activation": "nope", "batch": 1, "derivative": "jacobian"}]`:                     "activation",
		`[{"name": "x", "sizes": [2, 3], "activation": "tanh", "batch": 1, "derivative": "hessian"}]`:                      "one output",
		`[{"name": "x", "sizes": [2, 1], "activation": "tanh", "batch": 0, "derivative": "hessian"}]`:                      "batch",
		`[{"name": "x", "sizes": [2, 1], "activation": "tanh", "batch": 1, "derivative": "curl"}]`:                         "derivative",
		`[{"name": "x", "sizes": [2, 1], "activation": "tanh", "batch": 1, "derivative": "jacobian", "dtype": "float16"}]`: "dtype",
		`[{"name": "x", "sizes": [2, 1], "activation": "tanh", "batch": 1, "derivative": "jacobian"},
		  {"name": "x", "sizes": [2, 1], "activation": "tanh", "batch": 1, "derivative": "jacobian"}]`: "twice",
		`{"name": "x"}`: "cannot unmarshal",
	}
	dir := t.TempDir()
	for text, want := range bad {
		p := filepath.Join(dir, "cases.json")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCases(p)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file and %q", text, err, want)
		}
	}
	if _, err := LoadCases(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file gave no error")
	}
}

// narrow.json holds the narrow-network cases (issue 13): Raissi's Burgers
// network 2 → 8×w tanh → 1 at N_f = 10 000 points for w = 20, 32 and 64,
// each as a training step, Jacobian, Laplacian and Hessian.
func TestNarrowCases(t *testing.T) {
	cs, err := LoadCases("narrow.json")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[int]map[string]bool{}
	for _, c := range cs {
		w := c.Sizes[1]
		if kinds[w] == nil {
			kinds[w] = map[string]bool{}
		}
		kinds[w][c.Derivative] = true
		if len(c.Sizes) != 10 || c.in() != 2 || c.out() != 1 || c.Batch != 10000 || c.Activation != "tanh" {
			t.Errorf("case %s: %+v, want 2 → 8×w tanh → 1 on 10 000 points", c.Name, c)
		}
	}
	for _, w := range []int{20, 32, 64} {
		for _, k := range []string{PINNStep, Jacobian, Laplacian, Hessian} {
			if !kinds[w][k] {
				t.Errorf("no %s case of width %d", k, w)
			}
		}
	}
}

func TestOnlyUnknownCase(t *testing.T) {
	_, err := Run(smallCases, Options{Only: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %v, want one naming the unknown case", err)
	}
	rs, err := Run(smallCases, Options{Only: []string{"jac_sig"}, Budget: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Case != "jac_sig" {
			t.Errorf("ran case %s outside Only", r.Case)
		}
	}
}

func TestMethodsFilter(t *testing.T) {
	rs, err := Run(smallCases, Options{Only: []string{"hess"}, Methods: []string{MethodRevRev}, Budget: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Method)
	}
	if want := []string{MethodJacobi, MethodRevRev}; !slices.Equal(got, want) {
		t.Errorf("methods %v, want %v", got, want)
	}
}

func TestMedianAndPeak(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3,1,2 = %g", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4,1,2,3 = %g", m)
	}
	var keep [][]float64
	// Two collections: the first moves sync.Pools' contents (plans' run
	// states from the tests before) to their victim caches, the second
	// drops them, so that a collection during the run frees nothing of
	// what base counts.
	runtime.GC()
	base := heapAfterGC()
	high, err := sampleHeap(func() error {
		for range 8 {
			keep = append(keep, make([]float64, 1<<17)) // 8 x 1 MiB kept live
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(keep) // live until the end of the run sampled
	if peak := int64(high) - int64(base); peak < 7<<20 || peak > 64<<20 {
		t.Errorf("peak %d bytes for 8 MiB kept live", peak)
	}
	// Timing in turns: each method's runs stop by the budget rules.
	counter := func(sleep time.Duration) (*timed, *int) {
		n := new(int)
		return &timed{p: &prepared{run: func() ([]*tensor.Tensor, error) { *n++; time.Sleep(sleep); return nil, nil }}}, n
	}
	long, nLong := counter(0)
	slow, nSlow := counter(time.Millisecond)
	inTurns([]*timed{long, slow}, func(t *timed) bool {
		if t == slow {
			return timedEnough(time.Microsecond)(t)
		}
		return timedEnough(time.Hour)(t)
	})
	if *nLong != MaxRuns || len(long.times) != MaxRuns || median(long.times) < 0 {
		t.Errorf("long budget: %d runs; want %d", *nLong, MaxRuns)
	}
	if *nSlow != 1 {
		t.Errorf("a run longer than the budget: %d runs; want 1 (as torch_anchor)", *nSlow)
	}
	tiny, nTiny := counter(0)
	inTurns([]*timed{tiny}, timedEnough(time.Nanosecond))
	if *nTiny != 1 {
		t.Errorf("tiny budget (every run is longer): %d runs, want 1", *nTiny)
	}
}
