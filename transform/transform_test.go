package transform_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// ---- networks built from primitives ----

// dense emits x·W + b with b broadcast over the rows of x (of any rank).
func dense(b *ir.Builder, x, w, bias *ir.Var) *ir.Var {
	y := b.Emit(op.MatMul{}, x, w)
	dims := []int{y.Rank() - 1}
	return b.Emit(op.Add{}, y, b.Emit(op.Broadcast{Shape: y.Shape, Dims: dims}, bias))
}

// softplus emits log(1 + e^x).
func softplus(b *ir.Builder, x *ir.Var) *ir.Var {
	return b.Emit(op.Log{}, b.Emit(op.Add{}, op.Full(b, 1, x.Shape), b.Emit(op.Exp{}, x)))
}

// layerNorm normalises the last axis of a rank-2 x.
func layerNorm(b *ir.Builder, x *ir.Var) *ir.Var {
	r, c := x.Shape[0], x.Shape[1]
	mean := op.Scale(b, 1/float64(c), b.Emit(op.ReduceSum{Axes: []int{1}}, x))
	d := b.Emit(op.Sub{}, x, b.Emit(op.Broadcast{Shape: x.Shape, Dims: []int{0}}, mean))
	v := op.Scale(b, 1/float64(c), b.Emit(op.ReduceSum{Axes: []int{1}}, b.Emit(op.IntPow{N: 2}, d)))
	s := b.Emit(op.Sqrt{}, b.Emit(op.Add{}, v, op.Full(b, 1e-3, []int{r})))
	return b.Emit(op.Div{}, d, b.Emit(op.Broadcast{Shape: x.Shape, Dims: []int{0}}, s))
}

// networks are per-sample maps of a batch x (first input) with parameters.
func networks() []fdcheck.ProgCase {
	return []fdcheck.ProgCase{
		{Name: "mlp_tanh", Shapes: [][]int{{4, 3}, {3, 5}, {5}, {5, 2}, {2}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			h := b.Emit(op.Tanh{}, dense(b, in[0], in[1], in[2]))
			return dense(b, h, in[3], in[4])
		}},
		{Name: "mlp_softplus_sin_layernorm", Shapes: [][]int{{3, 2}, {2, 4}, {4}, {4, 3}, {3}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			h := layerNorm(b, softplus(b, dense(b, in[0], in[1], in[2])))
			h = b.Emit(op.Sin{}, h)
			return dense(b, h, in[3], in[4])
		}},
		{Name: "mlp_relu_sigmoid_erf", Shapes: [][]int{{3, 3}, {3, 4}, {4}, {4, 2}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			z := dense(b, in[0], in[1], in[2])
			relu := b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, z, op.Zeros(b, z.Shape)), z, op.Zeros(b, z.Shape))
			h := b.Emit(op.Add{}, b.Emit(op.Mul{}, relu, b.Emit(op.Sigmoid{}, z)), b.Emit(op.Erf{}, z))
			return b.Emit(op.MatMul{}, h, in[3])
		}, Accept: func(in [][]float64) bool { return preActsAway(in, 0.05) }},
		{Name: "residual_concat_slice_pad", Shapes: [][]int{{2, 3}, {3, 3}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			h := b.Emit(op.Tanh{}, b.Emit(op.MatMul{}, in[0], in[1]))
			r := b.Emit(op.Add{}, h, in[0])
			c := b.Emit(op.Concat{Axis: 1}, r, b.Emit(op.Cos{}, in[0]))
			s := b.Emit(op.Slice{Start: []int{0, 1}, Limit: []int{2, 5}}, c)
			m := b.Emit(op.Slice{Start: []int{0, 0}, Limit: []int{2, 5}}, b.Emit(op.Concat{Axis: 1}, in[0], in[0]))
			return b.Emit(op.Mul{}, b.Emit(op.Pad{Lo: []int{0, 1}, Hi: []int{0, 0}}, s), m)
		}},
		{Name: "samples_as_columns", Shapes: [][]int{{4, 3}, {2, 3}, {2, 1}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			// tanh(W xᵀ + c) puts the samples on the columns of the right operand.
			z := b.Emit(op.MatMul{}, in[1], b.Emit(op.Transpose{Perm: []int{1, 0}}, in[0])) // (2, 4)
			z = b.Emit(op.Add{}, z, b.Emit(op.Broadcast{Shape: []int{2, 4}, Dims: []int{0, 1}}, in[2]))
			return b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Tanh{}, z))
		}},
		{Name: "reshape_per_sample", Shapes: [][]int{{3, 6}, {3}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			r := b.Emit(op.Reshape{Shape: []int{3, 2, 3}}, b.Emit(op.Sin{}, in[0]))
			w := b.Emit(op.Broadcast{Shape: []int{3, 2, 3}, Dims: []int{2}}, in[1])
			s := b.Emit(op.ReduceSum{Axes: []int{2}}, b.Emit(op.Mul{}, r, w)) // (3, 2)
			return b.Emit(op.Reshape{Shape: []int{3, 2, 1}}, b.Emit(op.IntPow{N: 2}, s))
		}},
		{Name: "batched_matmul_attention_like", Shapes: [][]int{{2, 3, 2}, {2, 2}}, Build: func(b *ir.Builder, in []*ir.Var) *ir.Var {
			q := b.Emit(op.MatMul{}, in[0], in[1])                                         // (2,3,2)
			s := b.Emit(op.MatMul{}, q, b.Emit(op.Transpose{Perm: []int{0, 2, 1}}, in[0])) // (2,3,3)
			e := b.Emit(op.Exp{}, op.Scale(b, 0.5, s))
			z := b.Emit(op.ReduceSum{Axes: []int{2}}, e)
			a := b.Emit(op.Div{}, e, b.Emit(op.Broadcast{Shape: e.Shape, Dims: []int{0, 1}}, z))
			return b.Emit(op.MatMul{}, a, in[0])
		}},
	}
}

