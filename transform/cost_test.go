package transform_test

import (
	"testing"

	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/transform"
)

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
