package jacobi_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// splitCases are traced functions of parameters θ (nparams values) and a
// batch x (b, 3) of a 3-8-8-2 tanh network u. split says whether the
// function only sums over its samples (and so runs split).
func splitCases(t *testing.T) (nparams int, cases []struct {
	name  string
	f     jacobi.MultiFn
	split bool
}) {
	m, err := nn.RandomMLP(tensor.NewRand(4), []int{3, 8, 8, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	params := func(theta *jacobi.Node) []*jacobi.Node {
		var ps []*jacobi.Node
		off := 0
		for _, p := range m.Params() {
			ps = append(ps, theta.Slice(0, off, off+p.Len()).Reshape(p.Shape()...))
			off += p.Len()
		}
		return ps
	}
	gradOf := func(loss func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node) jacobi.MultiFn {
		return func(in []*jacobi.Node) []*jacobi.Node {
			l, g := jacobi.VJPOf(func(theta *jacobi.Node) *jacobi.Node {
				return loss(params(theta), in[1])
			}, in[0], jacobi.Scalar(1))
			return []*jacobi.Node{l, g}
		}
	}
	cases = []struct {
		name  string
		f     jacobi.MultiFn
		split bool
	}{
		{"mean squared output and its parameter gradient", gradOf(func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
			return m.ApplyWith(ps, x).Square().Mean()
		}), true},
		{"physics-informed loss: Laplacian and input gradient inside", gradOf(func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
			u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x).Slice(1, 0, 1) }
			lap := jacobi.BatchLaplacianOf(u, x)
			g := jacobi.BatchGradOf(u, x)
			return lap.Add(u(x)).Square().Mean().Add(g.Square().Sum(1).Mean())
		}), true},
		{"Laplacian as the trace of the forward-over-reverse Hessian", gradOf(func(ps []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
			u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(ps, x).Slice(1, 1, 2) }
			h := jacobi.BatchHessianOf(u, x) // (b, 1, 3, 3)
			lap := h.Mul(jacobi.Const(tensor.Eye(3))).Sum(2, 3)
			return lap.Square().Mean()
		}), true},
		{"per-sample outputs beside sums", func(in []*jacobi.Node) []*jacobi.Node {
			y := m.ApplyWith(params(in[0]), in[1])
			ones := jacobi.Const(tensor.Full(1, 1, y.Shape()[0]))
			return []*jacobi.Node{y.Tanh(), y.Sum(0), ones.MatMul(y.Exp()), in[0].Scale(2)}
		}, true},
		{"batch normalisation: per-sample work after a sum", func(in []*jacobi.Node) []*jacobi.Node {
			x := in[1]
			h := x.Sub(x.Mean(0)) // marker: batch norm
			return []*jacobi.Node{m.ApplyWith(params(in[0]), h).Square().Mean()}
		}, false},
	}
	for _, p := range m.Params() {
		nparams += p.Len()
	}
	return nparams, cases
}

// A traced function that sums over its samples runs in chunks and gives
// what its whole program gives (up to the order of the sums' additions),
// and the same bits whatever the number of cores.
func TestSplitRun(t *testing.T) {
	nparams, cases := splitCases(t)
	rng := tensor.NewRand(8)
	theta := tensor.Randn(rng, nparams)
	for _, c := range cases {
		// 1000 samples: 63 chunks, the last of 8, in four groups of sums.
		for _, b := range []int{1000, 40} {
			t.Run(fmt.Sprintf("%s/b=%d", c.name, b), func(t *testing.T) {
				x := tensor.Randn(rng, b, 3)
				var first []*tensor.Tensor
				for _, workers := range []int{1, 2, 3} {
					tr, err := jacobi.Trace(c.f, [][]int{theta.Shape(), x.Shape()}, jacobi.WithChunk(16), jacobi.WithWorkers(workers))
					if err != nil {
						t.Fatal(err)
					}
					if (tr.WhyNotSplit() == nil) != c.split {
						t.Fatalf("split = %v, want %v: %v", !c.split, c.split, tr.WhyNotSplit())
					}
					whole, err := tr.RunWhole(theta, x)
					if err != nil {
						t.Fatal(err)
					}
					got, err := tr.Run(theta, x)
					if err != nil {
						t.Fatal(err)
					}
					for i := range whole {
						if !tensor.SameShape(got[i].Shape(), whole[i].Shape()) {
							t.Fatalf("output %d: shape %v, whole program %v", i, got[i].Shape(), whole[i].Shape())
						}
						for k, w := range whole[i].Data() {
							if g := got[i].Data()[k]; math.Abs(g-w) > 1e-12*(1+math.Abs(w)) {
								t.Fatalf("output %d element %d: split %v, whole %v", i, k, g, w)
							}
							if first != nil && got[i].Data()[k] != first[i].Data()[k] {
								t.Fatalf("%d workers: output %d element %d: %v, with one %v", workers, i, k, got[i].Data()[k], first[i].Data()[k])
							}
						}
					}
					if first == nil {
						first = got
					}
				}
			})
		}
	}
}