// preActsAway checks that the first layer's pre-activations x·W + b of
// mlp_relu_sigmoid_erf stay away from relu's kink.
func preActsAway(in [][]float64, gap float64) bool {
	x, w, bias := in[0], in[1], in[2]
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			z := bias[j]
			for k := 0; k < 3; k++ {
				z += x[i*3+k] * w[k*4+j]
			}
			if math.Abs(z) < gap {
				return false
			}
		}
	}
	return true
}

// TestNetworks checks networks of primitives like the primitives: fd
// first and second derivatives, JVP against VJP, Vmap, Unbatch, Simplify.
func TestNetworks(t *testing.T) {
	rng := tensor.NewRand(11)
	for _, c := range networks() {
		t.Run(c.Name, func(t *testing.T) { fdcheck.CheckProgram(t, c, rng) })
	}
}

func args(xs []*tensor.Tensor, more ...*tensor.Tensor) []*tensor.Tensor {
	return append(append([]*tensor.Tensor{}, xs...), more...)
}

func randn(rng *rand.Rand, vs []*ir.Var) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		out[i] = tensor.Randn(rng, v.Shape...)
	}
	return out
}

// TestSimplifyDerivativePrograms: Simplify keeps the outputs of the
// derivative programs of networks (JVP and VJP with respect to the input
// or the parameters, JVP∘VJP, Vmap of JVP and VJP as jacobians use them,
// the per-sample program from Unbatch), every program validates, and
// Simplify does not add FLOPs.
func TestSimplifyDerivativePrograms(t *testing.T) {
	rng := tensor.NewRand(12)
	for _, c := range networks() {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Program(t)
			k := len(p.In)
			check := func(name string, q *ir.Program, err error) {
				t.Helper()
				q = fdcheck.Valid(t, name, q, err)
				fdcheck.CheckSimplify(t, name, q, randn(rng, q.In))
			}
			xOnly := make([]bool, k)
			xOnly[0] = true
			params := make([]bool, k)
			for i := 1; i < k; i++ {
				params[i] = true
			}
			all := make([]bool, k)
			for i := range all {
				all[i] = true
			}
			for _, wrt := range [][]bool{xOnly, params, all} {
				jp, err := transform.JVP(p, wrt)
				check("jvp", jp, err)
				vp, err := transform.VJP(p, wrt)
				check("vjp", vp, err)
				// Jacobians as jacobi builds them: tangents / cotangents batched.
				flags := make([]bool, len(jp.In))
				flags[len(flags)-1] = true
				vm, err := transform.Vmap(jp, flags, 4)
				check("vmap of jvp", vm, err)
				flags = make([]bool, len(vp.In))
				flags[len(flags)-1] = true
				vm, err = transform.Vmap(vp, flags, 3)
				check("vmap of vjp", vm, err)
				// Hessian-vector products: JVP of VJP.
				hv, err := transform.JVP(vp, append(append([]bool{}, all...), false))
				check("jvp of vjp", hv, err)
			}
			// The per-sample program and its derivatives.
			axes := make([]int, k)
			for i := range axes {
				axes[i] = -1
			}
			axes[0] = 0
			ps, outAxes, err := transform.Unbatch(p, axes)
			check("unbatch", ps, err)
			if outAxes[0] != 0 {
				t.Errorf("unbatch: output batch axis %d, want 0", outAxes[0])
			}
			sp, err := transform.Simplify(ps)
			fdcheck.Valid(t, "simplify of unbatch", sp, err)
			vp, err := transform.VJP(sp, xOnly)
			check("vjp of per-sample", vp, err)
			flags := make([]bool, len(vp.In))
			flags[0] = true
			vm, err := transform.Vmap(vp, flags, p.In[0].Shape[0])
			check("vmap of vjp of per-sample", vm, err)
		})
	}
}

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

