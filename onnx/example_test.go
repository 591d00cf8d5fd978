package onnx_test

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Per-sample Jacobians of a model exported with torch.onnx.export.
func Example() {
	m, err := onnx.Load("../testdata/models/mlp/model.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := m.Fn([]int{5}) // samples of 5 features
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.Randn(tensor.NewRand(0), 32, 5)
	j, err := jacobi.BatchJacobian(f, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Input, m.InputShape, "->", m.Output, m.OutputShape)
	fmt.Println(j.Shape())
	// Output:
	// x [batch 5] -> y [batch 10]
	// [32 10 5]
}
