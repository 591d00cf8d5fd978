package main

import (
	"fmt"
	"math"
)

// The AVX-512 elementwise maps (elementwise_amd64.s). They do, lane by
// lane, exactly the operations of the scalar Go code in mathfn.go (exp,
// sigmoid, tanh), so vector and scalar results agree bit for bit; the
// only change is the final scaling by 2^k, done with VSCALEFPD, which
// rounds once like the two-step scaling in Go. Slice tails use masked
// loads and stores.

type constant struct {
	name string
	v    float64
	bits uint64 // used when v is not a float (masks)
}

var mapConsts = []constant{
	{name: "log2e", v: 1.44269504088896338700e+00},
	{name: "shifter", v: 0x1.8p52},
	{name: "ln2hi", v: 6.93147180369123816490e-01},
	{name: "ln2lo", v: 1.90821492927058770002e-10},
	{name: "hiclamp", v: 710},
	{name: "loclamp", v: -746},
	{name: "c13", v: 1.0 / 6227020800},
	{name: "c12", v: 1.0 / 479001600},
	{name: "c11", v: 1.0 / 39916800},
	{name: "c10", v: 1.0 / 3628800},
	{name: "c9", v: 1.0 / 362880},
	{name: "c8", v: 1.0 / 40320},
	{name: "c7", v: 1.0 / 5040},
	{name: "c6", v: 1.0 / 720},
	{name: "c5", v: 1.0 / 120},
	{name: "c4", v: 1.0 / 24},
	{name: "c3", v: 1.0 / 6},
	{name: "c2", v: 0.5},
	{name: "one", v: 1},
	{name: "two", v: 2},
	{name: "tanhcut", v: 0.625},
	{name: "p0", v: -9.64399179425052238628e-1},
	{name: "p1", v: -9.92877231001918586564e1},
	{name: "p2", v: -1.61468768441708447952e3},
	{name: "q0", v: 1.12811678491632931402e2},
	{name: "q1", v: 2.23548839060100448583e3},
	{name: "q2", v: 4.84406305325125486048e3},
	{name: "signmask", bits: 1 << 63},
	{name: "absmask", bits: 1<<63 - 1},
}

func constOff(name string) int {
	for i, c := range mapConsts {
		if c.name == name {
			return 8 * i
		}
	}
	panic(name)
}

func cref(name string) string { return fmt.Sprintf("mapconst<>+%d(SB)", constOff(name)) }

// Register use: Z16..Z31 hold the exp constants for the whole loop,
// Z0..Z11 are work registers.
var expRegs = []struct {
	reg  string
	name string
}{
	{"Z16", "log2e"}, {"Z17", "shifter"}, {"Z18", "ln2hi"}, {"Z19", "ln2lo"},
	{"Z20", "hiclamp"}, {"Z21", "loclamp"},
	{"Z22", "c13"}, {"Z23", "c12"}, {"Z24", "c11"}, {"Z25", "c10"}, {"Z26", "c9"},
	{"Z27", "c8"}, {"Z28", "c7"}, {"Z29", "c6"}, {"Z30", "c5"}, {"Z31", "c4"},
	{"Z12", "c3"}, {"Z13", "c2"}, {"Z14", "one"}, {"Z15", "two"},
}

// expZ0 computes Z0 = exp(Z0) using Z1 and the five temporaries t (the
// scalar expCore's operations: 1 + (r + r²·Q(r)), Q by Estrin's scheme).
func expZ0(t ...string) {
	if len(t) != 5 {
		panic("expZ0 needs 5 temporaries")
	}
	p("VMINPD Z0, Z20, Z0") // 710 < x ? 710 : x (NaN stays)
	p("VMAXPD Z0, Z21, Z0") // -746 > x ? -746 : x
	p("VMULPD Z16, Z0, Z1")
	p("VADDPD Z17, Z1, Z1")
	p("VSUBPD Z17, Z1, Z1") // kf
	p("VFNMADD231PD Z18, Z1, Z0")
	p("VFNMADD231PD Z19, Z1, Z0") // r
	// Z22..Z31 = c13..c4, Z12 = c3, Z13 = c2, Z14 = 1.
	pair := func(dst, hi, lo string) { // dst = hi*r + lo
		p("VMOVAPD %s, %s", hi, dst)
		p("VFMADD213PD %s, Z0, %s", lo, dst)
	}
	p("VMULPD Z0, Z0, %s", t[0])                  // r2
	pair(t[1], "Z12", "Z13")                      // a0
	pair(t[2], "Z30", "Z31")                      // a1
	p("VFMADD231PD %s, %s, %s", t[2], t[0], t[1]) // b0 = a1*r2 + a0
	pair(t[2], "Z28", "Z29")                      // a2
	pair(t[3], "Z26", "Z27")                      // a3
	p("VFMADD231PD %s, %s, %s", t[3], t[0], t[2]) // b1
	pair(t[3], "Z24", "Z25")                      // a4
	pair(t[4], "Z22", "Z23")                      // a5
	p("VFMADD231PD %s, %s, %s", t[4], t[0], t[3]) // b2
	p("VMULPD %s, %s, %s", t[0], t[0], t[4])      // r4
	p("VFMADD231PD %s, %s, %s", t[2], t[4], t[1]) // b1*r4 + b0
	p("VMULPD %s, %s, %s", t[4], t[4], t[4])      // r8
	p("VFMADD231PD %s, %s, %s", t[3], t[4], t[1]) // q = b2*r8 + (b1*r4 + b0)
	p("VFMADD231PD %s, %s, Z0", t[1], t[0])       // q*r2 + r
	p("VADDPD Z14, Z0, Z0")                       // 1 + ...
	p("VSCALEFPD Z1, Z0, Z0")
}

