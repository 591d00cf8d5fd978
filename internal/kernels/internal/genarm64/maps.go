package main

import "fmt"

// The elementwise maps on two float64 lanes. Each does, lane by lane,
// exactly the operations of the scalar Go code in mathfn.go (products
// rounded before sums unless the Go code uses math.FMA), so the results
// agree bit for bit with the Go loops; tests check this. Like the amd64
// code, exp clamps its argument to [-746, 710] instead of branching, and
// the functions with several branches compute all of them and select.
//
// A map reads two elements per iteration (V0), and an odd last element
// replicated into both lanes, so that no lane computes on data outside
// the slice. log, sin and cos stop at the first pair with an argument
// that needs the math package and return how many elements they did.

// expOrder: the exp constants, most used first (the order they are pinned in).
var expOrder = []string{"shifter", "one", "i1023", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9",
	"c10", "c11", "c12", "c13", "log2e", "ln2hi", "ln2lo", "hiclamp", "loclamp"}

// expV0: V0 = exp(V0), expCore's operations after clamping; temps t.
func expV0(t [7]int) {
	x := 0
	kf, kfs, r2, b0, b1, b2, a := t[0], t[1], t[2], t[3], t[4], t[5], t[6]
	fmin(x, x, k("hiclamp")) // NaN stays NaN
	fmax(x, x, k("loclamp"))
	fmul(kfs, x, k("log2e"))
	fadd(kfs, kfs, k("shifter")) // k in the low bits
	fsub(kf, kfs, k("shifter"))  // kf
	fmls(x, kf, k("ln2hi"))      // x - kf*ln2hi (exact)
	fmls(x, kf, k("ln2lo"))      // r = FMA(-kf, ln2lo, r)
	fmul(r2, x, x)
	pair := func(d int, lo, hi string) { // d = FMA(hi, r, lo)
		kTo(d, lo)
		fmla(d, x, k(hi))
	}
	pair(b0, "c2", "c3")
	pair(a, "c4", "c5")
	fmla(b0, a, r2) // b0 = FMA(a1, r2, a0)
	pair(b1, "c6", "c7")
	pair(a, "c8", "c9")
	fmla(b1, a, r2) // b1
	pair(b2, "c10", "c11")
	pair(a, "c12", "c13")
	fmla(b2, a, r2)             // b2
	fmul(a, r2, r2)             // r4
	fmla(b0, b1, a)             // FMA(b1, r4, b0)
	fmul(a, a, a)               // r8
	fmla(b0, b2, a)             // q
	fmla(x, b0, r2)             // FMA(q, r2, r)
	fadd(x, x, k("one"))        // p
	sub(kfs, kfs, k("shifter")) // k (integer)
	sshr(kf, kfs, 1)            // k1 = k >> 1
	sub(kfs, kfs, kf)           // k2 = k - k1
	add(kf, kf, k("i1023"))
	shl(kf, kf, 52) // 2^k1
	add(kfs, kfs, k("i1023"))
	shl(kfs, kfs, 52) // 2^k2
	fmul(x, x, kf)
	fmul(x, x, kfs)
}

var expTemps = [7]int{1, 2, 3, 4, 5, 6, 7}

func expBody() {
	pin(regs(12, 31), expOrder...)
	scratch = 11
}

// sigmoid: e = exp(-|x|); x < 0 ? e/(1+e) : 1/(1+e).
func sigmoidV0() {
	mov(8, 0)
	fabs(0, 0)
	fneg(0, 0)
	expV0(expTemps)
	fadd(1, 0, k("one"))
	fcmltz(2, 8)
	kTo(3, "one")
	bit(3, 0, 2)
	fdiv(0, 3, 1)
}

