package main

import (
	"fmt"
	"math"
)

// The float32 maps on four lanes: the operations of the scalar Go code in
// mathfn32.go lane by lane (products rounded before sums; the special
// arguments by selections, as there), so that the results agree bit for
// bit with the Go loops. A map reads four elements per iteration (V0);
// the last one to three elements are done one at a time, replicated into
// every lane. sin and cos stop at the first vector with an argument the
// math package reduces (|x| >= 2^14, Inf, NaN) and return how many
// elements they did. The streaming ops are the float64 ones on 4S; the
// row sum and the conversions work in float64 lanes.

type constant32 struct {
	name string
	bits uint32
}

func f32(v float64) uint32 { return math.Float32bits(float32(v)) }

// consts32 must hold the values of mathfn32.go (the tests compare every
// routine with the Go code bit for bit).
var consts32 = []constant32{
	{"one", f32(1)}, {"two", f32(2)}, {"half", f32(0.5)}, {"zero", 0},
	{"signmask", 0x80000000}, {"inf", 0x7f800000}, {"ninf", 0xff800000}, {"nan", 0x7fc00000},
	{"mone", f32(-1)}, {"i1", 1}, {"i127", 127}, {"i23", 23},
	// exp32
	{"shift", f32(0x1.8p23)}, {"log2e", f32(math.Log2E)},
	{"ln2hi", f32(0.693359375)}, {"ln2lo", f32(math.Ln2 - 0.693359375)},
	{"exphi", f32(89)}, {"explo", f32(-104)},
	{"expP0", 0x3efffffe}, {"expP1", 0x3e2aaa49}, {"expP2", 0x3d2aac79}, {"expP3", 0x3c091d10}, {"expP4", 0x3ab511e8},
	// tanh32
	{"tanhCut", f32(0.625)}, {"tanhBig", f32(9.1)},
	{"tanhP0", 0xbeaaaaaa}, {"tanhP1", 0x3e088833}, {"tanhP2", 0xbd5cf748},
	{"tanhP3", 0x3cb1c5ac}, {"tanhP4", 0xbc05fa7f}, {"tanhP5", 0x3b0c70f0},
	// log32, log1p32
	{"minnorm", 0x00800000}, {"two23", f32(0x1p23)}, {"logShift", 0x3f800000 - 0x3f3504f3},
	{"mant", 0x007fffff}, {"sqrt2half", 0x3f3504f3},
	{"log2hi", f32(0.693145751953125)}, {"log2lo", f32(math.Ln2 - 0.693145751953125)},
	{"logR0", 0x3f2aaaaa}, {"logR1", 0x3ecccd3d}, {"logR2", 0x3e921c74}, {"logR3", 0x3e717a2b},
	// sin32, cos32
	{"trigMax", f32(1 << 14)}, {"twoOverPi", f32(2 / math.Pi)},
	{"pio2a", 0x3fc90000}, {"pio2b", 0x39fd8000}, {"pio2c", 0x34a88000}, {"pio2d", 0x2e85a309},
	{"sinS0", 0xbe2aaaa3}, {"sinS1", 0x3c088398}, {"sinS2", 0xb94ca031},
	{"cosC0", 0x3d2aaaa5}, {"cosC1", 0xbab60614}, {"cosC2", 0x37ccf435},
	// erf32
	{"erfCut", f32(1)}, {"erfBig", f32(3.95)},
	{"erfE0", 0xbd0d70a7}, {"erfE1", 0xbe8fe8b2}, {"erfE2", 0x3da2a1b3}, {"erfE3", 0xbc95c6fb},
	{"erfE4", 0x3b6415ba}, {"erfE5", 0xba143798}, {"erfE6", 0x38a4b537},
	{"erfL0", 0xbfecbfe0}, {"erfL1", 0xc028e4d5}, {"erfL2", 0xbf57d69a}, {"erfL3", 0xbd29fca0},
	{"erfL4", 0x3c220d68}, {"erfL5", 0xbaef5bdf}, {"erfL6", 0x394296a5},
}

func genConstTable32() {
	for i, c := range consts32 {
		for l := 0; l < 2; l++ {
			fmt.Fprintf(&w, "DATA neonconst32<>+%d(SB)/8, $0x%08x%08x // %s\n", 16*i+8*l, c.bits, c.bits, c.name)
		}
	}
	fmt.Fprintf(&w, "GLOBL neonconst32<>(SB), RODATA|NOPTR, $%d\n\n", 16*len(consts32))
}

