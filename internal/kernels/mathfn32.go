package kernels

import "math"

// Scalar cores of the float32 maps: float32 algorithms (float32 range
// reductions, short polynomials fitted for float32 by
// testdata/fit_f32.py), evaluated entirely in float32. Every product is
// rounded before it is added (float32() conversions forbid fused
// multiply-adds on every architecture), special arguments are handled by
// clamps, and where a function has branches each one is a whole
// computation that the vector code (elementwise32_amd64.s) does for every
// lane before it selects, so that it gives the same bits as this code. The
// error bounds are listed at Exp32 and tested in elementwise32_test.go.

const (
	signBit32 = 0x80000000
	shift32   = 0x1.8p23 // adding it to |v| < 2^22 rounds v to an integer, in the low mantissa bits

	log2e32 float32 = math.Log2E
	// ln2 = ln2Hi32 + ln2Lo32: ln2Hi32 has 9 significant bits, so k*ln2Hi32
	// is exact for |k| < 2^15.
	ln2Hi32 float32 = 0.693359375
	ln2Lo32 float32 = math.Ln2 - 0.693359375
	// exp32 clamps its argument to [expLo32, expHi32]: exp(89) overflows
	// float32 and exp(-104) rounds to 0, so the clamp changes no result.
	expHi32 float32 = 89
	expLo32 float32 = -104

	// exp(r) = 1 + r + r²·P(r) on |r| <= ln2/2.
	expP0 float32 = 0.4999999403953552    // 0x3efffffe
	expP1 float32 = 0.1666652113199234    // 0x3e2aaa49
	expP2 float32 = 0.04166838899254799   // 0x3d2aac79
	expP3 float32 = 0.00836874544620514   // 0x3c091d10
	expP4 float32 = 0.0013814540579915047 // 0x3ab511e8
)

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ signBit32) }

// withSignOf returns r with the sign bit of x added (r >= 0 or NaN).
func withSignOf(r, x float32) float32 {
	return math.Float32frombits(math.Float32bits(r) | math.Float32bits(x)&signBit32)
}

// pow2 returns 2^k for k in [-126, 127].
func pow2(k int32) float32 { return math.Float32frombits(uint32(k+127) << 23) }

// exp32 returns e^x. NaN stays NaN.
func exp32(x float32) float32 {
	x = min(max(x, expLo32), expHi32) // NaN stays NaN
	kf := float32(x*log2e32) + shift32
	k := int32(math.Float32bits(kf) - math.Float32bits(shift32))
	kf -= shift32
	r := x - float32(kf*ln2Hi32) // exact
	r -= float32(kf * ln2Lo32)
	p := float32(expP4*r) + expP3
	p = float32(p*r) + expP2
	p = float32(p*r) + expP1
	p = float32(p*r) + expP0
	p = 1 + (r + float32(float32(r*r)*p))
	// p·2^k in two steps, so that both factors are normal for k in
	// [-150, 128]: one rounding, in the second product.
	k1 := k >> 1
	p *= pow2(k1)
	return p * pow2(k-k1)
}

// sigmoid32 returns 1/(1+e^-x), as e^x/(1+e^x) for x < 0 (no overflow,
// and small results keep their precision).
func sigmoid32(x float32) float32 {
	e := exp32(-abs32(x))
	n := float32(1)
	if x < 0 {
		n = e
	}
	return n / (1 + e)
}

const (
	// tanh(a) = a + a³·P(a²) for a < tanhCut32, fitted on [0, 0.625].
	tanhCut32 float32 = 0.625
	tanhP0    float32 = -0.3333333134651184   // 0xbeaaaaaa
	tanhP1    float32 = 0.1333320587873459    // 0x3e088833
	tanhP2    float32 = -0.05394676327705383  // 0xbd5cf748
	tanhP3    float32 = 0.021700702607631683  // 0x3cb1c5ac
	tanhP4    float32 = -0.008177398703992367 // 0xbc05fa7f
	tanhP5    float32 = 0.0021429620683193207 // 0x3b0c70f0
	// Above tanhBig32, tanh rounds to 1 in float32 (1 - 2e^-2a < 1 - 2^-25).
	tanhBig32 float32 = 9.1
)

