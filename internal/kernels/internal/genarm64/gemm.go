package main

import "fmt"

// GEMM micro-kernels. Each keeps an MR×NR tile of C in 24 of the 32
// 128-bit vector registers and, per k step, loads the MR values of A into
// vectors and the NR values of B into vectors, then does one FMLA by
// element per accumulator: acc(i, v) += B(v) · A.lane(i).
//
//	float64, 6×8: accumulators V0..V23 (row i, columns 2v, 2v+1 in
//	  V(4i+v)), A in V24..V26 (two rows each), B in V28..V31.
//	float32, 12×8: accumulators V0..V23 (row i, columns 4v..4v+3 in
//	  V(2i+v)), A in V24..V26 (four rows each), B in V28, V29.
//
// 24 accumulators plus one step's operands (7 or 5 registers) is the
// largest tile that fits the 32 registers (an 8-row float64 tile of 8
// columns would need 32 accumulators alone); NR = 8 divides the usual layer
// widths; and 24 independent accumulators cover FMA latency × FMA pipes on
// wide cores (4 cycles × 4 pipes = 16 on Neoverse V1/V2 and Apple
// M-series). Loads per FMLA: 7/24 (float64), 5/24 (float32).
//
// A is either packed or read in place with its rows ars apart:
//   - ars = 1 (a packed panel, aks = MR, or op(A) = Aᵀ read in place):
//     the MR values are contiguous, one LD1;
//   - otherwise (rows of a row-major A, aks = 1): each vector of rows is
//     gathered with LD1R (its first row in every lane, a full write, so no
//     dependency on the register's old value) and lane loads.
//
// The k loop runs in increasing k with one fused multiply-add per term,
// starting from zero; C = alpha·acc (rounded) + beta·C (fused), as the
// amd64 kernels do. When beta == 0, C is not read.

type gemmShape struct {
	typ    string // Go element type
	suffix string // arrangement: "D2" or "S4"
	es     int    // element size in bytes
	lanes  int
	mr, nr int
}

var (
	shapeF64 = gemmShape{typ: "float64", suffix: "D2", es: 8, lanes: 2, mr: 6, nr: 8}
	shapeF32 = gemmShape{typ: "float32", suffix: "S4", es: 4, lanes: 4, mr: 12, nr: 8}
)

func (s gemmShape) nvB() int         { return s.nr / s.lanes }
func (s gemmShape) nvA() int         { return s.mr / s.lanes }
func (s gemmShape) acc(i, v int) int { return i*s.nvB() + v }

// vlist is an LD1/ST1 register list of n registers from r.
func (s gemmShape) vlist(r, n int) string {
	l := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			l += ", "
		}
		l += fmt.Sprintf("V%d.%s", r+i, s.suffix)
	}
	return "[" + l + "]"
}

func (s gemmShape) fmlaElem(d, n, m, idx int) {
	if s.es == 8 {
		fmlaElem(d, n, m, idx)
	} else {
		fmlaElemS(d, n, m, idx)
	}
}

func (s gemmShape) fmulElem(d, n, m, idx int) {
	if s.es == 8 {
		fmulElem(d, n, m, idx)
	} else {
		fmulElemS(d, n, m, idx)
	}
}