// TestTransformArgs: wrong flag counts are errors, not panics.
func TestTransformArgs(t *testing.T) {
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2})
	p, err := b.Build(b.Emit(op.Exp{}, x))
	fdcheck.Valid(t, "program", p, err)
	if _, err := transform.JVP(p, []bool{true, true}); err == nil {
		t.Error("jvp with two flags for one input: no error")
	}
	if _, err := transform.VJP(p, nil); err == nil {
		t.Error("vjp with no flags for one input: no error")
	}
	if _, err := transform.Vmap(p, []bool{}, 3); err == nil {
		t.Error("vmap with no flags for one input: no error")
	}
}

// TestMultipleOutputs: JVP and VJP of a program with several outputs — one
// of them an input passed through, one listed twice, one that does not
// depend on the inputs — satisfy Σ <u_i, J_i v> = <Σ J_iᵀ u_i, v>, and
// their values and derivatives agree with closed forms.
func TestMultipleOutputs(t *testing.T) {
	rng := tensor.NewRand(14)
	b := ir.NewBuilder(nil)
	x := b.Input([]int{3})
	w := b.Input([]int{3})
	y1 := b.Emit(op.Sin{}, b.Emit(op.Mul{}, x, w)) // sin(x ⊙ w)
	c := op.Const(b, tensor.MustNew([]int{2}, []float64{1, 2}))
	p, err := b.Build(y1, x, y1, c)
	fdcheck.Valid(t, "program", p, err)
	xv, wv := tensor.Randn(rng, 3), tensor.Randn(rng, 3)
	v := []*tensor.Tensor{tensor.Randn(rng, 3), tensor.Randn(rng, 3)}
	u := []*tensor.Tensor{tensor.Randn(rng, 3), tensor.Randn(rng, 3), tensor.Randn(rng, 3), tensor.Randn(rng, 2)}

	jp, err := transform.JVP(p, []bool{true, true})
	fdcheck.Valid(t, "jvp", jp, err)
	if len(jp.In) != 4 || len(jp.Out) != 8 {
		t.Fatalf("jvp: %d inputs and %d outputs, want 4 and 8", len(jp.In), len(jp.Out))
	}
	jo := fdcheck.Run(t, jp, xv, wv, v[0], v[1])
	vp, err := transform.VJP(p, []bool{true, true})
	fdcheck.Valid(t, "vjp", vp, err)
	if len(vp.In) != 6 || len(vp.Out) != 6 {
		t.Fatalf("vjp: %d inputs and %d outputs, want 6 and 6", len(vp.In), len(vp.Out))
	}
	vo := fdcheck.Run(t, vp, xv, wv, u[0], u[1], u[2], u[3])

	// Closed forms: t1 = cos(xw)(w dx + x dw), t2 = dx, t4 = 0;
	// gx = cos(xw) w (u1 + u3) + u2, gw = cos(xw) x (u1 + u3).
	t1 := make([]float64, 3)
	gx := make([]float64, 3)
	gw := make([]float64, 3)
	for i := range t1 {
		xi, wi := xv.Data()[i], wv.Data()[i]
		cs := math.Cos(xi * wi)
		t1[i] = cs * (wi*v[0].Data()[i] + xi*v[1].Data()[i])
		s := u[0].Data()[i] + u[2].Data()[i]
		gx[i] = cs*wi*s + u[1].Data()[i]
		gw[i] = cs * xi * s
	}
	fdcheck.Compare(t, "jvp tangent of sin(x w)", jo[4].Data(), t1, []int{3}, fdcheck.Tight)
	fdcheck.Compare(t, "jvp tangent of x", jo[5].Data(), v[0].Data(), []int{3}, fdcheck.Tol{})
	fdcheck.Compare(t, "jvp tangent of the repeated output", jo[6].Data(), t1, []int{3}, fdcheck.Tight)
	fdcheck.Compare(t, "jvp tangent of a constant", jo[7].Data(), []float64{0, 0}, []int{2}, fdcheck.Tol{})
	fdcheck.Compare(t, "vjp cotangent of x", vo[4].Data(), gx, []int{3}, fdcheck.Tight)
	fdcheck.Compare(t, "vjp cotangent of w", vo[5].Data(), gw, []int{3}, fdcheck.Tight)
	fdcheck.Compare(t, "vjp constant output", vo[3].Data(), []float64{1, 2}, []int{2}, fdcheck.Tol{})

	var lhs, rhs, scale float64
	for i := range u {
		d, s := fdcheck.Dot(u[i].Data(), jo[4+i].Data())
		lhs, scale = lhs+d, scale+s
	}
	for i := range v {
		d, s := fdcheck.Dot(vo[4+i].Data(), v[i].Data())
		rhs, scale = rhs+d, scale+s
	}
	if math.Abs(lhs-rhs) > 1e-12*scale {
		t.Errorf("Σ <u, J v> = %.15g but <Jᵀ u, v> = %.15g", lhs, rhs)
	}

	// With respect to w only: one tangent input, one cotangent output.
	jp, err = transform.JVP(p, []bool{false, true})
	fdcheck.Valid(t, "jvp wrt w", jp, err)
	jo = fdcheck.Run(t, jp, xv, wv, v[1])
	fdcheck.Compare(t, "jvp wrt w: tangent of x", jo[5].Data(), []float64{0, 0, 0}, []int{3}, fdcheck.Tol{})
	vp, err = transform.VJP(p, []bool{false, true})
	fdcheck.Valid(t, "vjp wrt w", vp, err)
	vo = fdcheck.Run(t, vp, xv, wv, u[0], u[1], u[2], u[3])
	if len(vo) != 5 {
		t.Fatalf("vjp wrt w: %d outputs, want 5", len(vo))
	}
	fdcheck.Compare(t, "vjp wrt w: cotangent of w", vo[4].Data(), gw, []int{3}, fdcheck.Tight)
}

