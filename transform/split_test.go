package transform_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// SplitSums refuses programs that do more than sum over their samples,
// naming the primitive.
func TestSplitSumsRefuses(t *testing.T) {
	const b = 6
	cases := []struct {
		name  string
		build func(bl *ir.Builder, x *ir.Var) *ir.Var // x: (b, 4)
		prim  string                                  // the primitive named, "" for an error that is not a mix
	}{
		{"per-sample work after a sum", func(bl *ir.Builder, x *ir.Var) *ir.Var {
			mean := bl.Emit(op.ReduceSum{Axes: []int{0}}, x)
			return bl.Emit(op.Sub{}, x, bl.Emit(op.Broadcast{Shape: []int{b, 4}, Dims: []int{1}}, mean))
		}, "sub"},
		{"merged rows read other than by a sum", func(bl *ir.Builder, x *ir.Var) *ir.Var {
			r := bl.Emit(op.Reshape{Shape: []int{b * 2, 2}}, bl.Emit(op.Reshape{Shape: []int{b, 2, 2}}, x))
			return bl.Emit(op.ReduceSum{Axes: []int{1}}, bl.Emit(op.Tanh{}, r))
		}, "tanh"},
		{"samples selected", func(bl *ir.Builder, x *ir.Var) *ir.Var {
			return bl.Emit(op.Slice{Start: []int{0, 0}, Limit: []int{2, 4}}, x)
		}, "slice"},
		{"samples along axis 1 of an output", func(bl *ir.Builder, x *ir.Var) *ir.Var {
			return bl.Emit(op.Transpose{Perm: []int{1, 0}}, x)
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bl := ir.NewBuilder(nil)
			x := bl.Input([]int{b, 4})
			p, err := bl.Build(c.build(bl, x))
			if err != nil {
				t.Fatal(err)
			}
			_, err = transform.SplitSums(p, []bool{true})
			var me *op.MixError
			switch {
			case err == nil:
				t.Fatal("split, want an error")
			case c.prim != "" && (!errors.As(err, &me) || me.Prim != c.prim):
				t.Fatalf("error %q, want a mix error naming %s", err, c.prim)
			case c.prim == "" && !strings.Contains(err.Error(), "axis 1"):
				t.Fatalf("error %q, want one naming the axis", err)
			}
		})
	}
}

// rowsOf returns rows lo…hi-1 (axis 0) of t.
func rowsOf(t *tensor.Tensor, lo, hi int) *tensor.Tensor {
	s := append([]int{hi - lo}, t.Shape()[1:]...)
	row := t.Len() / t.Shape()[0]
	return tensor.MustNew(s, append([]float64{}, t.Data()[lo*row:hi*row]...))
}

