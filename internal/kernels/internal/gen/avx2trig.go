package main

import (
	"fmt"
	"math"
)

// AVX2 log, sin and cos: the AVX-512 routines' operations with vector
// masks and blends instead of mask registers (sin and cos fused where
// sincosCore calls math.FMA, as there). Like them they stop at the
// first vector (of 4) with an argument that needs the math package and
// return how many elements they did. Y13 holds the active-lane mask.

var avx2TrigConsts = []constant{
	// log
	{name: "L1", v: 6.666666666666735130e-01}, {name: "L2", v: 3.999999999940941908e-01},
	{name: "L3", v: 2.857142874366239149e-01}, {name: "L4", v: 2.222219843214978396e-01},
	{name: "L5", v: 1.818357216161805012e-01}, {name: "L6", v: 1.531383769920937332e-01},
	{name: "L7", v: 1.479819860511658591e-01},
	{name: "ln2hi", v: 6.93147180369123816490e-01}, {name: "ln2lo", v: 1.90821492927058770002e-10},
	{name: "half", v: 0.5}, {name: "one", v: 1}, {name: "two", v: 2}, {name: "kbias", v: 0x1p52 + 1023},
	{name: "minnorm", bits: 0x0010000000000000},
	{name: "cutflip", bits: (0x7ff0000000000000 - 0x0010000000000000 - 1) ^ (1 << 63)},
	{name: "shift", bits: 0x3ff0000000000000 - 0x3fe6a09e00000000},
	{name: "mant", bits: 0x000fffffffffffff}, {name: "sqrt2half", bits: 0x3fe6a09e00000000},
	{name: "exp52", bits: 0x4330000000000000},
	{name: "signmask", bits: 1 << 63}, {name: "absmask", bits: 1<<63 - 1},
	// trig
	{name: "fop", v: 4 / math.Pi}, {name: "two52", v: 0x1p52},
	{name: "pi4a", v: 7.85398125648498535156e-1}, {name: "pi4b", v: 3.77489470793079817668e-8},
	{name: "pi4c", v: 2.69515142907905952645e-15},
	{name: "cc0", v: -1.13585365213876817300e-11}, {name: "cc1", v: 2.08757008419747316778e-9},
	{name: "cc2", v: -2.75573141792967388112e-7}, {name: "cc3", v: 2.48015872888517045348e-5},
	{name: "cc4", v: -1.38888888888730564116e-3}, {name: "cc5", v: 4.16666666666665929218e-2},
	{name: "sc0", v: 1.58962301576546568060e-10}, {name: "sc1", v: -2.50507477628578072866e-8},
	{name: "sc2", v: 2.75573136213857245213e-6}, {name: "sc3", v: -1.98412698295895385996e-4},
	{name: "sc4", v: 8.33333333332211858878e-3}, {name: "sc5", v: -1.66666666666666307295e-1},
	{name: "lim", v: 1 << 29},
	{name: "i1", bits: 1}, {name: "i2", bits: 2}, {name: "i3", bits: 3}, {name: "i4", bits: 4}, {name: "i7", bits: 7},
	{name: "allones", bits: 1<<64 - 1},
}

func t4(name string) string {
	for i, c := range avx2TrigConsts {
		if c.name == name {
			return fmt.Sprintf("trigconst4<>+%d(SB)", 32*i)
		}
	}
	panic(name)
}

// logY0: Y0 = log(Y0) on the lanes of Y13, or jump to bail.
func logY0(name string) {
	p("VPSUBQ %s, Y0, Y1", t4("minnorm"))
	p("VPXOR %s, Y1, Y1", t4("signmask"))
	p("VPCMPGTQ %s, Y1, Y1", t4("cutflip")) // unsigned bits-minnorm >= cut: special
	p("VPTEST Y13, Y1")
	p("JNZ %s_bail", name)
	p("VPADDQ %s, Y0, Y1", t4("shift"))
	p("VPSRLQ $52, Y1, Y2")
	p("VPOR %s, Y2, Y2", t4("exp52"))
	p("VSUBPD %s, Y2, Y2", t4("kbias")) // kf
	p("VPAND %s, Y1, Y1", t4("mant"))
	p("VPADDQ %s, Y1, Y1", t4("sqrt2half"))
	p("VSUBPD %s, Y1, Y1", t4("one")) // f
	p("VADDPD %s, Y1, Y3", t4("two"))
	p("VDIVPD Y3, Y1, Y3") // s
	p("VMULPD Y3, Y3, Y4") // s2
	p("VMULPD Y4, Y4, Y5") // s4
	p("VMULPD %s, Y5, Y6", t4("L7"))
	p("VADDPD %s, Y6, Y6", t4("L5"))
	p("VMULPD Y6, Y5, Y6")
	p("VADDPD %s, Y6, Y6", t4("L3"))
	p("VMULPD Y6, Y5, Y6")
	p("VADDPD %s, Y6, Y6", t4("L1"))
	p("VMULPD Y6, Y4, Y6") // t1
	p("VMULPD %s, Y5, Y7", t4("L6"))
	p("VADDPD %s, Y7, Y7", t4("L4"))
	p("VMULPD Y7, Y5, Y7")
	p("VADDPD %s, Y7, Y7", t4("L2"))
	p("VMULPD Y7, Y5, Y7")
	p("VADDPD Y7, Y6, Y6") // R
	p("VMULPD %s, Y1, Y7", t4("half"))
	p("VMULPD Y1, Y7, Y7") // hfsq
	p("VADDPD Y6, Y7, Y6")
	p("VMULPD Y6, Y3, Y6")
	p("VMULPD %s, Y2, Y8", t4("ln2lo"))
	p("VADDPD Y8, Y6, Y6")
	p("VSUBPD Y6, Y7, Y6")
	p("VSUBPD Y1, Y6, Y6")
	p("VMULPD %s, Y2, Y8", t4("ln2hi"))
	p("VSUBPD Y6, Y8, Y0")
}

