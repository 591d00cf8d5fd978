package main

import (
	"fmt"
	"math"
)

// The constant table: every constant twice (one 16-byte row, both lanes),
// loaded with FMOVQ off(R9), F<n>. A map pins the constants it uses most
// in registers before its loop; the others are loaded where used.

type constant struct {
	name string
	v    float64
	bits uint64 // used when v is not a float (integers, masks)
}

var consts = []constant{
	// exp (expCore in mathfn.go)
	{name: "hiclamp", v: 710}, {name: "loclamp", v: -746},
	{name: "log2e", v: 1.44269504088896338700e+00}, {name: "shifter", v: 0x1.8p52},
	{name: "ln2hi", v: 6.93147180369123816490e-01}, {name: "ln2lo", v: 1.90821492927058770002e-10},
	{name: "c2", v: 0.5}, {name: "c3", v: 1.0 / 6}, {name: "c4", v: 1.0 / 24}, {name: "c5", v: 1.0 / 120},
	{name: "c6", v: 1.0 / 720}, {name: "c7", v: 1.0 / 5040}, {name: "c8", v: 1.0 / 40320},
	{name: "c9", v: 1.0 / 362880}, {name: "c10", v: 1.0 / 3628800}, {name: "c11", v: 1.0 / 39916800},
	{name: "c12", v: 1.0 / 479001600}, {name: "c13", v: 1.0 / 6227020800},
	{name: "one", v: 1}, {name: "two", v: 2}, {name: "half", v: 0.5},
	{name: "i1023", bits: 1023},
	{name: "signmask", bits: 1 << 63},
	// tanh
	{name: "tanhcut", v: 0.625},
	{name: "p0", v: -9.64399179425052238628e-1}, {name: "p1", v: -9.92877231001918586564e1},
	{name: "p2", v: -1.61468768441708447952e3},
	{name: "q0", v: 1.12811678491632931402e2}, {name: "q1", v: 2.23548839060100448583e3},
	{name: "q2", v: 4.84406305325125486048e3},
	// log
	{name: "L1", v: 6.666666666666735130e-01}, {name: "L2", v: 3.999999999940941908e-01},
	{name: "L3", v: 2.857142874366239149e-01}, {name: "L4", v: 2.222219843214978396e-01},
	{name: "L5", v: 1.818357216161805012e-01}, {name: "L6", v: 1.531383769920937332e-01},
	{name: "L7", v: 1.479819860511658591e-01},
	{name: "minnorm", bits: 0x0010000000000000},
	{name: "logcut", bits: 0x7ff0000000000000 - 0x0010000000000000},
	{name: "logshift", bits: 0x3ff0000000000000 - 0x3fe6a09e00000000},
	{name: "mant", bits: 0x000fffffffffffff}, {name: "sqrt2half", bits: 0x3fe6a09e00000000},
	// sin, cos
	{name: "triglim", v: 1 << 29}, {name: "fop", v: 4 / math.Pi},
	{name: "pi4a", v: 7.85398125648498535156e-1}, {name: "pi4b", v: 3.77489470793079817668e-8},
	{name: "pi4c", v: 2.69515142907905952645e-15},
	{name: "cc0", v: -1.13585365213876817300e-11}, {name: "cc1", v: 2.08757008419747316778e-9},
	{name: "cc2", v: -2.75573141792967388112e-7}, {name: "cc3", v: 2.48015872888517045348e-5},
	{name: "cc4", v: -1.38888888888730564116e-3}, {name: "cc5", v: 4.16666666666665929218e-2},
	{name: "sc0", v: 1.58962301576546568060e-10}, {name: "sc1", v: -2.50507477628578072866e-8},
	{name: "sc2", v: 2.75573136213857245213e-6}, {name: "sc3", v: -1.98412698295895385996e-4},
	{name: "sc4", v: 8.33333333332211858878e-3}, {name: "sc5", v: -1.66666666666666307295e-1},
	{name: "i1", bits: 1}, {name: "i2", bits: 2}, {name: "i3", bits: 3}, {name: "i4", bits: 4}, {name: "i7", bits: 7},
	// erf (s_erf.c, as erf in mathfn.go)
	{name: "erx", v: 8.45062911510467529297e-01},
	{name: "pp0", v: 1.28379167095512558561e-01}, {name: "pp1", v: -3.25042107247001499370e-01},
	{name: "pp2", v: -2.84817495755985104766e-02}, {name: "pp3", v: -5.77027029648944159157e-03},
	{name: "pp4", v: -2.37630166566501626084e-05},
	{name: "qq1", v: 3.97917223959155352819e-01}, {name: "qq2", v: 6.50222499887672944485e-02},
	{name: "qq3", v: 5.08130628187576562776e-03}, {name: "qq4", v: 1.32494738004321644526e-04},
	{name: "qq5", v: -3.96022827877536812320e-06},
	{name: "pa0", v: -2.36211856075265944077e-03}, {name: "pa1", v: 4.14856118683748331666e-01},
	{name: "pa2", v: -3.72207876035701323847e-01}, {name: "pa3", v: 3.18346619901161753674e-01},
	{name: "pa4", v: -1.10894694282396677476e-01}, {name: "pa5", v: 3.54783043256182359371e-02},
	{name: "pa6", v: -2.16637559486879084300e-03},
	{name: "qa1", v: 1.06420880400844228286e-01}, {name: "qa2", v: 5.40397917702171048937e-01},
	{name: "qa3", v: 7.18286544141962662868e-02}, {name: "qa4", v: 1.26171219808761642112e-01},
	{name: "qa5", v: 1.36370839120290507362e-02}, {name: "qa6", v: 1.19844998467991074170e-02},
	{name: "erfcut1", v: 0.84375}, {name: "erfcut2", v: 1.25}, {name: "erfcut3", v: 1 / 0.35},
	{name: "erfcut4", v: 6}, {name: "c5625", v: 0.5625},
	{name: "himask", bits: 0xffffffff00000000},
}

