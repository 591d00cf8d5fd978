package main

import "fmt"

// Packing of A panels (and of B panels of op(B) = Bᵀ): the interleave of
// w rows of length kb, dst[p*w+i] = src[i*ld+p], as a transpose of small
// blocks in registers: per iteration two k steps of float64 (pairs of
// rows, TRN1/TRN2 on 2D) or four of float32 (groups of four rows, a 4×4
// transpose with TRN1/TRN2 on 4S then 2D); the output of an iteration is
// contiguous and stored with ST1. The k steps left over are copied one
// element at a time.
//
//	func interleaveNEON_<D|S><w>(dst, src unsafe.Pointer, ld, kb int)

func genInterleave(es, width int) {
	typ := map[int]string{4: "S", 8: "D"}[es]
	name := fmt.Sprintf("interleaveNEON_%s%d", typ, width)
	lanes := 16 / es
	fmt.Fprintf(&w, "// func %s(dst, src unsafe.Pointer, ld, kb int)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	rows := []string{"R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}[:width]
	p("MOVD dst+0(FP), R0")
	p("MOVD src+8(FP), R4")
	p("MOVD ld+16(FP), R2")
	p("LSL $%d, R2", map[int]int{4: 2, 8: 3}[es])
	p("MOVD kb+24(FP), R3")
	for i := 1; i < width; i++ {
		p("ADD R2, %s, %s", rows[i-1], rows[i])
	}
	arr := map[int]string{4: "S4", 8: "D2"}[es]
	p("LSR $%d, R3, R1", map[int]int{2: 1, 4: 2}[lanes])
	p("CBZ R1, %s_tail", name)
	label(name + "_loop")
	for i := 0; i < width; i++ {
		p("VLD1.P 16(%s), [V%d.%s]", rows[i], i, arr)
	}
	// Output vector for k step q of the iteration and row group g:
	// V(16 + q*G + g), G = width/lanes groups; stored in that order.
	G := width / lanes
	out := func(q, g int) int { return 16 + q*G + g }
	for g := 0; g < G; g++ {
		if es == 8 {
			trn1D(out(0, g), 2*g, 2*g+1)
			trn2D(out(1, g), 2*g, 2*g+1)
			continue
		}
		a := 4 * g
		trn1S(28, a, a+1)
		trn2S(29, a, a+1)
		trn1S(30, a+2, a+3)
		trn2S(31, a+2, a+3)
		trn1D(out(0, g), 28, 30)
		trn2D(out(2, g), 28, 30)
		trn1D(out(1, g), 29, 31)
		trn2D(out(3, g), 29, 31)
	}
	n := lanes * G // output registers
	for r := 0; r < n; r += 4 {
		c := min(4, n-r)
		l := ""
		for j := 0; j < c; j++ {
			if j > 0 {
				l += ", "
			}
			l += fmt.Sprintf("V%d.%s", 16+r+j, arr)
		}
		p("VST1.P [%s], %d(R0)", l, 16*c)
	}
	p("SUBS $1, R1, R1")
	p("BNE %s_loop", name)
	label(name + "_tail")
	p("AND $%d, R3, R3", lanes-1)
	p("CBZ R3, %s_done", name)
	label(name + "_step")
	mov := map[int]string{4: "FMOVS", 8: "FMOVD"}[es]
	for i := 0; i < width; i++ {
		p("%s.P %d(%s), F0", mov, es, rows[i])
		p("%s.P F0, %d(R0)", mov, es)
	}
	p("SUBS $1, R3, R3")
	p("BNE %s_step", name)
	label(name + "_done")
	p("RET")
	fmt.Fprintln(&w)
}

func genPack(f32 bool) {
	genInterleave(8, 6)
	genInterleave(8, 8)
	if f32 {
		genInterleave(4, 8)
		genInterleave(4, 12)
	}
}
