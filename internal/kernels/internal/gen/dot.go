package main

import "fmt"

// Dot products (for matrix-vector products): 32 interleaved partial sums
// of fused multiply-adds, combined as M[i] = (L[i]+L[i+8]) + (L[i+16]+L[i+24])
// then ((M0+M1)+(M2+M3)) + ((M4+M5)+(M6+M7)), then the tail in order with
// fused multiply-adds: exactly dotGo in gemv.go.

// dot512Body: X0 = dot(SI[0:CX], DI[0:CX]); clobbers SI, DI, CX, Z0..Z7.
func dot512Body(pre string) {
	for i := 0; i < 4; i++ {
		p("VPXORQ Z%d, Z%d, Z%d", i, i, i)
	}
	label(pre + "_loop")
	p("CMPQ CX, $32")
	p("JLT %s_combine", pre)
	for i := 0; i < 4; i++ {
		p("VMOVUPD %d(DI), Z%d", 64*i, 4+i)
		p("VFMADD231PD %d(SI), Z%d, Z%d", 64*i, 4+i, i)
	}
	p("ADDQ $256, SI")
	p("ADDQ $256, DI")
	p("SUBQ $32, CX")
	p("JMP %s_loop", pre)
	label(pre + "_combine")
	p("VADDPD Z1, Z0, Z0")
	p("VADDPD Z3, Z2, Z2")
	p("VADDPD Z2, Z0, Z0") // M
	p("VSHUFPD $0x55, Z0, Z0, Z1")
	p("VADDPD Z1, Z0, Z0")
	p("VPERMPD $0x4e, Z0, Z1")
	p("VADDPD Z1, Z0, Z0")
	p("VEXTRACTF64X4 $1, Z0, Y1")
	p("VADDSD X1, X0, X0")
	label(pre + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", pre)
	p("VMOVSD (DI), X1")
	p("VFMADD231SD (SI), X1, X0")
	p("ADDQ $8, SI")
	p("ADDQ $8, DI")
	p("DECQ CX")
	p("JMP %s_tail", pre)
	label(pre + "_done")
}

func genDot512() {
	fmt.Fprintf(&w, "// func vecDot(a, b []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecDot(SB), NOSPLIT, $0-56\n")
	p("MOVQ a_base+0(FP), SI")
	p("MOVQ a_len+8(FP), CX")
	p("MOVQ b_base+24(FP), DI")
	dot512Body("dot512")
	p("VMOVSD X0, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
	// Many rows: dst[i] = dot(a[i*lda : i*lda+k], x) for i < rows.
	fmt.Fprintf(&w, "// func vecDotRows(dst, a *float64, lda int, x *float64, k, rows int)\n")
	fmt.Fprintf(&w, "TEXT ·vecDotRows(SB), NOSPLIT, $0-48\n")
	p("MOVQ dst+0(FP), R14")
	p("MOVQ a+8(FP), R10")
	p("MOVQ lda+16(FP), R11")
	p("SHLQ $3, R11")
	p("MOVQ x+24(FP), R12")
	p("MOVQ k+32(FP), R13")
	p("MOVQ rows+40(FP), R9")
	label("dotrows_row")
	p("TESTQ R9, R9")
	p("JZ dotrows_end")
	p("MOVQ R10, SI")
	p("MOVQ R12, DI")
	p("MOVQ R13, CX")
	dot512Body("dotrows")
	p("VMOVSD X0, (R14)")
	p("ADDQ $8, R14")
	p("ADDQ R11, R10")
	p("DECQ R9")
	p("JMP dotrows_row")
	label("dotrows_end")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genDot2() {
	fmt.Fprintf(&w, "// func vecDotAVX2(a, b []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecDotAVX2(SB), NOSPLIT, $0-56\n")
	p("MOVQ a_base+0(FP), SI")
	p("MOVQ a_len+8(FP), CX")
	p("MOVQ b_base+24(FP), DI")
	for i := 0; i < 8; i++ {
		p("VXORPD Y%d, Y%d, Y%d", i, i, i)
	}
	label("dot2_loop")
	p("CMPQ CX, $32")
	p("JLT dot2_combine")
	for i := 0; i < 8; i++ {
		p("VMOVUPD %d(DI), Y8", 32*i)
		p("VFMADD231PD %d(SI), Y8, Y%d", 32*i, i)
	}
	p("ADDQ $256, SI")
	p("ADDQ $256, DI")
	p("SUBQ $32, CX")
	p("JMP dot2_loop")
	label("dot2_combine")
	// L[i..i+3] = Y(i/4). M[0..3] = (Y0+Y2)+(Y4+Y6), M[4..7] = (Y1+Y3)+(Y5+Y7).
	p("VADDPD Y2, Y0, Y0")
	p("VADDPD Y6, Y4, Y4")
	p("VADDPD Y4, Y0, Y0")
	p("VADDPD Y3, Y1, Y1")
	p("VADDPD Y7, Y5, Y5")
	p("VADDPD Y5, Y1, Y1")
	for _, r := range []string{"0", "1"} {
		p("VPERMILPD $5, Y%s, Y2", r)
		p("VADDPD Y2, Y%s, Y%s", r, r)
		p("VEXTRACTF128 $1, Y%s, X2", r)
		p("VADDSD X2, X%s, X%s", r, r)
	}
	p("VADDSD X1, X0, X0")
	label("dot2_tail")
	p("TESTQ CX, CX")
	p("JZ dot2_done")
	p("VMOVSD (DI), X1")
	p("VFMADD231SD (SI), X1, X0")
	p("ADDQ $8, SI")
	p("ADDQ $8, DI")
	p("DECQ CX")
	p("JMP dot2_tail")
	label("dot2_done")
	p("VMOVSD X0, ret+48(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}
