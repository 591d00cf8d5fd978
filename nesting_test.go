package jacobi_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Derivatives nest in time: a derivative taken inside another derivative's
// function traces under the innermost live trace, whatever trace its
// arguments come from, and may use the values of every enclosing function.
// Each case is a gradient with respect to w of a loss whose inner
// derivatives use w; the reference is the finite-difference gradient of
// the same loss traced on its own (one level of nesting less).

// counter counts calls of the user's functions by name.
type counter map[string]int

func (c counter) wrap(name string, f jacobi.Fn) jacobi.Fn {
	return func(x *jacobi.Node) *jacobi.Node { c[name]++; return f(x) }
}

// nestedCase is a loss of w (and of fixed inputs), built from nested
// derivatives; every function it passes to a derivative is counted.
type nestedCase struct {
	name   string
	shapes [][]int // w first, then the fixed inputs
	loss   func(c counter, w *jacobi.Node, fixed []*jacobi.Node) *jacobi.Node
	funcs  []string // the counted functions
}

var nestedCases = []nestedCase{
	{
		// The first program of issue 11: a Laplacian in x of the JVP in w
		// of tanh(x·w), differentiated in reverse mode with respect to w.
		name:   "vjp over laplacian over jvp",
		shapes: [][]int{{2, 3}, {4, 2}, {2, 3}}, // w, x, v
		loss: func(c counter, w *jacobi.Node, fixed []*jacobi.Node) *jacobi.Node {
			x, v := fixed[0], fixed[1]
			u := c.wrap("u", func(xx *jacobi.Node) *jacobi.Node {
				_, jv := jacobi.JVPOf(c.wrap("g", func(ww *jacobi.Node) *jacobi.Node { return xx.MatMul(ww).Tanh() }), w, v)
				return jv.Sum(1) // (b)
			})
			return jacobi.BatchLaplacianOf(u, x).Square().Sum()
		},
		funcs: []string{"u", "g"},
	},
	{
		// The second: a vmapped function that uses w, under VJPOf.
		name:   "vjp over vmap",
		shapes: [][]int{{2, 3}, {5, 2}}, // w, x
		loss: func(c counter, w *jacobi.Node, fixed []*jacobi.Node) *jacobi.Node {
			return jacobi.VmapOf(c.wrap("s", func(s *jacobi.Node) *jacobi.Node { return s.MatMul(w).Tanh() }), fixed[0]).Sum()
		},
		funcs: []string{"s"},
	},
	{
		// Reverse over Taylor over forward over vmap, each function using
		// values of the enclosing ones: W (the reverse variable) at every
		// level, c and d (inputs) and cc (the forward variable) below.
		name:   "vjp over laplacian over jvp over vmap",
		shapes: [][]int{{2, 3}, {4, 2}, {3}, {3}, {3}}, // W, x, c, vc, d
		loss: func(k counter, w *jacobi.Node, fixed []*jacobi.Node) *jacobi.Node {
			x, c, vc, d := fixed[0], fixed[1], fixed[2], fixed[3]
			u := k.wrap("u", func(xx *jacobi.Node) *jacobi.Node {
				g := k.wrap("g", func(cc *jacobi.Node) *jacobi.Node {
					return jacobi.VmapOf(k.wrap("s", func(s *jacobi.Node) *jacobi.Node {
						return s.MatMul(w).Add(cc).Tanh().Mul(d).Sum()
					}), xx) // (b)
				})
				_, jv := jacobi.JVPOf(g, c, vc)
				return jv.Add(xx.MatMul(w).Sin().Sum(1)) // (b)
			})
			return jacobi.BatchLaplacianOf(u, x).Square().Sum()
		},
		funcs: []string{"u", "g", "s"},
	},
	{
		// Forward over reverse over Taylor: the gradient of a Hessian
		// diagonal, itself under a per-sample Jacobian of w's entries.
		name:   "vjp over batch jacobian over hessian diagonal",
		shapes: [][]int{{3}, {4, 3}},
		loss: func(k counter, w *jacobi.Node, fixed []*jacobi.Node) *jacobi.Node {
			x := fixed[0]
			f := k.wrap("f", func(xx *jacobi.Node) *jacobi.Node {
				h := k.wrap("h", func(z *jacobi.Node) *jacobi.Node { return z.Mul(w).Tanh().Sum(1) }) // (b)
				return jacobi.BatchHessianDiagOf(h, xx).Mul(w)                                        // (b, 3)
			})
			return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(jacobi.ModeForward)).Square().Sum()
		},
		funcs: []string{"f", "h"},
	},
}

