package main

import (
	"fmt"
	"math"
)

// The AVX-512 erf: all three approximations (small, middle, tail) for all
// lanes, then a blend; the same operations lane by lane as erf in
// mathfn.go. Uses expZ0, so the exp constants must be loaded (Z12..Z31).

var erfConsts = []constant{
	{name: "erx", v: 8.45062911510467529297e-01},
	{name: "pp0", v: 1.28379167095512558561e-01},
	{name: "pp1", v: -3.25042107247001499370e-01},
	{name: "pp2", v: -2.84817495755985104766e-02},
	{name: "pp3", v: -5.77027029648944159157e-03},
	{name: "pp4", v: -2.37630166566501626084e-05},
	{name: "qq1", v: 3.97917223959155352819e-01},
	{name: "qq2", v: 6.50222499887672944485e-02},
	{name: "qq3", v: 5.08130628187576562776e-03},
	{name: "qq4", v: 1.32494738004321644526e-04},
	{name: "qq5", v: -3.96022827877536812320e-06},
	{name: "pa0", v: -2.36211856075265944077e-03},
	{name: "pa1", v: 4.14856118683748331666e-01},
	{name: "pa2", v: -3.72207876035701323847e-01},
	{name: "pa3", v: 3.18346619901161753674e-01},
	{name: "pa4", v: -1.10894694282396677476e-01},
	{name: "pa5", v: 3.54783043256182359371e-02},
	{name: "pa6", v: -2.16637559486879084300e-03},
	{name: "qa1", v: 1.06420880400844228286e-01},
	{name: "qa2", v: 5.40397917702171048937e-01},
	{name: "qa3", v: 7.18286544141962662868e-02},
	{name: "qa4", v: 1.26171219808761642112e-01},
	{name: "qa5", v: 1.36370839120290507362e-02},
	{name: "qa6", v: 1.19844998467991074170e-02},
	{name: "ra0", v: -9.86494403484714822705e-03}, {name: "ra1", v: -6.93858572707181764372e-01},
	{name: "ra2", v: -1.05586262253232909814e+01}, {name: "ra3", v: -6.23753324503260060396e+01},
	{name: "ra4", v: -1.62396669462573470355e+02}, {name: "ra5", v: -1.84605092906711035994e+02},
	{name: "ra6", v: -8.12874355063065934246e+01}, {name: "ra7", v: -9.81432934416914548592e+00},
	{name: "rb0", v: -9.86494292470009928597e-03}, {name: "rb1", v: -7.99283237680523006574e-01},
	{name: "rb2", v: -1.77579549177547519889e+01}, {name: "rb3", v: -1.60636384855821916062e+02},
	{name: "rb4", v: -6.37566443368389627722e+02}, {name: "rb5", v: -1.02509513161107724954e+03},
	{name: "rb6", v: -4.83519191608651397019e+02}, {name: "rb7", v: 0},
	{name: "sa1", v: 1.96512716674392571292e+01}, {name: "sa2", v: 1.37657754143519042600e+02},
	{name: "sa3", v: 4.34565877475229228821e+02}, {name: "sa4", v: 6.45387271733267880336e+02},
	{name: "sa5", v: 4.29008140027567833386e+02}, {name: "sa6", v: 1.08635005541779435134e+02},
	{name: "sa7", v: 6.57024977031928170135e+00}, {name: "sa8", v: -6.04244152148580987438e-02},
	{name: "sb1", v: 3.03380607434824582924e+01}, {name: "sb2", v: 3.25792512996573918826e+02},
	{name: "sb3", v: 1.53672958608443695994e+03}, {name: "sb4", v: 3.19985821950859553908e+03},
	{name: "sb5", v: 2.55305040643316442583e+03}, {name: "sb6", v: 4.74528541206955367215e+02},
	{name: "sb7", v: -2.24409524465858183362e+01}, {name: "sb8", v: 0},
	{name: "cut1", v: 0.84375},
	{name: "cut2", v: 1.25},
	{name: "cut3", v: 1 / 0.35},
	{name: "cut4", v: 6},
	{name: "c5625", v: 0.5625},
	{name: "himask", bits: 0xffffffff00000000},
	{name: "esign", bits: 1 << 63},
	{name: "eabs", bits: 1<<63 - 1},
}

func eref(name string) string {
	for i, c := range erfConsts {
		if c.name == name {
			return fmt.Sprintf("erfconst<>+%d(SB)", 8*i)
		}
	}
	panic(name)
}

// hornerStep: acc = acc*s + c  (as float64(s*acc) + c).
func hornerStep(acc, s, c, tmp string) {
	p("VMULPD %s, %s, %s", s, acc, acc)
	p("VBROADCASTSD %s, %s", eref(c), tmp)
	p("VADDPD %s, %s, %s", tmp, acc, acc)
}

