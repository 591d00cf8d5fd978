package jacobi_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// BenchmarkCompileTime measures how compiling grows with the size of the
// program: the per-sample Jacobian of a chain of n Tanh (the case of issue
// #12: 20 000 nodes took 65.8 s in auto mode), and of an MLP of n/2
// layers of width 4, in each mode. It reports the CPU time of Compile
// (tracing at two batch sizes, Unbatch, JVP/VJP, Vmap, Simplify) and of
// the first Run (mapping over a chunk, simplifying and exec.Compile of the
// plan), per node of the function: flat in n when compiling is linear.
// CPU time (cpuTime: all threads, the collector's included) measures what
// compiling costs where wall time, on a machine shared with other work,
// would measure the neighbours.
//
//	go test -run '^$' -bench CompileTime -benchtime 1x
func BenchmarkCompileTime(b *testing.B) {
	w := tensor.Randn(tensor.NewRand(1), 4, 4)
	programs := []struct {
		name string
		f    func(n int) jacobi.Fn
	}{
		{"tanh", func(n int) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				for range n {
					x = x.Tanh()
				}
				return x
			}
		}},
		{"mlp", func(n int) jacobi.Fn {
			return func(x *jacobi.Node) *jacobi.Node {
				for range n / 2 {
					x = x.MatMul(jacobi.Const(w)).Tanh()
				}
				return x
			}
		}},
	}
	for _, p := range programs {
		for _, n := range []int{1000, 10000, 100000} {
			for _, m := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse, jacobi.ModeAuto} {
				b.Run(fmt.Sprintf("%s/n=%d/%v", p.name, n, m), func(b *testing.B) {
					f := p.f(n)
					x := tensor.Randn(tensor.NewRand(2), 1, 4)
					var compile, run time.Duration
					for range b.N {
						runtime.GC()
						c0 := cpuTime()
						c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node {
							return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(m))
						}, []int{4}, jacobi.WithWorkers(1))
						if err != nil {
							b.Fatal(err)
						}
						c1 := cpuTime()
						if _, err := c.Run(x); err != nil {
							b.Fatal(err)
						}
						compile += c1 - c0
						run += cpuTime() - c1
					}
					per := float64(b.N) * float64(n)
					b.ReportMetric(compile.Seconds()/float64(b.N), "compile-cpu-s")
					b.ReportMetric(run.Seconds()/float64(b.N), "firstrun-cpu-s")
					b.ReportMetric(float64(compile.Microseconds())/per, "compile-µs/node")
					b.ReportMetric(float64(run.Microseconds())/per, "firstrun-µs/node")
				})
			}
		}
	}
}