// tanh32 returns tanh(x): the polynomial for |x| < 0.625, 1 - 2/(e^2|x|+1)
// above (|x| clamped to 9.1, where both are 1), and the sign of x.
func tanh32(x float32) float32 {
	a := abs32(x)
	var r float32
	if a < tanhCut32 {
		s := a * a
		p := float32(tanhP5*s) + tanhP4
		p = float32(p*s) + tanhP3
		p = float32(p*s) + tanhP2
		p = float32(p*s) + tanhP1
		p = float32(p*s) + tanhP0
		r = a + float32(a*float32(s*p))
	} else {
		e := exp32(2 * min(a, tanhBig32)) // NaN stays NaN
		r = 1 - 2/(e+1)
	}
	return withSignOf(r, x)
}

const (
	// log: x = 2^k·m, m in [sqrt(2)/2, sqrt(2)), f = m-1, s = f/(2+f),
	// log(1+f) = f - f²/2 + s·(f²/2 + R(s²)) (as FreeBSD's e_logf.c).
	sqrt2Half32 = 0x3f3504f3 // bits of float32(sqrt(2)/2)
	// ln2 = log2Hi32 + log2Lo32, log2Hi32 with 15 significant bits:
	// k*log2Hi32 is exact for |k| < 2^9.
	log2Hi32 float32 = 0.693145751953125
	log2Lo32 float32 = math.Ln2 - 0.693145751953125
	logR0    float32 = 0.6666666269302368  // 0x3f2aaaaa
	logR1    float32 = 0.4000033438205719  // 0x3ecccd3d
	logR2    float32 = 0.285373330116272   // 0x3e921c74
	logR3    float32 = 0.23581759631633759 // 0x3e717a2b
)

var (
	inf32  = float32(math.Inf(1))
	nan32  = math.Float32frombits(0x7fc00000)
	ninf32 = float32(math.Inf(-1))
)

// logParts32 splits y (normal and > 0 as bits, after scaling by 2^kadj)
// into kf = k and f = m-1, y = 2^k·m with m in [sqrt(2)/2, sqrt(2)), and
// returns with them s = f/(2+f), hfsq = f²/2 and R(s²).
func logParts32(bits uint32, kadj int32) (kf, f, s, hfsq, R float32) {
	bits += 0x3f800000 - sqrt2Half32 // moves the cut to sqrt(2)/2
	k := int32(bits>>23) - 127 - kadj
	f = math.Float32frombits(bits&0x007fffff+sqrt2Half32) - 1
	kf = float32(k)
	s = f / (2 + f)
	z := s * s
	w := z * z
	t1 := float32(w * float32(logR1+float32(w*logR3)))
	t2 := float32(z * float32(logR0+float32(w*logR2)))
	R = t2 + t1
	hfsq = float32(float32(0.5*f) * f)
	return kf, f, s, hfsq, R
}

// log32 returns log(x): subnormals are scaled by 2^23 first, and the
// special arguments (x <= 0, +Inf, NaN) get their values at the end.
func log32(x float32) float32 {
	y := x
	var kadj int32
	if int32(math.Float32bits(x)) < 0x00800000 { // subnormal, zero or negative
		y = x * 0x1p23
		kadj = 23
	}
	kf, f, s, hfsq, R := logParts32(math.Float32bits(y), kadj)
	r := float32(kf*log2Hi32) - ((hfsq - (float32(s*(hfsq+R)) + float32(kf*log2Lo32))) - f)
	switch {
	case x == 0:
		r = ninf32
	case !(x >= 0):
		r = nan32
	case x == inf32:
		r = inf32
	}
	return r
}

