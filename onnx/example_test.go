package onnx_test

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
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

// The per-sample Laplacian of a network defined in Go, as an ONNX model
// that runs on batches of any size.
func ExampleExportCompiled() {
	mlp, err := nn.RandomMLP(tensor.NewRand(1), []int{2, 32, 32, 1}, "tanh")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(mlp.Apply, x) }, []int{2})
	if err != nil {
		fmt.Println(err)
		return
	}
	model, err := onnx.ExportCompiled(c, onnx.InputNames("points"), onnx.OutputNames("laplacian"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// onnx.WriteFile("laplacian.onnx", model) saves it.
	info, err := onnx.Inspect(model)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("opset", info.Opset, info.Inputs, "->", info.Outputs)
	// Output:
	// opset 17 [points: double (batch, 2)] -> [laplacian: double (batch, 1)]
}

// A training step — a mean squared error over the batch and its gradients
// with respect to the network's parameters — as an ONNX model: -1 stands
// for the batch size, which the model divides by at run time.
func ExampleExportFunc() {
	mlp, err := nn.RandomMLP(tensor.NewRand(1), []int{2, 16, 1}, "tanh")
	if err != nil {
		fmt.Println(err)
		return
	}
	np := len(mlp.Params()) // W0, b0, W1, b1
	step := func(in []*jacobi.Node) []*jacobi.Node {
		loss, grads := jacobi.ValueAndGradOf(func(in []*jacobi.Node) *jacobi.Node {
			params, x, y := in[:np], in[np], in[np+1]
			return nn.MSE(mlp.ApplyWith(params, x), y)
		}, in)
		return append([]*jacobi.Node{loss}, grads[:np]...)
	}
	model, err := onnx.ExportFunc(step, [][]int{{16, 2}, {16}, {1, 16}, {1}, {-1, 2}, {-1, 1}},
		onnx.InputNames("w0", "b0", "w1", "b1", "x", "y"),
		onnx.OutputNames("loss", "grad_w0", "grad_b0", "grad_w1", "grad_b1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := onnx.Inspect(model)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Inputs[4], info.Inputs[5])
	fmt.Println(info.Outputs[0], info.Outputs[1])
	// Output:
	// x: double (batch, 2) y: double (batch, 1)
	// loss: double () grad_w0: double (16, 2)
}