// TestVmapShared: outputs that do not depend on the batched input are
// repeated along the new axis; unbatched inputs are shared.
func TestVmapShared(t *testing.T) {
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2})
	w := b.Input([]int{2})
	p, err := b.Build(b.Emit(op.Mul{}, x, w), b.Emit(op.Exp{}, w))
	fdcheck.Valid(t, "program", p, err)
	vm, err := transform.Vmap(p, []bool{true, false}, 3)
	fdcheck.Valid(t, "vmap", vm, err)
	xv := tensor.MustNew([]int{3, 2}, []float64{1, 2, 3, 4, 5, 6})
	wv := tensor.MustNew([]int{2}, []float64{0.5, -1})
	out := fdcheck.Run(t, vm, xv, wv)
	fdcheck.Compare(t, "batched product", out[0].Data(), []float64{0.5, -2, 1.5, -4, 2.5, -6}, []int{3, 2}, fdcheck.Tol{})
	e0, e1 := math.Exp(0.5), math.Exp(-1)
	fdcheck.Compare(t, "repeated unbatched output", out[1].Data(), []float64{e0, e1, e0, e1, e0, e1}, []int{3, 2}, fdcheck.Tol{})
}

// count returns how many equations of p apply the primitive named name.
func count(p *ir.Program, name string) int {
	n := 0
	for _, e := range p.Eqns {
		if e.Prim.Name() == name {
			n++
		}
	}
	return n
}

