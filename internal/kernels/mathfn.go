package kernels

import "math"

// Scalar cores of the elementwise maps. They are written branch-light, so
// that a loop over a slice keeps the pipeline full, and are accurate to a
// few ulp of the math package (see elementwise_test.go for the bounds that
// are tested). Special values (±Inf, NaN, ±0, subnormals) follow the math
// package.

const (
	log2e   = 1.44269504088896338700e+00
	ln2Hi   = 6.93147180369123816490e-01 // trailing 32 bits zero: k*ln2Hi is exact
	ln2Lo   = 1.90821492927058770002e-10
	expOver = 7.09782712893383973096e+02  // exp(x) = +Inf above
	expUnd  = -7.45133219101941108420e+02 // exp(x) = 0 below
	shifter = 0x1.8p52                    // adding it rounds to an integer
)

// expCore returns exp(x) for finite x in [expUnd, expOver]; for x = NaN it
// returns NaN.
func expCore(x float64) float64 {
	kf := float64(x*log2e) + shifter // float64(): never fused, on any architecture
	k := int64(math.Float64bits(kf) - math.Float64bits(shifter))
	kf -= shifter
	r := x - kf*ln2Hi // exact
	r = math.FMA(-kf, ln2Lo, r)
	// exp(r), |r| <= ln2/2: Taylor series to degree 13 (truncation < 5e-18).
	p := 1.0 / 6227020800
	p = math.FMA(p, r, 1.0/479001600)
	p = math.FMA(p, r, 1.0/39916800)
	p = math.FMA(p, r, 1.0/3628800)
	p = math.FMA(p, r, 1.0/362880)
	p = math.FMA(p, r, 1.0/40320)
	p = math.FMA(p, r, 1.0/5040)
	p = math.FMA(p, r, 1.0/720)
	p = math.FMA(p, r, 1.0/120)
	p = math.FMA(p, r, 1.0/24)
	p = math.FMA(p, r, 1.0/6)
	p = math.FMA(p, r, 0.5)
	p = math.FMA(p, r, 1)
	p = math.FMA(p, r, 1)
	// p * 2^k in two steps so that both factors are normal for
	// k in [-1075, 1024]: one rounding, in the final product.
	k1 := k >> 1
	k2 := k - k1
	p *= math.Float64frombits(uint64(k1+1023) << 52)
	return p * math.Float64frombits(uint64(k2+1023)<<52)
}

func exp(x float64) float64 {
	if x > expOver {
		return math.Inf(1)
	}
	if x < expUnd {
		return 0
	}
	return expCore(x) // NaN stays NaN
}

func sigmoid(x float64) float64 {
	// 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0 (no overflow, and
	// subnormal results come out right).
	e := exp(-math.Abs(x)) // NaN stays NaN
	if x < 0 {
		return e / (1 + e)
	}
	return 1 / (1 + e)
}

var tanhP = [...]float64{-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3}
var tanhQ = [...]float64{1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3}

func tanh(x float64) float64 {
	a := math.Abs(x)
	if a < 0.625 {
		if x == 0 {
			return x // keep the sign of zero
		}
		// Cephes rational approximation (as the math package).
		s := x * x
		// float64() conversions forbid fused multiply-adds, so that every
		// architecture (and the vector code) rounds the same way.
		P := float64(float64(float64(tanhP[0]*s)+tanhP[1])*s) + tanhP[2]
		Q := float64(float64(float64(float64(s+tanhQ[0])*s)+tanhQ[1])*s) + tanhQ[2]
		return x + float64(float64(x*s)*P)/Q
	}
	if a > 22 {
		return math.Copysign(1, x) // tanh(22) rounds to 1; covers ±Inf
	}
	e := expCore(2 * a) // NaN stays NaN
	return math.Copysign(1-2/(e+1), x)
}