// erfR and erfS (rows: [1.25, 1/0.35) and [1/0.35, 6), row 1 padded with
// zeros), as in mathfn.go.
var erfR = [2][8]float64{
	{-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01,
		-1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00},
	{-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02,
		-6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02, 0},
}
var erfS = [2][8]float64{
	{1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02,
		4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02},
	{3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03,
		2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01, 0},
}

func init() {
	for row := 0; row < 2; row++ {
		for i := 0; i < 8; i++ {
			consts = append(consts,
				constant{name: fmt.Sprintf("erfR%d_%d", row, i), v: erfR[row][i]},
				constant{name: fmt.Sprintf("erfS%d_%d", row, i), v: erfS[row][i]})
		}
	}
}

func constBits(c constant) uint64 {
	if c.bits != 0 {
		return c.bits
	}
	return math.Float64bits(c.v)
}

// constOff is the offset of a constant's row in the current table: the
// float64 one (neonconst<>) or, while arr is "4s", the float32 one
// (neonconst32<>).
func constOff(name string) int {
	if arr == "4s" {
		for i, c := range consts32 {
			if c.name == name {
				return 16 * i
			}
		}
		panic("no float32 constant " + name)
	}
	for i, c := range consts {
		if c.name == name {
			return 16 * i
		}
	}
	panic("no constant " + name)
}

func genConstTable() {
	for i, c := range consts {
		for l := 0; l < 2; l++ {
			fmt.Fprintf(&w, "DATA neonconst<>+%d(SB)/8, $0x%016x // %s\n", 16*i+8*l, constBits(c), c.name)
		}
	}
	fmt.Fprintf(&w, "GLOBL neonconst<>(SB), RODATA|NOPTR, $%d\n\n", 16*len(consts))
}

// Constants of the function being generated: pinned ones live in
// registers for the whole function, the others are loaded on use.
var (
	pinned  map[string]int
	scratch = -1
)

// pin assigns registers regs[i] to names[i] (as many as there are
// registers) and loads them; the function's table base is in R9.
func pin(regs []int, names ...string) {
	pinned = map[string]int{}
	for i, n := range names {
		if i == len(regs) {
			break
		}
		pinned[n] = regs[i]
		p("FMOVQ %d(R9), F%d", constOff(n), regs[i])
	}
}

// k returns a register that holds constant name: its pinned register, or
// the scratch register, loaded now. One unpinned constant per instruction.
func k(name string) int {
	if r, ok := pinned[name]; ok {
		return r
	}
	if scratch < 0 {
		panic("no scratch register for " + name)
	}
	p("FMOVQ %d(R9), F%d", constOff(name), scratch)
	return scratch
}

// kTo sets register d to constant name.
func kTo(d int, name string) {
	if r, ok := pinned[name]; ok {
		mov(d, r)
		return
	}
	p("FMOVQ %d(R9), F%d", constOff(name), d)
}

func regs(lo, hi int) []int {
	var r []int
	for i := hi; i >= lo; i-- {
		r = append(r, i)
	}
	return r
}