func erfZ0() {
	p("VMOVAPD Z0, Z3") // x
	p("VPBROADCASTQ %s, Z4", eref("eabs"))
	p("VPANDQ Z4, Z0, Z4") // a
	// The tail first: its exps need temporaries the other branches would hold.
	// tail: s = 1/(a*a) in Z7; K4 = a >= 1/0.35 picks the rb/sb row.
	p("VMULPD Z4, Z4, Z7")
	p("VDIVPD Z7, Z14, Z7")
	p("VBROADCASTSD %s, Z8", eref("cut3"))
	p("VCMPPD $13, Z8, Z4, K4") // a >= 1/0.35
	coef := func(dst, a, b string) {
		p("VBROADCASTSD %s, %s", eref(a), dst)
		p("VBROADCASTSD %s, Z11", eref(b))
		p("VMOVAPD Z11, K4, %s", dst)
	}
	coef("Z8", "ra7", "rb7")
	coef("Z9", "sa8", "sb8")
	for i := 6; i >= 0; i-- {
		p("VMULPD Z7, Z8, Z8")
		coef("Z10", fmt.Sprintf("ra%d", i), fmt.Sprintf("rb%d", i))
		p("VADDPD Z10, Z8, Z8")
		p("VMULPD Z7, Z9, Z9")
		coef("Z10", fmt.Sprintf("sa%d", i+1), fmt.Sprintf("sb%d", i+1))
		p("VADDPD Z10, Z9, Z9")
	}
	p("VMULPD Z7, Z9, Z9")
	p("VADDPD Z14, Z9, Z9") // S
	p("VDIVPD Z9, Z8, Z8")  // R/S
	p("VPBROADCASTQ %s, Z9", eref("himask"))
	p("VPANDQ Z9, Z4, Z9") // z
	p("VMULPD Z9, Z9, Z0")
	p("VPBROADCASTQ %s, Z10", eref("esign"))
	p("VPXORQ Z10, Z0, Z0") // -z*z
	p("VBROADCASTSD %s, Z10", eref("c5625"))
	p("VSUBPD Z10, Z0, Z0")
	expZ0("Z2", "Z5", "Z6", "Z7", "Z10")
	p("VMOVAPD Z0, Z11")
	p("VSUBPD Z4, Z9, Z1") // z - a
	p("VADDPD Z4, Z9, Z2") // z + a
	p("VMULPD Z2, Z1, Z0")
	p("VADDPD Z8, Z0, Z0")
	expZ0("Z2", "Z5", "Z6", "Z7", "Z8")
	p("VMULPD Z0, Z11, Z0") // r
	p("VDIVPD Z4, Z0, Z0")
	p("VSUBPD Z0, Z14, Z0") // tail
	// small: Z5 = a + a*(p/q), z = a*a in Z7
	p("VMULPD Z4, Z4, Z7")
	p("VBROADCASTSD %s, Z5", eref("pp4"))
	for _, c := range []string{"pp3", "pp2", "pp1", "pp0"} {
		hornerStep("Z5", "Z7", c, "Z8")
	}
	p("VBROADCASTSD %s, Z6", eref("qq5"))
	for _, c := range []string{"qq4", "qq3", "qq2", "qq1"} {
		hornerStep("Z6", "Z7", c, "Z8")
	}
	p("VMULPD Z7, Z6, Z6")
	p("VADDPD Z14, Z6, Z6") // + 1
	p("VDIVPD Z6, Z5, Z5")
	p("VMULPD Z5, Z4, Z5")
	p("VADDPD Z5, Z4, Z5") // small
	// middle: Z6 = erx + P/Q, s = a-1 in Z7
	p("VSUBPD Z14, Z4, Z7")
	p("VBROADCASTSD %s, Z6", eref("pa6"))
	p("VBROADCASTSD %s, Z9", eref("qa6"))
	for _, c := range [][2]string{{"pa5", "qa5"}, {"pa4", "qa4"}, {"pa3", "qa3"}, {"pa2", "qa2"}, {"pa1", "qa1"}, {"pa0", ""}} {
		if c[0] == "pa5" {
			// first step: float64(s*pa6) + pa5
			p("VMULPD Z7, Z6, Z6")
			p("VBROADCASTSD %s, Z8", eref("pa5"))
			p("VADDPD Z8, Z6, Z6")
			p("VMULPD Z7, Z9, Z9")
			p("VBROADCASTSD %s, Z8", eref("qa5"))
			p("VADDPD Z8, Z9, Z9")
			continue
		}
		hornerStep("Z6", "Z7", c[0], "Z8")
		if c[1] != "" {
			hornerStep("Z9", "Z7", c[1], "Z8")
		} else {
			p("VMULPD Z7, Z9, Z9")
			p("VADDPD Z14, Z9, Z9")
		}
	}
	p("VDIVPD Z9, Z6, Z6")
	p("VBROADCASTSD %s, Z8", eref("erx"))
	p("VADDPD Z6, Z8, Z6") // middle
	// Blend: a >= 6: 1; a < 1.25: middle; a < 0.84375: small; NaN: x.
	p("VBROADCASTSD %s, Z8", eref("cut4"))
	p("VCMPPD $13, Z8, Z4, K2")
	p("VMOVAPD Z14, K2, Z0")
	p("VBROADCASTSD %s, Z8", eref("cut2"))
	p("VCMPPD $1, Z8, Z4, K2")
	p("VMOVAPD Z6, K2, Z0")
	p("VBROADCASTSD %s, Z8", eref("cut1"))
	p("VCMPPD $1, Z8, Z4, K2")
	p("VMOVAPD Z5, K2, Z0")
	p("VPBROADCASTQ %s, Z8", eref("esign"))
	p("VPANDQ Z8, Z3, Z8")
	p("VPORQ Z8, Z0, Z0")
	p("VCMPPD $3, Z3, Z3, K2") // unordered: NaN
	p("VMOVAPD Z3, K2, Z0")
}

func genErf() {
	for i, c := range erfConsts {
		b := c.bits
		if b == 0 {
			b = math.Float64bits(c.v)
		}
		fmt.Fprintf(&w, "DATA erfconst<>+%d(SB)/8, $0x%016x // %s\n", 8*i, b, c.name)
	}
	fmt.Fprintf(&w, "GLOBL erfconst<>(SB), RODATA|NOPTR, $%d\n\n", 8*len(erfConsts))
	genMap("erfAVX512", erfZ0)
}