// log, after FreeBSD's e_log.c (as the math package): x = 2^k (1+f) with
// 1+f in [sqrt(2)/2, sqrt(2)), log(1+f) = f - f²/2 + s(f²/2 + R(s²)),
// s = f/(2+f).
func log(x float64) float64 {
	const (
		L1 = 6.666666666666735130e-01
		L2 = 3.999999999940941908e-01
		L3 = 2.857142874366239149e-01
		L4 = 2.222219843214978396e-01
		L5 = 1.818357216161805012e-01
		L6 = 1.531383769920937332e-01
		L7 = 1.479819860511658591e-01
	)
	bits := math.Float64bits(x)
	if bits-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
		// x <= 0, subnormal, Inf or NaN: the rare path.
		return math.Log(x)
	}
	// Split into exponent and mantissa in [sqrt(2)/2, sqrt(2)).
	bits += 0x3ff0000000000000 - 0x3fe6a09e00000000 // shift so the cut is at sqrt(2)/2
	k := int64(bits>>52) - 0x3ff
	bits = bits&0x000fffffffffffff + 0x3fe6a09e00000000
	f := math.Float64frombits(bits) - 1
	kf := float64(k)
	// float64() conversions forbid fused multiply-adds (see tanh).
	s := f / (2 + f)
	s2 := s * s
	s4 := s2 * s2
	t1 := s2 * (L1 + float64(s4*(L3+float64(s4*(L5+float64(s4*L7))))))
	t2 := s4 * (L2 + float64(s4*(L4+float64(s4*L6))))
	R := t1 + t2
	hfsq := 0.5 * f * f
	return float64(kf*ln2Hi) - ((hfsq - (float64(s*(hfsq+R)) + float64(kf*ln2Lo))) - f)
}

var sinCoef = [...]float64{
	1.58962301576546568060e-10,
	-2.50507477628578072866e-8,
	2.75573136213857245213e-6,
	-1.98412698295895385996e-4,
	8.33333333332211858878e-3,
	-1.66666666666666307295e-1,
}

var cosCoef = [...]float64{
	-1.13585365213876817300e-11,
	2.08757008419747316778e-9,
	-2.75573141792967388112e-7,
	2.48015872888517045348e-5,
	-1.38888888888730564116e-3,
	4.16666666666665929218e-2,
}

// trigReduceMax: below it, a three-part Cody-Waite reduction by pi/4 is
// accurate (as in the math package); at and above it, and for Inf and NaN,
// the math package does the work (Payne-Hanek reduction).
const trigReduceMax = 1 << 29

// sincos returns sin(x), cos(x) for |x| < trigReduceMax (Cephes, as the
// math package).
func sincosCore(x float64) (sin, cos float64) {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	sinSign, cosSign := false, false
	if x < 0 {
		x = -x
		sinSign = true
	}
	j := uint64(x * (4 / math.Pi))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	if j > 3 {
		j -= 4
		sinSign, cosSign = !sinSign, !cosSign
	}
	if j > 1 {
		cosSign = !cosSign
	}
	// float64() conversions forbid fused multiply-adds (see tanh).
	z := float64(float64(x-float64(y*pi4A))-float64(y*pi4B)) - float64(y*pi4C)
	zz := z * z
	pc := cosCoef[0]
	ps := sinCoef[0]
	for i := 1; i < 6; i++ {
		pc = float64(pc*zz) + cosCoef[i]
		ps = float64(ps*zz) + sinCoef[i]
	}
	c := float64(1.0-float64(0.5*zz)) + float64(float64(zz*zz)*pc)
	s := z + float64(float64(z*zz)*ps)
	if j == 1 || j == 2 {
		s, c = c, s
	}
	if cosSign {
		c = -c
	}
	if sinSign {
		s = -s
	}
	return s, c
}

func sin(x float64) float64 {
	if !(math.Abs(x) < trigReduceMax) {
		return math.Sin(x)
	}
	if x == 0 {
		return x // keep the sign of zero
	}
	s, _ := sincosCore(x)
	return s
}

func cos(x float64) float64 {
	if !(math.Abs(x) < trigReduceMax) {
		return math.Cos(x)
	}
	_, c := sincosCore(x)
	return c
}
