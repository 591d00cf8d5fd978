package main

import (
	"fmt"
	"math"
)

// The float32 maps (elementwise32_amd64.s) are written once, as sequences
// of calls on a vec32, and printed for two instruction sets:
//
//	AVX2    8 lanes, Y0..Y15; masks are Y registers (all ones per lane),
//	        blends VBLENDVPS, tails VMASKMOVPS with the lane mask in Y15
//	AVX-512 16 lanes, Z0..Z15; masks are K registers, blends are masked
//	        moves, tails masked loads and stores with the lane mask in K1
//
// Arithmetic, integer and conversion instructions are printed identically
// for both (the same mnemonics take Y or Z registers); only the primitives
// below that mention masks, bitwise logic or tails differ. Each routine is
// therefore exercised on an AVX2 machine up to those primitives, and the
// AVX-512 text of each primitive is the pattern the float64 AVX-512 maps
// (tested on AVX-512 hardware) use.
//
// Constants are memory operands: a table of rows, each constant repeated
// across one vector (32 bytes for AVX2, 64 for AVX-512).

type vec32 struct {
	avx512 bool
	suffix string // routine name suffix: "AVX2" or "AVX512"
	lanes  int
}

var isas32 = []vec32{{false, "AVX2", 8}, {true, "AVX512", 16}}

// mask names one mask: Y register y on AVX2, K register k on AVX-512
// (K1 is the tail/active-lane mask; K0 cannot predicate).
type mask struct{ y, k int }

// activeY is the AVX2 register that holds the active-lane mask of a
// routine's last (partial) vector, and all ones before it.
const activeY = 15

type const32 struct {
	name string
	bits uint32
}

func bits32(v float64) uint32 { return math.Float32bits(float32(v)) }

// consts32 is the constant table; its values must be those of mathfn32.go
// (tests check every routine bit for bit against the Go code).
var consts32 = []const32{
	{"one", bits32(1)}, {"mone", bits32(-1)}, {"two", bits32(2)}, {"half", bits32(0.5)}, {"zero", 0},
	{"sign", 0x80000000}, {"abs", 0x7fffffff}, {"inf", 0x7f800000}, {"ninf", 0xff800000}, {"nan", 0x7fc00000},
	{"i1", 1}, {"i23", 23}, {"i127", 127},
	// exp
	{"shift", bits32(0x1.8p23)}, {"log2e", bits32(math.Log2E)},
	{"ln2hi", 0x3f318000}, {"ln2lo", bits32(math.Ln2 - 0.693359375)},
	{"exphi", bits32(89)}, {"explo", bits32(-104)},
	{"expP0", 0x3efffffe}, {"expP1", 0x3e2aaa49}, {"expP2", 0x3d2aac79}, {"expP3", 0x3c091d10}, {"expP4", 0x3ab511e8},
	// tanh
	{"tanhCut", bits32(0.625)}, {"tanhBig", bits32(9.1)},
	{"tanhP0", 0xbeaaaaaa}, {"tanhP1", 0x3e088833}, {"tanhP2", 0xbd5cf748},
	{"tanhP3", 0x3cb1c5ac}, {"tanhP4", 0xbc05fa7f}, {"tanhP5", 0x3b0c70f0},
	// log
	{"minnorm", 0x00800000}, {"two23", bits32(0x1p23)}, {"logShift", 0x3f800000 - 0x3f3504f3},
	{"mant", 0x007fffff}, {"sqrt2half", 0x3f3504f3},
	{"log2hi", bits32(0.693145751953125)}, {"log2lo", bits32(math.Ln2 - 0.693145751953125)},
	{"logR0", 0x3f2aaaaa}, {"logR1", 0x3ecccd3d}, {"logR2", 0x3e921c74}, {"logR3", 0x3e717a2b},
	// sin, cos
	{"trigMax", bits32(1 << 14)}, {"twoOverPi", bits32(2 / math.Pi)},
	{"pio2a", 0x3fc90000}, {"pio2b", 0x39fd8000}, {"pio2c", 0x34a88000}, {"pio2d", 0x2e85a309},
	{"sinS0", 0xbe2aaaa3}, {"sinS1", 0x3c088398}, {"sinS2", 0xb94ca031},
	{"cosC0", 0x3d2aaaa5}, {"cosC1", 0xbab60614}, {"cosC2", 0x37ccf435},
	// erf
	{"erfBig", bits32(3.95)},
	{"erfE0", 0xbd0d70a7}, {"erfE1", 0xbe8fe8b2}, {"erfE2", 0x3da2a1b3}, {"erfE3", 0xbc95c6fb},
	{"erfE4", 0x3b6415ba}, {"erfE5", 0xba143798}, {"erfE6", 0x38a4b537},
	{"erfL0", 0xbfecbfe0}, {"erfL1", 0xc028e4d5}, {"erfL2", 0xbf57d69a}, {"erfL3", 0xbd29fca0},
	{"erfL4", 0x3c220d68}, {"erfL5", 0xbaef5bdf}, {"erfL6", 0x394296a5},
}

