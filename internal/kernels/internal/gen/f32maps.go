package main

import "fmt"

// The float32 maps: the operations of the scalar Go code in mathfn32.go
// (exp32, sigmoid32, tanh32, log32, sin32, cos32, erf32, sqrt32), lane by
// lane, in the same order and with the same roundings. Each body takes
// its argument in register 0 and leaves the result there; registers 1..14
// are temporaries (15 is the AVX2 lane mask).

// exp32 sets R0 = exp(R0); uses R1..R4.
func (v vec32) exp32() {
	v.mov(1, "exphi")
	v.minNaN(0, 1, 0) // NaN stays
	v.mov(1, "explo")
	p("VMAXPS %s, %s, %s", v.r(0), v.r(1), v.r(0))
	v.mul(1, 0, "log2e")
	v.add(1, 1, "shift")
	v.isub(2, 1, "shift") // k
	v.sub(1, 1, "shift")  // kf
	v.mul(3, 1, "ln2hi")
	v.sub(0, 0, 3) // exact
	v.mul(3, 1, "ln2lo")
	v.sub(0, 0, 3) // r
	v.mul(3, 0, "expP4")
	v.add(3, 3, "expP3")
	for _, c := range []string{"expP2", "expP1", "expP0"} {
		v.mul(3, 3, 0)
		v.add(3, 3, c)
	}
	v.mul(4, 0, 0) // r²
	v.mul(3, 4, 3)
	v.add(3, 0, 3)
	v.add(0, 3, "one")
	// 2^k1, 2^(k-k1), k1 = k>>1
	v.sar(3, 2, 1)
	v.isub(2, 2, 3)
	v.iadd(3, 3, "i127")
	v.shl(3, 3, 23)
	v.iadd(2, 2, "i127")
	v.shl(2, 2, 23)
	v.mul(0, 0, 3)
	v.mul(0, 0, 2)
}

// sigmoid32 sets R0 = sigmoid(R0); uses R1..R5 and mask {6, 2}.
func (v vec32) sigmoid32() {
	m := mask{6, 2}
	v.mov(5, 0)
	v.or(0, 0, "sign") // -|x|
	v.exp32()
	v.add(1, 0, "one") // 1+e
	v.cmp(m, cmpLT, 5, "zero")
	v.mov(2, "one")
	v.blend(2, m, 2, 0) // x < 0 ? e : 1
	v.div(0, 2, 1)
}

// tanh32 sets R0 = tanh(R0); uses R1..R8 and mask {9, 2}.
func (v vec32) tanh32() {
	m := mask{9, 2}
	v.mov(5, 0)
	v.and(6, 0, "abs") // a
	v.mul(7, 6, 6)     // s
	v.mul(8, 7, "tanhP5")
	v.add(8, 8, "tanhP4")
	for _, c := range []string{"tanhP3", "tanhP2", "tanhP1", "tanhP0"} {
		v.mul(8, 8, 7)
		v.add(8, 8, c)
	}
	v.mul(8, 7, 8)
	v.mul(8, 6, 8)
	v.add(8, 6, 8) // small
	v.mov(1, "tanhBig")
	v.minNaN(0, 1, 6)
	v.add(0, 0, 0)
	v.exp32()
	v.add(0, 0, "one")
	v.mov(1, "two")
	v.div(0, 1, 0)
	v.mov(1, "one")
	v.sub(0, 1, 0) // 1 - 2/(e+1)
	v.cmp(m, cmpLT, 6, "tanhCut")
	v.blend(0, m, 0, 8)
	v.and(5, 5, "sign")
	v.or(0, 0, 5)
}

// logCore sets R0 = log(R0), plus R[c] added with the small terms when
// c >= 0, for normal R0 > 0; R3 holds the exponent adjustment of
// subnormals when kadj (then 3) >= 0. Uses R1..R8.
func (v vec32) logCore(kadj, c int) {
	if kadj >= 0 && kadj != 3 {
		panic("logCore: kadj must be R3")
	}
	v.iadd(0, 0, "logShift")
	v.shr(1, 0, 23)
	v.isub(1, 1, "i127")
	if kadj >= 0 {
		v.isub(1, 1, kadj)
	} // k
	v.and(0, 0, "mant")
	v.iadd(0, 0, "sqrt2half")
	v.sub(0, 0, "one") // f
	v.cvt(1, 1)        // kf
	v.add(2, 0, "two")
	v.div(2, 0, 2) // s
	v.mul(3, 2, 2) // z
	v.mul(4, 3, 3) // w
	v.mul(6, 4, "logR3")
	v.add(6, 6, "logR1")
	v.mul(6, 4, 6) // t1
	v.mul(7, 4, "logR2")
	v.add(7, 7, "logR0")
	v.mul(7, 3, 7) // t2
	v.add(6, 7, 6) // R
	v.mul(7, 0, "half")
	v.mul(7, 7, 0) // hfsq
	v.add(6, 7, 6)
	v.mul(6, 2, 6) // s*(hfsq+R)
	v.mul(8, 1, "log2lo")
	if c >= 0 {
		v.add(8, 8, c)
	}
	v.add(6, 6, 8)
	v.sub(6, 7, 6)
	v.sub(6, 6, 0)
	v.mul(8, 1, "log2hi")
	v.sub(0, 8, 6)
}

