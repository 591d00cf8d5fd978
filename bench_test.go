package jacobi_test

import (
	"fmt"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// BenchmarkBatchJacobian shows that a per-sample Jacobian costs the same per
// sample at every batch size: ns/sample stays flat as b grows 16-fold
// (a full Jacobian would grow b-fold per sample).
func BenchmarkBatchJacobian(b *testing.B) {
	rng := tensor.NewRand(1)
	m, err := nn.RandomMLP(rng, []int{8, 64, 64, 4}, "tanh")
	if err != nil {
		b.Fatal(err)
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{8})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{256, 1024, 4096} {
		x := tensor.Randn(rng, n, 8)
		cost, err := c.Cost(min(n, 256))
		if err != nil {
			b.Fatal(err)
		}
		flops := cost.FLOPs * float64(n) / float64(min(n, 256))
		b.Run(fmt.Sprintf("b=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Run(x); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e9/float64(n), "ns/sample")
			b.ReportMetric(flops/sec/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkTrainingStep times one physics-informed training step of the
// pinn2d network at b = 4096 (the loss of bench/README.md's pinn_step and
// its gradient with respect to every parameter), traced once, run split at
// its sums over the batch (into new outputs, and into the same outputs
// every time: no allocation) and run whole, in one run so that the ratios
// mean something.
func BenchmarkTrainingStep(b *testing.B) {
	rng := tensor.NewRand(1)
	m, err := nn.RandomMLP(rng, []int{2, 64, 64, 64, 64, 1}, "tanh")
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.Randn(rng, 4096, 2)
	in := append(m.Params(), x)
	shapes := make([][]int, len(in))
	for i, t := range in {
		shapes[i] = t.Shape()
	}
	loss := func(in []*jacobi.Node) *jacobi.Node {
		params, x := in[:len(in)-1], in[len(in)-1]
		u := func(x *jacobi.Node) *jacobi.Node { return m.ApplyWith(params, x) }
		lap := jacobi.BatchLaplacianOf(u, x)
		g := jacobi.BatchGradOf(u, x)
		return lap.Add(u(x)).Square().Mean().Add(g.Square().Sum(1).Mean())
	}
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		v, g := jacobi.ValueAndGradOf(loss, in)
		return append([]*jacobi.Node{v}, g...)
	}, shapes)
	if err != nil {
		b.Fatal(err)
	}
	if err := step.WhyNotSplit(); err != nil {
		b.Fatal(err)
	}
	flops := step.Cost().FLOPs
	var out []*tensor.Tensor
	for _, s := range step.OutShapes() {
		out = append(out, tensor.Zeros(s...))
	}
	into := func(in ...*tensor.Tensor) ([]*tensor.Tensor, error) { return out, step.RunInto(in, out) }
	for _, c := range []struct {
		name string
		run  func(...*tensor.Tensor) ([]*tensor.Tensor, error)
	}{{"split", step.Run}, {"split-into", into}, {"whole", step.RunWhole}} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := c.run(in...); err != nil { // compiles the chunks' plans
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.run(in...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
