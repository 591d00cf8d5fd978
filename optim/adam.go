package optim

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/tensor"
)

// AdamConfig holds Adam's settings. Start from DefaultAdam or DefaultAdamW
// (PyTorch's defaults) and change what you need.
type AdamConfig struct {
	LR           float64 // learning rate
	Beta1, Beta2 float64 // decay rates of the first and second moment estimates
	Eps          float64 // added to the denominator's square root
	// WeightDecay is an L2 penalty added to the gradient (Adam), or with
	// Decoupled the rate at which parameters shrink, lr·WeightDecay a step
	// (AdamW, Loshchilov & Hutter 2019).
	WeightDecay float64
	Decoupled   bool
}

// DefaultAdam returns torch.optim.Adam's defaults: lr 1e-3, betas (0.9,
// 0.999), eps 1e-8, no weight decay.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// DefaultAdamW returns torch.optim.AdamW's defaults: Adam's, with
// decoupled weight decay 1e-2.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay, c.Decoupled = 1e-2, true
	return c
}

// Adam is the Adam optimizer (Kingma & Ba 2015) with bias correction, or
// AdamW when its config says Decoupled; each step computes exactly what
// torch.optim.Adam and AdamW (amsgrad off) compute, in the same order.
type Adam struct {
	cfg    AdamConfig
	params []*tensor.Tensor
	m, v   []*tensor.Tensor // first and second moment estimates
	t      int              // steps taken
}

// NewAdam returns Adam over params (updated in place) with the given
// settings.
func NewAdam(params []*tensor.Tensor, cfg AdamConfig) (*Adam, error) {
	name := "Adam"
	if cfg.Decoupled {
		name = "AdamW"
	}
	if err := checkParams(name, params); err != nil {
		return nil, err
	}
	if err := checkRate(name, cfg.LR); err != nil {
		return nil, err
	}
	for _, b := range []float64{cfg.Beta1, cfg.Beta2} {
		if !(b >= 0 && b < 1) {
			return nil, fmt.Errorf("optim: %s: betas (%v, %v), want each in [0, 1)", name, cfg.Beta1, cfg.Beta2)
		}
	}
	if !(cfg.Eps >= 0) || !(cfg.WeightDecay >= 0) || math.IsInf(cfg.Eps, 0) || math.IsInf(cfg.WeightDecay, 0) {
		return nil, fmt.Errorf("optim: %s: eps %v and weight decay %v must be finite and not negative", name, cfg.Eps, cfg.WeightDecay)
	}
	return &Adam{cfg: cfg, params: params, m: zerosLike(params), v: zerosLike(params)}, nil
}

// Params returns the parameters Adam updates.
func (a *Adam) Params() []*tensor.Tensor { return a.params }

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.cfg.LR }

// SetLR changes the learning rate.
func (a *Adam) SetLR(lr float64) { a.cfg.LR = lr }

// Steps returns the number of steps taken.
func (a *Adam) Steps() int { return a.t }

// Step updates the parameters from their gradients.
func (a *Adam) Step(grads []*tensor.Tensor) error {
	if err := checkGrads(a.params, grads); err != nil {
		return fmt.Errorf("optim: Adam step %d: %w", a.t+1, err)
	}
	c := a.cfg
	a.t++
	// As torch 1.13's _single_tensor_adam: the bias corrections fold into
	// the step size and the denominator.
	bc1 := 1 - math.Pow(c.Beta1, float64(a.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(a.t))
	stepSize := c.LR / bc1
	bc2Sqrt := math.Sqrt(bc2)
	for i, p := range a.params {
		pd, gd, md, vd := p.Data(), grads[i].Data(), a.m[i].Data(), a.v[i].Data()
		for k, g := range gd {
			if c.WeightDecay != 0 {
				if c.Decoupled {
					pd[k] *= 1 - c.LR*c.WeightDecay
				} else {
					g += c.WeightDecay * pd[k]
				}
			}
			md[k] = md[k]*c.Beta1 + (1-c.Beta1)*g
			vd[k] = vd[k]*c.Beta2 + (1-c.Beta2)*g*g
			denom := math.Sqrt(vd[k])/bc2Sqrt + c.Eps
			pd[k] += -stepSize * md[k] / denom // addcdiv's order: (value·m)/denom
		}
	}
	return nil
}
