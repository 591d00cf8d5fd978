package main

import "fmt"

// Encoders for the ASIMD instructions the Go assembler does not know (or
// knows only in part): all floating-point vector arithmetic but FMLA/FMLS,
// the by-element forms, compares, conversions. Each is emitted as
// `WORD $0x…` with the instruction in LLVM syntax as its comment; the
// -verify flag checks every such word against llvm-mc. Operands are vector
// register numbers; every lane arrangement is 2D (two float64 or int64
// lanes) unless the name says otherwise.

func word(enc uint32, format string, args ...any) {
	p("WORD $0x%08x // %s", enc, fmt.Sprintf(format, args...))
}

func chk(regs ...int) {
	for _, r := range regs {
		if r < 0 || r > 31 {
			panic(fmt.Sprintf("vector register V%d", r))
		}
	}
}

// arr is the lane arrangement of the routine being generated: "2d" (two
// float64 or int64 lanes) or "4s" (four float32 or int32 lanes). The
// encodings below are written for 2D; for 4S the same instructions differ
// in bit 22 (the low bit of the size field), and shifts in their
// immediate.
var arr = "2d"

// sized adapts a 2D encoding to arr.
func sized(base uint32) uint32 {
	if arr == "4s" {
		return base &^ (1 << 22)
	}
	return base
}

// three emits a three-register instruction d = n op m.
func three(base uint32, mn string, d, n, m int) {
	chk(d, n, m)
	word(sized(base)|uint32(m)<<16|uint32(n)<<5|uint32(d), "%s v%d.%s, v%d.%s, v%d.%s", mn, d, arr, n, arr, m, arr)
}

// two emits a two-register instruction d = op n.
func two(base uint32, mn string, d, n int) {
	chk(d, n)
	word(sized(base)|uint32(n)<<5|uint32(d), "%s v%d.%s, v%d.%s", mn, d, arr, n, arr)
}

// esize is the lane width in bits.
func esize() int {
	if arr == "4s" {
		return 32
	}
	return 64
}

// bytes16 emits a bitwise three-register instruction on 16B.
func bytes16(base uint32, mn string, d, n, m int) {
	chk(d, n, m)
	word(base|uint32(m)<<16|uint32(n)<<5|uint32(d), "%s v%d.16b, v%d.16b, v%d.16b", mn, d, n, m)
}

func fadd(d, n, m int)  { three(0x4E60D400, "fadd", d, n, m) }
func fsub(d, n, m int)  { three(0x4EE0D400, "fsub", d, n, m) }
func fmul(d, n, m int)  { three(0x6E60DC00, "fmul", d, n, m) }
func fdiv(d, n, m int)  { three(0x6E60FC00, "fdiv", d, n, m) }
func fmla(d, n, m int)  { three(0x4E60CC00, "fmla", d, n, m) } // d += n*m, one rounding
func fmls(d, n, m int)  { three(0x4EE0CC00, "fmls", d, n, m) } // d -= n*m, one rounding
func fmax(d, n, m int)  { three(0x4E60F400, "fmax", d, n, m) } // NaN if either is NaN
func fmin(d, n, m int)  { three(0x4EE0F400, "fmin", d, n, m) }
func faddp(d, n, m int) { three(0x6E60D400, "faddp", d, n, m) } // (n0+n1, m0+m1)
func fcmeq(d, n, m int) { three(0x4E60E400, "fcmeq", d, n, m) }
func fcmge(d, n, m int) { three(0x6E60E400, "fcmge", d, n, m) }
func fcmgt(d, n, m int) { three(0x6EE0E400, "fcmgt", d, n, m) } // n > m (false for NaN)

func fabs(d, n int)   { two(0x4EE0F800, "fabs", d, n) }
func fneg(d, n int)   { two(0x6EE0F800, "fneg", d, n) }
func fcvtzu(d, n int) { two(0x6EE1B800, "fcvtzu", d, n) } // float64 → uint64, toward zero
func ucvtf(d, n int)  { two(0x6E61D800, "ucvtf", d, n) }
func scvtf(d, n int)  { two(0x4E61D800, "scvtf", d, n) }

func fsqrt(d, n int) { two(0x6EE1F800, "fsqrt", d, n) }

// fcmltz: d = n < 0 (false for NaN).
func fcmltz(d, n int) {
	chk(d, n)
	word(sized(0x4EE0E800)|uint32(n)<<5|uint32(d), "fcmlt v%d.%s, v%d.%s, #0.0", d, arr, n, arr)
}

// Integer lanes (int64).
func add(d, n, m int)   { three(0x4EE08400, "add", d, n, m) }
func sub(d, n, m int)   { three(0x6EE08400, "sub", d, n, m) }
func cmhs(d, n, m int)  { three(0x6EE03C00, "cmhs", d, n, m) }  // n >= m unsigned
func cmhi(d, n, m int)  { three(0x6EE03400, "cmhi", d, n, m) }  // n > m unsigned
func cmeq(d, n, m int)  { three(0x6EE08C00, "cmeq", d, n, m) }  // n == m
func cmtst(d, n, m int) { three(0x4EE08C00, "cmtst", d, n, m) } // n&m != 0
func cmgt(d, n, m int)  { three(0x4EE03400, "cmgt", d, n, m) }  // n > m signed

// Shifts by an immediate: immh:immb is 2·esize - sh (right) or esize + sh
// (left).
func sshr(d, n, sh int) {
	chk(d, n)
	word(0x4F000400|uint32(2*esize()-sh)<<16|uint32(n)<<5|uint32(d), "sshr v%d.%s, v%d.%s, #%d", d, arr, n, arr, sh)
}

