package transform_test

import (
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
	return b.Emit(op.Log{}, b.Emit(op.Add{}, op.Full(b, 1, tensor.Float64, x.Shape), b.Emit(op.Exp{}, x)))
}

// layerNorm normalises the last axis of a rank-2 x.
func layerNorm(b *ir.Builder, x *ir.Var) *ir.Var {
	r, c := x.Shape[0], x.Shape[1]
	mean := op.Scale(b, 1/float64(c), b.Emit(op.ReduceSum{Axes: []int{1}}, x))
	d := b.Emit(op.Sub{}, x, b.Emit(op.Broadcast{Shape: x.Shape, Dims: []int{0}}, mean))
	v := op.Scale(b, 1/float64(c), b.Emit(op.ReduceSum{Axes: []int{1}}, b.Emit(op.IntPow{N: 2}, d)))
	s := b.Emit(op.Sqrt{}, b.Emit(op.Add{}, v, op.Full(b, 1e-3, tensor.Float64, []int{r})))
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
			relu := b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, z, op.Zeros(b, tensor.Float64, z.Shape)), z, op.Zeros(b, tensor.Float64, z.Shape))
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
		total := op.Zeros(b, tensor.Float64, []int{})
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