// tanh: for a = |x| < 0.625, a + a·s·P(s)/Q(s) with s = a²; else
// 1 - 2/(exp(2a)+1); the sign of x put back.
func tanhV0() {
	mov(8, 0)  // x
	fabs(9, 0) // a
	fadd(0, 9, 9)
	expV0(expTemps)
	fadd(0, 0, k("one")) // e+1
	fmul(1, 9, 9)        // s
	fmul(2, 1, k("p0"))
	fadd(2, 2, k("p1"))
	fmul(2, 2, 1)
	fadd(2, 2, k("p2")) // P
	fadd(3, 1, k("q0"))
	fmul(3, 3, 1)
	fadd(3, 3, k("q1"))
	fmul(3, 3, 1)
	fadd(3, 3, k("q2")) // Q
	fmul(4, 9, 1)
	fmul(4, 4, 2) // a*s*P
	kTo(5, "tanhcut")
	fcmgt(5, 5, 9) // a < 0.625 (false for NaN)
	kTo(6, "two")
	bit(6, 4, 5) // numerator
	bit(0, 3, 5) // denominator
	fdiv(6, 6, 0)
	kTo(0, "one")
	fsub(0, 0, 6) // 1 - 2/(e+1)
	fadd(4, 9, 6) // a + a*s*P/Q
	bit(0, 4, 5)
	and(8, 8, k("signmask"))
	orr(0, 0, 8)
}

// erf: the three approximations of s_erf.c for all lanes, then a select;
// live across the two exps: x V8, a V9, R/S V10, z V11, exp #1 V12.
func erfV0() {
	mov(8, 0)
	fabs(9, 0)
	// Tail, 1.25 <= a < 6.
	fmul(10, 9, 9)
	kTo(14, "one")
	fdiv(10, 14, 10) // s = 1/(a*a)
	kTo(11, "erfcut3")
	fcmge(11, 9, 11) // row 1: a >= 1/0.35
	coef := func(d int, tab string, i int) {
		kTo(d, fmt.Sprintf("%s0_%d", tab, i))
		kTo(15, fmt.Sprintf("%s1_%d", tab, i))
		bit(d, 15, 11)
	}
	coef(12, "erfR", 7)
	coef(13, "erfS", 7)
	for i := 6; i >= 0; i-- {
		fmul(12, 10, 12)
		coef(14, "erfR", i)
		fadd(12, 12, 14)
		fmul(13, 10, 13)
		coef(14, "erfS", i)
		fadd(13, 13, 14)
	}
	fmul(13, 10, 13)
	fadd(13, 13, k("one"))  // S
	fdiv(10, 12, 13)        // R/S
	and(11, 9, k("himask")) // z
	fmul(0, 11, 11)
	fneg(0, 0) // -z*z
	fsub(0, 0, k("c5625"))
	expV0(expTemps)
	mov(12, 0)
	fsub(1, 11, 9)
	fadd(2, 11, 9)
	fmul(0, 1, 2)
	fadd(0, 0, 10)
	expV0(expTemps)
	fmul(0, 12, 0) // r
	fdiv(0, 0, 9)
	kTo(1, "one")
	fsub(0, 1, 0) // tail: 1 - r/a
	// Small, a < 0.84375 -> V11.
	fmul(10, 9, 9) // z
	fmul(11, 10, k("pp4"))
	fadd(11, 11, k("pp3"))
	for _, c := range []string{"pp2", "pp1", "pp0"} {
		fmul(11, 10, 11)
		fadd(11, 11, k(c))
	}
	fmul(12, 10, k("qq5"))
	fadd(12, 12, k("qq4"))
	for _, c := range []string{"qq3", "qq2", "qq1", "one"} {
		fmul(12, 10, 12)
		fadd(12, 12, k(c))
	}
	fdiv(11, 11, 12)
	fmul(11, 9, 11)
	fadd(11, 9, 11)
	// Middle, a < 1.25 -> V13.
	fsub(12, 9, k("one")) // s
	fmul(13, 12, k("pa6"))
	fadd(13, 13, k("pa5"))
	fmul(1, 12, k("qa6"))
	fadd(1, 1, k("qa5"))
	for _, c := range [][2]string{{"pa4", "qa4"}, {"pa3", "qa3"}, {"pa2", "qa2"}, {"pa1", "qa1"}, {"pa0", "one"}} {
		fmul(13, 12, 13)
		fadd(13, 13, k(c[0]))
		fmul(1, 12, 1)
		fadd(1, 1, k(c[1]))
	}
	fdiv(13, 13, 1)
	fadd(13, 13, k("erx"))
	// Select.
	kTo(14, "erfcut4")
	fcmge(14, 9, 14) // a >= 6
	kTo(15, "one")
	bit(0, 15, 14)
	kTo(14, "erfcut2")
	fcmgt(14, 14, 9) // a < 1.25
	bit(0, 13, 14)
	kTo(14, "erfcut1")
	fcmgt(14, 14, 9) // a < 0.84375
	bit(0, 11, 14)
	kTo(14, "signmask")
	and(14, 8, 14)
	orr(0, 0, 14)
	fcmeq(14, 8, 8) // not NaN
	bif(0, 8, 14)   // NaN: x itself
}

