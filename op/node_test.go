package op_test

import (
	"math"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/tensor"
)

// ---- the same primitives through the public Node API ----

func sl(x *jacobi.Node, lo, hi int) *jacobi.Node { return x.Slice(-1, lo, hi) }

func nodeCases() []fdcheck.Case {
	pos := fdcheck.Positive
	away := fdcheck.AwayFromZero
	ew := func(f func(float64) float64) func([]float64) []float64 {
		return func(x []float64) []float64 {
			out := make([]float64, len(x))
			for i, v := range x {
				out[i] = f(v)
			}
			return out
		}
	}
	// pairs splits a (2, 6) input into x = columns 0:3 and y = columns 3:6.
	pairs := func(f func(a, b float64) float64) func([]float64) []float64 {
		return func(in []float64) []float64 {
			var out []float64
			for r := 0; r < 2; r++ {
				for j := 0; j < 3; j++ {
					out = append(out, f(in[r*6+j], in[r*6+3+j]))
				}
			}
			return out
		}
	}
	pairGap := func(in []float64) bool {
		for r := 0; r < 2; r++ {
			for j := 0; j < 3; j++ {
				if math.Abs(in[r*6+j]-in[r*6+3+j]) < 0.1 {
					return false
				}
			}
		}
		return true
	}
	s := []int{2, 3}
	s26 := []int{2, 6}
	return []fdcheck.Case{
		{Name: "add", F: func(x *jacobi.Node) *jacobi.Node { return sl(x, 0, 3).Add(sl(x, 3, 6)) }, Shape: s26, Ref: pairs(func(a, b float64) float64 { return a + b })},
		{Name: "sub", F: func(x *jacobi.Node) *jacobi.Node { return sl(x, 0, 3).Sub(sl(x, 3, 6)) }, Shape: s26, Ref: pairs(func(a, b float64) float64 { return a - b })},
		{Name: "mul", F: func(x *jacobi.Node) *jacobi.Node { return sl(x, 0, 3).Mul(sl(x, 3, 6)) }, Shape: s26, Ref: pairs(func(a, b float64) float64 { return a * b })},
		{Name: "div", F: func(x *jacobi.Node) *jacobi.Node { return sl(x, 0, 3).Div(sl(x, 3, 6)) }, Shape: s26, Domain: pos, Ref: pairs(func(a, b float64) float64 { return a / b })},
		{Name: "neg_scale_addscalar", F: func(x *jacobi.Node) *jacobi.Node { return x.Neg().Scale(2.5).AddScalar(-1).Mul(x) }, Shape: s, Ref: ew(func(a float64) float64 { return (-a*2.5 - 1) * a })},
		{Name: "broadcast_binary", F: func(x *jacobi.Node) *jacobi.Node {
			// (2,1) column times (1,3) row: numpy broadcasting to (2,3).
			col := x.Slice(1, 0, 1)
			row := x.Slice(0, 0, 1).Slice(1, 1, 4)
			return col.Mul(row).Add(x.Slice(1, 4, 5).Sin())
		}, Shape: []int{2, 5}, Ref: func(in []float64) []float64 {
			out := make([]float64, 6)
			for i := 0; i < 2; i++ {
				for j := 0; j < 3; j++ {
					out[i*3+j] = in[i*5]*in[1+j] + math.Sin(in[i*5+4])
				}
			}
			return out
		}},
		{Name: "broadcast_to", F: func(x *jacobi.Node) *jacobi.Node {
			return x.BroadcastTo(4, 2, 3).Mul(jacobi.Const(tensor.Uniform(tensor.NewRand(5), -1, 1, 4, 2, 3))).Tanh()
		}, Shape: s},
		{Name: "exp", F: func(x *jacobi.Node) *jacobi.Node { return x.Exp() }, Shape: s, Ref: ew(math.Exp)},
		{Name: "log", F: func(x *jacobi.Node) *jacobi.Node { return x.Log() }, Shape: s, Domain: pos, Ref: ew(math.Log)},
		{Name: "log1p", F: func(x *jacobi.Node) *jacobi.Node { return x.Log1p() }, Shape: s, Domain: pos, Ref: ew(math.Log1p)},
		{Name: "log1p", F: func(x *jacobi.Node) *jacobi.Node { return x.Log1p() }, Shape: s, Domain: fdcheck.Domain{Lo: -0.5, Hi: 2}, Ref: ew(math.Log1p)},
		{Name: "tanh", F: func(x *jacobi.Node) *jacobi.Node { return x.Tanh() }, Shape: s, Ref: ew(math.Tanh)},
		{Name: "sigmoid", F: func(x *jacobi.Node) *jacobi.Node { return x.Sigmoid() }, Shape: s, Ref: ew(func(a float64) float64 { return 1 / (1 + math.Exp(-a)) })},
		{Name: "sin", F: func(x *jacobi.Node) *jacobi.Node { return x.Sin() }, Shape: s, Ref: ew(math.Sin)},
		{Name: "cos", F: func(x *jacobi.Node) *jacobi.Node { return x.Cos() }, Shape: s, Ref: ew(math.Cos)},
		{Name: "erf", F: func(x *jacobi.Node) *jacobi.Node { return x.Erf() }, Shape: s, Ref: ew(math.Erf)},
		{Name: "sqrt", F: func(x *jacobi.Node) *jacobi.Node { return x.Sqrt() }, Shape: s, Domain: pos, Ref: ew(math.Sqrt)},
		{Name: "square", F: func(x *jacobi.Node) *jacobi.Node { return x.Square() }, Shape: s, Ref: ew(func(a float64) float64 { return a * a })},
		{Name: "pow_3", F: func(x *jacobi.Node) *jacobi.Node { return x.Pow(3) }, Shape: s, Ref: ew(powRef(3))},
		{Name: "pow_neg2", F: func(x *jacobi.Node) *jacobi.Node { return x.Pow(-2) }, Shape: s, Domain: pos, Ref: ew(powRef(-2))},
		{Name: "pow_neg1_signed", F: func(x *jacobi.Node) *jacobi.Node { return x.Pow(-1) }, Shape: s, Domain: fdcheck.Domain{Lo: -2, Hi: 2, Avoid: []float64{0}, Gap: 0.5}, Ref: ew(powRef(-1))},
		{Name: "relu", F: func(x *jacobi.Node) *jacobi.Node { return x.Relu().Mul(x) }, Shape: s, Domain: away, Ref: ew(func(a float64) float64 { return math.Max(a, 0) * a })},
		{Name: "abs", F: func(x *jacobi.Node) *jacobi.Node { return x.Abs().Mul(x.Sin()) }, Shape: s, Domain: away, Ref: ew(func(a float64) float64 { return math.Abs(a) * math.Sin(a) })},
		{Name: "maximum", F: func(x *jacobi.Node) *jacobi.Node { return jacobi.Maximum(sl(x, 0, 3), sl(x, 3, 6)).Square() }, Shape: s26, Accept: pairGap, Ref: pairs(func(a, b float64) float64 { return math.Max(a, b) * math.Max(a, b) })},
		{Name: "minimum", F: func(x *jacobi.Node) *jacobi.Node { return jacobi.Minimum(sl(x, 0, 3), sl(x, 3, 6)).Exp() }, Shape: s26, Accept: pairGap, Ref: pairs(func(a, b float64) float64 { return math.Exp(math.Min(a, b)) })},
		{Name: "where", F: func(x *jacobi.Node) *jacobi.Node {
			a, b := sl(x, 0, 3), sl(x, 3, 6)
			return jacobi.Where(a.Less(b), a.Mul(b), b.Sin())
		}, Shape: s26, Accept: pairGap, Ref: pairs(func(a, b float64) float64 {
			if a < b {
				return a * b
			}
			return math.Sin(b)
		})},
		{Name: "where_broadcast_scalar", F: func(x *jacobi.Node) *jacobi.Node {
			return jacobi.Where(x.Greater(jacobi.Scalar(0.5)), x.Square(), jacobi.Scalar(0.25))
		}, Shape: s, Domain: fdcheck.Domain{Lo: -2, Hi: 2, Avoid: []float64{0.5}, Gap: 0.1}, Ref: ew(func(a float64) float64 {
			if a > 0.5 {
				return a * a
			}
			return 0.25
		})},
		{Name: "clip", F: func(x *jacobi.Node) *jacobi.Node { return x.Clip(-1, 1).Mul(x) }, Shape: s, Domain: fdcheck.Domain{Lo: -2, Hi: 2, Avoid: []float64{-1, 1}, Gap: 0.1}, Ref: ew(func(a float64) float64 { return math.Min(math.Max(a, -1), 1) * a })},
		{Name: "matmul_2d", F: func(x *jacobi.Node) *jacobi.Node { return x.MatMul(x.T()).Tanh() }, Shape: []int{2, 3}, Ref: func(in []float64) []float64 {
			out := refMatMul(in, []int{2, 3}, refTranspose(in, []int{2, 3}, []int{1, 0}), []int{3, 2})
			for i := range out {
				out[i] = math.Tanh(out[i])
			}
			return out
		}},
		{Name: "matmul_vector", F: func(x *jacobi.Node) *jacobi.Node {
			return x.Slice(1, 0, 3).MatMul(x.Slice(0, 0, 1).Reshape(4).Slice(0, 1, 4))
		}, Shape: []int{2, 4}, Ref: func(in []float64) []float64 {
			v := in[1:4]
			return []float64{in[0]*v[0] + in[1]*v[1] + in[2]*v[2], in[4]*v[0] + in[5]*v[1] + in[6]*v[2]}
		}},
		{Name: "matmul_batched_const", F: func(x *jacobi.Node) *jacobi.Node {
			w := jacobi.Const(tensor.Uniform(tensor.NewRand(7), -1, 1, 3, 2))
			return x.MatMul(w).Sin()
		}, Shape: []int{2, 2, 3}},
		{Name: "transpose", F: func(x *jacobi.Node) *jacobi.Node {
			return x.Transpose(2, 0, 1).Mul(x.Transpose().Reshape(4, 2, 3).Cos())
		}, Shape: []int{2, 3, 4}},
		{Name: "reshape", F: func(x *jacobi.Node) *jacobi.Node { return x.Reshape(3, -1).Exp().Mul(x.Reshape(3, 2)) }, Shape: s},
		{Name: "sum", F: func(x *jacobi.Node) *jacobi.Node {
			return x.Sum(1).Square().Sum(-1).Add(x.Sum(1, 2).Sin()).Add(x.Sum().Exp())
		}, Shape: []int{2, 3, 2}},
		{Name: "sum_keep_mean_keep", F: func(x *jacobi.Node) *jacobi.Node { return x.Sub(x.MeanKeep(-1)).Div(x.SumKeep(0).Exp()) }, Shape: s},
		{Name: "mean", F: func(x *jacobi.Node) *jacobi.Node { return x.Sin().Mean() }, Shape: s, Ref: func(in []float64) []float64 {
			m := 0.0
			for _, v := range in {
				m += math.Sin(v)
			}
			return []float64{m / float64(len(in))}
		}},
		{Name: "concat_slice", F: func(x *jacobi.Node) *jacobi.Node {
			return jacobi.Concat(-1, x.Slice(1, 2, 3), x.Exp(), x.Slice(1, 0, 1).Square()).Mul(jacobi.Concat(0, x, x).Slice(0, 1, 3).Slice(1, 0, 1).Sin())
		}, Shape: s},
		{Name: "matmul_vector_left", F: func(x *jacobi.Node) *jacobi.Node {
			return x.Slice(0, 0, 1).Reshape(3).MatMul(x.Slice(0, 1, 4)).Exp()
		}, Shape: []int{4, 3}},
		{Name: "vmap_with_capture", F: func(x *jacobi.Node) *jacobi.Node {
			s := x.Sum(0)
			return jacobi.VmapOf(func(r *jacobi.Node) *jacobi.Node { return r.Mul(s).Sin() }, x)
		}, Shape: []int{3, 2}, Ref: func(in []float64) []float64 {
			s := []float64{in[0] + in[2] + in[4], in[1] + in[3] + in[5]}
			out := make([]float64, 6)
			for i := range out {
				out[i] = math.Sin(in[i] * s[i%2])
			}
			return out
		}},
		{Name: "grad_with_capture", F: func(x *jacobi.Node) *jacobi.Node {
			// d/dy Σ sin(y ⊙ x) at y = x is x ⊙ cos(x²): the inner
			// derivative must not differentiate the captured x.
			return jacobi.GradOf(func(y *jacobi.Node) *jacobi.Node { return y.Mul(x).Sin().Sum() }, x)
		}, Shape: s, Ref: ew(func(a float64) float64 { return a * math.Cos(a*a) })},
		{Name: "jvp_vjp_of", F: func(x *jacobi.Node) *jacobi.Node {
			f := func(y *jacobi.Node) *jacobi.Node { return y.Tanh().Mul(x.Sin()) }
			_, jv := jacobi.JVPOf(f, x, x.Cos())
			_, vj := jacobi.VJPOf(f, x, x.Exp())
			return jv.Add(vj)
		}, Shape: s, Ref: ew(func(a float64) float64 {
			d := (1 - math.Tanh(a)*math.Tanh(a)) * math.Sin(a)
			return d*math.Cos(a) + d*math.Exp(a)
		})},
		{Name: "constant_and_scalar", F: func(x *jacobi.Node) *jacobi.Node {
			return x.Mul(jacobi.Const(cmat)).Add(jacobi.Scalar(2)).Log()
		}, Shape: s, Domain: fdcheck.Domain{Lo: 0.1, Hi: 1}, Ref: func(in []float64) []float64 {
			out := make([]float64, 6)
			for i := range out {
				out[i] = math.Log(in[i]*cmat.Data()[i] + 2)
			}
			return out
		}},
	}
}