// sigmoidZ0: Z0 = sigmoid(Z0); uses Z1..Z5.
func sigmoidZ0() {
	p("VMOVAPD Z0, Z3")
	p("VPORQ %s, Z0, Z0", "Z10")        // -|x|
	expZ0("Z2", "Z4", "Z5", "Z6", "Z7") // e
	p("VADDPD Z14, Z0, Z4")             // 1+e
	p("VPXORQ Z5, Z5, Z5")
	p("VCMPPD $1, Z5, Z3, K2") // x < 0
	p("VMOVAPD Z14, Z5")
	p("VMOVAPD Z0, K2, Z5") // x < 0 ? e : 1
	p("VDIVPD Z4, Z5, Z0")
}

// tanhZ0: Z0 = tanh(Z0); uses Z1..Z9, Z10 = sign mask, Z11 = abs mask.
// One division per lane: a*s*P/Q for |x| < 0.625, 2/(e+1) otherwise (the
// numerator and denominator are blended before the division).
func tanhZ0() {
	p("VMOVAPD Z0, Z3")
	p("VPANDQ Z11, Z0, Z6")             // a = |x|
	p("VADDPD Z6, Z6, Z0")              // 2a
	expZ0("Z2", "Z4", "Z5", "Z7", "Z8") // e
	p("VADDPD Z14, Z0, Z0")             // e+1
	// Rational approximation for a < 0.625, as the scalar code.
	p("VMULPD Z6, Z6, Z7") // s
	p("VBROADCASTSD %s, Z8", cref("p0"))
	p("VMULPD Z7, Z8, Z8")
	p("VBROADCASTSD %s, Z9", cref("p1"))
	p("VADDPD Z9, Z8, Z8")
	p("VMULPD Z7, Z8, Z8")
	p("VBROADCASTSD %s, Z9", cref("p2"))
	p("VADDPD Z9, Z8, Z8") // P
	p("VBROADCASTSD %s, Z9", cref("q0"))
	p("VADDPD Z7, Z9, Z9")
	p("VMULPD Z7, Z9, Z9")
	p("VBROADCASTSD %s, Z1", cref("q1"))
	p("VADDPD Z1, Z9, Z9")
	p("VMULPD Z7, Z9, Z9")
	p("VBROADCASTSD %s, Z1", cref("q2"))
	p("VADDPD Z1, Z9, Z9") // Q
	p("VMULPD Z7, Z6, Z7") // a*s
	p("VMULPD Z8, Z7, Z7") // a*s*P
	p("VBROADCASTSD %s, Z1", cref("tanhcut"))
	p("VCMPPD $1, Z1, Z6, K2") // a < 0.625
	p("VMOVAPD Z15, Z1")
	p("VMOVAPD Z7, K2, Z1") // numerator: a*s*P or 2
	p("VMOVAPD Z9, K2, Z0") // denominator: Q or e+1
	p("VDIVPD Z0, Z1, Z1")
	p("VSUBPD Z1, Z14, Z0") // 1 - 2/(e+1)
	p("VADDPD Z1, Z6, Z2")  // a + a*s*P/Q
	p("VMOVAPD Z2, K2, Z0")
	p("VPANDQ Z10, Z3, Z1")
	p("VPORQ Z1, Z0, Z0")
}

func genMap(name string, body func()) {
	fmt.Fprintf(&w, "// func %s(dst, src []float64)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ src_base+24(FP), SI")
	for _, r := range expRegs {
		p("VBROADCASTSD %s, %s", cref(r.name), r.reg)
	}
	p("VBROADCASTSD %s, Z10", cref("signmask"))
	p("VBROADCASTSD %s, Z11", cref("absmask"))
	label(name + "_loop")
	p("CMPQ CX, $8")
	p("JLT %s_tail", name)
	p("VMOVUPD (SI), Z0")
	body()
	p("VMOVUPD Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("SUBQ $8, CX")
	p("JMP %s_loop", name)
	label(name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("VMOVUPD.Z (SI), K1, Z0")
	body()
	p("VMOVUPD Z0, K1, (DI)")
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genMaps() {
	for i, c := range mapConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		fmt.Fprintf(&w, "DATA mapconst<>+%d(SB)/8, $0x%016x // %s\n", 8*i, b, c.name)
	}
	fmt.Fprintf(&w, "GLOBL mapconst<>(SB), RODATA|NOPTR, $%d\n\n", 8*len(mapConsts))
	genMap("expAVX512", func() { expZ0("Z2", "Z3", "Z4", "Z5", "Z6") })
	genMap("sigmoidAVX512", sigmoidZ0)
	genMap("tanhAVX512", tanhZ0)
}
