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
// the gradient of every parameter. The step writes the gradients straight
// into the objective's buffers (Traced.RunInto): once the first run has
// compiled what it needs, an evaluation allocates nothing.
func FromTraced(step *jacobi.Traced, params []*tensor.Tensor, data ...*tensor.Tensor) Objective {
	in := append(append([]*tensor.Tensor{}, params...), data...)
	shapes := step.OutShapes()
	// The loss's buffer, in the step's shape for it, made once: a run
	// allocates nothing.
	var loss *tensor.Tensor
	if len(shapes) > 0 && tensor.Size(shapes[0]) == 1 {
		loss = tensor.Zeros(shapes[0]...)
	}
	out := make([]*tensor.Tensor, len(shapes))
	return func(grads []*tensor.Tensor) (float64, error) {
		if len(shapes) != 1+len(params) || len(grads) != len(params) {
			return 0, fmt.Errorf("the step returns %d values and is given %d gradient buffers for %d parameters; want the loss and one gradient per parameter", len(shapes), len(grads), len(params))
		}
		if loss == nil {
			return 0, fmt.Errorf("the loss has shape %v, want a single element", shapes[0])
		}
		out[0] = loss
		for i, g := range grads {
			if g == nil || !tensor.SameShape(g.Shape(), shapes[1+i]) {
				return 0, fmt.Errorf("gradient buffer %d does not have the step's gradient shape %v", i, shapes[1+i])
			}
			out[1+i] = g
		}
		if err := step.RunInto(in, out); err != nil {
			return 0, err
		}
		return loss.Data()[0], nil
	}
}