// TestNodePrimitives checks the primitives as the public API records them
// (numpy broadcasting, relu/abs/max/min/clip/where, vector matmul, means).
func TestNodePrimitives(t *testing.T) {
	rng := tensor.NewRand(2)
	for _, c := range nodeCases() {
		t.Run(c.Name, func(t *testing.T) { fdcheck.CheckFn(t, c, rng) })
	}
}

// TestKinkConventions checks the derivatives the doc comments promise at
// the kinks: relu' = 0 at 0, abs' = +1 at 0, max and min follow their
// first operand on ties, so clip has derivative 1 at its bounds.
func TestKinkConventions(t *testing.T) {
	cases := []struct {
		name string
		f    jacobi.Fn
		x    []float64
		want []float64
	}{
		{"relu", func(x *jacobi.Node) *jacobi.Node { return x.Relu().Sum() }, []float64{0, 1, -1}, []float64{0, 1, 0}},
		{"abs", func(x *jacobi.Node) *jacobi.Node { return x.Abs().Sum() }, []float64{0, 2, -2}, []float64{1, 1, -1}},
		{"maximum tie", func(x *jacobi.Node) *jacobi.Node { return jacobi.Maximum(x.Slice(0, 0, 1), x.Slice(0, 1, 2)).Sum() }, []float64{1, 1}, []float64{1, 0}},
		{"minimum tie", func(x *jacobi.Node) *jacobi.Node { return jacobi.Minimum(x.Slice(0, 0, 1), x.Slice(0, 1, 2)).Sum() }, []float64{1, 1}, []float64{1, 0}},
		{"clip", func(x *jacobi.Node) *jacobi.Node { return x.Clip(-1, 1).Sum() }, []float64{-1, 1, 2, -2, 0.5}, []float64{1, 1, 0, 0, 1}},
	}
	for _, c := range cases {
		x := tensor.MustNew([]int{len(c.x)}, c.x)
		g, err := jacobi.Grad(c.f, x)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fdcheck.Compare(t, c.name+" gradient at its kinks", g.Data(), c.want, []int{len(c.x)}, fdcheck.Tol{})
	}
}