// gemmKernel writes one kernel. prefetchC: touch the C tile (for writing)
// before the k loop; rowLoop: the kernel takes npan, bps and does npan
// tiles side by side (B panel p at b + p*bps, C tile p at c + p*NR).
func gemmKernel(s gemmShape, name string, prefetchC, rowLoop bool) {
	const aReg, bReg = 24, 28
	// Argument offsets: alpha and beta take es bytes each.
	alphaOff, betaOff := 64, 64+s.es
	npanOff := (64 + 2*s.es + 7) &^ 7
	args := 64 + 2*s.es
	if rowLoop {
		args = npanOff + 16
	}
	sig := fmt.Sprintf("(kc int, a *%[1]s, ars, aks int, b *%[1]s, bks int, c *%[1]s, ldc int, alpha, beta %[1]s", s.typ)
	if rowLoop {
		sig += ", npan, bps int"
	}
	fmt.Fprintf(&w, "// func %s%s)\n", name, sig)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", name, args)
	esShift := map[int]int{4: 2, 8: 3}[s.es]
	// R0 k steps left, R1 A, R2 aks bytes, R3 B, R4 bks bytes, R5 C row,
	// R6 ldc bytes, R7 ars bytes, R10 loop counter, rows: rows of A
	// (strided), R24 panel, R25 bps bytes (rowLoop).
	rows := []string{"R8", "R9", "R11", "R12", "R13", "R14", "R15", "R19", "R20", "R21", "R22", "R23"}[:s.mr]
	p("MOVD ars+16(FP), R7")
	p("LSL $%d, R7", esShift)
	p("MOVD aks+24(FP), R2")
	p("LSL $%d, R2", esShift)
	p("MOVD bks+40(FP), R4")
	p("LSL $%d, R4", esShift)
	p("MOVD ldc+56(FP), R6")
	p("LSL $%d, R6", esShift)
	if rowLoop {
		p("MOVD ZR, R24")
		p("MOVD bps+%d(FP), R25", npanOff+8)
		p("LSL $%d, R25", esShift)
		label(name + "_panel")
		p("MOVD b+32(FP), R3")
		p("MADD R24, R3, R25, R3") // R3 += panel*bps
		p("MOVD c+48(FP), R5")
		p("ADD R24<<%d, R5, R5", map[int]int{16: 4, 32: 5, 64: 6}[s.nr*s.es])
	} else {
		p("MOVD b+32(FP), R3")
		p("MOVD c+48(FP), R5")
	}
	p("MOVD kc+0(FP), R0")
	p("MOVD a+8(FP), R1")
	rowBytes := s.nr * s.es
	if prefetchC {
		p("MOVD R5, R8")
		for i := 0; i < s.mr; i++ {
			p("PRFM (R8), PSTL1KEEP")
			if rowBytes > 32 {
				p("PRFM %d(R8), PSTL1KEEP", rowBytes-8)
			}
			if i < s.mr-1 {
				p("ADD R6, R8")
			}
		}
	}
	for i := 0; i < 24; i++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	fmas := func() {
		for i := 0; i < s.mr; i++ {
			for v := 0; v < s.nvB(); v++ {
				s.fmlaElem(s.acc(i, v), bReg+v, aReg+i/s.lanes, i%s.lanes)
			}
		}
	}
	loadB := func() { p("VLD1.P (R3)(R4), %s", s.vlist(bReg, s.nvB())) }
	stepVec := func() {
		p("VLD1.P (R1)(R2), %s", s.vlist(aReg, s.nvA()))
		loadB()
		fmas()
	}
	lane := map[int]string{4: "S", 8: "D"}[s.es]
	stepStrided := func() {
		for j := 0; j < s.nvA(); j++ {
			p("VLD1R.P (%s)(R2), [V%d.%s]", rows[j*s.lanes], aReg+j, s.suffix)
			for l := 1; l < s.lanes; l++ {
				p("VLD1.P (%s)(R2), V%d.%s[%d]", rows[j*s.lanes+l], aReg+j, lane, l)
			}
		}
		loadB()
		fmas()
	}
	loop := func(pre string, step func()) {
		p("LSR $1, R0, R10")
		p("CBZ R10, %s_odd", pre)
		label(pre + "_loop")
		step()
		step()
		p("SUBS $1, R10, R10")
		p("BNE %s_loop", pre)
		label(pre + "_odd")
		p("TBZ $0, R0, %s_store", name)
		step()
		p("B %s_store", name)
	}
	p("CMP $%d, R7", s.es)
	p("BNE %s_strided", name)
	loop(name+"_vec", stepVec)
	label(name + "_strided")
	p("MOVD R1, %s", rows[0])
	for j := 1; j < s.mr; j++ {
		p("ADD R7, %s, %s", rows[j-1], rows[j])
	}
	loop(name+"_str", stepStrided)

	// alpha in lane 0 of V27, beta in lane 0 of V26 (A's registers are
	// free now); the C row is loaded into B's.
	fm := map[int]string{4: "FMOVS", 8: "FMOVD"}[s.es]
	mv := map[int]string{4: "MOVWU", 8: "MOVD"}[s.es]
	label(name + "_store")
	p("%s alpha+%d(FP), F27", fm, alphaOff)
	p("%s beta+%d(FP), R10", mv, betaOff)
	if s.es == 4 {
		p("LSLW $1, R10") // ignore the sign: -0 is zero too
	} else {
		p("LSL $1, R10")
	}
	p("CBZ R10, %s_beta0", name)
	p("%s beta+%d(FP), F26", fm, betaOff)
	for i := 0; i < s.mr; i++ {
		p("VLD1 (R5), %s", s.vlist(bReg, s.nvB()))
		for v := 0; v < s.nvB(); v++ {
			s.fmulElem(s.acc(i, v), s.acc(i, v), 27, 0)
			s.fmlaElem(s.acc(i, v), bReg+v, 26, 0)
		}
		p("VST1.P %s, (R5)(R6)", s.vlist(s.acc(i, 0), s.nvB()))
	}
	if rowLoop {
		p("B %s_next", name)
	} else {
		p("RET")
	}
	label(name + "_beta0")
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nvB(); v++ {
			s.fmulElem(s.acc(i, v), s.acc(i, v), 27, 0)
		}
		p("VST1.P %s, (R5)(R6)", s.vlist(s.acc(i, 0), s.nvB()))
	}
	if rowLoop {
		label(name + "_next")
		p("ADD $1, R24")
		p("MOVD npan+%d(FP), R10", npanOff)
		p("CMP R10, R24")
		p("BLT %s_panel", name)
	}
	p("RET")
	fmt.Fprintln(&w)
}

func genGemm(f32 bool) {
	gemmKernel(shapeF64, "kernNEON_6x8", true, false)
	gemmKernel(shapeF64, "kernNEON_6x8_nopf", false, false)
	gemmKernel(shapeF64, "kernNEON_6x8_row", false, true)
	if f32 {
		gemmKernel(shapeF32, "kernNEON_12x8_f32", true, false)
		gemmKernel(shapeF32, "kernNEON_12x8_f32_nopf", false, false)
		gemmKernel(shapeF32, "kernNEON_12x8_f32_row", false, true)
	}
	genPack(f32)
}