// log1p32 returns log(1+x): with u = 1+x rounded and d its rounding error
// (TwoSum, exact), log(1+x) = log(u) + log(1 + d/u) ≈ log(u) + d/u, the
// correction added with the small terms of log(u), as in FreeBSD's
// s_log1pf.c. (u is 0 or normal.)
func log1p32(x float32) float32 {
	u := 1 + x
	bb := u - x
	d := (1 - bb) + (x - (u - bb))
	c := d / u
	kf, f, s, hfsq, R := logParts32(math.Float32bits(u), 0)
	r := float32(kf*log2Hi32) - ((hfsq - (float32(s*(hfsq+R)) + (float32(kf*log2Lo32) + c))) - f)
	switch {
	case x == 0:
		r = x // keeps the sign of zero
	case x == -1:
		r = ninf32
	case !(x >= -1):
		r = nan32
	case x == inf32:
		r = inf32
	}
	return r
}

const (
	// sin and cos reduce |x| by pi/2 in four parts: the first three have
	// at most 10 significant bits, so q*pio2_i is exact for q < 2^14, and
	// the reduced argument is within 2^-23 (relative) of the true one for
	// |x| < trigReduceMax32 (checked over every float32 below it by
	// TestElementwise32Exhaustive). Beyond, and for Inf and NaN, the math
	// package does the work in float64.
	trigReduceMax32         = 1 << 14
	twoOverPi32     float32 = 2 / math.Pi
	pio2a32         float32 = 1.5703125                     // 0x3fc90000
	pio2b32         float32 = 0.00048351287841796875        // 0x39fd8000
	pio2c32         float32 = 3.13855707645416259765625e-07 // 0x34a88000
	pio2d32         float32 = 6.077100628276710381e-11      // 0x2e85a309
	// sin(z) = z + z³·S(z²), cos(z) = 1 - z²/2 + z⁴·C(z²), |z| <= pi/4.
	sinS0 float32 = -0.16666655242443085   // 0xbe2aaaa3
	sinS1 float32 = 0.008332155644893646   // 0x3c088398
	sinS2 float32 = -0.0001951463200384751 // 0xb94ca031
	cosC0 float32 = 0.04166664555668831    // 0x3d2aaaa5
	cosC1 float32 = -0.0013887309469282627 // 0xbab60614
	cosC2 float32 = 2.443241282890085e-05  // 0x37ccf435
)

// reduce32 reduces a = |x| < trigReduceMax32 to z + zlo = a - q·pi/2
// (zlo the rounding error of z) and returns z, zlo and q.
func reduce32(a float32) (z, zlo float32, q uint32) {
	qf := float32(a*twoOverPi32) + shift32
	q = math.Float32bits(qf) - math.Float32bits(shift32)
	qf -= shift32
	// The first two steps are exact (their products too); the third may
	// round when its result is not small: its error e is carried into the
	// last step, and the rounding error zlo of the last step into the
	// polynomials (sin(z+zlo) ≈ sin(z) + zlo, cos(z+zlo) ≈ cos(z) - z·zlo),
	// so that the reduction adds almost nothing to the error. (Fast2Sum:
	// the subtractions are exact when the larger operand comes first.)
	t := a - float32(qf*pio2a32)
	t -= float32(qf * pio2b32)
	u := float32(qf * pio2c32)
	st := t - u
	e := (t - st) - u
	corr := float32(qf*pio2d32) - e
	z = st - corr
	zlo = (st - z) - corr
	return z, zlo, q
}

// sinPoly and cosPoly return sin(z+zlo) and cos(z+zlo), |z| <= pi/4.
func sinPoly(z, zlo float32) float32 {
	zz := z * z
	ps := float32(sinS2*zz) + sinS1
	ps = float32(ps*zz) + sinS0
	return z + (float32(float32(z*zz)*ps) + zlo)
}

func cosPoly(z, zlo float32) float32 {
	zz := z * z
	pc := float32(cosC2*zz) + cosC1
	pc = float32(pc*zz) + cosC0
	return 1 - ((float32(0.5*zz) - float32(float32(zz*zz)*pc)) + float32(z*zlo))
}