func randomInputs(shapes [][]int, seed uint64) []*tensor.Tensor {
	rng := tensor.NewRand(seed)
	in := make([]*tensor.Tensor, len(shapes))
	for i, s := range shapes {
		in[i] = tensor.Randn(rng, s...)
	}
	return in
}

func TestNestedDerivatives(t *testing.T) {
	for _, c := range nestedCases {
		t.Run(c.name, func(t *testing.T) {
			in := randomInputs(c.shapes, 21)
			calls := counter{}
			grad, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
				lossOfW := calls.wrap("loss", func(w *jacobi.Node) *jacobi.Node { return c.loss(calls, w, in[1:]) })
				_, g := jacobi.VJPOf(lossOfW, in[0], jacobi.Scalar(1))
				return []*jacobi.Node{g}
			}, c.shapes)
			if err != nil {
				t.Fatal(err)
			}
			// One trace runs every function once: no retries.
			for _, name := range append([]string{"loss"}, c.funcs...) {
				if calls[name] != 1 {
					t.Errorf("function %s ran %d times, want once", name, calls[name])
				}
			}
			out, err := grad.Run(in...)
			if err != nil {
				t.Fatal(err)
			}
			// The same loss traced on its own, as a function of w.
			loss, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
				return []*jacobi.Node{c.loss(counter{}, in[0], in[1:])}
			}, c.shapes)
			if err != nil {
				t.Fatal(err)
			}
			lossAt := func(w []float64) float64 {
				args := append([]*tensor.Tensor{tensor.MustNew(c.shapes[0], append([]float64{}, w...))}, in[1:]...)
				o, err := loss.Run(args...)
				if err != nil {
					t.Fatal(err)
				}
				return o[0].Data()[0]
			}
			want := fd.Gradient(nil, lossAt, in[0].Data(), &fd.Settings{Formula: fd.Central})
			fdcheck.Compare(t, "gradient", out[0].Data(), want, c.shapes[0], fdcheck.First)
		})
	}
}

// The inner levels of the deepest case, each against finite differences of
// the level below it traced on its own, so that the loss differentiated
// above is itself right.
func TestNestedLevels(t *testing.T) {
	in := randomInputs([][]int{{2, 3}, {4, 2}, {3}, {3}, {3}}, 22)
	w, x, c, vc, d := in[0], in[1], in[2], in[3], in[4]
	s := func(w, cc, d, s *jacobi.Node) *jacobi.Node { return s.MatMul(w).Add(cc).Tanh().Mul(d).Sum() }
	// vmap: against the same function applied to the whole batch at once.
	vm, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		w, x, c, d := in[0], in[1], in[2], in[3]
		mapped := jacobi.VmapOf(func(r *jacobi.Node) *jacobi.Node { return s(w, c, d, r) }, x)
		direct := x.MatMul(w).Add(c).Tanh().Mul(d).Sum(1)
		return []*jacobi.Node{mapped, direct}
	}, [][]int{w.Shape(), x.Shape(), c.Shape(), d.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := vm.Run(w, x, c, d)
	if err != nil {
		t.Fatal(err)
	}
	fdcheck.Compare(t, "vmap", o[0].Data(), o[1].Data(), []int{4}, fdcheck.Tight)

	// jvp over vmap, in c along vc: against central differences of g.
	g := func(w, x, d, cc *jacobi.Node) *jacobi.Node {
		return jacobi.VmapOf(func(r *jacobi.Node) *jacobi.Node { return s(w, cc, d, r) }, x)
	}
	jt, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		w, x, c, vc, d := in[0], in[1], in[2], in[3], in[4]
		_, jv := jacobi.JVPOf(func(cc *jacobi.Node) *jacobi.Node { return g(w, x, d, cc) }, c, vc)
		return []*jacobi.Node{jv}
	}, [][]int{w.Shape(), x.Shape(), c.Shape(), vc.Shape(), d.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	o, err = jt.Run(w, x, c, vc, d)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{g(in[0], in[1], in[3], in[2])}
	}, [][]int{w.Shape(), x.Shape(), c.Shape(), d.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	gAt := func(h float64) []float64 {
		ch := c.Clone()
		for i := range ch.Data() {
			ch.Data()[i] += h * vc.Data()[i]
		}
		r, err := gt.Run(w, x, ch, d)
		if err != nil {
			t.Fatal(err)
		}
		return r[0].Data()
	}
	const h = 1e-6
	plus, minus := gAt(h), gAt(-h)
	want := make([]float64, len(plus))
	for i := range want {
		want[i] = (plus[i] - minus[i]) / (2 * h)
	}
	fdcheck.Compare(t, "jvp over vmap", o[0].Data(), want, []int{4}, fdcheck.First)

	// laplacian over jvp over vmap: against the trace of the finite
	// difference Hessian of u, one sample at a time.
	u := func(w, c, vc, d, xx *jacobi.Node) *jacobi.Node {
		_, jv := jacobi.JVPOf(func(cc *jacobi.Node) *jacobi.Node { return g(w, xx, d, cc) }, c, vc)
		return jv.Add(xx.MatMul(w).Sin().Sum(1))
	}
	lt, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		w, x, c, vc, d := in[0], in[1], in[2], in[3], in[4]
		return []*jacobi.Node{jacobi.BatchLaplacianOf(func(xx *jacobi.Node) *jacobi.Node { return u(w, c, vc, d, xx) }, x)}
	}, [][]int{w.Shape(), x.Shape(), c.Shape(), vc.Shape(), d.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	o, err = lt.Run(w, x, c, vc, d)
	if err != nil {
		t.Fatal(err)
	}
	ut, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		return []*jacobi.Node{u(in[0], in[2], in[3], in[4], in[1])}
	}, [][]int{w.Shape(), []int{1, 2}, c.Shape(), vc.Shape(), d.Shape()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		uAt := func(xi []float64) float64 {
			r, err := ut.Run(w, tensor.MustNew([]int{1, 2}, append([]float64{}, xi...)), c, vc, d)
			if err != nil {
				t.Fatal(err)
			}
			return r[0].Data()[0]
		}
		hess := mat.NewSymDense(2, nil)
		fd.Hessian(hess, uAt, row(x, i).Data(), &fd.Settings{Formula: fd.Central})
		fdcheck.Compare(t, fmt.Sprintf("laplacian of sample %d", i), o[0].Data()[i:i+1], []float64{hess.At(0, 0) + hess.At(1, 1)}, nil, fdcheck.Second)
	}
}