// log32 sets R0 = log(R0); uses R1..R8 and masks {9, 2}, {10, 3}.
func (v vec32) log32() {
	sub, m := mask{9, 2}, mask{10, 3}
	v.mov(5, 0)
	v.mov(1, "minnorm")
	v.icmpgt(sub, 1, 0) // subnormal, zero or negative
	v.mul(2, 0, "two23")
	v.blend(0, sub, 0, 2)
	v.mov(3, "zero")
	v.blend(3, sub, 3, "i23") // kadj
	v.logCore(3, -1)
	v.cmp(m, cmpEQ, 5, "zero")
	v.blend(0, m, 0, "ninf")
	v.cmp(m, cmpNGE, 5, "zero") // x < 0 or NaN
	v.blend(0, m, 0, "nan")
	v.cmp(m, cmpEQ, 5, "inf")
	v.blend(0, m, 0, "inf")
}

// log1p32 sets R0 = log(1+R0); uses R1..R8, R11..R13 and mask {9, 2}.
func (v vec32) log1p32() {
	m := mask{9, 2}
	v.mov(11, 0)        // x
	v.add(12, 0, "one") // u
	v.sub(13, 12, 11)   // bb = u - x
	v.sub(1, 12, 13)    // u - bb
	v.sub(1, 11, 1)     // x - (u - bb)
	v.mov(0, "one")
	v.sub(0, 0, 13)   // 1 - bb
	v.add(13, 0, 1)   // d
	v.div(13, 13, 12) // c = d/u
	v.mov(0, 12)
	v.logCore(-1, 13)
	v.cmp(m, cmpEQ, 11, "zero")
	v.blend(0, m, 0, 11)
	v.cmp(m, cmpEQ, 11, "mone")
	v.blend(0, m, 0, "ninf")
	v.cmp(m, cmpNGE, 11, "mone") // x < -1 or NaN
	v.blend(0, m, 0, "nan")
	v.cmp(m, cmpEQ, 11, "inf")
	v.blend(0, m, 0, "inf")
}

// trig32 sets R0 = sin(R0) or cos(R0), or jumps to bail if an active lane
// is not below the reduction limit (or is not finite); uses R1..R8, R10
// and mask {9, 2}.
func (v vec32) trig32(isCos bool, bail string) {
	m := mask{9, 2}
	v.mov(5, 0)
	v.and(6, 0, "abs") // a
	v.cmp(m, cmpNLT, 6, "trigMax")
	v.bailIf(m, bail)
	v.mul(1, 6, "twoOverPi")
	v.add(1, 1, "shift")
	v.isub(2, 1, "shift") // q
	v.sub(1, 1, "shift")  // qf
	v.mul(3, 1, "pio2a")
	v.sub(0, 6, 3)
	v.mul(3, 1, "pio2b")
	v.sub(0, 0, 3) // t
	v.mul(3, 1, "pio2c")
	v.sub(4, 0, 3) // st
	v.sub(0, 0, 4)
	v.sub(0, 0, 3) // e
	v.mul(3, 1, "pio2d")
	v.sub(3, 3, 0) // corr
	v.sub(0, 4, 3) // z
	v.sub(10, 4, 0)
	v.sub(10, 10, 3) // zlo
	v.mul(3, 0, 0)   // zz
	v.mul(4, 3, "sinS2")
	v.add(4, 4, "sinS1")
	v.mul(4, 4, 3)
	v.add(4, 4, "sinS0")
	v.mul(7, 0, 3)
	v.mul(4, 7, 4)
	v.add(4, 4, 10)
	v.add(4, 0, 4) // sin(z+zlo)
	v.mul(7, 3, "cosC2")
	v.add(7, 7, "cosC1")
	v.mul(7, 7, 3)
	v.add(7, 7, "cosC0")
	v.mul(8, 3, 3)
	v.mul(7, 8, 7)
	v.mul(8, 3, "half")
	v.sub(7, 8, 7)
	v.mul(8, 0, 10)
	v.add(7, 7, 8)
	v.mov(1, "one")
	v.sub(7, 1, 7) // cos(z+zlo)
	v.odd(m, 2)
	if isCos {
		v.blend(0, m, 7, 4)
		v.iadd(2, 2, "i1")
		v.shl(2, 2, 30)
		v.and(2, 2, "sign")
	} else {
		v.blend(0, m, 4, 7)
		v.shl(2, 2, 30)
		v.and(2, 2, "sign")
		v.and(5, 5, "sign")
		v.xor(2, 2, 5)
	}
	v.xor(0, 0, 2)
}