func (v vec32) table() string {
	if v.avx512 {
		return "f32const16<>"
	}
	return "f32const8<>"
}

// c returns the memory operand of a constant row.
func (v vec32) c(name string) string {
	for i, c := range consts32 {
		if c.name == name {
			return fmt.Sprintf("%s+%d(SB)", v.table(), 4*v.lanes*i)
		}
	}
	panic("no constant " + name)
}

func (v vec32) r(i int) string {
	if i < 0 || i > 15 || (!v.avx512 && i == activeY) {
		panic(fmt.Sprintf("register %d is not a work register", i))
	}
	if v.avx512 {
		return fmt.Sprintf("Z%d", i)
	}
	return fmt.Sprintf("Y%d", i)
}

// o prints an operand: a register number or a constant name.
func (v vec32) o(x any) string {
	switch x := x.(type) {
	case int:
		return v.r(x)
	case string:
		return v.c(x)
	}
	panic("bad operand")
}

func isMem(x any) bool { _, ok := x.(string); return ok }

// op3 prints "INS b, a, d": d = a INS b (b may be a constant).
func (v vec32) op3(ins string, d, a int, b any) { p("%s %s, %s, %s", ins, v.o(b), v.r(a), v.r(d)) }

func (v vec32) add(d, a int, b any) { v.op3("VADDPS", d, a, b) }
func (v vec32) sub(d, a int, b any) { v.op3("VSUBPS", d, a, b) }
func (v vec32) mul(d, a int, b any) { v.op3("VMULPS", d, a, b) }
func (v vec32) div(d, a int, b any) { v.op3("VDIVPS", d, a, b) }

// minNaN sets d = min(a, b) where a NaN in b stays (MINPS returns its
// second source when either is NaN); a is a register holding the bound.
func (v vec32) minNaN(d, a, b int) { v.op3("VMINPS", d, a, b) }

func (v vec32) iadd(d, a int, b any) { v.op3("VPADDD", d, a, b) }
func (v vec32) isub(d, a int, b any) { v.op3("VPSUBD", d, a, b) }

func (v vec32) shl(d, a, n int) { p("VPSLLD $%d, %s, %s", n, v.r(a), v.r(d)) }
func (v vec32) shr(d, a, n int) { p("VPSRLD $%d, %s, %s", n, v.r(a), v.r(d)) }
func (v vec32) sar(d, a, n int) { p("VPSRAD $%d, %s, %s", n, v.r(a), v.r(d)) }

// cvt sets d = float32(int32 lanes of a).
func (v vec32) cvt(d, a int)        { p("VCVTDQ2PS %s, %s", v.r(a), v.r(d)) }
func (v vec32) sqrt(d int, a any)   { p("VSQRTPS %s, %s", v.o(a), v.r(d)) }
func (v vec32) and(d, a int, b any) { v.op3(v.pick("VANDPS", "VPANDD"), d, a, b) }
func (v vec32) or(d, a int, b any)  { v.op3(v.pick("VORPS", "VPORD"), d, a, b) }
func (v vec32) xor(d, a int, b any) { v.op3(v.pick("VXORPS", "VPXORD"), d, a, b) }
func (v vec32) pick(y, z string) string {
	if v.avx512 {
		return z
	}
	return y
}

// mov sets d = a (a register or a constant).
func (v vec32) mov(d int, a any) {
	if isMem(a) {
		p("VMOVUPS %s, %s", v.o(a), v.r(d))
	} else if a.(int) != d {
		p("VMOVAPS %s, %s", v.o(a), v.r(d))
	}
}

// Compare predicates (VCMPPS imm8).
const (
	cmpEQ    = 0 // EQ_OQ
	cmpLT    = 1 // LT_OS
	cmpNLT   = 5 // NLT_US: !(a < b), true for NaN
	cmpNGE   = 9 // NGE_US: !(a >= b), true for NaN
	cmpUNORD = 3
)

func (v vec32) kreg(m mask) string {
	if m.k < 2 || m.k > 7 {
		panic("mask K register out of range")
	}
	return fmt.Sprintf("K%d", m.k)
}

func (v vec32) yreg(m mask) string {
	if m.y == activeY {
		panic("mask in the active-lane register")
	}
	return fmt.Sprintf("Y%d", m.y)
}