// sin32 returns sin(x): sin(a) = ±sin(z) or ±cos(z) by the quadrant q.
func sin32(x float32) float32 {
	a := abs32(x)
	if !(a < trigReduceMax32) {
		return float32(math.Sin(float64(x)))
	}
	z, zlo, q := reduce32(a)
	var r float32
	if q&1 != 0 {
		r = cosPoly(z, zlo)
	} else {
		r = sinPoly(z, zlo)
	}
	sign := math.Float32bits(x)&signBit32 ^ q<<30&signBit32
	return math.Float32frombits(math.Float32bits(r) ^ sign)
}

// cos32 returns cos(x) = cos(a): ±cos(z) or ±sin(z) by the quadrant q.
func cos32(x float32) float32 {
	a := abs32(x)
	if !(a < trigReduceMax32) {
		return float32(math.Cos(float64(x)))
	}
	z, zlo, q := reduce32(a)
	var r float32
	if q&1 != 0 {
		r = sinPoly(z, zlo)
	} else {
		r = cosPoly(z, zlo)
	}
	sign := (q + 1) << 30 & signBit32
	return math.Float32frombits(math.Float32bits(r) ^ sign)
}

const (
	// erf(a) = a + a·E(a² - 1/2) for a < 1 (E in powers of a² - 1/2, whose
	// terms cancel less near a = 1 than powers of a² would); erf(a) =
	// 1 - exp(L(a-1)) for a in [1, 3.95] (L ~ log(erfc), fitted on
	// [1, 3.95]); erf rounds to 1 in float32 from 3.919 on (erfc < 2^-25),
	// and a is clamped to 3.95.
	erfCut32 float32 = 1
	erfBig32 float32 = 3.95
	erfE0    float32 = -0.03453126177191734   // 0xbd0d70a7
	erfE1    float32 = -0.281072199344635     // 0xbe8fe8b2
	erfE2    float32 = 0.07940997928380966    // 0x3da2a1b3
	erfE3    float32 = -0.018283357843756676  // 0xbc95c6fb
	erfE4    float32 = 0.003480298910290003   // 0x3b6415ba
	erfE5    float32 = -0.0005654036067426205 // 0xba143798
	erfE6    float32 = 7.853883289499208e-05  // 0x38a4b537
	erfL0    float32 = -1.8496055603027344    // 0xbfecbfe0
	erfL1    float32 = -2.6389667987823486    // 0xc028e4d5
	erfL2    float32 = -0.8431183099746704    // 0xbf57d69a
	erfL3    float32 = -0.04150068759918213   // 0xbd29fca0
	erfL4    float32 = 0.00989089161157608    // 0x3c220d68
	erfL5    float32 = -0.0018261632649227977 // 0xbaef5bdf
	erfL6    float32 = 0.00018557401199359447 // 0x394296a5
)

// erf32 returns erf(x): the approximation for the range of a = |x|, with
// the sign of x.
func erf32(x float32) float32 {
	a := abs32(x)
	var r float32
	if a < erfCut32 {
		z := float32(a*a) - 0.5
		e := float32(erfE6*z) + erfE5
		e = float32(e*z) + erfE4
		e = float32(e*z) + erfE3
		e = float32(e*z) + erfE2
		e = float32(e*z) + erfE1
		e = float32(e*z) + erfE0
		r = a + float32(a*e)
	} else {
		t := min(a, erfBig32) - 1 // NaN stays NaN
		l := float32(erfL6*t) + erfL5
		l = float32(l*t) + erfL4
		l = float32(l*t) + erfL3
		l = float32(l*t) + erfL2
		l = float32(l*t) + erfL1
		l = float32(l*t) + erfL0
		r = 1 - exp32(l)
	}
	return withSignOf(r, x)
}

// sqrt32 is correctly rounded (the float64 square root of a float32 rounds
// to the float32 square root; the compiler emits SQRTSS for it).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