// A split run checks its inputs as the whole program does.
func TestSplitRunBadInput(t *testing.T) {
	nparams, cases := splitCases(t)
	tr, err := jacobi.Trace(cases[0].f, [][]int{{nparams}, {100, 3}}, jacobi.WithChunk(16))
	if err != nil || tr.WhyNotSplit() != nil {
		t.Fatalf("trace: %v, %v", err, tr.WhyNotSplit())
	}
	for _, in := range [][]*tensor.Tensor{
		{tensor.Zeros(nparams), tensor.Zeros(100, 4)},
		{tensor.Zeros(nparams)},
		{tensor.Zeros(nparams), nil},
	} {
		if _, err := tr.Run(in...); err == nil {
			t.Errorf("inputs %v: no error", in)
		}
	}
}

// Split runs of one traced program from several goroutines at once give
// what a lone run gives, bit for bit.
func TestSplitRunConcurrent(t *testing.T) {
	nparams, cases := splitCases(t)
	rng := tensor.NewRand(12)
	theta, x := tensor.Randn(rng, nparams), tensor.Randn(rng, 300, 3)
	tr, err := jacobi.Trace(cases[1].f, [][]int{theta.Shape(), x.Shape()}, jacobi.WithChunk(16))
	if err != nil || tr.WhyNotSplit() != nil {
		t.Fatalf("trace: %v, %v", err, tr.WhyNotSplit())
	}
	want, err := tr.Run(theta, x)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 5 {
				got, err := tr.Run(theta, x)
				if err != nil {
					errs <- err
					return
				}
				for i := range want {
					for k, w := range want[i].Data() {
						if got[i].Data()[k] != w {
							errs <- fmt.Errorf("output %d element %d: %v, alone %v", i, k, got[i].Data()[k], w)
							return
						}
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// randomLoss builds a random loss of parameters θ (nθ values) and a batch x
// (b, 3): per-sample features from a small tanh network of θ, random
// elementwise work, sometimes a per-sample derivative of the network, then
// sums over the samples of several kinds (means, weighted by a column of x,
// outer products through a matrix product over the batch) — or, now and
// then, a batch normalisation, which the split must refuse.
func randomLoss(seed uint64) (nθ int, f jacobi.MultiFn) {
	rng := tensor.NewRand(seed)
	const hidden = 5
	nθ = 3*hidden + hidden + hidden*2
	choices := make([]int, 8)
	for i := range choices {
		choices[i] = rng.IntN(8)
		if choices[i] >= 6 && rng.IntN(8) != 0 {
			choices[i] = 0 // what must run whole only now and then
		}
	}
	loss := func(theta, x *jacobi.Node) *jacobi.Node {
		w1 := theta.Slice(0, 0, 3*hidden).Reshape(3, hidden)
		b1 := theta.Slice(0, 3*hidden, 4*hidden)
		w2 := theta.Slice(0, 4*hidden, nθ).Reshape(hidden, 2)
		net := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(w1).Add(b1).Tanh().MatMul(w2) }
		h := net(x) // (b, 2)
		var terms []*jacobi.Node
		for _, c := range choices {
			switch c {
			case 0:
				h = h.Sin().Mul(h)
			case 1:
				g := jacobi.BatchGradOf(func(x *jacobi.Node) *jacobi.Node { return net(x).Slice(1, 0, 1) }, x) // (b, 3)
				terms = append(terms, g.Square().Mean())
			case 2:
				terms = append(terms, h.Mul(x.Slice(1, 0, 1)).Sum(0).Sum()) // weighted by a column of x
			case 3:
				terms = append(terms, h.T().MatMul(h.Tanh()).Sum()) // Σ over samples of outer products
			case 4:
				terms = append(terms, jacobi.BatchLaplacianOf(func(x *jacobi.Node) *jacobi.Node { return net(x) }, x).Mean())
			case 5:
				h = h.Exp().Scale(0.1)
			case 6:
				h = h.Sub(h.MeanKeep(0)) // batch norm: per-sample work after a sum
			case 7:
				terms = append(terms, h.T().MatMul(h).Square().Sum()) // its gradient: per-sample work after a sum
			}
		}
		l := h.Square().Mean()
		for _, t := range terms {
			l = l.Add(t)
		}
		return l
	}
	withX := func(theta, x *jacobi.Node) *jacobi.Node { return x.Add(theta.Slice(0, 0, 1).Scale(0)) }
	return nθ, func(in []*jacobi.Node) []*jacobi.Node {
		l, g := jacobi.VJPOf(func(theta *jacobi.Node) *jacobi.Node { return loss(theta, withX(theta, in[1])) }, in[0], jacobi.Scalar(1))
		return []*jacobi.Node{l, g}
	}
}

// Random losses run split give what their whole programs give.
func TestSplitRandom(t *testing.T) {
	split := 0
	for seed := range uint64(60) {
		nθ, f := randomLoss(seed)
		rng := tensor.NewRand(seed + 1000)
		theta, x := tensor.Uniform(rng, -0.5, 0.5, nθ), tensor.Randn(rng, 100, 3)
		tr, err := jacobi.Trace(f, [][]int{theta.Shape(), x.Shape()}, jacobi.WithChunk(16))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if tr.WhyNotSplit() == nil {
			split++
		}
		whole, err := tr.RunWhole(theta, x)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.Run(theta, x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range whole {
			for k, w := range whole[i].Data() {
				if g := got[i].Data()[k]; math.Abs(g-w) > 1e-11*(1+math.Abs(w)) {
					t.Fatalf("seed %d (%v): output %d element %d: %v, whole %v\n%v", seed, tr.WhyNotSplit(), i, k, g, w, tr)
				}
			}
		}
	}
	if split < 30 {
		t.Errorf("only %d of 60 random losses ran split", split)
	}
	t.Logf("%d of 60 ran split", split)
}

// RunInto writes what Run returns into outputs the caller owns, whatever
// they held, split or whole; outputs of the wrong shape are refused.
func TestTracedRunInto(t *testing.T) {
	nparams, cases := splitCases(t)
	rng := tensor.NewRand(31)
	theta, x := tensor.Randn(rng, nparams), tensor.Randn(rng, 300, 3)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := jacobi.Trace(c.f, [][]int{theta.Shape(), x.Shape()}, jacobi.WithChunk(16))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tr.Run(theta, x)
			if err != nil {
				t.Fatal(err)
			}
			var out []*tensor.Tensor
			for _, s := range tr.OutShapes() {
				out = append(out, tensor.Full(math.NaN(), s...))
			}
			for round := range 2 {
				if err := tr.RunInto([]*tensor.Tensor{theta, x}, out); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					for k, w := range want[i].Data() {
						if g := out[i].Data()[k]; g != w {
							t.Fatalf("round %d: output %d element %d: %v, Run gives %v", round, i, k, g, w)
						}
					}
				}
			}
			if err := tr.RunInto([]*tensor.Tensor{theta, x}, out[:len(out)-1]); err == nil {
				t.Error("too few outputs accepted")
			}
			out[0] = tensor.Zeros(append(tr.OutShapes()[0], 1)...)
			if err := tr.RunInto([]*tensor.Tensor{theta, x}, out); err == nil {
				t.Error("an output of the wrong shape accepted")
			}
		})
	}
}