// Tracing nested derivatives on several goroutines at once: every session
// keeps its own stack (run with -race).
func TestNestedConcurrentTraces(t *testing.T) {
	c := nestedCases[2]
	in := randomInputs(c.shapes, 23)
	results := make([][]float64, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			tr, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
				_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node { return c.loss(counter{}, w, in[1:]) }, in[0], jacobi.Scalar(1))
				return []*jacobi.Node{g}
			}, c.shapes)
			if err != nil {
				t.Error(err)
				return
			}
			out, err := tr.Run(in...)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = out[0].Data()
		})
	}
	wg.Wait()
	for i := range results {
		fdcheck.Compare(t, fmt.Sprintf("goroutine %d", i), results[i], results[0], nil, fdcheck.Tol{})
	}
}

// A derivative of constants is computed at once into constants.
func TestDerivativeOfConstants(t *testing.T) {
	x := tensor.MustNew([]int{3}, []float64{0.1, -0.4, 0.7})
	calls := 0
	f := func(x *jacobi.Node) *jacobi.Node { calls++; return x.Tanh().Sum() }
	g := jacobi.GradOf(f, jacobi.Const(x))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := jacobi.Eval(func(y *jacobi.Node) *jacobi.Node { return y.Add(g) }, tensor.Zeros(3))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 3)
	for i, v := range x.Data() {
		want[i] = 1 - math.Tanh(v)*math.Tanh(v)
	}
	fdcheck.Compare(t, "grad of a constant", got.Data(), want, nil, fdcheck.Tight)
	if calls != 1 {
		t.Errorf("the function ran %d times, want once", calls)
	}
}

// lineOf returns "nesting_test.go:N" for the line that contains marker.
func lineOf(t *testing.T, marker string) string {
	t.Helper()
	src, err := os.ReadFile("nesting_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, marker) && !strings.Contains(l, "lineOf(") {
			return fmt.Sprintf("nesting_test.go:%d", i+1)
		}
	}
	t.Fatalf("no line with %q", marker)
	return ""
}