// TestSimplifyRules checks the individual rewrites by what is left.
func TestSimplifyRules(t *testing.T) {
	rng := tensor.NewRand(15)
	s23 := []int{2, 3}
	cases := []struct {
		name  string
		build func(b *ir.Builder, x *ir.Var) *ir.Var
		gone  []string // primitives that must not remain
		max   map[string]int
	}{
		{"x + 0", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Add{}, x, op.Zeros(b, s23)) }, []string{"add"}, nil},
		{"0 + x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Add{}, op.Zeros(b, s23), x) }, []string{"add"}, nil},
		{"x - 0", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Sub{}, x, op.Zeros(b, s23)) }, []string{"sub"}, nil},
		{"0 - x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Sub{}, op.Zeros(b, s23), x) }, []string{"sub"}, map[string]int{"neg": 1}},
		{"x * 1", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Mul{}, x, op.Full(b, 1, s23)) }, []string{"mul"}, nil},
		{"x * 0", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Mul{}, op.Zeros(b, s23), b.Emit(op.Exp{}, x)) }, []string{"mul", "exp"}, nil},
		{"0 / x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Div{}, op.Zeros(b, s23), x) }, []string{"div"}, nil},
		{"x / 1", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Div{}, x, op.Full(b, 1, s23)) }, []string{"div"}, nil},
		{"matmul by 0", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, x, op.Zeros(b, []int{3, 4}))
		}, []string{"matmul"}, nil},
		{"structural ops of 0", func(b *ir.Builder, x *ir.Var) *ir.Var {
			z := op.Zeros(b, []int{3, 2})
			z = b.Emit(op.Neg{}, b.Emit(op.Transpose{Perm: []int{1, 0}}, z))
			z = b.Emit(op.Pad{Lo: []int{0, 1}, Hi: []int{0, 0}}, b.Emit(op.Slice{Start: []int{0, 1}, Limit: []int{2, 3}}, z))
			z = b.Emit(op.Reshape{Shape: []int{3, 2}}, z)
			z = b.Emit(op.ReduceSum{Axes: []int{0}}, b.Emit(op.Broadcast{Shape: []int{2, 3, 2}, Dims: []int{1, 2}}, z))
			return b.Emit(op.Add{}, x, b.Emit(op.Reshape{Shape: s23}, z))
		}, []string{"add", "neg", "transpose", "pad", "slice", "reduce_sum"}, nil},
		{"common subexpressions", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Add{}, b.Emit(op.Exp{}, x), b.Emit(op.Exp{}, x))
		}, nil, map[string]int{"exp": 1}},
		{"constant folding", func(b *ir.Builder, x *ir.Var) *ir.Var {
			c := b.Emit(op.Exp{}, op.Const(b, tensor.MustNew(s23, []float64{1, 2, 3, 4, 5, 6})))
			return b.Emit(op.Mul{}, x, b.Emit(op.Add{}, c, c))
		}, []string{"exp", "add"}, map[string]int{"mul": 1}},
		{"dead code", func(b *ir.Builder, x *ir.Var) *ir.Var {
			b.Emit(op.Sin{}, x)
			return b.Emit(op.Cos{}, x)
		}, []string{"sin"}, nil},
		{"select of equal branches", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, x, op.Zeros(b, s23)), x, x)
		}, []string{"select", "compare"}, nil},
		{"select on a constant predicate", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Select{}, op.Full(b, 1, s23), b.Emit(op.Sin{}, x), b.Emit(op.Cos{}, x))
		}, []string{"select", "cos"}, nil},
		{"functions of filled constants", func(b *ir.Builder, x *ir.Var) *ir.Var {
			z, one := op.Zeros(b, s23), op.Full(b, 1, s23)
			sum := x
			for _, p := range []ir.Primitive{op.Exp{}, op.Cos{}, op.Sigmoid{}, op.Erf{}, op.Sin{}, op.Tanh{}, op.IntPow{N: 0}, op.Neg{}} {
				sum = b.Emit(op.Add{}, sum, b.Emit(p, z))
			}
			for _, p := range []ir.Primitive{op.Log{}, op.Sqrt{}, op.IntPow{N: -3}, op.Neg{}} {
				sum = b.Emit(op.Add{}, sum, b.Emit(p, one))
			}
			return b.Emit(op.Add{}, sum, b.Emit(op.Div{}, one, op.Full(b, 4, s23)))
		}, nil, nil},
		{"reshape of a reshape", func(b *ir.Builder, x *ir.Var) *ir.Var {
			r := b.Emit(op.Reshape{Shape: []int{3, 2}}, b.Emit(op.Reshape{Shape: []int{6}}, x))
			back := b.Emit(op.Reshape{Shape: s23}, b.Emit(op.Reshape{Shape: []int{2, 1, 3}}, x))
			return b.Emit(op.Add{}, b.Emit(op.Reshape{Shape: s23}, b.Emit(op.Exp{}, r)), back)
		}, nil, map[string]int{"reshape": 2}},
		{"product of a reshaped left-hand side shared with the plain one", func(b *ir.Builder, x *ir.Var) *ir.Var {
			w := op.Const(b, tensor.Randn(rng, 3, 4))
			rows := b.Emit(op.MatMul{}, b.Emit(op.Reshape{Shape: []int{2, 1, 3}}, x), w) // (2, 1, 4)
			plain := b.Emit(op.MatMul{}, x, w)                                           // (2, 4)
			return b.Emit(op.Add{}, b.Emit(op.Tanh{}, b.Emit(op.Reshape{Shape: []int{2, 4}}, rows)), b.Emit(op.Tanh{}, plain))
		}, []string{"reshape"}, map[string]int{"matmul": 1, "tanh": 1}},
		{"product of a reshape that changes the last axis is kept", func(b *ir.Builder, x *ir.Var) *ir.Var {
			w := op.Const(b, tensor.Randn(rng, 2, 4))
			r := b.Emit(op.MatMul{}, b.Emit(op.Reshape{Shape: []int{3, 2}}, x), w) // (3, 4)
			return b.Emit(op.Tanh{}, b.Emit(op.Reshape{Shape: []int{2, 6}}, r))
		}, nil, map[string]int{"reshape": 2}},
		{"transpose that moves only unit axes", func(b *ir.Builder, x *ir.Var) *ir.Var {
			r := b.Emit(op.Transpose{Perm: []int{1, 0, 2}}, b.Emit(op.Reshape{Shape: []int{2, 1, 3}}, x)) // (1, 2, 3)
			return b.Emit(op.Exp{}, b.Emit(op.Reshape{Shape: s23}, r))
		}, []string{"transpose", "reshape"}, nil},
		{"transpose that reorders long axes is kept", func(b *ir.Builder, x *ir.Var) *ir.Var {
			r := b.Emit(op.Transpose{Perm: []int{2, 1, 0}}, b.Emit(op.Reshape{Shape: []int{2, 1, 3}}, x)) // (3, 1, 2)
			return b.Emit(op.Exp{}, b.Emit(op.Reshape{Shape: s23}, r))
		}, nil, map[string]int{"transpose": 1}},
		{"identity reshape and transpose", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Tanh{}, b.Emit(op.Transpose{Perm: []int{0, 1}}, b.Emit(op.Reshape{Shape: s23}, x)))
		}, []string{"transpose", "reshape"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder(nil)
			x := b.Input(s23)
			p, err := b.Build(c.build(b, x))
			fdcheck.Valid(t, "program", p, err)
			s := fdcheck.CheckSimplify(t, c.name, p, []*tensor.Tensor{tensor.Randn(rng, s23...)})
			for _, g := range c.gone {
				if n := count(s, g); n > 0 {
					t.Errorf("%d %s equations remain:\n%v", n, g, s)
				}
			}
			for g, m := range c.max {
				if n := count(s, g); n > m {
					t.Errorf("%d %s equations remain, want at most %d:\n%v", n, g, m, s)
				}
			}
		})
	}
}