// trigY0: Y0 = sin or cos of Y0 on the lanes of Y13, or jump to bail.
func trigY0(name string, isCos bool) {
	p("VMOVAPD Y0, Y3")
	p("VANDPD %s, Y0, Y4", t4("absmask")) // a
	p("VMOVUPD %s, Y1", t4("lim"))
	p("VCMPPD $5, Y1, Y4, Y1") // !(a < 2^29), true for NaN
	p("VPTEST Y13, Y1")
	p("JNZ %s_bail", name)
	if !isCos {
		p("VANDPD %s, Y3, Y6", t4("signmask")) // sign accumulator
	} else {
		p("VXORPD Y6, Y6, Y6")
	}
	p("VMULPD %s, Y4, Y5", t4("fop"))
	p("VROUNDPD $9, Y5, Y5")            // y
	p("VADDPD %s, Y5, Y7", t4("two52")) // j in the low bits
	p("VPAND %s, Y7, Y8", t4("i1"))
	p("VPCMPEQQ %s, Y8, Y8", t4("i1")) // odd
	p("VANDPD %s, Y8, Y9", t4("one"))
	p("VADDPD Y9, Y5, Y5")
	p("VPSUBQ Y8, Y7, Y7") // j+1 where odd
	p("VPAND %s, Y7, Y7", t4("i7"))
	p("VPCMPGTQ %s, Y7, Y9", t4("i3")) // j > 3
	p("VPAND %s, Y9, Y10", t4("i4"))
	p("VPSUBQ Y10, Y7, Y7")
	p("VPAND %s, Y9, Y9", t4("signmask"))
	p("VPXOR Y9, Y6, Y6")
	if isCos {
		p("VPCMPGTQ %s, Y7, Y9", t4("i1")) // j > 1
		p("VPAND %s, Y9, Y9", t4("signmask"))
		p("VPXOR Y9, Y6, Y6")
	}
	p("VPCMPEQQ %s, Y7, Y9", t4("i1"))
	p("VPCMPEQQ %s, Y7, Y10", t4("i2"))
	p("VPOR Y10, Y9, Y9") // swap
	p("VMOVAPD Y4, Y8")
	p("VFNMADD231PD %s, Y5, Y8", t4("pi4a"))
	p("VFNMADD231PD %s, Y5, Y8", t4("pi4b"))
	p("VFNMADD231PD %s, Y5, Y8", t4("pi4c")) // z
	p("VMULPD Y8, Y8, Y10")                  // zz
	p("VMOVUPD %s, Y11", t4("cc0"))
	p("VMOVUPD %s, Y12", t4("sc0"))
	for i := 1; i < 6; i++ {
		p("VFMADD213PD %s, Y10, Y11", t4(fmt.Sprintf("cc%d", i)))
		p("VFMADD213PD %s, Y10, Y12", t4(fmt.Sprintf("sc%d", i)))
	}
	p("VMOVUPD %s, Y1", t4("one"))
	p("VFNMADD231PD %s, Y10, Y1", t4("half"))
	p("VMULPD Y10, Y10, Y2")
	p("VFMADD231PD Y11, Y2, Y1") // c
	p("VMULPD Y10, Y8, Y2")
	p("VFMADD213PD Y8, Y12, Y2") // s
	if !isCos {
		p("VBLENDVPD Y9, Y1, Y2, Y0") // swap ? c : s
	} else {
		p("VBLENDVPD Y9, Y2, Y1, Y0") // swap ? s : c
	}
	p("VXORPD Y6, Y0, Y0")
	if !isCos {
		p("VXORPD Y1, Y1, Y1")
		p("VCMPPD $0, Y1, Y3, Y1") // x == 0: keep x
		p("VBLENDVPD Y1, Y3, Y0, Y0")
	}
}

func genBailY(name string, body func()) {
	fmt.Fprintf(&w, "// func %s(dst, src []float64) int\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ dst_base+0(FP), DI")
	p("MOVQ dst_len+8(FP), CX")
	p("MOVQ CX, R8")
	p("MOVQ src_base+24(FP), SI")
	p("VMOVUPD %s, Y13", t4("allones"))
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
	p("JZ %s_bail", name)
	tailMask()
	p("VMASKMOVPD (SI), Y13, Y0")
	body()
	p("VMASKMOVPD Y0, Y13, (DI)")
	p("XORQ CX, CX")
	label(name + "_bail")
	p("SUBQ CX, R8")
	p("MOVQ R8, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genAVX2Trig() {
	for i, c := range avx2TrigConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		for l := 0; l < 4; l++ {
			fmt.Fprintf(&w, "DATA trigconst4<>+%d(SB)/8, $0x%016x\n", 32*i+8*l, b)
		}
	}
	fmt.Fprintf(&w, "GLOBL trigconst4<>(SB), RODATA|NOPTR, $%d\n\n", 32*len(avx2TrigConsts))
	genBailY("logAVX2", func() { logY0("logAVX2") })
	genBailY("sinAVX2", func() { trigY0("sinAVX2", false) })
	genBailY("cosAVX2", func() { trigY0("cosAVX2", true) })
}
