package jacobi_test

import (
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// TestNodeValue checks that constants carry their value through
// operations, and that traced and failed nodes have none.
func TestNodeValue(t *testing.T) {
	x := jacobi.Const(tensor.MustNew([]int{2}, []float64{1, 4}))
	v, ok := x.Sqrt().Add(jacobi.Scalar(1)).Value()
	if !ok || v.Data()[0] != 2 || v.Data()[1] != 3 {
		t.Errorf("sqrt(x) + 1 = %v (%v), want [2 3]", v, ok)
	}
	bad := x.Add(jacobi.Const(tensor.Zeros(3)))
	if _, ok := bad.Value(); ok || bad.Err() == nil {
		t.Errorf("a failed constant has a value (error %v)", bad.Err())
	}
	traced := false
	_, err := jacobi.Eval(func(x *jacobi.Node) *jacobi.Node {
		_, ok := x.Value()
		traced = !ok
		return x
	}, tensor.Zeros(2, 1))
	if err != nil || !traced {
		t.Errorf("a traced node has a value (err %v)", err)
	}
}