// TestSimplifyRemovesZeroTangents: a JVP with no tangent input has only
// zero tangents, and once simplified it does no more work than the
// simplified program itself.
func TestSimplifyRemovesZeroTangents(t *testing.T) {
	rng := tensor.NewRand(16)
	for _, c := range networks() {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Program(t)
			jp, err := transform.JVP(p, make([]bool, len(p.In)))
			fdcheck.Valid(t, "jvp", jp, err)
			sj := fdcheck.CheckSimplify(t, "jvp", jp, randn(rng, jp.In))
			sp, err := transform.Simplify(p)
			fdcheck.Valid(t, "simplify", sp, err)
			if fj, fp := transform.CostOf(sj).FLOPs, transform.CostOf(sp).FLOPs; fj != fp {
				t.Errorf("simplified jvp without tangents: %g FLOPs, the simplified program %g", fj, fp)
			}
			out := fdcheck.Run(t, sj, randn(rng, sj.In)...)
			for _, z := range out[1:] {
				for _, v := range z.Data() {
					if v != 0 {
						t.Fatalf("a zero tangent has value %g", v)
					}
				}
			}
		})
	}
}

// TestCostOf checks the cost model against counts made by hand.
func TestCostOf(t *testing.T) {
	b := ir.NewBuilder(nil)
	x := b.Input([]int{4, 3})
	w := b.Input([]int{3, 5})
	m := b.Emit(op.MatMul{}, x, w)               // 2·4·5·3 = 120 FLOPs; 20+12+15 values
	e := b.Emit(op.Exp{}, m)                     // 20·20 = 400; 40 values
	s := b.Emit(op.Add{}, e, m)                  // 20; 60 values
	r := b.Emit(op.ReduceSum{Axes: []int{1}}, s) // 20; 24 values
	p, err := b.Build(r)
	fdcheck.Valid(t, "program", p, err)
	c := transform.CostOf(p)
	if c.FLOPs != 120+400+20+20 {
		t.Errorf("FLOPs = %g, want %d", c.FLOPs, 120+400+20+20)
	}
	if c.Bytes != 8*(47+40+60+24) {
		t.Errorf("bytes = %g, want %d", c.Bytes, 8*(47+40+60+24))
	}
	if d := c.Add(c).Scale(0.5); d != c {
		t.Errorf("(c + c)/2 = %+v, want %+v", d, c)
	}
}

// TestDeadCode keeps exactly the equations that the outputs need.
func TestDeadCode(t *testing.T) {
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2})
	a := b.Emit(op.Exp{}, x)
	b.Emit(op.Sin{}, a)
	c := b.Emit(op.Cos{}, a)
	b.Emit(op.Neg{}, c)
	b.Emit(op.MatMul{}, b.Emit(op.Reshape{Shape: []int{1, 2}}, c), b.Emit(op.Reshape{Shape: []int{2, 1}}, x))
	p, err := b.Build(c)
	fdcheck.Valid(t, "program", p, err)
	q := transform.DeadCode(p)
	fdcheck.Valid(t, "dead code", q, nil)
	if len(q.Eqns) != 2 || count(q, "exp") != 1 || count(q, "cos") != 1 {
		t.Errorf("dead code left:\n%v\nwant exp and cos only", q)
	}
}

