package optim

import "math"

// Schedule gives the learning rate of each step (counted from 0). The
// training loop sets it on the optimizer before every step.
type Schedule func(step int) float64

// StepDecay multiplies the rate by gamma every `every` steps, as
// torch.optim.lr_scheduler.StepLR: lr·gamma^⌊step/every⌋.
func StepDecay(lr float64, every int, gamma float64) Schedule {
	every = max(every, 1)
	return func(step int) float64 { return lr * math.Pow(gamma, float64(step/every)) }
}

// ExponentialDecay multiplies the rate by gamma every step, as
// torch.optim.lr_scheduler.ExponentialLR: lr·gamma^step.
func ExponentialDecay(lr, gamma float64) Schedule {
	return func(step int) float64 { return lr * math.Pow(gamma, float64(step)) }
}

// Cosine anneals the rate from lr to minLR over steps steps along half a
// cosine, as torch.optim.lr_scheduler.CosineAnnealingLR (T_max = steps,
// eta_min = minLR); past steps it stays at minLR.
func Cosine(lr, minLR float64, steps int) Schedule {
	steps = max(steps, 1)
	return func(step int) float64 {
		if step >= steps {
			return minLR
		}
		return minLR + (lr-minLR)*(1+math.Cos(math.Pi*float64(step)/float64(steps)))/2
	}
}