// Errors inside nested derivatives: one message, prefixed once, naming the
// derivatives from the outside in and the operation and line that failed.
func TestNestedErrors(t *testing.T) {
	w := tensor.Randn(tensor.NewRand(1), 2, 3)
	x := tensor.Randn(tensor.NewRand(2), 4, 2)
	var leaked *jacobi.Node
	cases := []struct {
		name string
		f    func(in []*jacobi.Node) []*jacobi.Node
		want []string // in this order
		is   error
	}{
		{
			name: "escaped value",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node { // marker: escape vjp
					leaked = w.Tanh()
					return leaked.Sum()
				}, in[0], jacobi.Scalar(1))
				return []*jacobi.Node{g.Add(leaked)} // marker: escape use
			},
			want: []string{"add", lineOf(t, "marker: escape use"), "escaped the function of VJPOf", lineOf(t, "marker: escape vjp"), "which has returned"},
		},
		{
			name: "escaped output",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node { // marker: escape output vjp
					leaked = w.Tanh()
					return leaked.Sum()
				}, in[0], jacobi.Scalar(1))
				return []*jacobi.Node{leaked}
			},
			want: []string{"output 0", "escaped the function of VJPOf", lineOf(t, "marker: escape output vjp")},
		},
		{
			name: "failure at depth 3",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				w, x := in[0], in[1]
				_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node { // marker: depth 1
					u := func(xx *jacobi.Node) *jacobi.Node {
						_, jv := jacobi.JVPOf(func(ww *jacobi.Node) *jacobi.Node { // marker: depth 3
							return xx.MatMul(ww.T()).Tanh() // marker: bad matmul
						}, w, w)
						return jv.Sum(1)
					}
					return jacobi.BatchLaplacianOf(u, x).Sum() // marker: depth 2
				}, w, jacobi.Scalar(1))
				return []*jacobi.Node{g}
			},
			want: []string{
				"VJPOf (at ", lineOf(t, "marker: depth 1"),
				"BatchLaplacianOf (at ", lineOf(t, "marker: depth 2"),
				"JVPOf (at ", lineOf(t, "marker: depth 3"),
				"matmul (at ", lineOf(t, "marker: bad matmul"), "inner dimensions differ",
			},
		},
		{
			name: "Fail at depth 3",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				w, x := in[0], in[1]
				_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node {
					u := func(xx *jacobi.Node) *jacobi.Node {
						_, jv := jacobi.JVPOf(func(ww *jacobi.Node) *jacobi.Node {
							return xx.MatMul(ww).Fail(errUnsupported)
						}, w, w)
						return jv.Sum(1)
					}
					return jacobi.BatchLaplacianOf(u, x).Sum()
				}, w, jacobi.Scalar(1))
				return []*jacobi.Node{g}
			},
			want: []string{"VJPOf", "BatchLaplacianOf", "JVPOf", errUnsupported.Error()},
			is:   errUnsupported,
		},
		{
			name: "mixing samples at depth 2",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				w, x := in[0], in[1]
				_, g := jacobi.VJPOf(func(w *jacobi.Node) *jacobi.Node {
					u := func(xx *jacobi.Node) *jacobi.Node {
						h := xx.MatMul(w).Tanh()
						return h.Sub(h.MeanKeep(0)).Sum(1) // marker: mixes
					}
					return jacobi.BatchLaplacianOf(u, x).Sum()
				}, w, jacobi.Scalar(1))
				return []*jacobi.Node{g}
			},
			want: []string{"VJPOf", "BatchLaplacianOf", "mixes samples", lineOf(t, "marker: mixes")},
		},
		{
			name: "derivative of constants using a traced value",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				g := jacobi.GradOf(func(c *jacobi.Node) *jacobi.Node { // marker: constant grad
					return c.Mul(in[0]).Sum()
				}, jacobi.Const(tensor.Ones(2, 3)))
				return []*jacobi.Node{g}
			},
			want: []string{"GradOf (at ", lineOf(t, "marker: constant grad"), "are all constants", "give it a traced input"},
		},
		{
			name: "kept from another trace",
			f: func(in []*jacobi.Node) []*jacobi.Node {
				return []*jacobi.Node{in[0].Add(leaked)}
			},
			want: []string{"add", "two different traces"},
		},
	}
	prefix := regexp.MustCompile(`jacobi: `)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			_, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node { calls++; return c.f(in) }, [][]int{w.Shape(), x.Shape()})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "jacobi: ") || len(prefix.FindAllString(msg, -1)) != 1 {
				t.Errorf("the message does not start with the package name exactly once: %s", msg)
			}
			rest := msg
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("the message does not say %q (in this place): %s", w, msg)
				}
				rest = rest[i+len(w):]
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("errors.Is does not find %v in %v", c.is, err)
			}
			if calls != 1 {
				t.Errorf("the function ran %d times", calls)
			}
		})
	}
}

var errUnsupported = errors.New("unsupported operation")
