package transform_test

import (
	"errors"
	"math"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// TestUnbatchPerSample runs the per-sample program from Unbatch on every
// sample (batch axis 0 and, after a transpose, batch axis 1) and compares
// with the batched program.
func TestUnbatchPerSample(t *testing.T) {
	rng := tensor.NewRand(13)
	for _, c := range networks() {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Program(t)
			xs := c.Sample(t, rng)
			want := fdcheck.Run(t, p, xs...)[0]
			axes := make([]int, len(p.In))
			for i := range axes {
				axes[i] = -1
			}
			axes[0] = 0
			ps, outAxes, err := transform.Unbatch(p, axes)
			fdcheck.Valid(t, "unbatch", ps, err)
			if outAxes[0] != 0 {
				t.Fatalf("output batch axis %d, want 0", outAxes[0])
			}
			nb := p.In[0].Shape[0]
			for i := 0; i < nb; i++ {
				got := fdcheck.Run(t, ps, args([]*tensor.Tensor{fdcheck.Row(xs[0], i)}, xs[1:]...)...)[0]
				fdcheck.Compare(t, "per-sample output", got.Data(), fdcheck.Row(want, i).Data(), got.Shape(), fdcheck.Tight)
			}
		})
	}

	// The batch along axis 1 of x (4 samples of 3 values):
	// out[i] = tanh(x[:, i] ⊙ w) brought to the front by a transpose, and
	// a second output summing over axis 0, before the batch axis.
	b := ir.NewBuilder(nil)
	x := b.Input([]int{3, 4}) // 4 samples of 3 values, batch axis 1
	w := b.Input([]int{3})
	wb := b.Emit(op.Broadcast{Shape: []int{3, 4}, Dims: []int{0}}, w)
	y := b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Tanh{}, b.Emit(op.Mul{}, x, wb))) // (4, 3)
	x3 := b.Emit(op.Broadcast{Shape: []int{2, 3, 4, 5}, Dims: []int{1, 2}}, x)               // batch axis 2
	z := b.Emit(op.ReduceSum{Axes: []int{0, 1, 3}}, b.Emit(op.Sin{}, x3))                    // (4): 10 Σ_j sin(x[j, i])
	p, err := b.Build(y, z)
	fdcheck.Valid(t, "program", p, err)
	ps, outAxes, err := transform.Unbatch(p, []int{1, -1})
	fdcheck.Valid(t, "unbatch", ps, err)
	if outAxes[0] != 0 || outAxes[1] != 0 {
		t.Fatalf("output batch axes %v, want [0 0]", outAxes)
	}
	if !tensor.SameShape(ps.In[0].Shape, []int{3}) || !tensor.SameShape(ps.Out[0].Shape, []int{3}) || !tensor.SameShape(ps.Out[1].Shape, []int{}) {
		t.Fatalf("per-sample program: input %v, output %v; want [3] and [3]", ps.In[0].Shape, ps.Out[0].Shape)
	}
	xv, wv := tensor.Randn(rng, 3, 4), tensor.Randn(rng, 3)
	outs := fdcheck.Run(t, p, xv, wv)
	out := outs[0]
	for i := 0; i < 4; i++ {
		col := tensor.MustNew([]int{3}, []float64{xv.At(0, i), xv.At(1, i), xv.At(2, i)})
		pouts := fdcheck.Run(t, ps, col, wv)
		got := pouts[0]
		sum := 0.0
		for _, v := range col.Data() {
			sum += 10 * math.Sin(v)
		}
		fdcheck.Compare(t, "per-sample sum, batch axis 2", pouts[1].Data(), []float64{sum}, nil, fdcheck.Tight)
		fdcheck.Compare(t, "batched sum, batch axis 2", outs[1].Data()[i:i+1], []float64{sum}, nil, fdcheck.Tight)
		want := make([]float64, 3)
		for j := range want {
			want[j] = math.Tanh(col.Data()[j] * wv.Data()[j])
		}
		fdcheck.Compare(t, "per-sample output, batch axis 1", got.Data(), want, []int{3}, fdcheck.Tight)
		fdcheck.Compare(t, "batched output, batch axis 1", fdcheck.Row(out, i).Data(), want, []int{3}, fdcheck.Tight)
	}
}

