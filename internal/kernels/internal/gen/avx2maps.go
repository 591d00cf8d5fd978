package main

import (
	"fmt"
	"math"
	"strings"
)

// AVX2 versions of the exp-family maps and of the streaming ops, for CPUs
// without AVX-512. Same operations lane by lane as the Go code; the
// scaling by 2^k is done in two exact-then-rounding steps as in Go (no
// VSCALEFPD), and tails use VMASKMOVPD. Constants live in a table of
// 32-byte rows (each constant four times) used as memory operands.

func c4(name string) string {
	for i, c := range mapConsts {
		if c.name == name {
			return fmt.Sprintf("mapconst4<>+%d(SB)", 32*i)
		}
	}
	for i, n := range extra4 {
		if n.name == name {
			return fmt.Sprintf("mapconst4<>+%d(SB)", 32*(len(mapConsts)+i))
		}
	}
	panic(name)
}

var extra4 = []constant{
	{name: "i1", bits: 1},
	{name: "i2048", bits: 2048},
}

// expY0: Y0 = exp(Y0); uses Y1, Y3 and Y2, Y4, Y5, Y8, Y9 (the scalar
// expCore's operations).
func expY0() {
	p("VMOVUPD %s, Y1", c4("hiclamp"))
	p("VMINPD Y0, Y1, Y0")
	p("VMOVUPD %s, Y1", c4("loclamp"))
	p("VMAXPD Y0, Y1, Y0")
	p("VMULPD %s, Y0, Y1", c4("log2e"))
	p("VADDPD %s, Y1, Y1", c4("shifter"))
	p("VMOVAPD Y1, Y3")
	p("VSUBPD %s, Y1, Y1", c4("shifter")) // kf
	p("VFNMADD231PD %s, Y1, Y0", c4("ln2hi"))
	p("VFNMADD231PD %s, Y1, Y0", c4("ln2lo")) // r
	pair := func(dst, hi, lo string) {
		p("VMOVUPD %s, %s", c4(hi), dst)
		p("VFMADD213PD %s, Y0, %s", c4(lo), dst)
	}
	p("VMULPD Y0, Y0, Y2") // r2
	pair("Y4", "c3", "c2")
	pair("Y5", "c5", "c4")
	p("VFMADD231PD Y5, Y2, Y4") // b0
	pair("Y5", "c7", "c6")
	pair("Y8", "c9", "c8")
	p("VFMADD231PD Y8, Y2, Y5") // b1
	pair("Y8", "c11", "c10")
	pair("Y9", "c13", "c12")
	p("VFMADD231PD Y9, Y2, Y8") // b2
	p("VMULPD Y2, Y2, Y9")      // r4
	p("VFMADD231PD Y5, Y9, Y4") // b1*r4 + b0
	p("VMULPD Y9, Y9, Y9")      // r8
	p("VFMADD231PD Y8, Y9, Y4") // q
	p("VFMADD231PD Y4, Y2, Y0") // q*r2 + r
	p("VADDPD %s, Y0, Y2", c4("one"))
	p("VPSUBQ %s, Y3, Y3", c4("shifter")) // k
	p("VPADDQ %s, Y3, Y3", c4("i2048"))   // k + 2048
	p("VPSRLQ $1, Y3, Y1")                // k1 + 1024
	p("VPSUBQ %s, Y1, Y4", c4("i1"))
	p("VPSLLQ $52, Y4, Y4") // 2^k1
	p("VPSUBQ Y1, Y3, Y5")
	p("VPSUBQ %s, Y5, Y5", c4("i1"))
	p("VPSLLQ $52, Y5, Y5") // 2^k2
	p("VMULPD Y4, Y2, Y2")
	p("VMULPD Y5, Y2, Y0")
}

func sigmoidY0() {
	p("VMOVAPD Y0, Y6")
	p("VORPD %s, Y0, Y0", c4("signmask"))
	expY0()
	p("VADDPD %s, Y0, Y7", c4("one"))
	p("VXORPD Y8, Y8, Y8")
	p("VCMPPD $1, Y8, Y6, Y8") // x < 0
	p("VMOVUPD %s, Y9", c4("one"))
	p("VBLENDVPD Y8, Y0, Y9, Y9") // x < 0 ? e : 1
	p("VDIVPD Y7, Y9, Y0")
}

func tanhY0() {
	p("VMOVAPD Y0, Y6")
	p("VANDPD %s, Y0, Y7", c4("absmask")) // a
	p("VADDPD Y7, Y7, Y0")
	expY0()
	p("VADDPD %s, Y0, Y0", c4("one")) // e+1
	p("VMULPD Y7, Y7, Y8")            // s
	p("VMULPD %s, Y8, Y9", c4("p0"))
	p("VADDPD %s, Y9, Y9", c4("p1"))
	p("VMULPD Y8, Y9, Y9")
	p("VADDPD %s, Y9, Y9", c4("p2"))
	p("VADDPD %s, Y8, Y10", c4("q0"))
	p("VMULPD Y8, Y10, Y10")
	p("VADDPD %s, Y10, Y10", c4("q1"))
	p("VMULPD Y8, Y10, Y10")
	p("VADDPD %s, Y10, Y10", c4("q2"))
	p("VMULPD Y8, Y7, Y11")
	p("VMULPD Y9, Y11, Y11") // a*s*P
	p("VMOVUPD %s, Y12", c4("tanhcut"))
	p("VCMPPD $1, Y12, Y7, Y12") // a < 0.625
	p("VMOVUPD %s, Y8", c4("two"))
	p("VBLENDVPD Y12, Y11, Y8, Y8") // numerator
	p("VBLENDVPD Y12, Y10, Y0, Y0") // denominator
	p("VDIVPD Y0, Y8, Y8")
	p("VMOVUPD %s, Y0", c4("one"))
	p("VSUBPD Y8, Y0, Y0")  // 1 - 2/(e+1)
	p("VADDPD Y8, Y7, Y11") // a + a*s*P/Q
	p("VBLENDVPD Y12, Y11, Y0, Y0")
	p("VANDPD %s, Y6, Y6", c4("signmask"))
	p("VORPD Y6, Y0, Y0")
}