func ushr(d, n, sh int) {
	chk(d, n)
	word(0x6F000400|uint32(2*esize()-sh)<<16|uint32(n)<<5|uint32(d), "ushr v%d.%s, v%d.%s, #%d", d, arr, n, arr, sh)
}

func shl(d, n, sh int) {
	chk(d, n)
	word(0x4F005400|uint32(esize()+sh)<<16|uint32(n)<<5|uint32(d), "shl v%d.%s, v%d.%s, #%d", d, arr, n, arr, sh)
}

// Bitwise.
func and(d, n, m int) { bytes16(0x4E201C00, "and", d, n, m) }
func orr(d, n, m int) { bytes16(0x4EA01C00, "orr", d, n, m) }
func eor(d, n, m int) { bytes16(0x6E201C00, "eor", d, n, m) }
func bit(d, n, m int) { bytes16(0x6EA01C00, "bit", d, n, m) } // d = m ? n : d (bitwise)
func bif(d, n, m int) { bytes16(0x6EE01C00, "bif", d, n, m) } // d = m ? d : n (bitwise)

// mov: d = n.
func mov(d, n int) {
	if d == n {
		return
	}
	chk(d, n)
	word(0x4EA01C00|uint32(n)<<16|uint32(n)<<5|uint32(d), "mov v%d.16b, v%d.16b", d, n)
}

// fmlaElem: d += n * m[idx] (fused); fmulElem: d = n * m[idx].
func fmlaElem(d, n, m, idx int) {
	chk(d, n, m)
	word(0x4FC01000|uint32(m)<<16|uint32(idx)<<11|uint32(n)<<5|uint32(d), "fmla v%d.2d, v%d.2d, v%d.d[%d]", d, n, m, idx)
}

func fmulElem(d, n, m, idx int) {
	chk(d, n, m)
	word(0x4FC09000|uint32(m)<<16|uint32(idx)<<11|uint32(n)<<5|uint32(d), "fmul v%d.2d, v%d.2d, v%d.d[%d]", d, n, m, idx)
}

// dupElem: both lanes of d = n[idx].
func dupElem(d, n, idx int) {
	chk(d, n)
	word(0x4E080400|uint32(idx)<<20|uint32(n)<<5|uint32(d), "dup v%d.2d, v%d.d[%d]", d, n, idx)
}

// faddpScalar: d (scalar) = n[0] + n[1].
func faddpScalar(d, n int) {
	chk(d, n)
	word(0x7E70D800|uint32(n)<<5|uint32(d), "faddp d%d, v%d.2d", d, n)
}

// addpScalar: d (scalar) = n[0] + n[1] as integers.
func addpScalar(d, n int) {
	chk(d, n)
	word(0x5EF1B800|uint32(n)<<5|uint32(d), "addp d%d, v%d.2d", d, n)
}

// fmlaElemS, fmulElemS: the by-element forms on four float32 lanes.
func fmlaElemS(d, n, m, idx int) {
	chk(d, n, m)
	word(0x4F801000|uint32(idx&1)<<21|uint32(m)<<16|uint32(idx>>1)<<11|uint32(n)<<5|uint32(d), "fmla v%d.4s, v%d.4s, v%d.s[%d]", d, n, m, idx)
}

func fmulElemS(d, n, m, idx int) {
	chk(d, n, m)
	word(0x4F809000|uint32(idx&1)<<21|uint32(m)<<16|uint32(idx>>1)<<11|uint32(n)<<5|uint32(d), "fmul v%d.4s, v%d.4s, v%d.s[%d]", d, n, m, idx)
}

// trn1, trn2 (2D or 4S): interleave the even (trn1) or odd (trn2) lanes
// of n and m.
func trn(base uint32, mn, arr string, d, n, m int) {
	chk(d, n, m)
	word(base|uint32(m)<<16|uint32(n)<<5|uint32(d), "%s v%d.%s, v%d.%s, v%d.%s", mn, d, arr, n, arr, m, arr)
}

func trn1D(d, n, m int) { trn(0x4EC02800, "trn1", "2d", d, n, m) }
func trn2D(d, n, m int) { trn(0x4EC06800, "trn2", "2d", d, n, m) }
func trn1S(d, n, m int) { trn(0x4E802800, "trn1", "4s", d, n, m) }
func trn2S(d, n, m int) { trn(0x4E806800, "trn2", "4s", d, n, m) }

// fcvtl, fcvtl2: two float32 lanes (the low or the high pair of n) to
// float64; fcvtn, fcvtn2: two float64 lanes of n to float32, into the low
// pair of d (zeroing the rest) or its high pair.
func fcvtl(d, n int) {
	chk(d, n)
	word(0x0E617800|uint32(n)<<5|uint32(d), "fcvtl v%d.2d, v%d.2s", d, n)
}

func fcvtl2(d, n int) {
	chk(d, n)
	word(0x4E617800|uint32(n)<<5|uint32(d), "fcvtl2 v%d.2d, v%d.4s", d, n)
}

func fcvtn(d, n int) {
	chk(d, n)
	word(0x0E616800|uint32(n)<<5|uint32(d), "fcvtn v%d.2s, v%d.2d", d, n)
}

func fcvtn2(d, n int) {
	chk(d, n)
	word(0x4E616800|uint32(n)<<5|uint32(d), "fcvtn2 v%d.4s, v%d.2d", d, n)
}

// dupElemS: all four lanes of d = n.s[idx].
func dupElemS(d, n, idx int) {
	chk(d, n)
	word(0x4E040400|uint32(idx)<<19|uint32(n)<<5|uint32(d), "dup v%d.4s, v%d.s[%d]", d, n, idx)
}