func erfBody() {
	// V16..V31 for exp constants; V14, V15 hold erf's (V15 is also the
	// scratch register inside exp, where it is free).
	pin(regs(16, 31), expOrder...)
	scratch = 15
}

// anyLane branches to target if any lane of mask register m is set; uses
// R10.
func anyLane(m int, target string) {
	addpScalar(m, m)
	p("FMOVD F%d, R10", m)
	p("CBNZ R10, %s", target)
}

// logV0: log(V0) (FreeBSD's e_log.c as in mathfn.go), or branch to bail.
func logV0(bail string) {
	sub(1, 0, k("minnorm"))
	cmhs(1, 1, k("logcut")) // x <= 0, subnormal, Inf or NaN
	anyLane(1, bail)
	add(0, 0, k("logshift"))
	ushr(1, 0, 52)
	sub(1, 1, k("i1023"))
	scvtf(1, 1) // kf
	and(0, 0, k("mant"))
	add(0, 0, k("sqrt2half"))
	fsub(0, 0, k("one")) // f
	fadd(2, 0, k("two"))
	fdiv(2, 0, 2) // s
	fmul(3, 2, 2) // s2
	fmul(4, 3, 3) // s4
	fmul(5, 4, k("L7"))
	fadd(5, 5, k("L5"))
	fmul(5, 4, 5)
	fadd(5, 5, k("L3"))
	fmul(5, 4, 5)
	fadd(5, 5, k("L1"))
	fmul(5, 3, 5) // t1
	fmul(6, 4, k("L6"))
	fadd(6, 6, k("L4"))
	fmul(6, 4, 6)
	fadd(6, 6, k("L2"))
	fmul(6, 4, 6) // t2
	fadd(5, 5, 6) // R
	fmul(6, 0, k("half"))
	fmul(6, 6, 0) // hfsq
	fadd(5, 6, 5)
	fmul(5, 2, 5) // s*(hfsq+R)
	fmul(7, 1, k("ln2lo"))
	fadd(5, 5, 7)
	fsub(5, 6, 5)
	fsub(5, 5, 0)
	fmul(7, 1, k("ln2hi"))
	fsub(0, 7, 5)
}

func logBody() {
	pin(regs(12, 31), "one", "two", "half", "i1023", "minnorm", "logcut", "logshift", "mant", "sqrt2half",
		"L1", "L2", "L3", "L4", "L5", "L6", "L7", "ln2hi", "ln2lo")
	scratch = 11
}

