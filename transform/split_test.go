package transform_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
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