// erf32 sets R0 = erf(R0); uses R1..R8 and mask {9, 2}.
func (v vec32) erf32() {
	m := mask{9, 2}
	v.mov(5, 0)
	v.and(6, 0, "abs") // a
	v.mul(7, 6, 6)
	v.sub(7, 7, "half") // z = a² - 1/2
	v.mul(8, 7, "erfE6")
	v.add(8, 8, "erfE5")
	for _, c := range []string{"erfE4", "erfE3", "erfE2", "erfE1", "erfE0"} {
		v.mul(8, 8, 7)
		v.add(8, 8, c)
	}
	v.mul(8, 6, 8)
	v.add(8, 6, 8) // small
	v.mov(1, "erfBig")
	v.minNaN(0, 1, 6)
	v.sub(0, 0, "one") // t
	v.mul(7, 0, "erfL6")
	v.add(7, 7, "erfL5")
	for _, c := range []string{"erfL4", "erfL3", "erfL2", "erfL1", "erfL0"} {
		v.mul(7, 7, 0)
		v.add(7, 7, c)
	}
	v.mov(0, 7)
	v.exp32()
	v.mov(1, "one")
	v.sub(0, 1, 0) // tail
	v.cmp(m, cmpLT, 6, "one")
	v.blend(0, m, 0, 8)
	v.and(5, 5, "sign")
	v.or(0, 0, 5)
}

