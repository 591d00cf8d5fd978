package transform_test

import (
	"math"
	"slices"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

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
		{"x + 0", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Add{}, x, op.Zeros(b, tensor.Float64, s23)) }, []string{"add"}, nil},
		{"0 + x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Add{}, op.Zeros(b, tensor.Float64, s23), x) }, []string{"add"}, nil},
		{"x - 0", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Sub{}, x, op.Zeros(b, tensor.Float64, s23)) }, []string{"sub"}, nil},
		{"0 - x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Sub{}, op.Zeros(b, tensor.Float64, s23), x) }, []string{"sub"}, map[string]int{"neg": 1}},
		{"x * 1", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Mul{}, x, op.Full(b, 1, tensor.Float64, s23)) }, []string{"mul"}, nil},
		{"x * 0", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Mul{}, op.Zeros(b, tensor.Float64, s23), b.Emit(op.Exp{}, x))
		}, []string{"mul", "exp"}, nil},
		{"0 / x", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Div{}, op.Zeros(b, tensor.Float64, s23), x) }, []string{"div"}, nil},
		{"x / 1", func(b *ir.Builder, x *ir.Var) *ir.Var { return b.Emit(op.Div{}, x, op.Full(b, 1, tensor.Float64, s23)) }, []string{"div"}, nil},
		{"matmul by 0", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.MatMul{}, x, op.Zeros(b, tensor.Float64, []int{3, 4}))
		}, []string{"matmul"}, nil},
		{"structural ops of 0", func(b *ir.Builder, x *ir.Var) *ir.Var {
			z := op.Zeros(b, tensor.Float64, []int{3, 2})
			z = b.Emit(op.Neg{}, b.Emit(op.Transpose{Perm: []int{1, 0}}, z))
			z = b.Emit(op.Pad{Lo: []int{0, 1}, Hi: []int{0, 0}}, b.Emit(op.Slice{Start: []int{0, 1}, Limit: []int{2, 3}}, z))
			z = b.Emit(op.Reshape{Shape: []int{3, 2}}, z)
			z = b.Emit(op.ReduceSum{Axes: []int{0}}, b.Emit(op.Broadcast{Shape: []int{2, 3, 2}, Dims: []int{1, 2}}, z))
			return b.Emit(op.Add{}, x, b.Emit(op.Reshape{Shape: s23}, z))
		}, []string{"add", "neg", "transpose", "pad", "slice", "reduce_sum"}, nil},
		{"common subexpressions", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Add{}, b.Emit(op.Exp{}, x), b.Emit(op.Exp{}, x))
		}, nil, map[string]int{"exp": 1}},
		{"equal constants from two traces", func(b *ir.Builder, x *ir.Var) *ir.Var {
			// Two tensors with the same values (not the same pointer), and
			// two folds that give equal values: each pair is one constant,
			// so the products that read them are one product.
			v := []float64{1, 2, 3, 4, 5, 6}
			c1, c2 := op.Const(b, tensor.MustNew(s23, v)), op.Const(b, tensor.MustNew(s23, slices.Clone(v)))
			row := []float64{2, -1, 0.5}
			f1 := b.Emit(op.Broadcast{Shape: s23, Dims: []int{1}}, op.Const(b, tensor.MustNew([]int{3}, row)))
			f2 := b.Emit(op.Broadcast{Shape: s23, Dims: []int{1}}, op.Const(b, tensor.MustNew([]int{3}, slices.Clone(row))))
			return b.Emit(op.Add{}, b.Emit(op.Mul{}, b.Emit(op.Mul{}, x, c1), f1), b.Emit(op.Mul{}, b.Emit(op.Mul{}, x, c2), f2))
		}, nil, map[string]int{"mul": 2, "constant": 2}},
		{"constants that differ only in the sign of zero", func(b *ir.Builder, x *ir.Var) *ir.Var {
			// 1/(x·(+0)) and 1/(x·(−0)) differ: the constants stay apart.
			pz := op.Const(b, tensor.MustNew(s23, []float64{0, 1, 1, 1, 1, 1}))
			nz := op.Const(b, tensor.MustNew(s23, []float64{math.Copysign(0, -1), 1, 1, 1, 1, 1}))
			return b.Emit(op.Add{}, b.Emit(op.Mul{}, x, pz), b.Emit(op.Mul{}, x, nz))
		}, nil, map[string]int{"mul": 2, "constant": 2}},
		{"constant folding", func(b *ir.Builder, x *ir.Var) *ir.Var {
			c := b.Emit(op.Exp{}, op.Const(b, tensor.MustNew(s23, []float64{1, 2, 3, 4, 5, 6})))
			return b.Emit(op.Mul{}, x, b.Emit(op.Add{}, c, c))
		}, []string{"exp", "add"}, map[string]int{"mul": 1}},
		{"dead code", func(b *ir.Builder, x *ir.Var) *ir.Var {
			b.Emit(op.Sin{}, x)
			return b.Emit(op.Cos{}, x)
		}, []string{"sin"}, nil},
		{"select of equal branches", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, x, op.Zeros(b, tensor.Float64, s23)), x, x)
		}, []string{"select", "compare"}, nil},
		{"select on a constant predicate", func(b *ir.Builder, x *ir.Var) *ir.Var {
			return b.Emit(op.Select{}, op.Full(b, 1, tensor.Float64, s23), b.Emit(op.Sin{}, x), b.Emit(op.Cos{}, x))
		}, []string{"select", "cos"}, nil},
		{"functions of filled constants", func(b *ir.Builder, x *ir.Var) *ir.Var {
			z, one := op.Zeros(b, tensor.Float64, s23), op.Full(b, 1, tensor.Float64, s23)
			sum := x
			for _, p := range []ir.Primitive{op.Exp{}, op.Cos{}, op.Sigmoid{}, op.Erf{}, op.Sin{}, op.Tanh{}, op.IntPow{N: 0}, op.Neg{}} {
				sum = b.Emit(op.Add{}, sum, b.Emit(p, z))
			}
			for _, p := range []ir.Primitive{op.Log{}, op.Sqrt{}, op.IntPow{N: -3}, op.Neg{}} {
				sum = b.Emit(op.Add{}, sum, b.Emit(p, one))
			}
			return b.Emit(op.Add{}, sum, b.Emit(op.Div{}, one, op.Full(b, 4, tensor.Float64, s23)))
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
