package optim

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Loss is a training loss traced by jacobi: a single-element function of
// the parameters and of data (collocation points, targets).
type Loss func(params, data []*jacobi.Node) *jacobi.Node

// NewObjective traces the loss and its gradient with respect to the
// parameters once (jacobi.Trace of jacobi.ValueAndGradOf) and returns the
// Objective that runs it on the parameters' current values and the data,
// with the traced step for inspection. When the loss treats the samples of
// the data one by one except for sums over them (a mean over collocation
// points), every run computes the per-sample work in cache-sized chunks,
// one per core (see jacobi.Trace).
func NewObjective(loss Loss, params []*tensor.Tensor, data ...*tensor.Tensor) (Objective, *jacobi.Traced, error) {
	if loss == nil {
		return nil, nil, fmt.Errorf("optim: NewObjective: nil loss")
	}
	if err := checkParams("NewObjective", params); err != nil {
		return nil, nil, err
	}
	np := len(params)
	shapes := make([][]int, 0, np+len(data))
	for _, t := range append(append([]*tensor.Tensor{}, params...), data...) {
		if t == nil {
			return nil, nil, fmt.Errorf("optim: NewObjective: nil data tensor")
		}
		shapes = append(shapes, t.Shape())
	}
	step, err := jacobi.Trace(func(in []*jacobi.Node) []*jacobi.Node {
		d := in[np:]
		v, g := jacobi.ValueAndGradOf(func(ps []*jacobi.Node) *jacobi.Node { return loss(ps, d) }, in[:np])
		return append([]*jacobi.Node{v}, g...)
	}, shapes)
	if err != nil {
		return nil, nil, fmt.Errorf("optim: tracing the loss: %w", err)
	}
	return FromTraced(step, params, data...), step, nil
}

// FromTraced returns the Objective of a traced training step that takes
// the parameters followed by the data and returns the loss followed by
// the gradient of every parameter.
func FromTraced(step *jacobi.Traced, params []*tensor.Tensor, data ...*tensor.Tensor) Objective {
	in := append(append([]*tensor.Tensor{}, params...), data...)
	return func(grads []*tensor.Tensor) (float64, error) {
		out, err := step.Run(in...)
		if err != nil {
			return 0, err
		}
		if len(out) != 1+len(params) || len(grads) != len(params) {
			return 0, fmt.Errorf("the step returns %d values and is given %d gradient buffers for %d parameters; want the loss and one gradient per parameter", len(out), len(grads), len(params))
		}
		if out[0].Len() != 1 {
			return 0, fmt.Errorf("the loss has shape %v, want a single element", out[0].Shape())
		}
		for i, g := range out[1:] {
			if !tensor.SameShape(g.Shape(), grads[i].Shape()) {
				return 0, fmt.Errorf("the step's gradient %d has shape %v, the parameter %v", i, g.Shape(), grads[i].Shape())
			}
			copy(grads[i].Data(), g.Data())
		}
		return out[0].Data()[0], nil
	}
}