// TestUnbatchMixes: programs that mix samples along the batch axis are
// refused with an *op.MixError naming the primitive.
func TestUnbatchMixes(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		build func(b *ir.Builder, x *ir.Var) *ir.Var
		prim  string
	}{
		{"sum over the batch", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Broadcast{Shape: []int{4, 3}, Dims: []int{1}}, b.Emit(op.ReduceSum{Axes: []int{0}}, x))
		}, "reduce_sum"},
		{"reshape merging the batch", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Reshape{Shape: []int{2, 6}}, x)
		}, "reshape"},
		{"gram matrix over the batch", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, x, b.Emit(op.MatMul{}, b.Emit(op.Transpose{Perm: []int{1, 0}}, x), x))
		}, "matmul"},
		{"slice of samples", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Slice{Start: []int{1, 0}, Limit: []int{3, 3}}, x)
		}, "slice"},
		{"concat along the batch", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Concat{Axis: 0}, x, x)
		}, "concat"},
		{"pad along the batch", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Pad{Lo: []int{1, 0}, Hi: []int{0, 0}}, x)
		}, "pad"},
		{"a constant whose rows differ", []int{2, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Add{}, x, op.Const(b, tensor.MustNew([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})))
		}, "constant"},
		{"one sample repeated by a broadcast", []int{1, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Broadcast{Shape: []int{4, 3}, Dims: []int{0, 1}}, x)
		}, "broadcast"},
		{"elementwise on different batch axes", []int{3, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Add{}, x, b.Emit(op.Transpose{Perm: []int{1, 0}}, x))
		}, "add"},
		{"concat on different batch axes", []int{3, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Concat{Axis: 1}, x, b.Emit(op.Transpose{Perm: []int{1, 0}}, x))
		}, "concat"},
		{"shift between samples", []int{4, 3}, func(b *ir.Builder, x *ir.Var) *ir.Var {
			s := b.Emit(op.Slice{Start: []int{0, 0}, Limit: []int{3, 3}}, x)
			return b.Emit(op.Pad{Lo: []int{1, 0}, Hi: []int{0, 0}}, s)
		}, "slice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder(nil)
			x := b.Input(c.shape)
			p, err := b.Build(c.build(b, x))
			fdcheck.Valid(t, "program", p, err)
			_, _, err = transform.Unbatch(p, []int{0})
			var me *op.MixError
			if !errors.As(err, &me) {
				t.Fatalf("unbatch: got error %v, want an *op.MixError", err)
			}
			if me.Prim != c.prim {
				t.Errorf("mix error names %q, want %q (%v)", me.Prim, c.prim, err)
			}
		})
	}

	// A constant that is the same in every row is a per-sample constant.
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2, 3})
	c := op.Const(b, tensor.MustNew([]int{2, 3}, []float64{1, 2, 3, 1, 2, 3}))
	p, err := b.Build(b.Emit(op.Mul{}, x, c))
	fdcheck.Valid(t, "program", p, err)
	ps, outAxes, err := transform.Unbatch(p, []int{0})
	fdcheck.Valid(t, "unbatch of a row-constant", ps, err)
	if outAxes[0] != 0 {
		t.Errorf("output batch axis %d, want 0", outAxes[0])
	}
	got := fdcheck.Run(t, ps, tensor.MustNew([]int{3}, []float64{2, 3, 4}))[0]
	fdcheck.Compare(t, "per-sample product with a row-constant", got.Data(), []float64{2, 6, 12}, []int{3}, fdcheck.Tol{})

	// A shared input whose shape happens to carry the batch axis is not a
	// per-sample value: row i of a (4, 3) parameter depends on the sample.
	for _, viaBroadcast := range []bool{false, true} {
		b := ir.NewBuilder(nil)
		x := b.Input([]int{4, 3})
		w := b.Input([]int{4, 3})
		if viaBroadcast {
			w = b.Emit(op.Broadcast{Shape: []int{4, 3}, Dims: []int{0, 1}}, w)
		}
		q, err := b.Build(b.Emit(op.Mul{}, x, w))
		fdcheck.Valid(t, "program", q, err)
		_, _, err = transform.Unbatch(q, []int{0, -1})
		var me *op.MixError
		if !errors.As(err, &me) {
			t.Errorf("unbatch of x * w with a (4, 3) parameter w (via broadcast: %v): got error %v, want an *op.MixError", viaBroadcast, err)
		}
	}

	// Bad arguments are errors.
	if _, _, err := transform.Unbatch(p, []int{0, 0}); err == nil {
		t.Error("unbatch with two axes for one input: no error")
	}
	if _, _, err := transform.Unbatch(p, []int{2}); err == nil {
		t.Error("unbatch with batch axis 2 of a rank-2 input: no error")
	}
}