// WhyNotSplit says why a traced step runs whole, in terms of the user's
// code: the operation that mixes samples and its line, or a batch that
// fits in one chunk.
func TestWhyNotSplit(t *testing.T) {
	nparams, cases := splitCases(t)
	for _, c := range cases {
		for _, b := range []int{300, 10} {
			t.Run(fmt.Sprintf("%s/b=%d", c.name, b), func(t *testing.T) {
				tr, err := jacobi.Trace(c.f, [][]int{{nparams}, {b, 3}}, jacobi.WithChunk(16))
				if err != nil {
					t.Fatal(err)
				}
				why := tr.WhyNotSplit()
				switch {
				case b == 10:
					if why == nil || !strings.Contains(why.Error(), "over the 10 samples of input 1 (shape [10 3]): the batch fits in one chunk of 16 samples") {
						t.Fatalf("WhyNotSplit() = %v, want a batch that fits in one chunk", why)
					}
				case c.split:
					if why != nil {
						t.Fatalf("WhyNotSplit() = %v, want nil", why)
					}
				default:
					var mix *op.MixError
					if !errors.As(why, &mix) || !strings.Contains(why.Error(), "split_test.go:"+markerLine(t, "split_test.go", "marker: batch norm")) {
						t.Fatalf("WhyNotSplit() = %v, want the mixing operation at its line", why)
					}
				}
			})
		}
	}
}