// runSplit runs s over x's samples in the chunks [0, cut) and [cut, b):
// the chunks' parts of the sums added, the tail on them, the rows of the
// batched outputs stacked.
func runSplit(t *testing.T, s *transform.SumSplit, in []*tensor.Tensor, cut int) []*tensor.Tensor {
	t.Helper()
	b := 0
	for i, x := range in {
		if s.Batched[i] {
			b = x.Shape()[0]
		}
	}
	var sums []*tensor.Tensor
	rows := map[int][]*tensor.Tensor{}
	for _, c := range [][2]int{{0, cut}, {cut, b}} {
		p, err := s.Chunk(c[1] - c[0])
		if err != nil {
			t.Fatal(err)
		}
		var args []*tensor.Tensor
		for i, x := range in {
			if s.Batched[i] {
				x = rowsOf(x, c[0], c[1])
			}
			args = append(args, x)
		}
		outs := fdcheck.Run(t, p, args...)
		for k := range s.Sums {
			if len(sums) <= k {
				sums = append(sums, outs[k])
				continue
			}
			sum, err := tensor.Add(sums[k], outs[k])
			if err != nil {
				t.Fatal(err)
			}
			sums[k] = sum
		}
		for k, o := range outs[len(s.Sums):] {
			rows[k] = append(rows[k], o)
		}
	}
	var tailIn []*tensor.Tensor
	for i, x := range in {
		if !s.Batched[i] {
			tailIn = append(tailIn, x)
		}
	}
	tail := fdcheck.Run(t, s.Tail, append(tailIn, sums...)...)
	nterms := len(s.Head.Out) - len(rows)
	var res []*tensor.Tensor
	for _, o := range s.Out {
		if !o.Head {
			res = append(res, tail[o.Index])
			continue
		}
		r, err := tensor.Concat(0, rows[o.Index-nterms]...)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	return res
}

// Reshapes that keep each sample's elements together — merging the batch
// with the axes after it, with a per-sample reshape folded in ((b, 1, 2) ->
// (2b, 1), as Simplify leaves the gradient of a Taylor program's product
// with shared weights), and back to one row per sample — split, and the
// split program computes what the whole one does.
func TestSplitSumsReshapes(t *testing.T) {
	const b = 6
	cases := []struct {
		name  string
		build func(bl *ir.Builder, x, w *ir.Var) []*ir.Var // x: (b, 4), w: (3, 2) shared
	}{
		{"(b, 1, 4) -> (4b, 1), summed", func(bl *ir.Builder, x, w *ir.Var) []*ir.Var {
			r := bl.Emit(op.Reshape{Shape: []int{4 * b, 1}}, bl.Emit(op.Tanh{}, bl.Emit(op.Reshape{Shape: []int{b, 1, 4}}, x)))
			return []*ir.Var{bl.Emit(op.ReduceSum{Axes: []int{0}}, r)}
		}},
		{"a product over (2b) rows with a per-sample reshape folded in", func(bl *ir.Builder, x, w *ir.Var) []*ir.Var {
			h := bl.Emit(op.Tanh{}, bl.Emit(op.MatMul{}, bl.Emit(op.Reshape{Shape: []int{b, 2, 2}}, x), bl.Emit(op.Transpose{Perm: []int{1, 0}}, w))) // (b, 2, 3)
			a := bl.Emit(op.Reshape{Shape: []int{2 * b, 3}}, h)
			c := bl.Emit(op.Reshape{Shape: []int{2 * b, 2}}, bl.Emit(op.Reshape{Shape: []int{b, 1, 4}}, bl.Emit(op.Sin{}, x)))
			return []*ir.Var{bl.Emit(op.MatMul{}, bl.Emit(op.Transpose{Perm: []int{1, 0}}, a), c), h} // (3, 2) and the rows
		}},
		{"rows back to one per sample", func(bl *ir.Builder, x, w *ir.Var) []*ir.Var {
			r := bl.Emit(op.Reshape{Shape: []int{b, 4}}, bl.Emit(op.Reshape{Shape: []int{2 * b, 2}}, x))
			y := bl.Emit(op.Tanh{}, r)
			return []*ir.Var{y, bl.Emit(op.ReduceSum{Axes: []int{0, 1}}, y)}
		}},
	}
	rng := tensor.NewRand(3)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bl := ir.NewBuilder(nil)
			x, w := bl.Input([]int{b, 4}), bl.Input([]int{3, 2})
			p, err := bl.Build(c.build(bl, x, w)...)
			if err != nil {
				t.Fatal(err)
			}
			s, err := transform.SplitSums(p, []bool{true, false})
			if err != nil {
				t.Fatal(err)
			}
			in := []*tensor.Tensor{tensor.Randn(rng, b, 4), tensor.Randn(rng, 3, 2)}
			want := fdcheck.Run(t, p, in...)
			for _, cut := range []int{1, 4} {
				got := runSplit(t, s, in, cut)
				for i := range want {
					fdcheck.Compare(t, "split output", got[i].Data(), want[i].Data(), want[i].Shape(), fdcheck.Tight)
				}
			}
		})
	}
}
