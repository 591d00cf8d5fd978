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
	// exp(r), |r| <= ln2/2: Taylor series to degree 13 (truncation
	// < 5e-18), as 1 + (r + r²·Q(r)) with Q evaluated by Estrin's scheme
	// (a short dependency chain, for the vector code; its rounding errors
	// are scaled by r² < 0.121).
	r2 := r * r
	a0 := math.FMA(1.0/6, r, 0.5)
	a1 := math.FMA(1.0/120, r, 1.0/24)
	a2 := math.FMA(1.0/5040, r, 1.0/720)
	a3 := math.FMA(1.0/362880, r, 1.0/40320)
	a4 := math.FMA(1.0/39916800, r, 1.0/3628800)
	a5 := math.FMA(1.0/6227020800, r, 1.0/479001600)
	r4 := r2 * r2
	b0 := math.FMA(a1, r2, a0)
	b1 := math.FMA(a3, r2, a2)
	b2 := math.FMA(a5, r2, a4)
	r8 := r4 * r4
	q := math.FMA(b2, r8, math.FMA(b1, r4, b0))
	p := 1 + math.FMA(q, r2, r)
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
	t1 := float64(s2 * (L1 + float64(s4*(L3+float64(s4*(L5+float64(s4*L7)))))))
	t2 := float64(s4 * (L2 + float64(s4*(L4+float64(s4*L6)))))
	R := t1 + t2
	hfsq := float64(0.5 * f * f)
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
	// Fused multiply-adds where the vector routines fuse them (every
	// path gives the same bits), and nowhere else: float64() conversions
	// forbid the compiler's own fusing (see tanh).
	z := math.FMA(-y, pi4C, math.FMA(-y, pi4B, math.FMA(-y, pi4A, x)))
	zz := z * z
	pc := cosCoef[0]
	ps := sinCoef[0]
	for i := 1; i < 6; i++ {
		pc = math.FMA(pc, zz, cosCoef[i])
		ps = math.FMA(ps, zz, sinCoef[i])
	}
	c := math.FMA(float64(zz*zz), pc, math.FMA(-0.5, zz, 1))
	s := math.FMA(float64(z*zz), ps, z)
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

// Coefficients of erf, from FreeBSD's s_erf.c (as the math package).
const (
	erx = 8.45062911510467529297e-01
	pp0 = 1.28379167095512558561e-01
	pp1 = -3.25042107247001499370e-01
	pp2 = -2.84817495755985104766e-02
	pp3 = -5.77027029648944159157e-03
	pp4 = -2.37630166566501626084e-05
	qq1 = 3.97917223959155352819e-01
	qq2 = 6.50222499887672944485e-02
	qq3 = 5.08130628187576562776e-03
	qq4 = 1.32494738004321644526e-04
	qq5 = -3.96022827877536812320e-06
	pa0 = -2.36211856075265944077e-03
	pa1 = 4.14856118683748331666e-01
	pa2 = -3.72207876035701323847e-01
	pa3 = 3.18346619901161753674e-01
	pa4 = -1.10894694282396677476e-01
	pa5 = 3.54783043256182359371e-02
	pa6 = -2.16637559486879084300e-03
	qa1 = 1.06420880400844228286e-01
	qa2 = 5.40397917702171048937e-01
	qa3 = 7.18286544141962662868e-02
	qa4 = 1.26171219808761642112e-01
	qa5 = 1.36370839120290507362e-02
	qa6 = 1.19844998467991074170e-02
)

// erfR and erfS: numerator (degree 7) and denominator (degree 8, constant
// term 1) coefficients of the erfc tail approximations on [1.25, 1/0.35)
// (row 0) and [1/0.35, 6) (row 1, padded with zeros, which changes no
// rounding: s*0 + c == c).
var erfR = [2][8]float64{
	{-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01,
		-1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00},
	{-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02,
		-6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02, 0},
}
var erfS = [2][8]float64{
	{1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02,
		4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02},
	{3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03,
		2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01, 0},
}

// erf after FreeBSD's s_erf.c (as the math package), with this package's
// exp, one branch for |x| < 0.84375 and products never fused, so that the
// vector code can do the same operations lane by lane.
func erf(x float64) float64 {
	if x != x {
		return x
	}
	a := math.Abs(x)
	var r float64
	switch {
	case a < 0.84375:
		z := a * a
		p := float64(z*(pp3+float64(z*pp4))) + pp2
		p = float64(z*p) + pp1
		p = float64(z*p) + pp0
		q := float64(z*(qq4+float64(z*qq5))) + qq3
		q = float64(z*q) + qq2
		q = float64(z*q) + qq1
		q = float64(z*q) + 1
		r = a + float64(a*(p/q))
	case a < 1.25:
		s := a - 1
		p := float64(s*pa6) + pa5
		q := float64(s*qa6) + qa5
		for _, c := range [...][2]float64{{pa4, qa4}, {pa3, qa3}, {pa2, qa2}, {pa1, qa1}, {pa0, 1}} {
			p = float64(s*p) + c[0]
			q = float64(s*q) + c[1]
		}
		r = erx + p/q
	case a < 6:
		s := 1 / (a * a)
		row := 0
		if a >= 1/0.35 {
			row = 1
		}
		R, S := erfR[row][7], erfS[row][7]
		for i := 6; i >= 0; i-- {
			R = float64(s*R) + erfR[row][i]
			S = float64(s*S) + erfS[row][i]
		}
		S = float64(s*S) + 1
		z := math.Float64frombits(math.Float64bits(a) & 0xffffffff00000000)
		r = exp(float64(-z*z)-0.5625) * exp(float64((z-a)*(z+a))+R/S)
		r = 1 - r/a
	default:
		r = 1
	}
	return math.Copysign(r, x)
}
