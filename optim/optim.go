// Package optim minimises a loss over a list of parameter tensors: Adam,
// AdamW and SGD (with PyTorch's update rules and defaults), L-BFGS with a
// strong-Wolfe line search (gonum's optimize package), learning-rate
// schedules, and a training loop that stops on a step count or a
// tolerance, shows its progress and records the loss history.
//
// Parameters are updated in place, so a network whose weights are the
// parameters (nn.MLP.Params) is trained without copying. The loss and its
// gradients come from an Objective, usually a jacobi.Traced step that
// returns the loss and the gradient of every parameter (see FromTraced).
//
// Bad input is an error, not a silent divergence: gradients whose number
// or shapes do not match the parameters, a NaN or infinite loss, a
// non-finite gradient element (named by parameter and index). A step that
// fails leaves the parameters as they were.
package optim

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Objective evaluates the loss at the parameters' current values and
// writes its gradient with respect to every parameter into grads (one
// tensor per parameter, shaped like it).
type Objective func(grads []*tensor.Tensor) (loss float64, err error)

// Optimizer is a first-order method: each Step updates the parameters in
// place from their gradients.
type Optimizer interface {
	// Params returns the parameters the optimizer updates.
	Params() []*tensor.Tensor
	// Step updates the parameters from the gradients (one per parameter,
	// shaped like it). On error the parameters are unchanged.
	Step(grads []*tensor.Tensor) error
	// LR returns the learning rate.
	LR() float64
	// SetLR changes the learning rate (as a schedule does).
	SetLR(lr float64)
}

// checkParams rejects a parameter list that is empty or holds nil or
// float32 tensors (the optimizers update float64 parameters).
func checkParams(name string, params []*tensor.Tensor) error {
	if len(params) == 0 {
		return fmt.Errorf("optim: %s: no parameters", name)
	}
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("optim: %s: parameter %d is nil", name, i)
		}
		if p.DType() != tensor.Float64 {
			return fmt.Errorf("optim: %s: parameter %d is %v; the optimizers train float64 parameters (Convert(tensor.Float64), or nn.MLP.Convert)", name, i, p.DType())
		}
	}
	return nil
}

// checkGrads checks that grads match params in number and shape and hold
// only finite values.
func checkGrads(params, grads []*tensor.Tensor) error {
	if len(grads) != len(params) {
		return fmt.Errorf("%d gradients for %d parameters", len(grads), len(params))
	}
	for i, g := range grads {
		if g == nil {
			return fmt.Errorf("the gradient of parameter %d is nil", i)
		}
		if !tensor.SameShape(g.Shape(), params[i].Shape()) {
			return fmt.Errorf("the gradient of parameter %d has shape %v, the parameter %v", i, g.Shape(), params[i].Shape())
		}
		if g.DType() != tensor.Float64 {
			return fmt.Errorf("the gradient of parameter %d is %v; the optimizers take float64 gradients", i, g.DType())
		}
		if err := finite(g.Data()); err != nil {
			return fmt.Errorf("the gradient of parameter %d %w", i, err)
		}
	}
	return nil
}

func finite(d []float64) error {
	for k, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("is %v at element %d", v, k)
		}
	}
	return nil
}

// zerosLike returns one zero tensor per parameter, shaped like it.
func zerosLike(params []*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		out[i] = tensor.Zeros(p.Shape()...)
	}
	return out
}

// ZerosLike returns one zero tensor per parameter, shaped like it: buffers
// for an Objective's gradients.
func ZerosLike(params []*tensor.Tensor) []*tensor.Tensor { return zerosLike(params) }

func checkRate(name string, lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: %s: learning rate %v, want a positive finite number", name, lr)
	}
	return nil
}
