package jacobi

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/internal/workcount"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Compile time must grow linearly (or as n log n) with the program (issue
// #12: before d0228fc a 20 000-node Tanh chain took 65.8 s). Each stage of
// the pipeline is measured on its own here — tracing, proving the program
// per-sample (Unbatch), Simplify, JVP, VJP, Vmap, Taylor, the Jacobian
// programs in both modes, SplitSums, exec.Compile of the forward and the
// reverse Jacobian — and the whole of Compile and a first Run in forward
// and auto mode, on programs of n equations, so that one stage growing
// faster than the rest shows.

// stageFamilies are the programs measured: a chain of n Tanh, and an
// MLP-like chain of n/2 layers (MatMul by a 4×4 constant, then Tanh).
var stageFamilies = []struct {
	name string
	f    func(n int) Fn
}{
	{"tanh", func(n int) Fn {
		return func(x *Node) *Node {
			for range n {
				x = x.Tanh()
			}
			return x
		}
	}},
	{"mlp", func(n int) Fn {
		w := tensor.Randn(tensor.NewRand(1), 4, 4)
		return func(x *Node) *Node {
			for range n / 2 {
				x = x.MatMul(Const(w)).Tanh()
			}
			return x
		}
	}},
}

// stageInputs are what the stages start from, prepared outside the
// measurement.
type stageInputs struct {
	f       Fn
	batched *ir.Program // f traced on a batch of 6 samples of 4
	sample  *ir.Program // its simplified per-sample program
	loss    *ir.Program // the batch's sum of f, traced (for SplitSums)
	jac     *ir.Program // the forward-mode Jacobian of sample (for exec.Compile)
	jacRev  *ir.Program // the reverse-mode one, which keeps every primal value live
}

func prepareStages(f Fn) (*stageInputs, error) {
	s := &stageInputs{f: f}
	var err error
	if s.batched, err = traceProgram(func(in []*Node) []*Node { return []*Node{f(in[0])} }, [][]int{{6, 4}}, []tensor.DType{tensor.Float64}); err != nil {
		return nil, err
	}
	if s.sample, err = perSampleProgram(f, []int{6, 4}, tensor.Float64); err != nil {
		return nil, err
	}
	if s.loss, err = traceProgram(func(in []*Node) []*Node { return []*Node{f(in[0]).Square().Sum()} }, [][]int{{6, 4}}, []tensor.DType{tensor.Float64}); err != nil {
		return nil, err
	}
	if s.jac, err = transform.Jacobian(s.sample, transform.Forward); err != nil {
		return nil, err
	}
	if s.jacRev, err = transform.Jacobian(s.sample, transform.Reverse); err != nil {
		return nil, err
	}
	return s, nil
}

// compileStages are the stages, each returning the size of what it built
// (equations, or steps of a plan).
var compileStages = []struct {
	name string
	run  func(s *stageInputs) (int, error)
}{
	{"trace", func(s *stageInputs) (int, error) {
		p, err := traceProgram(func(in []*Node) []*Node { return []*Node{s.f(in[0])} }, [][]int{{6, 4}}, []tensor.DType{tensor.Float64})
		return eqns(p), err
	}},
	{"unbatch", func(s *stageInputs) (int, error) {
		p, _, err := transform.Unbatch(s.batched, []int{0})
		return eqns(p), err
	}},
	{"simplify", func(s *stageInputs) (int, error) {
		p, err := transform.Simplify(s.batched)
		return eqns(p), err
	}},
	{"jvp", func(s *stageInputs) (int, error) {
		p, err := transform.JVP(s.sample, []bool{true})
		return eqns(p), err
	}},
	{"vjp", func(s *stageInputs) (int, error) {
		p, err := transform.VJP(s.sample, []bool{true})
		return eqns(p), err
	}},
	{"vmap", func(s *stageInputs) (int, error) {
		p, err := transform.Vmap(s.sample, []bool{true}, 4)
		return eqns(p), err
	}},
	{"taylor", func(s *stageInputs) (int, error) {
		p, err := transform.Taylor(s.sample, 4, nil)
		return eqns(p), err
	}},
	{"jacobian-forward", func(s *stageInputs) (int, error) {
		p, err := transform.Jacobian(s.sample, transform.Forward)
		return eqns(p), err
	}},
	{"jacobian-reverse", func(s *stageInputs) (int, error) {
		p, err := transform.Jacobian(s.sample, transform.Reverse)
		return eqns(p), err
	}},
	{"split", func(s *stageInputs) (int, error) {
		sp, err := transform.SplitSums(s.loss, []bool{true})
		if err != nil {
			return 0, err
		}
		return eqns(sp.Head) + eqns(sp.Tail), nil
	}},
	{"exec-compile", func(s *stageInputs) (int, error) {
		pl, err := exec.Compile(s.jac)
		if err != nil {
			return 0, err
		}
		return eqns(pl.Program()), nil
	}},
	{"exec-compile-reverse", func(s *stageInputs) (int, error) {
		pl, err := exec.Compile(s.jacRev)
		if err != nil {
			return 0, err
		}
		return eqns(pl.Program()), nil
	}},
	{"Compile-forward", func(s *stageInputs) (int, error) {
		return compileAndRun(s.f, ModeForward)
	}},
	{"Compile-auto", func(s *stageInputs) (int, error) {
		return compileAndRun(s.f, ModeAuto)
	}},
}

