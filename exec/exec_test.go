package exec_test

import (
	"math"
	"slices"
	"testing"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// reference evaluates p one equation at a time with the primitives' own
// Eval on contiguous tensors: no views, no slab.
func reference(t *testing.T, p *ir.Program, in []*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	env := map[*ir.Var]*tensor.Tensor{}
	for i, v := range p.In {
		env[v] = in[i]
	}
	for _, e := range p.Eqns {
		args := make([]*tensor.Tensor, len(e.In))
		for i, v := range e.In {
			args[i] = env[v]
		}
		out, err := e.Prim.(op.Evaluator).Eval(args)
		if err != nil {
			t.Fatal(err)
		}
		env[e.Out] = out
	}
	outs := make([]*tensor.Tensor, len(p.Out))
	for i, v := range p.Out {
		outs[i] = env[v]
	}
	return outs
}

// Each case builds a program whose values take the runtime's layout paths:
// transposed and broadcast operands of matmul, reshapes of strided views,
// reductions over permuted axes, slices feeding elementwise work, and many
// short-lived buffers that the slab must place without overlap.
var layoutCases = []struct {
	name   string
	shapes [][]int
	build  func(b *ir.Builder, in []*ir.Var) []*ir.Var
}{
	{"matmul of transposed operands", [][]int{{5, 3}, {4, 5}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		at := b.Emit(op.Transpose{Perm: []int{1, 0}}, in[0]) // (3,5) view
		bt := b.Emit(op.Transpose{Perm: []int{1, 0}}, in[1]) // (5,4) view
		return []*ir.Var{b.Emit(op.MatMul{}, at, bt)}
	}},
	{"matmul of a broadcast and a slice", [][]int{{3}, {6, 4}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		rows := b.Emit(op.Broadcast{Shape: []int{2, 3}, Dims: []int{1}}, in[0])
		w := b.Emit(op.Slice{Start: []int{1, 0}, Limit: []int{4, 4}}, in[1])
		return []*ir.Var{b.Emit(op.MatMul{}, rows, w)}
	}},
	{"batched matmul over a permuted stack", [][]int{{2, 3, 4}, {3, 4, 5}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := b.Emit(op.Transpose{Perm: []int{1, 0, 2}}, in[0]) // (3,2,4)
		return []*ir.Var{b.Emit(op.MatMul{}, x, in[1])}
	}},
	{"batched Gram products in place: Jᵀ as a view, tiny and Dgemm-sized", [][]int{{6, 3, 9}, {6, 8, 9}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		small := b.Emit(op.MatMul{}, in[0], b.Emit(op.Transpose{Perm: []int{0, 2, 1}}, in[0])) // (6,3,3): dot products
		large := b.Emit(op.MatMul{}, in[1], b.Emit(op.Transpose{Perm: []int{0, 2, 1}}, in[1])) // (6,8,8): Dgemm
		xt := b.Emit(op.Transpose{Perm: []int{0, 2, 1}}, in[0])                                // (6,9,3) view
		lhsT := b.Emit(op.MatMul{}, b.Emit(op.Transpose{Perm: []int{0, 2, 1}}, xt), xt)        // (6,3,3)
		return []*ir.Var{small, large, lhsT}
	}},
	{"batched products over a batch that does not collapse", [][]int{{2, 3, 2, 4}, {3, 2, 4, 2}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := b.Emit(op.Transpose{Perm: []int{1, 0, 2, 3}}, in[0]) // (3,2,2,4): batch axes (3,2) of strides (8,24)
		return []*ir.Var{b.Emit(op.MatMul{}, x, in[1])}
	}},
	{"reshape of a transposed view", [][]int{{3, 4}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := b.Emit(op.Transpose{Perm: []int{1, 0}}, in[0])
		return []*ir.Var{b.Emit(op.Reshape{Shape: []int{2, 6}}, x)}
	}},
	{"reductions over permuted and broadcast axes", [][]int{{2, 3, 4}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := b.Emit(op.Transpose{Perm: []int{2, 0, 1}}, in[0])
		y := b.Emit(op.Broadcast{Shape: []int{5, 4, 2, 3}, Dims: []int{1, 2, 3}}, x)
		return []*ir.Var{
			b.Emit(op.ReduceSum{Axes: []int{0, 2}}, y),
			b.Emit(op.ReduceSum{Axes: []int{1}}, x),
			b.Emit(op.ReduceSum{Axes: []int{0, 1, 2}}, x),
		}
	}},
	{"elementwise on strided rows", [][]int{{4, 3}, {3}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		xt := b.Emit(op.Transpose{Perm: []int{1, 0}}, in[0])                       // (3,4), rows strided
		c := b.Emit(op.Broadcast{Shape: []int{3, 4}, Dims: []int{0}}, in[1])       // stride 0 along rows
		s := b.Emit(op.Slice{Start: []int{0, 1}, Limit: []int{3, 3}}, xt)          // (3,2)
		c2 := b.Emit(op.Slice{Start: []int{0, 0}, Limit: []int{3, 2}}, c)          // (3,2)
		m := b.Emit(op.Mul{}, b.Emit(op.Tanh{}, s), c2)                            // strided × broadcast
		sel := b.Emit(op.Select{}, b.Emit(op.Compare{Op: op.GT}, s, c2), m, s)     // three operands
		return []*ir.Var{b.Emit(op.Add{}, xt, c), sel, b.Emit(op.IntPow{N: 3}, m)} // outputs that are views too
	}},
	{"long chain reusing the slab", [][]int{{8, 8}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := in[0]
		keep := x
		for i := 0; i < 20; i++ {
			// Scaled so that the chain does not amplify rounding: the
			// reference sums in another order (and arm64 fuses).
			y := b.Emit(op.Sin{}, x)
			step := b.Emit(op.Mul{}, b.Emit(op.MatMul{}, y, keep), op.Full(b, 0.125, tensor.Float64, []int{8, 8}))
			x = b.Emit(op.Add{}, step, x)
			if i == 10 {
				keep = b.Emit(op.Transpose{Perm: []int{1, 0}}, x)
			}
		}
		return []*ir.Var{x, keep}
	}},
	{"concat of strided slices, each copied before the one step that reads them all", [][]int{{2, 2, 4}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		z := op.Const(b, tensor.Zeros(2, 2, 1))
		padded := b.Emit(op.Concat{Axis: 2}, z, in[0], z) // (2, 2, 6)
		var windows []*ir.Var
		for k := range 3 {
			windows = append(windows, b.Emit(op.Slice{Start: []int{0, 0, k}, Limit: []int{2, 2, k + 4}}, padded))
		}
		return []*ir.Var{b.Emit(op.Concat{Axis: 2}, windows...)}
	}},
	{"sums of short rows: over a middle axis, the leading one, and axes of size 1", [][]int{{7, 3, 20}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		x := in[0]
		ones := b.Emit(op.Reshape{Shape: []int{21, 1, 20}}, b.Emit(op.Tanh{}, x))
		view := b.Emit(op.ReduceSum{Axes: []int{1}}, ones) // (21, 20): a view
		return []*ir.Var{
			b.Emit(op.ReduceSum{Axes: []int{1}}, x),
			b.Emit(op.ReduceSum{Axes: []int{0}}, x),
			b.Emit(op.Exp{}, view),
			view,
		}
	}},
	{"elementwise work across axes of size 1 and views of its values", [][]int{{6, 20}, {20}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		a := b.Emit(op.Tanh{}, in[0])                                                                 // (6, 20)
		r := b.Emit(op.Reshape{Shape: []int{6, 1, 20}}, a)                                            // a view of a
		m := b.Emit(op.Mul{}, r, b.Emit(op.Broadcast{Shape: []int{6, 1, 20}, Dims: []int{2}}, in[1])) // (6, 1, 20)
		s := b.Emit(op.ReduceSum{Axes: []int{1}}, m)                                                  // (6, 20): a view of m
		o := b.Emit(op.Add{}, s, a)
		tr := b.Emit(op.Transpose{Perm: []int{1, 0}}, o) // a view that is not the group's order
		q := b.Emit(op.Mul{}, b.Emit(op.Transpose{Perm: []int{1, 0}}, tr), o)
		return []*ir.Var{q, m, b.Emit(op.Sin{}, tr)}
	}},
	{"pad and concat fall back to Eval", [][]int{{2, 3}}, func(b *ir.Builder, in []*ir.Var) []*ir.Var {
		t := b.Emit(op.Transpose{Perm: []int{1, 0}}, in[0])
		p := b.Emit(op.Pad{Lo: []int{1, 0}, Hi: []int{0, 2}}, t)
		return []*ir.Var{b.Emit(op.Concat{Axis: 1}, p, b.Emit(op.Exp{}, p))}
	}},
}

func TestPlanMatchesReference(t *testing.T) {
	for _, c := range layoutCases {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder(nil)
			in := make([]*ir.Var, len(c.shapes))
			args := make([]*tensor.Tensor, len(c.shapes))
			for i, s := range c.shapes {
				in[i] = b.Input(s)
				args[i] = tensor.Uniform(tensor.NewRand(uint64(i+1)), -1, 1, s...)
			}
			p, err := b.Build(c.build(b, in)...)
			if err != nil {
				t.Fatal(err)
			}
			want := reference(t, p, args)
			pl, err := exec.Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 2; round++ { // the second run reuses a pooled slab
				got, err := pl.Run(args)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if !tensor.SameShape(got[i].Shape(), want[i].Shape()) {
						t.Fatalf("output %d: shape %v, want %v", i, got[i].Shape(), want[i].Shape())
					}
					for j, v := range got[i].Data() {
						if w := want[i].Data()[j]; math.Abs(v-w) > 1e-12*(1+math.Abs(w)) {
							t.Fatalf("run %d, output %d, element %d: %g, want %g", round, i, j, v, w)
						}
					}
				}
			}
		})
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	b := ir.NewBuilder(nil)
	x := b.Input([]int{2, 3})
	p, err := b.Build(b.Emit(op.Exp{}, x))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := exec.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Run([]*tensor.Tensor{tensor.Zeros(3, 2, 1)}); err == nil {
		t.Error("an input of the wrong size was accepted")
	}
	if _, err := pl.Run(nil); err == nil {
		t.Error("missing inputs were accepted")
	}
	if _, err := pl.Run([]*tensor.Tensor{nil}); err == nil {
		t.Error("a nil input was accepted")
	}
}

