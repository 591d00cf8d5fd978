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
