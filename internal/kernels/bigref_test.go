package kernels

import (
	"math"
	"math/big"
)

// A correctly rounded reference for exp, used where the math package is
// itself off (on amd64 math.Exp returns +Inf from about 709.4 on, below
// the true overflow threshold 709.7827).

const refPrec = 256

var bigLn2, _ = new(big.Float).SetPrec(refPrec).SetString(
	"0.69314718055994530941723212145817656807550013436025525412068000949339362196969471560586332699641868754200148102057068573368552023575813055703267075163507596193072757082837143519030703862389167347112335")

// bigExp returns exp(x) with refPrec bits (x finite, |x| < 1100).
func bigExp(x float64) *big.Float {
	bx := new(big.Float).SetPrec(refPrec).SetFloat64(x)
	q := new(big.Float).SetPrec(refPrec).Quo(bx, bigLn2)
	qf, _ := q.Float64()
	k := math.Round(qf)
	r := new(big.Float).SetPrec(refPrec).Mul(bigLn2, new(big.Float).SetPrec(refPrec).SetFloat64(k))
	r.Sub(bx, r) // |r| <= ln2/2 (+ tiny)
	sum := new(big.Float).SetPrec(refPrec).SetInt64(1)
	term := new(big.Float).SetPrec(refPrec).SetInt64(1)
	for n := 1; n < 200; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(refPrec).SetInt64(int64(n)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < -refPrec-8 {
			break
		}
	}
	return sum.SetMantExp(sum, int(k))
}

func refExp(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x > 710:
		return math.Inf(1)
	case x < -746:
		return 0
	}
	f, _ := bigExp(x).Float64()
	return f
}

func refSigmoid(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x > 40:
		return 1 // 1 - e^-40 rounds to 1
	case x < -746:
		return 0
	}
	e := bigExp(-x)
	one := new(big.Float).SetPrec(refPrec).SetInt64(1)
	e.Add(e, one)
	f, _ := one.Quo(one, e).Float64()
	return f
}
