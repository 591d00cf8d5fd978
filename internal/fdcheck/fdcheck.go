// Package fdcheck is a test helper: it checks jacobi's derivatives against
// finite differences computed by gonum's diff/fd (central formulas), and the
// transforms against each other (JVP against VJP, Vmap against a loop,
// Unbatch against the original program, Simplify against the unsimplified
// program).
//
// Two kinds of cases are checked: functions of *jacobi.Node traced through
// the public API (Case, CheckFn) and programs built directly with an
// ir.Builder and op's primitives (ProgCase, CheckProgram).
package fdcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Tol is a comparison tolerance: an element passes when
// |got - want| <= Rel*max(|got|, |want|) + Abs.
type Tol struct{ Rel, Abs float64 }

var (
	// First is for first derivatives against central differences.
	First = Tol{Rel: 1e-6, Abs: 1e-8}
	// Second is for second derivatives against fd.Hessian (central).
	Second = Tol{Rel: 1e-4, Abs: 1e-6}
	// Tight is for two exact computations of the same value (AD against AD,
	// a transformed program against the original) that may round differently.
	Tight = Tol{Rel: 1e-11, Abs: 1e-13}
)

// Close reports whether a and b agree within tol.
func (tol Tol) Close(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol.Rel*math.Max(math.Abs(a), math.Abs(b))+tol.Abs
}

// Compare checks every element of got against want (both flat, laid out
// row-major over shape) and reports up to five mismatches with their index.
func Compare(t testing.TB, what string, got, want []float64, shape []int, tol Tol) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return false
	}
	if shape != nil && tensor.Size(shape) != len(want) {
		t.Errorf("%s: shape %v for %d values", what, shape, len(want))
		return false
	}
	bad := 0
	worst := 0.0
	var msgs []string
	for i := range got {
		if tol.Close(got[i], want[i]) {
			continue
		}
		bad++
		d := math.Abs(got[i] - want[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		worst = math.Max(worst, d)
		if len(msgs) < 5 {
			msgs = append(msgs, fmt.Sprintf("  at %v: got %.12g, want %.12g (diff %.3g)", unflat(i, shape), got[i], want[i], got[i]-want[i]))
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ (rel %g, abs %g; worst abs diff %.3g):\n%s", what, bad, len(got), tol.Rel, tol.Abs, worst, strings.Join(msgs, "\n"))
		return false
	}
	return true
}

func unflat(i int, shape []int) []int {
	if shape == nil {
		return []int{i}
	}
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// Domain says where inputs are drawn: uniformly from [Lo, Hi), staying at
// least Gap away from each point of Avoid (the kinks of relu, abs, max...).
// The zero Domain is [-2, 2).
type Domain struct {
	Lo, Hi float64
	Avoid  []float64
	Gap    float64
}

// Sample draws a tensor of the given shape from d.
func (d Domain) Sample(rng *rand.Rand, shape []int) *tensor.Tensor {
	lo, hi := d.Lo, d.Hi
	if lo == 0 && hi == 0 {
		lo, hi = -2, 2
	}
	gap := d.Gap
	if gap == 0 && len(d.Avoid) > 0 {
		gap = 0.05
	}
	t := tensor.Zeros(shape...)
	data := t.Data()
	for i := range data {
		for try := 0; ; try++ {
			v := lo + (hi-lo)*rng.Float64()
			ok := true
			for _, a := range d.Avoid {
				if math.Abs(v-a) < gap {
					ok = false
				}
			}
			if ok || try > 1000 {
				data[i] = v
				break
			}
		}
	}
	return t
}

// Positive is the domain (0.5, 3) for log, sqrt, divisors and negative powers.
var Positive = Domain{Lo: 0.5, Hi: 3}

// AwayFromZero is [-2, 2) without (-0.1, 0.1), for relu, abs and friends.
var AwayFromZero = Domain{Lo: -2, Hi: 2, Avoid: []float64{0}, Gap: 0.1}

// Dot returns the inner product of a and b and the sum of |a_i b_i| (the
// scale against which its rounding error is judged).
func Dot(a, b []float64) (dot, scale float64) {
	for i := range a {
		dot += a[i] * b[i]
		scale += math.Abs(a[i] * b[i])
	}
	return dot, scale
}

// Vec returns a tensor of shape with random normal entries.
func Vec(rng *rand.Rand, shape []int) *tensor.Tensor { return tensor.Randn(rng, shape...) }

// Stack stacks tensors of one shape along a new leading axis.
func Stack(ts []*tensor.Tensor) *tensor.Tensor {
	var data []float64
	for _, t := range ts {
		data = append(data, t.Data()...)
	}
	return tensor.MustNew(append([]int{len(ts)}, ts[0].Shape()...), data)
}

// Row returns entry i along the leading axis of t, as a copy.
func Row(t *tensor.Tensor, i int) *tensor.Tensor {
	s := t.Shape()[1:]
	n := tensor.Size(s)
	return tensor.MustNew(s, append([]float64{}, t.Data()[i*n:(i+1)*n]...))
}

func concatShapes(a, b []int) []int { return append(append([]int{}, a...), b...) }

func sameInts(a, b []int) bool { return tensor.SameShape(a, b) }
