package exec

import (
	"fmt"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/kernels"
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

// Chains that one kernel computes (1 − x², −2·(a·b)) are combined, and
// give the values of the chains, bit for bit, in both dtypes; a chain
// whose intermediate value is read elsewhere is left alone.
func TestCombinedChains(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		for _, c := range []struct {
			name  string
			build func(b *ir.Builder, x, y *ir.Var) []*ir.Var
			want  int
		}{
			{"one minus square", func(b *ir.Builder, x, _ *ir.Var) []*ir.Var {
				one := b.Emit(op.Broadcast{Shape: x.Shape}, op.Const(b, tensor.ScalarOf(dt, 1)))
				return []*ir.Var{b.Emit(op.Sub{}, one, b.Emit(op.Mul{}, x, x))}
			}, 1},
			{"minus twice a product", func(b *ir.Builder, x, y *ir.Var) []*ir.Var {
				q := b.Emit(op.Mul{}, x, y)
				return []*ir.Var{b.Emit(op.Neg{}, b.Emit(op.Add{}, q, q))}
			}, 1},
			{"both, after tanh", func(b *ir.Builder, x, y *ir.Var) []*ir.Var {
				h := b.Emit(op.Tanh{}, x)
				one := b.Emit(op.Broadcast{Shape: x.Shape}, op.Const(b, tensor.ScalarOf(dt, 1)))
				d := b.Emit(op.Sub{}, one, b.Emit(op.Mul{}, h, h))
				q := b.Emit(op.Mul{}, d, y)
				return []*ir.Var{h, b.Emit(op.Neg{}, b.Emit(op.Add{}, q, q))}
			}, 2},
			{"square read elsewhere", func(b *ir.Builder, x, _ *ir.Var) []*ir.Var {
				one := b.Emit(op.Broadcast{Shape: x.Shape}, op.Const(b, tensor.ScalarOf(dt, 1)))
				sq := b.Emit(op.Mul{}, x, x)
				return []*ir.Var{b.Emit(op.Sub{}, one, sq), sq}
			}, 0},
			{"minus one minus square", func(b *ir.Builder, x, _ *ir.Var) []*ir.Var {
				two := b.Emit(op.Broadcast{Shape: x.Shape}, op.Const(b, tensor.ScalarOf(dt, 2)))
				return []*ir.Var{b.Emit(op.Sub{}, two, b.Emit(op.Mul{}, x, x))}
			}, 0},
		} {
			b := ir.NewBuilder(nil)
			x, y := b.InputOf(dt, []int{300, 7}), b.InputOf(dt, []int{300, 7})
			p, err := b.Build(c.build(b, x, y)...)
			if err != nil {
				t.Fatal(err)
			}
			rng := tensor.NewRand(4)
			in := []*tensor.Tensor{tensor.Randn(rng, 300, 7).Convert(dt), tensor.Randn(rng, 300, 7).Convert(dt)}
			var outs [2][]*tensor.Tensor
			for i, f := range []bool{true, false} {
				fusing = f
				cp, err := newCompiled(p)
				fusing = true
				if err != nil {
					t.Fatal(err)
				}
				if f && cp.c.combined != c.want {
					t.Errorf("%v %s: %d chains combined, want %d", dt, c.name, cp.c.combined, c.want)
				}
				pl := &Plan{prog: p, cp: cp}
				if outs[i], err = pl.Run(in); err != nil {
					t.Fatal(err)
				}
			}
			for j := range outs[0] {
				a, b := outs[0][j].Float64s(), outs[1][j].Float64s() // exact: float32 values convert exactly
				for k := range a {
					if a[k] != b[k] {
						t.Fatalf("%v %s: output %d element %d: fused %v, unfused %v", dt, c.name, j, k, a[k], b[k])
					}
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

// A fused step that splits its blocks over the kernels' workers computes
// the same bits as the same step run on one goroutine and as the unfused
// plan, whatever the number of workers: here with two outer block axes (the
// odometer starts mid-way for every worker but the first), broadcast
// operands, a scalar gathered once, and a transposed operand gathered block
// by block.
func TestParallelFusionChangesNoBits(t *testing.T) {
	defer kernels.SetWorkers(0)
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		for _, n := range []int{1, 11} { // 4200 and 46200 elements: below and above minParallelFuse
			parallelFusion(t, dt, n)
		}
	}
}

func parallelFusion(t *testing.T, dt tensor.DType, n int) {
	shape := []int{n, 3, 1400}
	b := ir.NewBuilder(nil)
	a := b.InputOf(dt, shape)
	rows := b.InputOf(dt, []int{n, 1400})
	plane := b.InputOf(dt, []int{3, 1400})
	tr := b.InputOf(dt, []int{1400, 3, n})
	scale := b.InputOf(dt, []int{}) // gathered once per run of blocks: the same for every block
	a = b.Emit(op.Mul{}, a, b.Emit(op.Broadcast{Shape: shape, Dims: []int{}}, scale))
	t1 := b.Emit(op.Mul{}, a, b.Emit(op.Broadcast{Shape: shape, Dims: []int{0, 2}}, rows))
	t2 := b.Emit(op.Tanh{}, b.Emit(op.Add{}, t1, b.Emit(op.Broadcast{Shape: shape, Dims: []int{1, 2}}, plane)))
	t3 := b.Emit(op.Sub{}, b.Emit(op.Mul{}, t2, t2), b.Emit(op.Transpose{Perm: []int{2, 1, 0}}, tr))
	out := b.Emit(op.Mul{}, t3, a)
	p, err := b.Build(out, t2)
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRand(3)
	var in []Values
	for _, v := range p.In {
		in = append(in, ValuesOf(tensor.Randn(rng, v.Shape...).Convert(dt)))
	}
	run := func(fused, serial bool, workers int) []*tensor.Tensor {
		kernels.SetWorkers(workers)
		fusing = fused
		pl, err := Compile(p)
		fusing = true
		if err != nil {
			t.Fatal(err)
		}
		outs := []*tensor.Tensor{tensor.ZerosOf(dt, out.Shape...), tensor.ZerosOf(dt, t2.Shape...)}
		pl.cp.run(in, []Values{ValuesOf(outs[0]), ValuesOf(outs[1])}, serial)
		return outs
	}
	want := run(false, true, 1)
	for _, c := range []struct {
		serial  bool
		workers int
	}{{true, 1}, {false, 2}, {false, 3}, {false, 8}} {
		got := run(true, c.serial, c.workers)
		for j := range want {
			if d := tensor.MaxAbsDiff(got[j], want[j]); d != 0 {
				t.Fatalf("%v n=%d serial=%v workers=%d: output %d: fused and unfused differ by %g", dt, n, c.serial, c.workers, j, d)
			}
		}
	}
}

// Elementwise equations whose shapes differ only by axes of size 1 — a
// per-sample gradient (b, 1, w) beside the values (b, w) around it — with
// reshapes and sums over such axes of their values in between, are one
// fused step that keeps in memory only its output; and it computes what
// the unfused plan computes, bit for bit.
func TestFusionAcrossSizeOneAxes(t *testing.T) {
	b := ir.NewBuilder(nil)
	x, c := b.Input([]int{6, 20}), b.Input([]int{20})
	a := b.Emit(op.Tanh{}, x)
	r := b.Emit(op.Reshape{Shape: []int{6, 1, 20}}, a)
	m := b.Emit(op.Mul{}, r, b.Emit(op.Broadcast{Shape: []int{6, 1, 20}, Dims: []int{2}}, c))
	s := b.Emit(op.ReduceSum{Axes: []int{1}}, m)
	o := b.Emit(op.Sub{}, b.Emit(op.Add{}, s, a), b.Emit(op.Reshape{Shape: []int{6, 20}}, m))
	p, err := b.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRand(5)
	in := []*tensor.Tensor{tensor.Randn(rng, 6, 20), tensor.Randn(rng, 20)}
	var outs [2][]*tensor.Tensor
	for i, f := range []bool{true, false} {
		fusing = f
		pl, err := Compile(p)
		fusing = true
		if err != nil {
			t.Fatal(err)
		}
		if f {
			if n := len(pl.cp.c.steps); n != 1 {
				t.Errorf("%d steps, want one fused step", n)
			}
			for _, v := range []*ir.Var{a, m, s} {
				if n := pl.cp.c.bufs[pl.cp.c.lay[v].buf].size; n != 0 {
					t.Errorf("a value of shape %v kept in memory (%d elements): only the group reads it", v.Shape, n)
				}
			}
		}
		if outs[i], err = pl.Run(in); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range outs[0][0].Data() {
		if w := outs[1][0].Data()[k]; v != w {
			t.Fatalf("element %d: fused %v, unfused %v", k, v, w)
		}
	}
}
