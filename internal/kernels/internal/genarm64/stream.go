package main

import "fmt"

// Streaming ops (elementwise arithmetic) and reductions: the scalar Go
// loops' operations lane by lane (never fused unless the Go code uses
// math.FMA), so results are bit-identical to the Go code.
//
// Calling convention (as on amd64): func name(n int, d, a, b, c *float64,
// alpha float64); arguments an op does not use are ignored.

type streamOp struct {
	name string
	in   string // operands loaded, from "dabc"
	// body computes slot results: r = result register, d a b c = operand
	// registers, al = alpha, one = 1.0 (both lanes).
	body func(r, d, a, b, c, al, one int)
}

var streamOps = []streamOp{
	{"vecAddToNEON", "da", func(r, d, a, b, c, al, one int) { fadd(r, d, a) }},
	{"vecMulNEON", "ab", func(r, d, a, b, c, al, one int) { fmul(r, a, b) }},
	{"vecAddNEON", "ab", func(r, d, a, b, c, al, one int) { fadd(r, a, b) }},
	{"vecMulAddNEON", "abc", func(r, d, a, b, c, al, one int) { fmul(r, a, b); fadd(r, r, c) }},
	{"vecOneMinusSqNEON", "a", func(r, d, a, b, c, al, one int) { fmul(r, a, a); fsub(r, one, r) }},
	{"vecTanhBackwardNEON", "ab", func(r, d, a, b, c, al, one int) { fmul(r, b, b); fsub(r, one, r); fmul(r, a, r) }},
	{"vecSigmoidDerivNEON", "a", func(r, d, a, b, c, al, one int) { fsub(r, one, a); fmul(r, a, r) }},
	{"vecSigmoidBackwardNEON", "ab", func(r, d, a, b, c, al, one int) { fsub(r, one, b); fmul(r, b, r); fmul(r, a, r) }},
	{"vecAxpyNEON", "da", func(r, d, a, b, c, al, one int) { fmul(r, al, a); fadd(r, d, r) }},
	{"vecScaleNEON", "a", func(r, d, a, b, c, al, one int) { fmul(r, al, a) }},
}

var streamPtr = map[byte]string{'d': "R1", 'a': "R2", 'b': "R3", 'c': "R4"}

// Operand registers: slot s of operand d, a, b, c is V(4+4*idx+s) (four
// consecutive registers per operand, for LD1 of four); results V0..V3.
func streamReg(op byte, s int) int {
	return 4 + 4*map[byte]int{'d': 0, 'a': 1, 'b': 2, 'c': 3}[op] + s
}

// genStream writes op on float64 lanes, or on float32 ones while arr is
// "4s" (then alpha is a float32 and the constant table the float32 one).
func genStream(op streamOp) {
	typ, argSize, lanes, suf, es := "float64", 48, 2, "D2", 8
	if arr == "4s" {
		typ, argSize, lanes, suf, es = "float32", 44, 4, "S4", 4
	}
	fmt.Fprintf(&w, "// func %s(n int, d, a, b, c *%s, alpha %s)\n", op.name, typ, typ)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", op.name, argSize)
	p("MOVD n+0(FP), R0")
	p("MOVD d+8(FP), R1")
	p("MOVD a+16(FP), R2")
	p("MOVD b+24(FP), R3")
	p("MOVD c+32(FP), R4")
	p("MOVD R1, R5") // store pointer
	if es == 8 {
		p("FMOVD alpha+40(FP), F30")
		dupElem(30, 30, 0)
		p("MOVD $neonconst<>(SB), R9")
	} else {
		p("FMOVS alpha+40(FP), F30")
		dupElemS(30, 30, 0)
		p("MOVD $neonconst32<>(SB), R9")
	}
	p("FMOVQ %d(R9), F31", constOff("one"))
	regList := func(o byte, n int) string {
		s := ""
		for i := 0; i < n; i++ {
			if i > 0 {
				s += ", "
			}
			s += fmt.Sprintf("V%d.%s", streamReg(o, i), suf)
		}
		return "[" + s + "]"
	}
	body := func(slots int) {
		for s := 0; s < slots; s++ {
			op.body(s, streamReg('d', s), streamReg('a', s), streamReg('b', s), streamReg('c', s), 30, 31)
		}
	}
	// Four vectors per iteration, then one, then single elements.
	label(op.name + "_loop4v")
	p("CMP $%d, R0", 4*lanes)
	p("BLT %s_loop1v", op.name)
	for i := 0; i < len(op.in); i++ {
		p("VLD1.P 64(%s), %s", streamPtr[op.in[i]], regList(op.in[i], 4))
	}
	body(4)
	p("VST1.P [V0.%[1]s, V1.%[1]s, V2.%[1]s, V3.%[1]s], 64(R5)", suf)
	p("SUB $%d, R0", 4*lanes)
	p("B %s_loop4v", op.name)
	label(op.name + "_loop1v")
	p("CMP $%d, R0", lanes)
	p("BLT %s_tail", op.name)
	for i := 0; i < len(op.in); i++ {
		p("VLD1.P 16(%s), %s", streamPtr[op.in[i]], regList(op.in[i], 1))
	}
	body(1)
	p("VST1.P [V0.%s], 16(R5)", suf)
	p("SUB $%d, R0", lanes)
	p("B %s_loop1v", op.name)
	label(op.name + "_tail")
	p("CBZ R0, %s_done", op.name)
	for i := 0; i < len(op.in); i++ {
		p("VLD1R.P %d(%s), [V%d.%s]", es, streamPtr[op.in[i]], streamReg(op.in[i], 0), suf)
	}
	body(1)
	if es == 8 {
		p("FMOVD.P F0, 8(R5)")
	} else {
		p("FMOVS.P F0, 4(R5)")
	}
	p("SUB $1, R0")
	p("B %s_tail", op.name)
	label(op.name + "_done")
	p("RET")
	fmt.Fprintln(&w)
}