// genMap32 prints func name(dst, src []float32): body maps R0 to R0.
func (v vec32) genMap32(name string, body func()) {
	name += v.suffix
	fmt.Fprintf(&w, "// func %s(dst, src []float32)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ src_base+24(FP), SI")
	label(name + "_loop")
	p("CMPQ CX, $%d", v.lanes)
	p("JLT %s_tail", name)
	v.load(0, "(SI)")
	body()
	v.store(0, "(DI)")
	p("ADDQ $%d, SI", 4*v.lanes)
	p("ADDQ $%d, DI", 4*v.lanes)
	p("SUBQ $%d, CX", v.lanes)
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	v.tailActive()
	v.loadTail(0, "(SI)")
	body()
	v.storeTail(0, "(DI)")
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

// genBail32 prints func name(dst, src []float32) int, for bodies that may
// jump to name_bail: it returns how many elements it did (all, or up to
// the vector it stopped at).
func (v vec32) genBail32(name string, body func(bail string)) {
	name += v.suffix
	bail := name + "_bail"
	fmt.Fprintf(&w, "// func %s(dst, src []float32) int\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ CX, R8")
	p("MOVQ src_base+24(FP), SI")
	v.allActive()
	label(name + "_loop")
	p("CMPQ CX, $%d", v.lanes)
	p("JLT %s_tail", name)
	v.load(0, "(SI)")
	body(bail)
	v.store(0, "(DI)")
	p("ADDQ $%d, SI", 4*v.lanes)
	p("ADDQ $%d, DI", 4*v.lanes)
	p("SUBQ $%d, CX", v.lanes)
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s", bail)
	v.tailActive()
	v.loadTail(0, "(SI)")
	body(bail)
	v.storeTail(0, "(DI)")
	p("XORQ CX, CX")
	label(bail)
	p("SUBQ CX, R8")
	p("MOVQ R8, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

// Streaming ops: func name(n int, d, a, b, c *float32, alpha float32),
// the Go loops' operations lane by lane. Inputs load into R0 (d), R1 (a),
// R2 (b), R3 (c); the result is R0; R13 = 1, R14 = alpha.
type stream32 struct {
	name string
	in   []string
	body func(v vec32)
}

var streams32 = []stream32{
	{"addTo32", []string{"d", "a"}, func(v vec32) { v.add(0, 0, 1) }},
	{"mul32", []string{"a", "b"}, func(v vec32) { v.mul(0, 1, 2) }},
	{"add32", []string{"a", "b"}, func(v vec32) { v.add(0, 1, 2) }},
	{"mulAdd32", []string{"a", "b", "c"}, func(v vec32) { v.mul(0, 1, 2); v.add(0, 0, 3) }},
	{"oneMinusSq32", []string{"a"}, func(v vec32) { v.mul(0, 1, 1); v.sub(0, 13, 0) }},
	{"tanhBackward32", []string{"a", "b"}, func(v vec32) { v.mul(0, 2, 2); v.sub(0, 13, 0); v.mul(0, 1, 0) }},
	{"sigmoidDeriv32", []string{"a"}, func(v vec32) { v.sub(0, 13, 1); v.mul(0, 1, 0) }},
	{"sigmoidBackward32", []string{"a", "b"}, func(v vec32) { v.sub(0, 13, 2); v.mul(0, 2, 0); v.mul(0, 1, 0) }},
	{"axpy32", []string{"d", "a"}, func(v vec32) { v.mul(1, 14, 1); v.add(0, 0, 1) }},
	{"scale32", []string{"a"}, func(v vec32) { v.mul(0, 14, 1) }},
}

var ptrReg32 = map[string]string{"d": "DI", "a": "SI", "b": "DX", "c": "R8"}
var ptrVec32 = map[string]int{"d": 0, "a": 1, "b": 2, "c": 3}

func (v vec32) genStream32(op stream32) {
	name := op.name + v.suffix
	fmt.Fprintf(&w, "// func %s(n int, d, a, b, c *float32, alpha float32)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-44\n", name)
	p("MOVQ n+0(FP), CX")
	p("MOVQ d+8(FP), DI")
	p("MOVQ a+16(FP), SI")
	p("MOVQ b+24(FP), DX")
	p("MOVQ c+32(FP), R8")
	p("VBROADCASTSS alpha+40(FP), %s", v.r(14))
	v.mov(13, "one")
	p("XORQ BX, BX") // byte offset
	label(name + "_loop")
	p("CMPQ CX, $%d", v.lanes)
	p("JLT %s_tail", name)
	for _, in := range op.in {
		v.load(ptrVec32[in], fmt.Sprintf("(%s)(BX*1)", ptrReg32[in]))
	}
	op.body(v)
	v.store(0, "(DI)(BX*1)")
	p("ADDQ $%d, BX", 4*v.lanes)
	p("SUBQ $%d, CX", v.lanes)
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	v.tailActive()
	for _, in := range op.in {
		v.loadTail(ptrVec32[in], fmt.Sprintf("(%s)(BX*1)", ptrReg32[in]))
	}
	op.body(v)
	v.storeTail(0, "(DI)(BX*1)")
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

// Sums for SumAxis32, in float64. They do whole blocks (16 elements for
// the row sum, a vector of float64 for the others) and leave the rest to
// the Go caller.
//
// sumRow32: sixteen float64 partial sums s[i%16] += float64(x[i]) over the
// first n&^15 elements, combined as m[j] = s[j]+s[j+8], then
// ((m0+m1)+(m2+m3))+((m4+m5)+(m6+m7)) (sumRow32Go's order).
// widen32: d[i] = float64(a[i]); addWiden32: d[i] += float64(a[i]);
// narrow32: d[i] = float32(a[i]), for the first n&^(V-1) elements, V the
// float64 lanes of a vector.
func (v vec32) genSums32() {
	name := "sumRow32" + v.suffix
	fmt.Fprintf(&w, "// func %s(x []float32) float64\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ x_base+0(FP), SI")
	p("MOVQ x_len+8(FP), CX")
	if v.avx512 {
		// Z0 = s0..s7, Z1 = s8..s15.
		p("VPXORQ Z0, Z0, Z0")
		p("VPXORQ Z1, Z1, Z1")
		label(name + "_loop")
		p("CMPQ CX, $16")
		p("JLT %s_combine", name)
		p("VCVTPS2PD (SI), Z2")
		p("VADDPD Z2, Z0, Z0")
		p("VCVTPS2PD 32(SI), Z3")
		p("VADDPD Z3, Z1, Z1")
		p("ADDQ $64, SI")
		p("SUBQ $16, CX")
		p("JMP %s_loop", name)
		label(name + "_combine")
		p("VADDPD Z1, Z0, Z0") // m
		// As vecSumRow (the float64 AVX-512 row sum).
		p("VSHUFPD $0x55, Z0, Z0, Z1")
		p("VADDPD Z1, Z0, Z0")
		p("VPERMPD $0x4e, Z0, Z1")
		p("VADDPD Z1, Z0, Z0")
		p("VEXTRACTF64X4 $1, Z0, Y1")
		p("VADDSD X1, X0, X0")
	} else {
		// Y0 = s0..s3, Y1 = s4..s7, Y2 = s8..s11, Y3 = s12..s15.
		for i := 0; i < 4; i++ {
			p("VXORPD Y%d, Y%d, Y%d", i, i, i)
		}
		label(name + "_loop")
		p("CMPQ CX, $16")
		p("JLT %s_combine", name)
		for i := 0; i < 4; i++ {
			p("VCVTPS2PD %d(SI), Y%d", 16*i, 4+i)
			p("VADDPD Y%d, Y%d, Y%d", 4+i, i, i)
		}
		p("ADDQ $64, SI")
		p("SUBQ $16, CX")
		p("JMP %s_loop", name)
		label(name + "_combine")
		p("VADDPD Y2, Y0, Y0") // m0..m3
		p("VADDPD Y3, Y1, Y1") // m4..m7
		// As vecSumRowAVX2 (the float64 AVX2 row sum).
		for _, r := range []string{"0", "1"} {
			p("VPERMILPD $5, Y%s, Y2", r)
			p("VADDPD Y2, Y%s, Y%s", r, r)
			p("VEXTRACTF128 $1, Y%s, X2", r)
			p("VADDSD X2, X%s, X%s", r, r)
		}
		p("VADDSD X1, X0, X0")
	}
	p("VMOVSD X0, ret+24(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)

	r, half := "Y", "X" // float64 vector, float32 half-vector
	if v.avx512 {
		r, half = "Z", "Y"
	}
	n64 := v.lanes / 2
	for _, k := range []string{"widen32", "addWiden32", "narrow32"} {
		name := k + v.suffix
		if k == "narrow32" {
			fmt.Fprintf(&w, "// func %s(n int, d *float32, a *float64)\n", name)
		} else {
			fmt.Fprintf(&w, "// func %s(n int, d *float64, a *float32)\n", name)
		}
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
		p("MOVQ n+0(FP), CX")
		p("MOVQ d+8(FP), DI")
		p("MOVQ a+16(FP), SI")
		label(name + "_loop")
		p("CMPQ CX, $%d", n64)
		p("JLT %s_done", name)
		switch k {
		case "widen32":
			p("VCVTPS2PD (SI), %s0", r)
			p("VMOVUPD %s0, (DI)", r)
			p("ADDQ $%d, SI", 4*n64)
			p("ADDQ $%d, DI", 8*n64)
		case "addWiden32":
			p("VCVTPS2PD (SI), %s0", r)
			p("VADDPD (DI), %s0, %s0", r, r)
			p("VMOVUPD %s0, (DI)", r)
			p("ADDQ $%d, SI", 4*n64)
			p("ADDQ $%d, DI", 8*n64)
		case "narrow32":
			if v.avx512 {
				p("VCVTPD2PS (SI), Y0")
			} else {
				p("VCVTPD2PSY (SI), X0")
			}
			p("VMOVUPS %s0, (DI)", half)
			p("ADDQ $%d, SI", 8*n64)
			p("ADDQ $%d, DI", 4*n64)
		}
		p("SUBQ $%d, CX", n64)
		p("JMP %s_loop", name)
		label(name + "_done")
		p("VZEROUPPER")
		p("RET")
		fmt.Fprintln(&w)
	}
}

func genF32() {
	genConsts32()
	for _, v := range isas32 {
		v.genMap32("exp32", v.exp32)
		v.genMap32("sigmoid32", v.sigmoid32)
		v.genMap32("tanh32", v.tanh32)
		v.genMap32("log32", v.log32)
		v.genMap32("log1p32", v.log1p32)
		v.genMap32("erf32", v.erf32)
		v.genMap32("sqrt32", func() { v.sqrt(0, 0) })
		v.genBail32("sin32", func(bail string) { v.trig32(false, bail) })
		v.genBail32("cos32", func(bail string) { v.trig32(true, bail) })
		for _, op := range streams32 {
			v.genStream32(op)
		}
		v.genSums32()
	}
}
