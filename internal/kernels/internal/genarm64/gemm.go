package main

import "fmt"

// DGEMM micro-kernels: a 6×8 tile of C in 24 of the 32 128-bit vector
// registers (two float64 columns each: row i, columns 2v and 2v+1 in
// V(4i+v)). Per k step the kernel loads the 6 values of A into V24..V26
// (two rows each) and the 8 values of B into V28..V31, and does 24 FMLAs
// by element: acc(i, v) += B(v) · A.d[i]. 24 + 3 + 4 = 31 registers: the
// largest tile whose accumulators and one step's operands fit (8×8 would
// need 32 accumulators alone); NR = 8 divides the usual layer widths, and
// 24 independent accumulators cover the FMA latency × issue width of wide
// cores (4 cycles × 4 pipes = 16 on Neoverse V1 and Apple M-series).
//
// A is either packed or read in place with its rows ars apart:
//   - ars = 1 (a packed panel, aks = 6, or op(A) = Aᵀ read in place):
//     the six values are contiguous, one LD1 of three vectors;
//   - otherwise (rows of a row-major A, aks = 1): each pair of rows is
//     gathered with LD1R (row 2j in both lanes, a full write, so no
//     dependency on the register's old value) and a lane load (row 2j+1).
//
// The k loop runs in increasing k with one fused multiply-add per term,
// starting from zero; C = alpha·acc (rounded) + beta·C (fused), as the
// amd64 kernels do. When beta == 0, C is not read.

const (
	gemmMR = 6
	gemmNR = 8
)

func acc(i, v int) int { return 4*i + v }

// gemmKernel writes one kernel. prefetchC: touch the C tile (for writing)
// before the k loop; rowLoop: the kernel takes npan, bps and does npan
// tiles side by side (B panel p at b + p*bps, C tile p at c + p*NR).
func gemmKernel(name string, prefetchC, rowLoop bool) {
	if rowLoop {
		fmt.Fprintf(&w, "// func %s(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-96\n", name)
	} else {
		fmt.Fprintf(&w, "// func %s(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	}
	// R0 k steps left, R1 A (row 0), R2 aks bytes, R3 B, R4 bks bytes,
	// R5 C row, R6 ldc bytes, R7 ars bytes, R8 R9 R11 R12 R13 R19 rows of
	// A (strided), R10 loop counter.
	p("MOVD ars+16(FP), R7")
	p("LSL $3, R7")
	p("MOVD aks+24(FP), R2")
	p("LSL $3, R2")
	p("MOVD bks+40(FP), R4")
	p("LSL $3, R4")
	p("MOVD ldc+56(FP), R6")
	p("LSL $3, R6")
	if rowLoop {
		// R20 panels left, R21 bps bytes, R22 B panel, R23 C tile.
		p("MOVD npan+80(FP), R20")
		p("MOVD bps+88(FP), R21")
		p("LSL $3, R21")
		p("MOVD b+32(FP), R22")
		p("MOVD c+48(FP), R23")
		label(name + "_panel")
		p("MOVD R22, R3")
		p("MOVD R23, R5")
	} else {
		p("MOVD b+32(FP), R3")
		p("MOVD c+48(FP), R5")
	}
	p("MOVD kc+0(FP), R0")
	p("MOVD a+8(FP), R1")
	if prefetchC {
		p("MOVD R5, R8")
		for i := 0; i < gemmMR; i++ {
			p("PRFM (R8), PSTL1KEEP")
			p("PRFM 56(R8), PSTL1KEEP")
			if i < gemmMR-1 {
				p("ADD R6, R8")
			}
		}
	}
	for i := 0; i < 24; i++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	loadB := func() {
		p("VLD1.P (R3)(R4), [V28.D2, V29.D2, V30.D2, V31.D2]")
	}
	fmas := func() {
		for i := 0; i < gemmMR; i++ {
			for v := 0; v < 4; v++ {
				fmlaElem(acc(i, v), 28+v, 24+i/2, i%2)
			}
		}
	}
	stepVec := func() {
		p("VLD1.P (R1)(R2), [V24.D2, V25.D2, V26.D2]")
		loadB()
		fmas()
	}
	rows := []string{"R8", "R9", "R11", "R12", "R13", "R19"}
	stepStrided := func() {
		for j := 0; j < 3; j++ {
			p("VLD1R.P (%s)(R2), [V%d.D2]", rows[2*j], 24+j)
			p("VLD1.P (%s)(R2), V%d.D[1]", rows[2*j+1], 24+j)
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
	p("CMP $8, R7")
	p("BNE %s_strided", name)
	loop(name+"_vec", stepVec)
	label(name + "_strided")
	p("MOVD R1, R8")
	for j := 1; j < gemmMR; j++ {
		p("ADD R7, %s, %s", rows[j-1], rows[j])
	}
	loop(name+"_str", stepStrided)

	label(name + "_store")
	p("FMOVD alpha+64(FP), F27")
	p("MOVD beta+72(FP), R10")
	p("LSL $1, R10") // ignore the sign: -0 is zero too
	p("CBZ R10, %s_beta0", name)
	p("FMOVD beta+72(FP), F26")
	for i := 0; i < gemmMR; i++ {
		p("VLD1 (R5), [V28.D2, V29.D2, V30.D2, V31.D2]")
		for v := 0; v < 4; v++ {
			fmulElem(acc(i, v), acc(i, v), 27, 0)
			fmlaElem(acc(i, v), 28+v, 26, 0)
		}
		p("VST1.P [V%d.D2, V%d.D2, V%d.D2, V%d.D2], (R5)(R6)", acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3))
	}
	if rowLoop {
		p("B %s_next", name)
	} else {
		p("RET")
	}
	label(name + "_beta0")
	for i := 0; i < gemmMR; i++ {
		for v := 0; v < 4; v++ {
			fmulElem(acc(i, v), acc(i, v), 27, 0)
		}
		p("VST1.P [V%d.D2, V%d.D2, V%d.D2, V%d.D2], (R5)(R6)", acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3))
	}
	if rowLoop {
		label(name + "_next")
		p("ADD $%d, R23", 8*gemmNR)
		p("ADD R21, R22")
		p("SUBS $1, R20, R20")
		p("BNE %s_panel", name)
	}
	p("RET")
	fmt.Fprintln(&w)
}

func genGemm() {
	gemmKernel("kernNEON_6x8", true, false)
	gemmKernel("kernNEON_6x8_nopf", false, false)
	gemmKernel("kernNEON_6x8_row", false, true)
}
