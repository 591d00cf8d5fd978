package optim

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/tensor"
)

// SGDConfig holds the settings of stochastic gradient descent, as
// torch.optim.SGD's: the zero value of every field but LR is its default.
type SGDConfig struct {
	LR          float64 // learning rate (required)
	Momentum    float64 // momentum factor
	Dampening   float64 // dampening of the momentum
	WeightDecay float64 // L2 penalty added to the gradient
	Nesterov    bool    // Nesterov momentum (needs Momentum > 0 and no dampening)
}

// SGD is gradient descent with optional momentum, Nesterov momentum and
// weight decay, with torch.optim.SGD's update rule (the momentum buffer
// starts as the first gradient).
type SGD struct {
	cfg    SGDConfig
	params []*tensor.Tensor
	buf    []*tensor.Tensor // momentum buffers, nil before the first step
}

// NewSGD returns SGD over params (updated in place).
func NewSGD(params []*tensor.Tensor, cfg SGDConfig) (*SGD, error) {
	if err := checkParams("SGD", params); err != nil {
		return nil, err
	}
	if err := checkRate("SGD", cfg.LR); err != nil {
		return nil, err
	}
	for _, v := range []float64{cfg.Momentum, cfg.Dampening, cfg.WeightDecay} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("optim: SGD: momentum %v, dampening %v and weight decay %v must be finite and not negative", cfg.Momentum, cfg.Dampening, cfg.WeightDecay)
		}
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("optim: SGD: Nesterov momentum needs a positive momentum and zero dampening")
	}
	return &SGD{cfg: cfg, params: params}, nil
}

// Params returns the parameters SGD updates.
func (s *SGD) Params() []*tensor.Tensor { return s.params }

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.cfg.LR }

// SetLR changes the learning rate.
func (s *SGD) SetLR(lr float64) { s.cfg.LR = lr }

// Step updates the parameters from their gradients.
func (s *SGD) Step(grads []*tensor.Tensor) error {
	if err := checkGrads(s.params, grads); err != nil {
		return fmt.Errorf("optim: SGD: %w", err)
	}
	c := s.cfg
	first := s.buf == nil
	if c.Momentum != 0 && first {
		s.buf = zerosLike(s.params)
	}
	for i, p := range s.params {
		pd, gd := p.Data(), grads[i].Data()
		var bd []float64
		if c.Momentum != 0 {
			bd = s.buf[i].Data()
		}
		for k, g := range gd {
			if c.WeightDecay != 0 {
				g += c.WeightDecay * pd[k]
			}
			if c.Momentum != 0 {
				if first {
					bd[k] = g
				} else {
					bd[k] = bd[k]*c.Momentum + (1-c.Dampening)*g
				}
				if c.Nesterov {
					g += c.Momentum * bd[k]
				} else {
					g = bd[k]
				}
			}
			pd[k] += -c.LR * g
		}
	}
	return nil
}