// A value shared by all samples but shaped like the batch — a broadcast
// pulled through a product and transposes, as a constant cotangent is
// pulled back through a layer — is per-sample where it meets the samples.
func TestUnbatchSharedProducts(t *testing.T) {
	rng := tensor.NewRand(21)
	b := ir.NewBuilder(nil)
	x := b.Input([]int{5, 3}) // 5 samples
	w := op.Const(b, tensor.Randn(rng, 3, 4))
	c := b.Emit(op.Broadcast{Shape: []int{5, 3}, Dims: []int{1}}, op.Const(b, tensor.Randn(rng, 3)))
	m := b.Emit(op.MatMul{}, c, w)                                                            // (5, 4), the same row 5 times
	mt := b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Transpose{Perm: []int{1, 0}}, m)) // (5, 4)
	y := b.Emit(op.Mul{}, b.Emit(op.Tanh{}, b.Emit(op.MatMul{}, x, w)), mt)
	p, err := b.Build(y)
	fdcheck.Valid(t, "program", p, err)
	ps, outAxes, err := transform.Unbatch(p, []int{0})
	fdcheck.Valid(t, "unbatch", ps, err)
	if outAxes[0] != 0 {
		t.Fatalf("output batch axis %d, want 0", outAxes[0])
	}
	xv := tensor.Randn(rng, 5, 3)
	want := fdcheck.Run(t, p, xv)[0]
	for i := range 5 {
		got := fdcheck.Run(t, ps, fdcheck.Row(xv, i))[0]
		fdcheck.Compare(t, "per-sample output", got.Data(), fdcheck.Row(want, i).Data(), got.Shape(), fdcheck.Tight)
	}
}

// A value shared by all samples but shaped like the batch that reaches
// the samples through shape ops — reshape, pad, slice, sums over other
// axes, a broadcast that keeps the batch axis — as the gradient of a sum
// over the samples does when differentiated again, is per-sample there too.
func TestUnbatchSharedShapeOps(t *testing.T) {
	rng := tensor.NewRand(22)
	b := ir.NewBuilder(nil)
	x := b.Input([]int{5, 3}) // 5 samples
	k := b.Emit(op.Broadcast{Shape: []int{5, 3}, Dims: []int{1}}, op.Const(b, tensor.Randn(rng, 3)))
	s := b.Emit(op.Reshape{Shape: []int{1, 5, 3}}, k)
	s = b.Emit(op.Pad{Lo: []int{0, 0, 1}, Hi: []int{0, 0, 0}}, s)                           // (1, 5, 4)
	s = b.Emit(op.Slice{Start: []int{0, 0, 0}, Limit: []int{1, 5, 3}}, s)                   // (1, 5, 3)
	s = b.Emit(op.ReduceSum{Axes: []int{0}}, s)                                             // (5, 3)
	s = b.Emit(op.Broadcast{Shape: []int{2, 5, 3}, Dims: []int{1, 2}}, b.Emit(op.Exp{}, s)) // (2, 5, 3)
	s = b.Emit(op.ReduceSum{Axes: []int{0}}, s)                                             // (5, 3)
	y := b.Emit(op.Mul{}, b.Emit(op.Tanh{}, x), s)
	p, err := b.Build(y)
	fdcheck.Valid(t, "program", p, err)
	ps, outAxes, err := transform.Unbatch(p, []int{0})
	fdcheck.Valid(t, "unbatch", ps, err)
	if outAxes[0] != 0 {
		t.Fatalf("output batch axis %d, want 0", outAxes[0])
	}
	xv := tensor.Randn(rng, 5, 3)
	want := fdcheck.Run(t, p, xv)[0]
	for i := range 5 {
		got := fdcheck.Run(t, ps, fdcheck.Row(xv, i))[0]
		fdcheck.Compare(t, "per-sample output", got.Data(), fdcheck.Row(want, i).Data(), got.Shape(), fdcheck.Tight)
	}
}