// horner sets d = (...((c[0]·x + c[1])·x + c[2])...)·x + c[n-1], each
// product rounded (the Go code's float32(p*x) + c).
func horner(d, x int, c ...string) {
	fmul(d, x, k(c[0]))
	fadd(d, d, k(c[1]))
	for _, ci := range c[2:] {
		fmul(d, d, x)
		fadd(d, d, k(ci))
	}
}

// exp32V0: V0 = exp32(V0); temps t.
func exp32V0(t [4]int) {
	x, kf, k2, p := 0, t[0], t[1], t[2]
	tmp := t[3]
	fmax(x, x, k("explo")) // NaN stays NaN
	fmin(x, x, k("exphi"))
	fmul(kf, x, k("log2e"))
	fadd(kf, kf, k("shift"))
	sub(k2, kf, k("shift")) // k (integer)
	fsub(kf, kf, k("shift"))
	fmul(tmp, kf, k("ln2hi"))
	fsub(x, x, tmp) // exact
	fmul(tmp, kf, k("ln2lo"))
	fsub(x, x, tmp) // r
	horner(p, x, "expP4", "expP3", "expP2", "expP1", "expP0")
	fmul(tmp, x, x)
	fmul(tmp, tmp, p)
	fadd(tmp, x, tmp)
	fadd(x, tmp, k("one")) // p = 1 + (r + r²·P)
	sshr(kf, k2, 1)        // k1
	sub(k2, k2, kf)        // k - k1
	add(kf, kf, k("i127"))
	shl(kf, kf, 23)
	add(k2, k2, k("i127"))
	shl(k2, k2, 23)
	fmul(x, x, kf)
	fmul(x, x, k2)
}

var exp32Temps = [4]int{1, 2, 3, 4}

var exp32Order = []string{"shift", "one", "i127", "expP4", "expP3", "expP2", "expP1", "expP0", "log2e", "ln2hi", "ln2lo", "exphi", "explo"}

func exp32Body() {
	pin(regs(16, 31), append(exp32Order, "signmask", "two", "tanhCut", "tanhBig")...)
	scratch = 15
}

func sigmoid32V0() {
	mov(8, 0)
	fabs(0, 0)
	fneg(0, 0)
	exp32V0(exp32Temps)
	fadd(1, 0, k("one"))
	fcmltz(2, 8)
	kTo(3, "one")
	bit(3, 0, 2) // x < 0 ? e : 1
	fdiv(0, 3, 1)
}

// withSignOf: d = d | (x & sign).
func withSignOf(d, x, tmp int) {
	and(tmp, x, k("signmask"))
	orr(d, d, tmp)
}

func tanh32V0() {
	mov(8, 0)  // x
	fabs(9, 0) // a
	fmul(10, 9, 9)
	horner(11, 10, "tanhP5", "tanhP4", "tanhP3", "tanhP2", "tanhP1", "tanhP0")
	fmul(11, 10, 11)
	fmul(11, 9, 11)
	fadd(11, 9, 11) // small = a + a·(s·p)
	fmin(0, 9, k("tanhBig"))
	fadd(0, 0, 0)
	exp32V0(exp32Temps)
	fadd(0, 0, k("one"))
	kTo(1, "two")
	fdiv(0, 1, 0)
	kTo(1, "one")
	fsub(0, 1, 0) // 1 - 2/(e+1)
	kTo(1, "tanhCut")
	fcmgt(1, 1, 9) // a < 0.625
	bit(0, 11, 1)
	withSignOf(0, 8, 1)
}

// logParts32 computes, from the bits of y in V1 (normal, > 0) and kadj
// (an integer vector in V2), kf V2, f V1, s V3, hfsq V4 and R V5; temps
// V6, V7.
func logParts32() {
	add(1, 1, k("logShift"))
	ushr(3, 1, 23)
	sub(3, 3, k("i127"))
	sub(3, 3, 2)
	scvtf(2, 3) // kf
	and(1, 1, k("mant"))
	add(1, 1, k("sqrt2half"))
	fsub(1, 1, k("one")) // f
	fadd(3, 1, k("two"))
	fdiv(3, 1, 3) // s
	fmul(6, 3, 3) // z
	fmul(7, 6, 6) // w
	fmul(4, 7, k("logR3"))
	fadd(4, 4, k("logR1"))
	fmul(4, 7, 4) // t1
	fmul(5, 7, k("logR2"))
	fadd(5, 5, k("logR0"))
	fmul(5, 6, 5) // t2
	fadd(5, 5, 4) // R = t2 + t1
	fmul(4, 1, k("half"))
	fmul(4, 4, 1) // hfsq
}

