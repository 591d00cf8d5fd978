package main

import (
	"math"
	"testing"
)

// trapezoid computes the Cole–Hopf integrals by the trapezoid rule on a
// fine grid of η, independently of the Gauss–Hermite quadrature.
func trapezoid(t, x float64) float64 {
	s := math.Sqrt(4 * nu * t)
	k := 1 / (2 * math.Pi * nu)
	const n = 40000
	lo, hi := -12*s, 12*s
	h := (hi - lo) / n
	// log of the integrand's positive factor, to scale by its largest value
	lf := func(eta float64) float64 { return -k*math.Cos(math.Pi*(x-eta)) - eta*eta/(s*s) }
	top := math.Inf(-1)
	for i := 0; i <= n; i++ {
		top = math.Max(top, lf(lo+float64(i)*h))
	}
	num, den := 0.0, 0.0
	for i := 0; i <= n; i++ {
		eta := lo + float64(i)*h
		f := math.Exp(lf(eta) - top)
		if i == 0 || i == n {
			f /= 2
		}
		num += math.Sin(math.Pi*(x-eta)) * f
		den += f
	}
	return -num / den
}

func TestExactAgainstTrapezoid(t *testing.T) {
	c := newColeHopf(nu, defaultNodes)
	worst := 0.0
	for _, tt := range []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.99} {
		for _, x := range []float64{-0.9, -0.5, -0.05, -0.003, 0, 0.002, 0.01, 0.3, 0.77} {
			d := math.Abs(c.u(tt, x) - trapezoid(tt, x))
			worst = math.Max(worst, d)
			if d > 1e-10 {
				t.Errorf("u(%v, %v): Gauss–Hermite %.15g, trapezoid %.15g", tt, x, c.u(tt, x), trapezoid(tt, x))
			}
		}
	}
	t.Logf("largest difference %.2g", worst)
}

// TestExactKnownValues checks the solution's initial and boundary values,
// its oddness in x, and the classic benchmark of Basdevant et al. (1986):
// the steepest slope, at x = 0 and t = 1.6037/π, is |∂u/∂x| = 152.00516.
func TestExactKnownValues(t *testing.T) {
	c := newColeHopf(nu, defaultNodes)
	for _, x := range []float64{-1, -0.4, 0, 0.7} {
		if d := c.u(0, x) + math.Sin(math.Pi*x); d != 0 {
			t.Errorf("u(0, %v) off by %v", x, d)
		}
	}
	for _, tt := range []float64{0.2, 0.6, 0.99} {
		for _, x := range []float64{1, -1} {
			if v := c.u(tt, x); math.Abs(v) > 1e-12 {
				t.Errorf("u(%v, %v) = %v, want 0", tt, x, v)
			}
		}
		for _, x := range []float64{0.1, 0.5} {
			if d := c.u(tt, x) + c.u(tt, -x); math.Abs(d) > 1e-12 {
				t.Errorf("u(%v, ±%v) not odd: sum %v", tt, x, d)
			}
		}
	}
	const h = 1e-6
	tm := 1.6037 / math.Pi
	slope := (c.u(tm, h) - c.u(tm, -h)) / (2 * h)
	if math.Abs(slope+152.00516) > 2e-5 {
		t.Errorf("∂u/∂x(1.6037/π, 0) = %.8f, want −152.00516", slope)
	}
	// and it is the steepest nearby in time.
	for _, dt := range []float64{-0.01, 0.01} {
		s := (c.u(tm+dt, h) - c.u(tm+dt, -h)) / (2 * h)
		if s < slope {
			t.Errorf("slope at t = %v is steeper (%v) than at 1.6037/π (%v)", tm+dt, s, slope)
		}
	}
}
