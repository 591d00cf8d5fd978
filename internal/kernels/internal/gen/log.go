package main

import (
	"fmt"
	"math"
)

var logConsts = []constant{
	{name: "L1", v: 6.666666666666735130e-01},
	{name: "L2", v: 3.999999999940941908e-01},
	{name: "L3", v: 2.857142874366239149e-01},
	{name: "L4", v: 2.222219843214978396e-01},
	{name: "L5", v: 1.818357216161805012e-01},
	{name: "L6", v: 1.531383769920937332e-01},
	{name: "L7", v: 1.479819860511658591e-01},
	{name: "ln2hi", v: 6.93147180369123816490e-01},
	{name: "ln2lo", v: 1.90821492927058770002e-10},
	{name: "half", v: 0.5},
	{name: "one", v: 1},
	{name: "two", v: 2},
	{name: "kbias", v: 0x1p52 + 1023},
	{name: "minnorm", bits: 0x0010000000000000},
	{name: "specialcut", bits: 0x7ff0000000000000 - 0x0010000000000000},
	{name: "shift", bits: 0x3ff0000000000000 - 0x3fe6a09e00000000},
	{name: "mant", bits: 0x000fffffffffffff},
	{name: "sqrt2half", bits: 0x3fe6a09e00000000},
	{name: "exp52", bits: 0x4330000000000000},
}

func lref(name string) string {
	for i, c := range logConsts {
		if c.name == name {
			return fmt.Sprintf("logconst<>+%d(SB)", 8*i)
		}
	}
	panic(name)
}

// logBody: Z0 = log(Z0) for the lanes in K1, the scalar log's operations
// lane by lane; jumps to bail if a lane in K1 is <= 0, subnormal, Inf or NaN.
// Constants: Z16..Z22 = L1..L7, Z23 ln2hi, Z24 ln2lo, Z25 half, Z26 one,
// Z27 two, Z28 kbias, Z29 minnorm, Z30 specialcut, Z31 shift.
func logBody(name string) {
	p("VPSUBQ Z29, Z0, Z1")
	p("VPCMPUQ $5, Z30, Z1, K1, K3") // bits-minnorm >= cut: special
	p("KORTESTW K3, K3")
	p("JNZ %s_bail", name)
	p("VPADDQ Z31, Z0, Z1") // bits += shift
	p("VPSRLQ $52, Z1, Z2")
	p("VPBROADCASTQ %s, Z3", lref("exp52"))
	p("VPORQ Z3, Z2, Z2")
	p("VSUBPD Z28, Z2, Z2") // kf
	p("VPBROADCASTQ %s, Z3", lref("mant"))
	p("VPANDQ Z3, Z1, Z1")
	p("VPBROADCASTQ %s, Z3", lref("sqrt2half"))
	p("VPADDQ Z3, Z1, Z1")
	p("VSUBPD Z26, Z1, Z1") // f
	p("VADDPD Z27, Z1, Z3")
	p("VDIVPD Z3, Z1, Z3") // s
	p("VMULPD Z3, Z3, Z4") // s2
	p("VMULPD Z4, Z4, Z5") // s4
	// t1 = s2 * (L1 + s4*(L3 + s4*(L5 + s4*L7)))
	p("VMULPD Z22, Z5, Z6")
	p("VADDPD Z20, Z6, Z6")
	p("VMULPD Z6, Z5, Z6")
	p("VADDPD Z18, Z6, Z6")
	p("VMULPD Z6, Z5, Z6")
	p("VADDPD Z16, Z6, Z6")
	p("VMULPD Z6, Z4, Z6")
	// t2 = s4 * (L2 + s4*(L4 + s4*L6))
	p("VMULPD Z21, Z5, Z7")
	p("VADDPD Z19, Z7, Z7")
	p("VMULPD Z7, Z5, Z7")
	p("VADDPD Z17, Z7, Z7")
	p("VMULPD Z7, Z5, Z7")
	p("VADDPD Z7, Z6, Z6") // R
	p("VMULPD Z25, Z1, Z7")
	p("VMULPD Z1, Z7, Z7") // hfsq = 0.5*f*f
	// kf*ln2hi - ((hfsq - (s*(hfsq+R) + kf*ln2lo)) - f)
	p("VADDPD Z6, Z7, Z6")
	p("VMULPD Z6, Z3, Z6") // s*(hfsq+R)
	p("VMULPD Z24, Z2, Z8")
	p("VADDPD Z8, Z6, Z6")
	p("VSUBPD Z6, Z7, Z6")
	p("VSUBPD Z1, Z6, Z6")
	p("VMULPD Z23, Z2, Z8")
	p("VSUBPD Z6, Z8, Z0")
}

func genLog(name string) {
	fmt.Fprintf(&w, "// func %s(dst, src []float64) int\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ CX, R8")
	p("MOVQ src_base+24(FP), SI")
	for i, n := range []string{"L1", "L2", "L3", "L4", "L5", "L6", "L7", "ln2hi", "ln2lo", "half", "one", "two", "kbias", "minnorm", "specialcut", "shift"} {
		p("VPBROADCASTQ %s, Z%d", lref(n), 16+i)
	}
	p("MOVQ $0xff, AX")
	p("KMOVW AX, K1")
	label(name + "_loop")
	p("CMPQ CX, $8")
	p("JLT %s_tail", name)
	p("VMOVUPD (SI), Z0")
	logBody(name)
	p("VMOVUPD Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("SUBQ $8, CX")
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_bail", name)
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("VMOVUPD.Z (SI), K1, Z0")
	logBody(name)
	p("VMOVUPD Z0, K1, (DI)")
	p("XORQ CX, CX")
	label(name + "_bail")
	p("SUBQ CX, R8")
	p("MOVQ R8, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genLogs() {
	for i, c := range logConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		fmt.Fprintf(&w, "DATA logconst<>+%d(SB)/8, $0x%016x // %s\n", 8*i, b, c.name)
	}
	fmt.Fprintf(&w, "GLOBL logconst<>(SB), RODATA|NOPTR, $%d\n\n", 8*len(logConsts))
	genLog("logAVX512")
}