// cmp sets m = a PRED b, lane by lane.
func (v vec32) cmp(m mask, pred int, a int, b any) {
	if v.avx512 {
		p("VCMPPS $%d, %s, %s, %s", pred, v.o(b), v.r(a), v.kreg(m))
	} else {
		p("VCMPPS $%d, %s, %s, %s", pred, v.o(b), v.r(a), v.yreg(m))
	}
}

// icmpgt sets m = a > b as signed 32-bit integers.
func (v vec32) icmpgt(m mask, a int, b any) {
	if v.avx512 {
		p("VPCMPGTD %s, %s, %s", v.o(b), v.r(a), v.kreg(m))
	} else {
		p("VPCMPGTD %s, %s, %s", v.o(b), v.r(a), v.yreg(m))
	}
}

// odd sets m to the lanes where the integer in q is odd. On AVX2 only the
// top bit of each lane is set, which is all blend reads.
func (v vec32) odd(m mask, q int) {
	if v.avx512 {
		p("VPTESTMD %s, %s, %s", v.c("i1"), v.r(q), v.kreg(m))
	} else {
		p("VPSLLD $31, %s, %s", v.r(q), v.yreg(m))
	}
}

// blend sets d = m ? t : f, lane by lane (t may be a constant; on
// AVX-512 d must not be t unless t is f).
func (v vec32) blend(d int, m mask, f int, t any) {
	if !v.avx512 {
		p("VBLENDVPS %s, %s, %s, %s", v.yreg(m), v.o(t), v.r(f), v.r(d))
		return
	}
	if f != d {
		if ti, ok := t.(int); ok && ti == d {
			panic("blend: destination is the true operand")
		}
		v.mov(d, f)
	}
	if isMem(t) {
		p("VMOVUPS %s, %s, %s", v.o(t), v.kreg(m), v.r(d))
	} else {
		p("VMOVAPS %s, %s, %s", v.o(t), v.kreg(m), v.r(d))
	}
}

// bailIf jumps to label when m holds an active lane.
func (v vec32) bailIf(m mask, label string) {
	if v.avx512 {
		p("KANDW K1, %s, %s", v.kreg(m), v.kreg(m))
		p("KORTESTW %s, %s", v.kreg(m), v.kreg(m))
	} else {
		p("VPTEST Y%d, %s", activeY, v.yreg(m))
	}
	p("JNZ %s", label)
}

// Loads and stores of the vector at byte offset off from register base:
// whole vectors, or the active lanes of the last one.
func (v vec32) load(d int, addr string)  { p("VMOVUPS %s, %s", addr, v.r(d)) }
func (v vec32) store(s int, addr string) { p("VMOVUPS %s, %s", v.r(s), addr) }

func (v vec32) loadTail(d int, addr string) {
	if v.avx512 {
		p("VMOVUPS.Z %s, K1, %s", addr, v.r(d))
	} else {
		p("VMASKMOVPS %s, Y%d, %s", addr, activeY, v.r(d))
	}
}

func (v vec32) storeTail(s int, addr string) {
	if v.avx512 {
		p("VMOVUPS %s, K1, %s", v.r(s), addr)
	} else {
		p("VMASKMOVPS %s, Y%d, %s", v.r(s), activeY, addr)
	}
}

// allActive marks every lane active (before the main loop).
func (v vec32) allActive() {
	if v.avx512 {
		p("MOVQ $0xffff, AX")
		p("KMOVW AX, K1")
	} else {
		p("VPCMPEQD Y%d, Y%d, Y%d", activeY, activeY, activeY)
	}
}

// tailActive marks the first CX (0 < CX < lanes) lanes active; clobbers AX.
func (v vec32) tailActive() {
	if v.avx512 {
		p("MOVQ $1, AX")
		p("SHLQ CX, AX")
		p("DECQ AX")
		p("KMOVW AX, K1")
	} else {
		p("VMOVD CX, X%d", activeY)
		p("VPBROADCASTD X%d, Y%d", activeY, activeY)
		p("VPCMPGTD lane8<>(SB), Y%d, Y%d", activeY, activeY)
	}
}

func genConsts32() {
	for _, v := range isas32 {
		for i, c := range consts32 {
			for l := 0; l < v.lanes; l += 2 {
				fmt.Fprintf(&w, "DATA %s+%d(SB)/8, $0x%08x%08x\n", v.table(), 4*(v.lanes*i+l), c.bits, c.bits)
			}
		}
		fmt.Fprintf(&w, "GLOBL %s(SB), RODATA|NOPTR, $%d\n\n", v.table(), 4*v.lanes*len(consts32))
	}
	for l := 0; l < 8; l += 2 {
		fmt.Fprintf(&w, "DATA lane8<>+%d(SB)/8, $0x%08x%08x\n", 4*l, l+1, l)
	}
	fmt.Fprintf(&w, "GLOBL lane8<>(SB), RODATA|NOPTR, $32\n\n")
}
