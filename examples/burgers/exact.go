package main

import (
	"math"

	"gonum.org/v1/gonum/integrate/quad"
)

// coleHopf is the exact solution of the viscous Burgers equation
// u_t + u·u_x = ν·u_xx with u(0, x) = −sin(πx) on the real line (which
// keeps u(t, ±1) = 0 by symmetry), by the Cole–Hopf transformation:
//
//	u(t, x) = −∫ sin(π(x−η)) f(x−η) e^{−η²/4νt} dη / ∫ f(x−η) e^{−η²/4νt} dη,
//	f(y) = exp(−cos(πy) / (2πν)),
//
// both integrals by Gauss–Hermite quadrature after η = √(4νt)·z (the
// standard way, as Basdevant et al. 1986 compute their reference values).
type coleHopf struct {
	nu   float64
	z, w []float64 // Gauss–Hermite nodes and weights for e^{−z²}
}

func newColeHopf(nu float64, nodes int) *coleHopf {
	c := &coleHopf{nu: nu, z: make([]float64, nodes), w: make([]float64, nodes)}
	quad.Hermite{}.FixedLocations(c.z, c.w, math.Inf(-1), math.Inf(1))
	return c
}

// u returns the solution at (t, x).
func (c *coleHopf) u(t, x float64) float64 {
	if t == 0 {
		return -math.Sin(math.Pi * x)
	}
	s := math.Sqrt(4 * c.nu * t)
	k := 1 / (2 * math.Pi * c.nu)
	// f spans e^{±k} (k ≈ 50 for ν = 0.01/π): scale by its largest value.
	top := math.Inf(-1)
	for _, z := range c.z {
		top = math.Max(top, -k*math.Cos(math.Pi*(x-s*z)))
	}
	num, den := 0.0, 0.0
	for i, z := range c.z {
		y := x - s*z
		f := c.w[i] * math.Exp(-k*math.Cos(math.Pi*y)-top)
		num += math.Sin(math.Pi*y) * f
		den += f
	}
	return -num / den
}