// ---- random programs ----

// randomProgram returns a case whose program applies steps random
// primitives (elementwise, matmul, transpose, reshape, broadcast, reduce,
// slice, pad, concat, constants) to an input of shape (2, 3, 2) and to the
// values it computes, keeping every value small.
func randomProgram(seed uint64, steps int) fdcheck.ProgCase {
	build := func(b *ir.Builder, in []*ir.Var) *ir.Var {
		rng := tensor.NewRand(seed)
		vars := []*ir.Var{in[0]}
		pick := func() *ir.Var { return vars[rng.IntN(len(vars))] }
		smooth := []ir.Primitive{op.Tanh{}, op.Sin{}, op.Cos{}, op.Sigmoid{}, op.Erf{}, op.Neg{}, op.IntPow{N: 2}, op.IntPow{N: 3}}
		for len(vars) < steps+1 {
			x := pick()
			var y *ir.Var
			switch rng.IntN(11) {
			case 0, 1:
				y = b.Emit(smooth[rng.IntN(len(smooth))], x)
			case 2:
				y = b.Emit(op.Exp{}, b.Emit(op.Tanh{}, x))
			case 3:
				var other *ir.Var
				for _, v := range vars {
					if v != x && tensor.SameShape(v.Shape, x.Shape) && rng.IntN(2) == 0 {
						other = v
					}
				}
				if other == nil {
					other = b.Emit(op.Sin{}, x)
				}
				y = b.Emit([]ir.Primitive{op.Add{}, op.Sub{}, op.Mul{}}[rng.IntN(3)], x, other)
			case 4:
				if x.Rank() < 2 {
					continue
				}
				if rng.IntN(2) == 0 {
					y = b.Emit(op.MatMul{}, x, op.SwapLast(b, x))
				} else {
					k := x.Shape[x.Rank()-1]
					y = b.Emit(op.MatMul{}, x, op.Const(b, tensor.Uniform(rng, -1, 1, k, 2)))
				}
			case 5:
				if x.Rank() < 2 {
					continue
				}
				y = b.Emit(op.Transpose{Perm: rng.Perm(x.Rank())}, x)
			case 6:
				s := append([]int{}, x.Shape...)
				for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
					s[i], s[j] = s[j], s[i]
				}
				if rng.IntN(2) == 0 {
					s = []int{x.Size()}
				}
				y = b.Emit(op.Reshape{Shape: s}, x)
			case 7:
				if x.Size() > 24 || x.Rank() > 3 {
					continue
				}
				dims := make([]int, x.Rank())
				for i := range dims {
					dims[i] = i + 1
				}
				y = b.Emit(op.Broadcast{Shape: append([]int{2}, x.Shape...), Dims: dims}, x)
			case 8:
				if x.Rank() == 0 {
					continue
				}
				var axes []int
				for a := 0; a < x.Rank(); a++ {
					if rng.IntN(2) == 0 {
						axes = append(axes, a)
					}
				}
				if axes == nil {
					axes = []int{}
				}
				y = b.Emit(op.ReduceSum{Axes: axes}, x)
			case 9:
				if x.Rank() == 0 {
					continue
				}
				a := rng.IntN(x.Rank())
				if x.Shape[a] < 2 {
					continue
				}
				start, limit := make([]int, x.Rank()), append([]int{}, x.Shape...)
				start[a] = 1
				y = b.Emit(op.Slice{Start: start, Limit: limit}, x)
				if rng.IntN(2) == 0 {
					lo, hi := make([]int, x.Rank()), make([]int, x.Rank())
					hi[a] = 1
					y = b.Emit(op.Pad{Lo: lo, Hi: hi}, y)
				}
			case 10:
				if x.Rank() == 0 || x.Size() > 24 {
					continue
				}
				y = b.Emit(op.Concat{Axis: rng.IntN(x.Rank())}, x, b.Emit(op.Cos{}, x))
			}
			vars = append(vars, y)
		}
		// The output mixes the last value with a scalar summary of all.
		out := vars[len(vars)-1]
		total := op.Zeros(b, []int{})
		for _, v := range vars[1:] {
			axes := make([]int, v.Rank())
			for i := range axes {
				axes[i] = i
			}
			total = b.Emit(op.Add{}, total, b.Emit(op.Tanh{}, b.Emit(op.ReduceSum{Axes: axes}, v)))
		}
		dims := []int{}
		return b.Emit(op.Add{}, out, b.Emit(op.Broadcast{Shape: out.Shape, Dims: dims}, total))
	}
	return fdcheck.ProgCase{Name: "random", Build: build, Shapes: [][]int{{2, 3, 2}}, Domains: []fdcheck.Domain{{Lo: -1, Hi: 1}}}
}