// genSumRow: func vecSumRowNEON(x []float64) float64, sumRow in
// reduce.go: eight interleaved partial sums (V0..V3), combined as
// ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then the tail added in order.
func genSumRow() {
	fmt.Fprintf(&w, "// func vecSumRowNEON(x []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecSumRowNEON(SB), NOSPLIT, $0-32\n")
	p("MOVD x_base+0(FP), R1")
	p("MOVD x_len+8(FP), R0")
	for i := 0; i < 4; i++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	label("sumrowneon_loop")
	p("CMP $8, R0")
	p("BLT sumrowneon_combine")
	p("VLD1.P 64(R1), [V4.D2, V5.D2, V6.D2, V7.D2]")
	for i := 0; i < 4; i++ {
		fadd(i, i, 4+i)
	}
	p("SUB $8, R0")
	p("B sumrowneon_loop")
	label("sumrowneon_combine")
	combine8(0, 1, 2, 3)
	label("sumrowneon_tail")
	p("CBZ R0, sumrowneon_done")
	p("FMOVD.P 8(R1), F1")
	p("FADDD F1, F0")
	p("SUB $1, R0")
	p("B sumrowneon_tail")
	label("sumrowneon_done")
	p("FMOVD F0, ret+24(FP)")
	p("RET")
	fmt.Fprintln(&w)
}

// combine8 sets F0 = ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)) for the eight
// lanes of V(r0)..V(r3) (s0, s1 in r0, ...); clobbers V0 and V1.
func combine8(r0, r1, r2, r3 int) {
	faddp(r0, r0, r1) // (s0+s1, s2+s3)
	faddp(r1, r2, r3) // (s4+s5, s6+s7)
	faddp(0, r0, r1)  // ((s0+s1)+(s2+s3), (s4+s5)+(s6+s7))
	faddpScalar(0, 0)
}

// genDot: func vecDotNEON(a, b []float64) float64, dotGo in gemv.go: 32
// interleaved partial sums of fused multiply-adds (V0..V15; lane pair q
// holds l[2q], l[2q+1]), M[i] = (l[i]+l[i+8]) + (l[i+16]+l[i+24]), then
// ((M0+M1)+(M2+M3))+((M4+M5)+(M6+M7)), then the tail in order with fused
// multiply-adds.
func genDot() {
	fmt.Fprintf(&w, "// func vecDotNEON(a, b []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecDotNEON(SB), NOSPLIT, $0-56\n")
	p("MOVD a_base+0(FP), R1")
	p("MOVD a_len+8(FP), R0")
	p("MOVD b_base+24(FP), R2")
	for i := 0; i < 16; i++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	label("dotneon_loop")
	p("CMP $32, R0")
	p("BLT dotneon_combine")
	for g := 0; g < 4; g++ {
		p("VLD1.P 64(R1), [V16.D2, V17.D2, V18.D2, V19.D2]")
		p("VLD1.P 64(R2), [V20.D2, V21.D2, V22.D2, V23.D2]")
		for i := 0; i < 4; i++ {
			fmla(4*g+i, 16+i, 20+i)
		}
	}
	p("SUB $32, R0")
	p("B dotneon_loop")
	label("dotneon_combine")
	// M pairs q = 0..3: (V_q + V_{q+4}) + (V_{q+8} + V_{q+12}).
	for q := 0; q < 4; q++ {
		fadd(16+q, q, q+4)
		fadd(20+q, q+8, q+12)
		fadd(16+q, 16+q, 20+q)
	}
	combine8(16, 17, 18, 19)
	label("dotneon_tail")
	p("CBZ R0, dotneon_done")
	p("FMOVD.P 8(R1), F1")
	p("FMOVD.P 8(R2), F2")
	p("FMADDD F1, F0, F2, F0")
	p("SUB $1, R0")
	p("B dotneon_tail")
	label("dotneon_done")
	p("FMOVD F0, ret+48(FP)")
	p("RET")
	fmt.Fprintln(&w)
}

func genStreams() {
	for _, op := range streamOps {
		genStream(op)
	}
	genSumRow()
	genDot()
}