// logResult sets V0 = kf·log2hi - ((hfsq - (s·(hfsq+R) + lo)) - f), lo in
// V6 (kf·log2lo, plus the correction for log1p).
func logResult() {
	fadd(7, 4, 5)
	fmul(7, 3, 7)
	fadd(7, 7, 6)
	fsub(7, 4, 7)
	fsub(7, 7, 1)
	fmul(0, 2, k("log2hi"))
	fsub(0, 0, 7)
}

// selectConst sets d = mask ? constant : d.
func selectConst(d, mask int, name string) { bit(d, k(name), mask) }

func log32V0() {
	mov(8, 0) // x
	kTo(9, "minnorm")
	cmgt(9, 9, 0) // int32(bits) < 0x00800000: subnormal, zero or negative
	fmul(1, 0, k("two23"))
	bif(1, 0, 9) // y
	and(2, 9, k("i23"))
	logParts32()
	fmul(6, 2, k("log2lo"))
	logResult()
	fcmeq(9, 8, k("inf"))
	selectConst(0, 9, "inf")
	fcmge(9, 8, k("zero"))
	selectConstNot(0, 9, "nan") // !(x >= 0)
	fcmeq(9, 8, k("zero"))
	selectConst(0, 9, "ninf")
}

// selectConstNot sets d = mask ? d : constant.
func selectConstNot(d, mask int, name string) { bif(d, k(name), mask) }

func log1p32V0() {
	mov(8, 0)            // x
	fadd(1, 0, k("one")) // u
	fsub(9, 1, 8)        // bb = u - x
	kTo(10, "one")
	fsub(10, 10, 9)  // 1 - bb
	fsub(11, 1, 9)   // u - bb
	fsub(11, 8, 11)  // x - (u - bb)
	fadd(10, 10, 11) // d
	fdiv(10, 10, 1)  // c = d/u
	eor(2, 2, 2)     // kadj = 0
	logParts32()
	fmul(6, 2, k("log2lo"))
	fadd(6, 6, 10)
	logResult()
	fcmeq(9, 8, k("inf"))
	selectConst(0, 9, "inf")
	fcmge(9, 8, k("mone"))
	selectConstNot(0, 9, "nan") // !(x >= -1)
	fcmeq(9, 8, k("mone"))
	selectConst(0, 9, "ninf")
	fcmeq(9, 8, k("zero"))
	bit(0, 8, 9) // x == 0: x (its sign)
}

func log32Body() {
	pin(regs(12, 31), "one", "two", "half", "i127", "i23", "logShift", "mant", "sqrt2half", "logR0", "logR1",
		"logR2", "logR3", "log2hi", "log2lo", "minnorm", "two23", "inf", "zero", "nan", "ninf")
	scratch = 11
}

func log1p32Body() {
	pin(regs(12, 31), "one", "two", "half", "i127", "logShift", "mant", "sqrt2half", "logR0", "logR1",
		"logR2", "logR3", "log2hi", "log2lo", "inf", "zero", "mone", "nan", "ninf")
	scratch = 12 // V12 and V13 are left by the 18 pinned constants
}

// trig32V0: sin32 or cos32 of V0, or branch to bail.
func trig32V0(bail string, isCos bool) {
	fabs(1, 0) // a
	kTo(2, "trigMax")
	fcmgt(2, 2, 1) // a < 2^14 (false for NaN)
	p("VMOV V2.D[0], R10")
	p("VMOV V2.D[1], R11")
	p("AND R11, R10")
	p("CMN $1, R10")
	p("BNE %s", bail)
	fmul(2, 1, k("twoOverPi"))
	fadd(2, 2, k("shift"))
	sub(3, 2, k("shift"))  // q
	fsub(2, 2, k("shift")) // qf
	fmul(4, 2, k("pio2a"))
	fsub(4, 1, 4)
	fmul(5, 2, k("pio2b"))
	fsub(4, 4, 5)          // t
	fmul(5, 2, k("pio2c")) // u
	fsub(6, 4, 5)          // st
	fsub(7, 4, 6)
	fsub(7, 7, 5) // e
	fmul(8, 2, k("pio2d"))
	fsub(8, 8, 7) // corr
	fsub(9, 6, 8) // z
	fsub(10, 6, 9)
	fsub(10, 10, 8) // zlo
	fmul(11, 9, 9)  // zz
	horner(4, 11, "sinS2", "sinS1", "sinS0")
	fmul(5, 9, 11)
	fmul(5, 5, 4)
	fadd(5, 5, 10)
	fadd(5, 9, 5) // s
	horner(4, 11, "cosC2", "cosC1", "cosC0")
	fmul(6, 11, 11)
	fmul(6, 6, 4)
	fmul(7, 11, k("half"))
	fsub(7, 7, 6)
	fmul(6, 9, 10)
	fadd(7, 7, 6)
	kTo(6, "one")
	fsub(6, 6, 7)        // c
	cmtst(4, 3, k("i1")) // q odd
	if isCos {
		bit(6, 5, 4) // odd ? s : c
		add(3, 3, k("i1"))
		shl(3, 3, 30)
		and(3, 3, k("signmask"))
		eor(0, 6, 3)
		return
	}
	bit(5, 6, 4) // odd ? c : s
	shl(3, 3, 30)
	eor(3, 3, 0)
	and(3, 3, k("signmask")) // sign(x) ^ q<<30
	eor(0, 5, 3)
}