// randomLayoutProgram builds a random program of views and copies —
// transposes, slices, broadcasts, reshapes, concats, pads, reductions,
// products — with elementwise work between them, the mix in which the
// runtime's layouts, fused groups and slab placement must agree with the
// primitives' own evaluation.
func randomLayoutProgram(seed uint64) (*ir.Program, []*tensor.Tensor) {
	rng := tensor.NewRand(seed)
	b := ir.NewBuilder(nil)
	randShape := func() []int {
		s := make([]int, 1+rng.IntN(3))
		for i := range s {
			s[i] = 1 + rng.IntN(5)
		}
		return s
	}
	var vars []*ir.Var
	var args []*tensor.Tensor
	for range 1 + rng.IntN(2) {
		s := randShape()
		vars = append(vars, b.Input(s))
		args = append(args, tensor.Uniform(rng, -1, 1, s...))
	}
	pick := func() *ir.Var { return vars[rng.IntN(len(vars))] }
	for len(vars) < 24 {
		x := pick()
		s, r := x.Shape, x.Rank()
		var y *ir.Var
		switch rng.IntN(11) {
		case 0:
			y = b.Emit([]ir.Primitive{op.Tanh{}, op.Neg{}, op.Sin{}}[rng.IntN(3)], x)
		case 1: // with another value of the same shape, or x itself
			other := x
			for _, v := range vars {
				if tensor.SameShape(v.Shape, s) && rng.IntN(2) == 0 {
					other = v
				}
			}
			y = b.Emit([]ir.Primitive{op.Add{}, op.Sub{}, op.Mul{}}[rng.IntN(3)], x, other)
		case 2:
			y = b.Emit(op.Transpose{Perm: rng.Perm(r)}, x)
		case 3:
			lo, hi := make([]int, r), slices.Clone(s)
			a := rng.IntN(r)
			lo[a] = rng.IntN(s[a])
			hi[a] = lo[a] + 1 + rng.IntN(s[a]-lo[a])
			y = b.Emit(op.Slice{Start: lo, Limit: hi}, x)
		case 4: // a new axis
			if r == 3 {
				continue
			}
			a := rng.IntN(r + 1)
			dims := make([]int, r)
			for i := range dims {
				dims[i] = i
				if i >= a {
					dims[i]++
				}
			}
			y = b.Emit(op.Broadcast{Shape: slices.Insert(slices.Clone(s), a, 1+rng.IntN(4)), Dims: dims}, x)
		case 5:
			shape := []int{tensor.Size(s)}
			if rng.IntN(2) == 0 {
				shape = slices.Clone(s)
				slices.Reverse(shape)
			}
			y = b.Emit(op.Reshape{Shape: shape}, x)
		case 6: // x between two (strided) slices of itself
			a := rng.IntN(r)
			lo, hi := make([]int, r), slices.Clone(s)
			lo[a] = rng.IntN(s[a])
			head := b.Emit(op.Slice{Start: lo, Limit: hi}, x)
			lo, hi = make([]int, r), slices.Clone(s)
			hi[a] = 1 + rng.IntN(s[a])
			tail := b.Emit(op.Slice{Start: lo, Limit: hi}, x)
			y = b.Emit(op.Concat{Axis: a}, head, x, tail)
		case 7:
			lo, hi := make([]int, r), make([]int, r)
			a := rng.IntN(r)
			lo[a], hi[a] = rng.IntN(3), rng.IntN(3)
			y = b.Emit(op.Pad{Lo: lo, Hi: hi}, x)
		case 8:
			y = b.Emit(op.ReduceSum{Axes: []int{rng.IntN(r)}}, x)
			if y.Rank() == 0 {
				y = b.Emit(op.Reshape{Shape: []int{1}}, y)
			}
		case 9: // times a matrix, on the last axis
			if r < 2 {
				continue
			}
			y = b.Emit(op.MatMul{}, x, op.Const(b, tensor.Uniform(rng, -1, 1, s[r-1], 1+rng.IntN(4))))
		case 10: // by the transpose of itself
			if r != 2 {
				continue
			}
			y = b.Emit(op.MatMul{}, x, b.Emit(op.Transpose{Perm: []int{1, 0}}, x))
		}
		if tensor.Size(y.Shape) > 4096 {
			continue
		}
		vars = append(vars, y)
	}
	outs := []*ir.Var{vars[len(vars)-1]}
	for range 3 {
		outs = append(outs, vars[len(args)+rng.IntN(len(vars)-len(args))])
	}
	p, err := b.Build(outs...)
	if err != nil {
		panic(err)
	}
	return p, args
}

// Random programs of views, copies and elementwise work run as the
// primitives' own evaluation says, twice (the second run on a reused slab).
func TestRandomLayouts(t *testing.T) {
	for seed := range uint64(2000) {
		p, args := randomLayoutProgram(seed)
		want := reference(t, p, args)
		pl, err := exec.Compile(p)
		if err != nil {
			t.Fatalf("seed %d: %v\n%v", seed, err, p)
		}
		for round := range 2 {
			got, err := pl.Run(args)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			for i := range want {
				for j, v := range got[i].Data() {
					if w := want[i].Data()[j]; math.Abs(v-w) > 1e-12*(1+math.Abs(w)) {
						t.Fatalf("seed %d, run %d, output %d, element %d: %g, want %g\n%v", seed, round, i, j, v, w, p)
					}
				}
			}
		}
	}
}