// TestRandomPrograms runs the full check (fd first and second derivatives,
// JVP against VJP, Vmap, Unbatch, Simplify, exec against Eval) on random
// programs.
func TestRandomPrograms(t *testing.T) {
	rng := tensor.NewRand(40)
	for seed := uint64(0); seed < 40; seed++ {
		c := randomProgram(seed, 10)
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) { fdcheck.CheckProgram(t, c, rng) })
	}
}

// TestFoldLinear checks which chains of linear equations Simplify folds
// into one product, and that folded or not, results are unchanged.
func TestFoldLinear(t *testing.T) {
	rng := tensor.NewRand(17)
	w1 := tensor.Randn(rng, 5, 2)
	c52 := tensor.Randn(rng, 5, 2)
	w2 := tensor.Randn(rng, 2, 10)
	// hidden is the small non-constant value the chains start from.
	hidden := func(b *ir.Builder, x *ir.Var) *ir.Var {
		row := b.Emit(op.Reshape{Shape: []int{1, 5}}, x)
		h := b.Emit(op.MatMul{}, row, op.Const(b, w1))
		return b.Emit(op.Sigmoid{}, b.Emit(op.Reshape{Shape: []int{2}}, h))
	}
	// lastLayer is forward mode's Jacobian of a 5-2-10 network given the
	// scaled tangents o (5×2): transpose((o) W₂).
	lastLayer := func(b *ir.Builder, o *ir.Var) *ir.Var {
		r := b.Emit(op.MatMul{}, b.Emit(op.Reshape{Shape: []int{5, 1, 2}}, o), op.Const(b, w2))
		return b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Reshape{Shape: []int{5, 10}}, r))
	}
	spread := func(b *ir.Builder, h *ir.Var) *ir.Var {
		return b.Emit(op.Broadcast{Shape: []int{5, 2}, Dims: []int{1}}, h)
	}
	cases := []struct {
		name   string
		build  func(b *ir.Builder, x *ir.Var) *ir.Var
		folded bool // the transpose of lastLayer is folded away
	}{
		{"scaled tangents", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return lastLayer(b, b.Emit(op.Mul{}, op.Const(b, c52), spread(b, hidden(b, x))))
		}, true},
		{"sum of two linear branches", func(b *ir.Builder, x *ir.Var) *ir.Var {
			m := spread(b, hidden(b, x))
			o := b.Emit(op.Add{}, b.Emit(op.Mul{}, op.Const(b, c52), m), b.Emit(op.Neg{}, m))
			return lastLayer(b, o)
		}, true},
		{"affine: a constant added", func(b *ir.Builder, x *ir.Var) *ir.Var {
			o := b.Emit(op.Mul{}, op.Const(b, c52), spread(b, hidden(b, x)))
			return lastLayer(b, b.Emit(op.Add{}, o, op.Const(b, c52)))
		}, false},
		{"not linear: a square", func(b *ir.Builder, x *ir.Var) *ir.Var {
			m := spread(b, hidden(b, x))
			return lastLayer(b, b.Emit(op.Mul{}, m, m))
		}, false},
		{"not constant: scaled by the input", func(b *ir.Builder, x *ir.Var) *ir.Var {
			xs := b.Emit(op.Broadcast{Shape: []int{5, 2}, Dims: []int{0}}, x)
			return lastLayer(b, b.Emit(op.Mul{}, xs, spread(b, hidden(b, x))))
		}, false},
		{"intermediate also needed elsewhere", func(b *ir.Builder, x *ir.Var) *ir.Var {
			o := b.Emit(op.Mul{}, op.Const(b, c52), spread(b, hidden(b, x)))
			j := lastLayer(b, o)
			side := b.Emit(op.ReduceSum{Axes: []int{0, 1}}, b.Emit(op.Tanh{}, o))
			return b.Emit(op.Add{}, j, b.Emit(op.Broadcast{Shape: []int{10, 5}, Dims: []int{}}, side))
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder(nil)
			x := b.Input([]int{5})
			p, err := b.Build(c.build(b, x))
			fdcheck.Valid(t, "program", p, err)
			s := fdcheck.CheckSimplify(t, c.name, p, []*tensor.Tensor{tensor.Randn(rng, 5)})
			if got := count(s, "transpose") == 0; got != c.folded {
				t.Errorf("folded = %v, want %v:\n%v", got, c.folded, s)
			}
		})
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
