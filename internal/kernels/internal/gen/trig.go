package main

import (
	"fmt"
	"math"
)

var trigConsts = []constant{
	{name: "fop", v: 4 / math.Pi},
	{name: "two52", v: 0x1p52},
	{name: "pi4a", v: 7.85398125648498535156e-1},
	{name: "pi4b", v: 3.77489470793079817668e-8},
	{name: "pi4c", v: 2.69515142907905952645e-15},
	{name: "cc0", v: -1.13585365213876817300e-11},
	{name: "cc1", v: 2.08757008419747316778e-9},
	{name: "cc2", v: -2.75573141792967388112e-7},
	{name: "cc3", v: 2.48015872888517045348e-5},
	{name: "cc4", v: -1.38888888888730564116e-3},
	{name: "cc5", v: 4.16666666666665929218e-2},
	{name: "sc0", v: 1.58962301576546568060e-10},
	{name: "sc1", v: -2.50507477628578072866e-8},
	{name: "sc2", v: 2.75573136213857245213e-6},
	{name: "sc3", v: -1.98412698295895385996e-4},
	{name: "sc4", v: 8.33333333332211858878e-3},
	{name: "sc5", v: -1.66666666666666307295e-1},
	{name: "half", v: 0.5},
	{name: "one", v: 1},
	{name: "lim", v: 1 << 29},
	{name: "signmask", bits: 1 << 63},
	{name: "absmask", bits: 1<<63 - 1},
	{name: "i1", bits: 1},
	{name: "i2", bits: 2},
	{name: "i3", bits: 3},
	{name: "i4", bits: 4},
	{name: "i7", bits: 7},
}

func tref(name string) string {
	for i, c := range trigConsts {
		if c.name == name {
			return fmt.Sprintf("trigconst<>+%d(SB)", 8*i)
		}
	}
	panic(name)
}

var trigRegs = []struct{ reg, name string }{
	{"Z16", "fop"}, {"Z17", "two52"}, {"Z18", "pi4a"}, {"Z19", "pi4b"}, {"Z20", "pi4c"},
	{"Z21", "cc0"}, {"Z22", "cc1"}, {"Z23", "cc2"}, {"Z24", "cc3"}, {"Z25", "cc4"}, {"Z26", "cc5"},
	{"Z27", "sc0"}, {"Z28", "sc1"}, {"Z29", "sc2"}, {"Z30", "sc3"}, {"Z31", "sc4"},
}