// compileAndRun is the whole of the public path: Compile of the per-sample
// Jacobian and its first Run (which maps the program over a chunk and
// compiles its plan).
func compileAndRun(f Fn, m Mode) (int, error) {
	c, err := Compile(func(x *Node) *Node { return BatchJacobianOf(f, x, WithMode(m)) }, []int{4}, WithWorkers(1))
	if err != nil {
		return 0, err
	}
	if _, err := c.Run(tensor.Full(0.5, 1, 4)); err != nil {
		return 0, err
	}
	return eqns(c.prog), nil
}

func eqns(p *ir.Program) int {
	if p == nil {
		return 0
	}
	return len(p.Eqns)
}

// processCPU returns the CPU time of the process so far (every thread, the
// collector's included): what the work costs, where wall time on a
// shared machine also measures the neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCompileStages reports, for every stage and program size n (the
// per-sample function's equations), the stage's CPU time per node
// (cpu-ns/node: flat in n when the stage is linear, up to the caches: maps
// of 10^5 values miss them), its allocations per node, the size of what
// it built per node and the steps of its searches per node (package
// workcount; what TestCompileLinear counts).
//
//	go test -run '^$' -bench CompileStages -benchtime 1x
//
// (-bench 'CompileStages/tanh/.*/vjp' for one stage.)
func BenchmarkCompileStages(b *testing.B) {
	for _, fam := range stageFamilies {
		for _, n := range []int{1000, 10000, 100000} {
			var in *stageInputs
			for _, st := range compileStages {
				b.Run(fmt.Sprintf("%s/n=%d/%s", fam.name, n, st.name), func(b *testing.B) {
					if in == nil {
						var err error
						if in, err = prepareStages(fam.f(n)); err != nil {
							b.Fatal(err)
						}
					}
					var cpu time.Duration
					var mallocs uint64
					var steps int64
					size := 0
					var ms runtime.MemStats
					b.ResetTimer()
					for range b.N {
						b.StopTimer()
						runtime.GC()
						runtime.ReadMemStats(&ms)
						m0, c0, s0 := ms.Mallocs, processCPU(), workcount.Steps()
						b.StartTimer()
						var err error
						if size, err = st.run(in); err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						cpu += processCPU() - c0
						steps += workcount.Steps() - s0
						runtime.ReadMemStats(&ms)
						mallocs += ms.Mallocs - m0
						b.StartTimer()
					}
					per := float64(b.N) * float64(n)
					b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/node")
					b.ReportMetric(float64(mallocs)/per, "allocs/node")
					b.ReportMetric(float64(size)/float64(n), "eqns/node")
					b.ReportMetric(float64(steps)/per, "steps/node")
				})
			}
		}
	}
}

// TestCompileLinear fails when a stage of compilation grows faster than
// its program, without timing anything: every stage is run on programs of
// n and 8n equations, and what it does is counted — the steps of the
// compiler's searches (package workcount: linear folding's chain walks,
// the slab placement's tree, fused groups' operand lookups, the walks that
// made compiling quadratic before d0228fc), the objects it allocates
// (counted by the runtime) and the equations it builds — the same counts
// on every run, whatever the machine's load. Each must grow at most 16
// times for 8 times the program: linear is 8 times, n log n 11 times (the
// slab's tree holding every primal value of a reverse pass), quadratic 64
// times (the walks before d0228fc, counted the same way: 58 to 63 times).
func TestCompileLinear(t *testing.T) {
	const n, grow, limit = 250, 8, 16.0
	for _, fam := range stageFamilies {
		small, err := prepareStages(fam.f(n))
		if err != nil {
			t.Fatal(err)
		}
		large, err := prepareStages(fam.f(grow * n))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range compileStages {
			if fam.name != "tanh" && strings.HasPrefix(st.name, "Compile") {
				continue // the whole path once is enough (seconds)
			}
			t.Run(fam.name+"/"+st.name, func(t *testing.T) {
				type counts struct {
					steps, mallocs float64
					size           int
				}
				measure := func(in *stageInputs) counts {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					m0, s0 := ms.Mallocs, workcount.Steps()
					size, err := st.run(in)
					if err != nil {
						t.Fatal(err)
					}
					s1 := workcount.Steps()
					runtime.ReadMemStats(&ms)
					return counts{float64(s1 - s0), float64(ms.Mallocs - m0), size}
				}
				measure(small) // caches (op.RulesOf) filled
				a, b := measure(small), measure(large)
				t.Logf("×%d equations: search steps %.0f → %.0f, allocations ×%.2f, size ×%.2f", grow, a.steps, b.steps, b.mallocs/a.mallocs, float64(b.size)/float64(a.size))
				if b.steps > limit*max(a.steps, 1) {
					t.Errorf("%d times the program (%d → %d equations) takes %.1f times the search steps (%.0f → %.0f): not linear", grow, n, grow*n, b.steps/a.steps, a.steps, b.steps)
				}
				if b.mallocs > limit*a.mallocs {
					t.Errorf("%d times the program allocates %.1f times as much (%.0f → %.0f objects): not linear", grow, b.mallocs/a.mallocs, a.mallocs, b.mallocs)
				}
				if b.size > int(limit)*a.size {
					t.Errorf("%d times the program builds %d equations instead of %d", grow, b.size, a.size)
				}
			})
		}
	}
}