// trigV0: sin or cos of V0 (Cephes as sincosCore in mathfn.go), or branch
// to bail for |x| >= 2^29, Inf, NaN.
func trigV0(bail string, isCos bool) {
	fabs(1, 0) // a
	kTo(2, "triglim")
	fcmgt(2, 2, 1) // a < 2^29 (false for NaN)
	p("VMOV V2.D[0], R10")
	p("VMOV V2.D[1], R11")
	p("AND R11, R10")
	p("CMN $1, R10")
	p("BNE %s", bail)
	if isCos {
		eor(3, 3, 3)
	} else {
		and(3, 0, k("signmask")) // sign of the result
	}
	fmul(4, 1, k("fop"))
	fcvtzu(5, 4) // j
	ucvtf(4, 5)  // y
	cmtst(6, 5, k("i1"))
	sub(5, 5, 6) // j odd: j+1
	and(7, 6, k("one"))
	fadd(4, 4, 7) // and y+1
	and(5, 5, k("i7"))
	cmhi(6, 5, k("i3")) // j > 3
	and(7, 6, k("i4"))
	sub(5, 5, 7)
	and(7, 6, k("signmask"))
	eor(3, 3, 7)
	if isCos {
		cmhi(6, 5, k("i1")) // j > 1
		and(7, 6, k("signmask"))
		eor(3, 3, 7)
	}
	cmeq(6, 5, k("i1"))
	cmeq(7, 5, k("i2"))
	orr(6, 6, 7) // swap sin and cos
	// Fused where sincosCore calls math.FMA.
	mov(5, 1)
	fmls(5, 4, k("pi4a"))
	fmls(5, 4, k("pi4b"))
	fmls(5, 4, k("pi4c")) // z
	fmul(4, 5, 5)         // zz
	kTo(7, "cc0")
	kTo(2, "sc0")
	for i := 1; i < 6; i++ {
		kTo(8, fmt.Sprintf("cc%d", i))
		fmla(8, 7, 4)
		mov(7, 8)
		kTo(9, fmt.Sprintf("sc%d", i))
		fmla(9, 2, 4)
		mov(2, 9)
	}
	kTo(8, "one")
	fmls(8, 4, k("half"))
	fmul(9, 4, 4)
	fmla(8, 9, 7) // c
	fmul(9, 5, 4)
	mov(4, 5)
	fmla(4, 9, 2) // s
	mov(9, 4)
	if isCos {
		bit(8, 9, 6) // swap ? s : c
		eor(0, 8, 3)
		return
	}
	bit(9, 8, 6) // swap ? c : s
	// The sign comes from x's sign bit, so sin(-0) = -0 with no special
	// case (the Go code returns x for x == 0).
	eor(0, 9, 3)
}

func trigBody() {
	pin(regs(11, 31), "signmask", "one", "half", "i1", "i3", "i4", "i7", "fop", "pi4a", "pi4b", "pi4c",
		"cc1", "cc2", "cc3", "cc4", "cc5", "sc1", "sc2", "sc3", "sc4", "sc5", "i2", "cc0", "sc0", "triglim")
	scratch = 10
}

// genMap writes func name(dst, src []float64) (or, with bail, ... int).
func genMap(name string, setup func(), body func(bail string), bail bool) {
	if bail {
		fmt.Fprintf(&w, "// func %s(dst, src []float64) int\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	} else {
		fmt.Fprintf(&w, "// func %s(dst, src []float64)\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	}
	p("MOVD dst_base+0(FP), R0")
	p("MOVD dst_len+8(FP), R2")
	p("MOVD src_base+24(FP), R1")
	p("MOVD R2, R3")
	p("MOVD $neonconst<>(SB), R9")
	setup()
	out := name + "_done"
	if bail {
		out = name + "_bail"
	}
	label(name + "_loop")
	p("CMP $2, R2")
	p("BLT %s_tail", name)
	p("VLD1 (R1), [V0.D2]")
	body(out)
	p("VST1.P [V0.D2], 16(R0)")
	p("ADD $16, R1")
	p("SUB $2, R2")
	p("B %s_loop", name)
	label(name + "_tail")
	p("CBZ R2, %s", out)
	p("VLD1R (R1), [V0.D2]")
	body(out)
	p("FMOVD F0, (R0)")
	p("MOVD ZR, R2")
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

func genMaps() {
	genConstTable()
	genMap("expNEON", expBody, func(string) { expV0(expTemps) }, false)
	genMap("sigmoidNEON", expBody, func(string) { sigmoidV0() }, false)
	genMap("tanhNEON", expBody, func(string) { tanhV0() }, false)
	genMap("erfNEON", erfBody, func(string) { erfV0() }, false)
	genMap("logNEON", logBody, logV0, true)
	genMap("sinNEON", trigBody, func(b string) { trigV0(b, false) }, true)
	genMap("cosNEON", trigBody, func(b string) { trigV0(b, true) }, true)
	genStreams()
}
