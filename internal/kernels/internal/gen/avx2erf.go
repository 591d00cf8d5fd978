package main

import (
	"fmt"
	"math"
)

// AVX2 erf: erfZ0's operations with vector masks and blends; uses expY0,
// so live values sit in Y6, Y7, Y10..Y12 across it.

func e4(name string) string {
	if name == "one" {
		return fmt.Sprintf("erfconst4<>+%d(SB)", 32*len(erfConsts))
	}
	for i, c := range erfConsts {
		if c.name == name {
			return fmt.Sprintf("erfconst4<>+%d(SB)", 32*i)
		}
	}
	panic(name)
}

func erfY0() {
	p("VMOVAPD Y0, Y6")
	p("VANDPD %s, Y0, Y7", e4("eabs")) // a
	// tail
	p("VMULPD Y7, Y7, Y8")
	p("VMOVUPD %s, Y9", e4("one"))
	p("VDIVPD Y8, Y9, Y8") // s = 1/(a*a)
	p("VMOVUPD %s, Y9", e4("cut3"))
	p("VCMPPD $13, Y9, Y7, Y9") // a >= 1/0.35
	coef := func(dst, a, b string) {
		p("VMOVUPD %s, %s", e4(a), dst)
		p("VBLENDVPD Y9, %s, %s, %s", e4(b), dst, dst)
	}
	coef("Y10", "ra7", "rb7")
	coef("Y11", "sa8", "sb8")
	for i := 6; i >= 0; i-- {
		p("VMULPD Y8, Y10, Y10")
		coef("Y12", fmt.Sprintf("ra%d", i), fmt.Sprintf("rb%d", i))
		p("VADDPD Y12, Y10, Y10")
		p("VMULPD Y8, Y11, Y11")
		coef("Y12", fmt.Sprintf("sa%d", i+1), fmt.Sprintf("sb%d", i+1))
		p("VADDPD Y12, Y11, Y11")
	}
	p("VMULPD Y8, Y11, Y11")
	p("VADDPD %s, Y11, Y11", e4("one"))   // S
	p("VDIVPD Y11, Y10, Y10")             // R/S
	p("VANDPD %s, Y7, Y11", e4("himask")) // z
	p("VMULPD Y11, Y11, Y0")
	p("VXORPD %s, Y0, Y0", e4("esign"))
	p("VSUBPD %s, Y0, Y0", e4("c5625"))
	expY0()
	p("VMOVAPD Y0, Y12")
	p("VSUBPD Y7, Y11, Y1")
	p("VADDPD Y7, Y11, Y2")
	p("VMULPD Y2, Y1, Y0")
	p("VADDPD Y10, Y0, Y0")
	expY0()
	p("VMULPD Y0, Y12, Y0") // r
	p("VDIVPD Y7, Y0, Y0")
	p("VMOVUPD %s, Y1", e4("one"))
	p("VSUBPD Y0, Y1, Y0") // tail
	// small -> Y9
	p("VMULPD Y7, Y7, Y8")
	p("VMOVUPD %s, Y9", e4("pp4"))
	for _, c := range []string{"pp3", "pp2", "pp1", "pp0"} {
		p("VMULPD Y8, Y9, Y9")
		p("VADDPD %s, Y9, Y9", e4(c))
	}
	p("VMOVUPD %s, Y10", e4("qq5"))
	for _, c := range []string{"qq4", "qq3", "qq2", "qq1", "one"} {
		p("VMULPD Y8, Y10, Y10")
		p("VADDPD %s, Y10, Y10", e4(c))
	}
	p("VDIVPD Y10, Y9, Y9")
	p("VMULPD Y9, Y7, Y9")
	p("VADDPD Y9, Y7, Y9") // small
	// middle -> Y10
	p("VSUBPD %s, Y7, Y8", e4("one"))
	p("VMOVUPD %s, Y10", e4("pa6"))
	p("VMOVUPD %s, Y11", e4("qa6"))
	for _, c := range [][2]string{{"pa5", "qa5"}, {"pa4", "qa4"}, {"pa3", "qa3"}, {"pa2", "qa2"}, {"pa1", "qa1"}, {"pa0", "one"}} {
		p("VMULPD Y8, Y10, Y10")
		p("VADDPD %s, Y10, Y10", e4(c[0]))
		p("VMULPD Y8, Y11, Y11")
		p("VADDPD %s, Y11, Y11", e4(c[1]))
	}
	p("VDIVPD Y11, Y10, Y10")
	p("VADDPD %s, Y10, Y10", e4("erx")) // middle
	// blend
	p("VMOVUPD %s, Y1", e4("cut4"))
	p("VCMPPD $13, Y1, Y7, Y1") // a >= 6
	p("VBLENDVPD Y1, %s, Y0, Y0", e4("one"))
	p("VMOVUPD %s, Y1", e4("cut2"))
	p("VCMPPD $1, Y1, Y7, Y1") // a < 1.25
	p("VBLENDVPD Y1, Y10, Y0, Y0")
	p("VMOVUPD %s, Y1", e4("cut1"))
	p("VCMPPD $1, Y1, Y7, Y1") // a < 0.84375
	p("VBLENDVPD Y1, Y9, Y0, Y0")
	p("VANDPD %s, Y6, Y1", e4("esign"))
	p("VORPD Y1, Y0, Y0")
	p("VCMPPD $3, Y6, Y6, Y1") // NaN
	p("VBLENDVPD Y1, Y6, Y0, Y0")
}

func genErfY() {
	for i, c := range erfConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		for l := 0; l < 4; l++ {
			fmt.Fprintf(&w, "DATA erfconst4<>+%d(SB)/8, $0x%016x\n", 32*i+8*l, b)
		}
	}
	for l := 0; l < 4; l++ {
		fmt.Fprintf(&w, "DATA erfconst4<>+%d(SB)/8, $0x%016x\n", 32*len(erfConsts)+8*l, math.Float64bits(1))
	}
	fmt.Fprintf(&w, "GLOBL erfconst4<>(SB), RODATA|NOPTR, $%d\n\n", 32*(len(erfConsts)+1))
	genMapY("erfAVX2", erfY0)
}