// tailMask sets Y13 to the lane mask for the CX (< 4) remaining elements.
func tailMask() {
	p("VMOVQ CX, X13")
	p("VPBROADCASTQ X13, Y13")
	p("VPCMPGTQ lane4<>(SB), Y13, Y13")
}

func genMapY(name string, body func()) {
	fmt.Fprintf(&w, "// func %s(dst, src []float64)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ src_base+24(FP), SI")
	label(name + "_loop")
	p("CMPQ CX, $4")
	p("JLT %s_tail", name)
	p("VMOVUPD (SI), Y0")
	body()
	p("VMOVUPD Y0, (DI)")
	p("ADDQ $32, SI")
	p("ADDQ $32, DI")
	p("SUBQ $4, CX")
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	tailMask()
	p("VMASKMOVPD (SI), Y13, Y0")
	body()
	p("VMASKMOVPD Y0, Y13, (DI)")
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genStreamY(op streamOp) {
	name := op.name + "AVX2"
	ymm := func(l string) string {
		l = strings.ReplaceAll(l, "Z30", "Y14")
		l = strings.ReplaceAll(l, "Z31", "Y15")
		return strings.ReplaceAll(l, "Z", "Y")
	}
	fmt.Fprintf(&w, "// func %s(n int, d, a, b, c *float64, alpha float64)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	p("MOVQ n+0(FP), CX")
	p("MOVQ d+8(FP), DI")
	p("MOVQ a+16(FP), SI")
	p("MOVQ b+24(FP), DX")
	p("MOVQ c+32(FP), R8")
	p("VBROADCASTSD alpha+40(FP), Y14")
	p("VMOVUPD %s, Y15", c4("one"))
	p("XORQ AX, AX")
	label(name + "_loop")
	p("CMPQ CX, $4")
	p("JLT %s_tail", name)
	for _, in := range op.in {
		p("VMOVUPD (%s)(AX*1), %s", ptrReg[in], ymm(ptrZ[in]))
	}
	for _, l := range op.body {
		p(ymm(l))
	}
	p("VMOVUPD Y0, (DI)(AX*1)")
	p("ADDQ $32, AX")
	p("SUBQ $4, CX")
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	tailMask()
	for _, in := range op.in {
		p("VMASKMOVPD (%s)(AX*1), Y13, %s", ptrReg[in], ymm(ptrZ[in]))
	}
	for _, l := range op.body {
		p(ymm(l))
	}
	p("VMASKMOVPD Y0, Y13, (DI)(AX*1)")
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genSumRowY() {
	fmt.Fprintf(&w, "// func vecSumRowAVX2(x []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecSumRowAVX2(SB), NOSPLIT, $0-32\n")
	p("MOVQ x_base+0(FP), SI")
	p("MOVQ x_len+8(FP), CX")
	p("VXORPD Y0, Y0, Y0")
	p("VXORPD Y1, Y1, Y1")
	label("sumrow2_loop")
	p("CMPQ CX, $8")
	p("JLT sumrow2_combine")
	p("VADDPD (SI), Y0, Y0")
	p("VADDPD 32(SI), Y1, Y1")
	p("ADDQ $64, SI")
	p("SUBQ $8, CX")
	p("JMP sumrow2_loop")
	label("sumrow2_combine")
	for _, r := range []string{"0", "1"} {
		p("VPERMILPD $5, Y%s, Y2", r)
		p("VADDPD Y2, Y%s, Y%s", r, r) // (s0+s1, ., s2+s3, .)
		p("VEXTRACTF128 $1, Y%s, X2", r)
		p("VADDSD X2, X%s, X%s", r, r)
	}
	p("VADDSD X1, X0, X0")
	label("sumrow2_tail")
	p("TESTQ CX, CX")
	p("JZ sumrow2_done")
	p("VADDSD (SI), X0, X0")
	p("ADDQ $8, SI")
	p("DECQ CX")
	p("JMP sumrow2_tail")
	label("sumrow2_done")
	p("VMOVSD X0, ret+24(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genAVX2() {
	all := append(append([]constant(nil), mapConsts...), extra4...)
	for i, c := range all {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		for l := 0; l < 4; l++ {
			fmt.Fprintf(&w, "DATA mapconst4<>+%d(SB)/8, $0x%016x\n", 32*i+8*l, b)
		}
	}
	fmt.Fprintf(&w, "GLOBL mapconst4<>(SB), RODATA|NOPTR, $%d\n\n", 32*len(all))
	for l := 0; l < 4; l++ {
		fmt.Fprintf(&w, "DATA lane4<>+%d(SB)/8, $%d\n", 8*l, l)
	}
	fmt.Fprintf(&w, "GLOBL lane4<>(SB), RODATA|NOPTR, $32\n\n")
	genMapY("expAVX2", expY0)
	genMapY("sigmoidAVX2", sigmoidY0)
	genMapY("tanhAVX2", tanhY0)
	for _, op := range streamOps {
		genStreamY(op)
	}
	genSumRowY()
}