// markerLine returns the number of the line of file that contains marker.
func markerLine(t *testing.T, file, marker string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, marker) && !strings.Contains(l, "markerLine(") {
			return fmt.Sprint(i + 1)
		}
	}
	t.Fatalf("no line with %q in %s", marker, file)
	return ""
}

// A training step run split, and a compiled per-sample Jacobian run in
// chunks, allocate nothing per run once warm (run with two workers, so
// that chunks run side by side and their matrix products on one core).
func TestRunIntoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) { allocatesNothing(t, dt) })
	}
}

func allocatesNothing(t *testing.T, dt tensor.DType) {
	rng := tensor.NewRand(32)
	m, err := nn.RandomMLP(rng, []int{2, 16, 16, 1}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m = m.Convert(dt)
	x := tensor.Randn(rng, 300, 2).Convert(dt)
	in := append(m.Params(), x)
	shapes := make([][]int, len(in))
	for i, v := range in {
		shapes[i] = v.Shape()
	}
	loss := func(in []*jacobi.Node) *jacobi.Node {
		params, x := in[:len(in)-1], in[len(in)-1]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
		return jacobi.BatchLaplacianOf(u, x).Add(u(x)).Square().Mean().Add(jacobi.BatchGradOf(u, x).Square().Sum(1).Mean())
	}
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(loss, in)
		return append([]*jacobi.Node{v}, g...)
	}, shapes, jacobi.WithChunk(32), jacobi.WithWorkers(2), jacobi.WithDType(dt))
	if err != nil {
		t.Fatal(err)
	}
	if err := step.WhyNotSplit(); err != nil {
		t.Fatal(err)
	}
	var out []*tensor.Tensor
	for _, s := range step.OutShapes() {
		out = append(out, tensor.ZerosOf(dt, s...))
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{2}, jacobi.WithChunk(32), jacobi.WithWorkers(2), jacobi.WithDType(dt))
	if err != nil {
		t.Fatal(err)
	}
	j := tensor.ZerosOf(dt, 300, 1, 2)
	// No collection may empty the pools that hold a run's state meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for name, run := range map[string]func() error{
		"training step":  func() error { return step.RunInto(in, out) },
		"batch jacobian": func() error { return c.RunInto(x, j) },
	} {
		if err := run(); err != nil {
			t.Fatal(err)
		}
		// Warm up until runs allocate nothing: the plans are compiled by
		// the first, but the buffers the kernels and plans keep in
		// sync.Pools are kept per processor, and a goroutine may find its
		// processor's pool empty until every processor has had its share
		// (with collections off, none is ever dropped).
		n := 0.0
		for range 50 {
			if n = testing.AllocsPerRun(10, func() { _ = run() }); n == 0 {
				break
			}
		}
		if n != 0 {
			t.Errorf("%s: %v allocations per run after 500 runs", name, n)
		}
	}
}