// trigBody computes sin or cos of Z0 into Z0, for the lanes in K1; if some
// lane in K1 has |x| >= 2^29 or is not finite, it jumps to bail first.
// It does the scalar sincosCore's operations lane by lane.
func trigBody(name string, isCos bool) {
	p("VMOVAPD Z0, Z3")
	p("VPBROADCASTQ %s, Z1", tref("absmask"))
	p("VPANDQ Z1, Z0, Z4") // a = |x|
	p("VBROADCASTSD %s, Z1", tref("lim"))
	p("VCMPPD $1, Z1, Z4, K1, K3") // a < 2^29, in K1
	p("KMOVW K3, AX")
	p("KMOVW K1, BX")
	p("CMPQ AX, BX")
	p("JNE %s_bail", name)
	p("VPXORQ Z2, Z2, Z2")
	if !isCos {
		p("VCMPPD $1, Z2, Z3, K4") // sign of sin: x < 0
	} else {
		p("KXORW K4, K4, K4")
	}
	p("VMULPD Z16, Z4, Z5")
	p("VRNDSCALEPD $9, Z5, Z5") // y = floor(a*4/pi)
	p("VADDPD Z17, Z5, Z6")     // j in the low bits
	p("VPBROADCASTQ %s, Z12", tref("i1"))
	p("VPTESTMQ Z12, Z6, K5") // j odd
	p("VBROADCASTSD %s, Z13", tref("one"))
	p("VADDPD Z13, Z5, K5, Z5")
	p("VPADDQ Z12, Z6, K5, Z6")
	p("VPBROADCASTQ %s, Z13", tref("i7"))
	p("VPANDQ Z13, Z6, Z6")
	p("VPBROADCASTQ %s, Z13", tref("i3"))
	p("VPCMPQ $6, Z13, Z6, K6") // j > 3
	p("VPBROADCASTQ %s, Z13", tref("i4"))
	p("VPSUBQ Z13, Z6, K6, Z6")
	if !isCos {
		p("KXORW K6, K4, K4")
	} else {
		p("KMOVW K6, K4")
		p("VPCMPQ $6, Z12, Z6, K2") // j > 1
		p("KXORW K2, K4, K4")
	}
	p("VPCMPQ $0, Z12, Z6, K2") // j == 1
	p("VPBROADCASTQ %s, Z13", tref("i2"))
	p("VPCMPQ $0, Z13, Z6, K5") // j == 2
	p("KORW K2, K5, K5")        // swap
	// z = ((a - y*pi4a) - y*pi4b) - y*pi4c, each step fused
	p("VMOVAPD Z4, Z8")
	p("VFNMADD231PD Z18, Z5, Z8")
	p("VFNMADD231PD Z19, Z5, Z8")
	p("VFNMADD231PD Z20, Z5, Z8")
	p("VMULPD Z8, Z8, Z9") // zz
	p("VMOVAPD Z21, Z10")
	p("VMOVAPD Z27, Z11")
	for i := 1; i < 6; i++ {
		p("VFMADD213PD Z%d, Z9, Z10", 21+i)
		if i < 5 {
			p("VFMADD213PD Z%d, Z9, Z11", 27+i)
		} else {
			p("VBROADCASTSD %s, Z13", tref("sc5"))
			p("VFMADD213PD Z13, Z9, Z11")
		}
	}
	// c = (1 - 0.5*zz) + (zz*zz)*pc
	p("VBROADCASTSD %s, Z1", tref("one"))
	p("VBROADCASTSD %s, Z13", tref("half"))
	p("VFNMADD231PD Z13, Z9, Z1")
	p("VMULPD Z9, Z9, Z2")
	p("VFMADD231PD Z10, Z2, Z1") // c
	// s = z + (z*zz)*ps
	p("VMULPD Z9, Z8, Z2")
	p("VFMADD213PD Z8, Z11, Z2") // s
	if !isCos {
		p("VMOVAPD Z2, Z0")
		p("VMOVAPD Z1, K5, Z0")
	} else {
		p("VMOVAPD Z1, Z0")
		p("VMOVAPD Z2, K5, Z0")
	}
	p("VPBROADCASTQ %s, Z13", tref("signmask"))
	p("VPXORQ Z13, Z0, K4, Z0")
	if !isCos {
		p("VPXORQ Z2, Z2, Z2")
		p("VCMPPD $0, Z2, Z3, K2") // x == 0: keep x (and its sign)
		p("VMOVAPD Z3, K2, Z0")
	}
}

func genTrig(name string, isCos bool) {
	fmt.Fprintf(&w, "// func %s(dst, src []float64) int\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ CX, R8")
	p("MOVQ src_base+24(FP), SI")
	for _, r := range trigRegs {
		p("VBROADCASTSD %s, %s", tref(r.name), r.reg)
	}
	p("MOVQ $0xff, AX")
	p("KMOVW AX, K1")
	label(name + "_loop")
	p("CMPQ CX, $8")
	p("JLT %s_tail", name)
	p("VMOVUPD (SI), Z0")
	trigBody(name, isCos)
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
	trigBody(name, isCos)
	p("VMOVUPD Z0, K1, (DI)")
	p("XORQ CX, CX")
	label(name + "_bail")
	p("SUBQ CX, R8")
	p("MOVQ R8, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genTrigs() {
	for i, c := range trigConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		fmt.Fprintf(&w, "DATA trigconst<>+%d(SB)/8, $0x%016x // %s\n", 8*i, b, c.name)
	}
	fmt.Fprintf(&w, "GLOBL trigconst<>(SB), RODATA|NOPTR, $%d\n\n", 8*len(trigConsts))
	genTrig("sinAVX512", false)
	genTrig("cosAVX512", true)
}