func trig32Body() {
	pin(regs(13, 31), "shift", "twoOverPi", "pio2a", "pio2b", "pio2c", "pio2d", "sinS0", "sinS1", "sinS2",
		"cosC0", "cosC1", "cosC2", "half", "one", "i1", "signmask", "trigMax")
	scratch = 12
}

func erf32V0() {
	mov(8, 0)  // x
	fabs(9, 0) // a
	fmul(10, 9, 9)
	fsub(10, 10, k("half")) // z = a² - 1/2
	horner(11, 10, "erfE6", "erfE5", "erfE4", "erfE3", "erfE2", "erfE1", "erfE0")
	fmul(11, 9, 11)
	fadd(11, 9, 11) // small
	fmin(10, 9, k("erfBig"))
	fsub(10, 10, k("one")) // t
	horner(0, 10, "erfL6", "erfL5", "erfL4", "erfL3", "erfL2", "erfL1", "erfL0")
	exp32V0(exp32Temps)
	kTo(1, "one")
	fsub(0, 1, 0) // 1 - exp(l)
	kTo(1, "erfCut")
	fcmgt(1, 1, 9) // a < 1
	bit(0, 11, 1)
	withSignOf(0, 8, 1)
}

func erf32Body() {
	pin(regs(16, 31), append(exp32Order, "signmask", "erfBig", "erfCut")...) // half is loaded
	scratch = 15
}

// genMap32 writes func name(dst, src []float32) (or, with bail, ... int).
func genMap32(name string, setup func(), body func(bail string), bail bool) {
	arr = "4s"
	defer func() { arr = "2d" }()
	if bail {
		fmt.Fprintf(&w, "// func %s(dst, src []float32) int\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	} else {
		fmt.Fprintf(&w, "// func %s(dst, src []float32)\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	}
	p("MOVD dst_base+0(FP), R0")
	p("MOVD dst_len+8(FP), R2")
	p("MOVD src_base+24(FP), R1")
	p("MOVD R2, R3")
	p("MOVD $neonconst32<>(SB), R9")
	setup()
	out := name + "_done"
	if bail {
		out = name + "_bail"
	}
	label(name + "_loop")
	p("CMP $4, R2")
	p("BLT %s_tail", name)
	p("VLD1 (R1), [V0.S4]")
	body(out)
	p("VST1.P [V0.S4], 16(R0)")
	p("ADD $16, R1")
	p("SUB $4, R2")
	p("B %s_loop", name)
	label(name + "_tail")
	p("CBZ R2, %s", out)
	p("VLD1R.P 4(R1), [V0.S4]")
	body(out)
	p("FMOVS.P F0, 4(R0)")
	p("SUB $1, R2")
	p("B %s_tail", name)
	if bail {
		label(name + "_bail")
		p("SUB R2, R3, R3")
		p("MOVD R3, ret+48(FP)")
	} else {
		label(name + "_done")
	}
	p("RET")
	fmt.Fprintln(&w)
	pinned, scratch = nil, -1
}

func genMaps32() {
	genConstTable32()
	genMap32("exp32NEON", exp32Body, func(string) { exp32V0(exp32Temps) }, false)
	genMap32("sigmoid32NEON", exp32Body, func(string) { sigmoid32V0() }, false)
	genMap32("tanh32NEON", exp32Body, func(string) { tanh32V0() }, false)
	genMap32("erf32NEON", erf32Body, func(string) { erf32V0() }, false)
	genMap32("log32NEON", log32Body, func(string) { log32V0() }, false)
	genMap32("log1p32NEON", log1p32Body, func(string) { log1p32V0() }, false)
	genMap32("sqrt32NEON", func() {}, func(string) { fsqrt(0, 0) }, false)
	genMap32("sin32NEON", trig32Body, func(b string) { trig32V0(b, false) }, true)
	genMap32("cos32NEON", trig32Body, func(b string) { trig32V0(b, true) }, true)
	genStreams32()
}
