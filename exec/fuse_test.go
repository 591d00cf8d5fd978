package exec

import (
	"fmt"
	"testing"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// mlpGradient is the per-sample value and gradient (reverse mode) of a
// 2-64-64-64-64-1 tanh network, run on a chunk of n samples: the shape of
// the pinn2d benchmark's programs, where elementwise work is a third of the
// time.
func mlpGradient(tb testing.TB, n int) (*ir.Program, []*tensor.Tensor) {
	rng := tensor.NewRand(9)
	sizes := []int{2, 64, 64, 64, 64, 1}
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2})
	h := x
	for i := 0; i+1 < len(sizes); i++ {
		w := op.Const(b, tensor.Randn(rng, sizes[i], sizes[i+1]))
		bias := op.Const(b, tensor.Randn(rng, sizes[i+1]))
		row := b.Emit(op.Reshape{Shape: []int{1, sizes[i]}}, h)
		h = b.Emit(op.Add{}, b.Emit(op.Reshape{Shape: []int{sizes[i+1]}}, b.Emit(op.MatMul{}, row, w)), bias)
		if i+2 < len(sizes) {
			h = b.Emit(op.Tanh{}, h)
		}
	}
	p, err := b.Build(h)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := transform.VJP(p, []bool{true})
	if err != nil {
		tb.Fatal(err)
	}
	if g, err = transform.Vmap(g, []bool{true, true}, n); err != nil {
		tb.Fatal(err)
	}
	if g, err = transform.Simplify(g); err != nil {
		tb.Fatal(err)
	}
	return g, []*tensor.Tensor{tensor.Randn(rng, n, 2), tensor.Randn(rng, n, 1)}
}

// Fused and unfused plans compute the same values, bit for bit (the row
// kernels see the same rows, only shorter and in cache).
func TestFusionChangesNoBits(t *testing.T) {
	for _, n := range []int{1, 7, 256} {
		p, in := mlpGradient(t, n)
		var outs [2][]*tensor.Tensor
		for i, f := range []bool{true, false} {
			fusing = f
			pl, err := Compile(p)
			fusing = true
			if err != nil {
				t.Fatal(err)
			}
			if outs[i], err = pl.Run(in); err != nil {
				t.Fatal(err)
			}
		}
		for j := range outs[0] {
			a, b := outs[0][j].Data(), outs[1][j].Data()
			for k := range a {
				if a[k] != b[k] {
					t.Fatalf("n=%d: output %d element %d: fused %v, unfused %v", n, j, k, a[k], b[k])
				}
			}
		}
	}
}

// BenchmarkFusion times the plans of mlpGradient with and without fused
// elementwise groups, in one run so that the ratio means something.
func BenchmarkFusion(b *testing.B) {
	for _, n := range []int{256, 2048} {
		p, in := mlpGradient(b, n)
		for _, f := range []bool{false, true} {
			fusing = f
			pl, err := Compile(p)
			fusing = true
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("n=%d/fused=%v", n, f), func(b *testing.B) {
				for b.Loop() {
					if _, err := pl.Run(in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}
