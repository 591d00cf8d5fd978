package main

import "fmt"

// Packing routines for the GEMM (see pack.go in package kernels).
//
// interleaveD<h>(dst, src unsafe.Pointer, ld, w, kb int): h = 4, 6 or 8
// float64 rows of src (row stride ld elements) interleaved into dst at
// stride w: dst[p*w+i] = src[i*ld+p] for i < h, p < kb. Four k steps at a
// time: 4×4 transposes (VUNPCKLPD/VUNPCKHPD, VPERM2F128), and for rows 4-5
// of h = 6 a 2×4 one.
//
// interleaveS6(dst, src unsafe.Pointer, ld, w, kb int): the same for 6
// float32 rows, eight k steps at a time (kb a multiple of 8, the rest left
// to the caller): rows 0-3 by a 4×8 transpose (VUNPCKLPS/VUNPCKHPS, then
// VUNPCKLPD/VUNPCKHPD pair them into the four values of one k step in
// each 128-bit lane), rows 4-5 by VUNPCKLPS/VUNPCKHPS alone (the two
// values of a k step are one 64-bit element); each k step is stored as 16
// and 8 bytes.
//
// copyRows<b>(dst, src unsafe.Pointer, ld, kb int): kb rows of b bytes
// (ld bytes apart in src) copied to dst back to back.

// rowAddr is the address of row i: SI = row 0, R14 = row 1, R11 = ld
// bytes, R13 = 3*ld.
func rowAddr(i int, off int) string {
	return fmt.Sprintf("%d%s", off, aRow(i))
}

func genInterleaveD(h int) {
	name := fmt.Sprintf("interleaveD%d", h)
	fmt.Fprintf(&w, "// func %s(dst, src unsafe.Pointer, ld, w, kb int)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ ld+16(FP), R11")
	p("SHLQ $3, R11")
	p("LEAQ (R11)(R11*2), R13")
	p("LEAQ (SI)(R11*1), R14")
	p("MOVQ w+24(FP), R8")
	p("SHLQ $3, R8")         // bytes per k step in dst
	p("LEAQ (R8)(R8*2), R9") // 3 steps
	p("MOVQ kb+32(FP), CX")
	p("MOVQ CX, R10")
	p("SHRQ $2, R10")
	p("JZ %s_tail", name)
	label(name + "_loop")
	// dst address of step q (0..3) plus byte offset off.
	dstAt := func(q, off int) string {
		return [...]string{fmt.Sprintf("%d(DI)", off), fmt.Sprintf("%d(DI)(R8*1)", off), fmt.Sprintf("%d(DI)(R8*2)", off), fmt.Sprintf("%d(DI)(R9*1)", off)}[q]
	}
	for g := 0; g+4 <= h; g += 4 {
		for i := 0; i < 4; i++ {
			p("VMOVUPD %s, Y%d", rowAddr(g+i, 0), i)
		}
		p("VUNPCKLPD Y1, Y0, Y4")
		p("VUNPCKHPD Y1, Y0, Y5")
		p("VUNPCKLPD Y3, Y2, Y6")
		p("VUNPCKHPD Y3, Y2, Y7")
		p("VPERM2F128 $0x20, Y6, Y4, Y0")
		p("VPERM2F128 $0x20, Y7, Y5, Y1")
		p("VPERM2F128 $0x31, Y6, Y4, Y2")
		p("VPERM2F128 $0x31, Y7, Y5, Y3")
		for q := 0; q < 4; q++ {
			p("VMOVUPD Y%d, %s", q, dstAt(q, g*8))
		}
	}
	if h%4 == 2 {
		g := h - 2
		p("VMOVUPD %s, Y8", rowAddr(g, 0))
		p("VMOVUPD %s, Y9", rowAddr(g+1, 0))
		p("VUNPCKLPD Y9, Y8, Y10")
		p("VUNPCKHPD Y9, Y8, Y11")
		p("VMOVUPD X10, %s", dstAt(0, g*8))
		p("VMOVUPD X11, %s", dstAt(1, g*8))
		p("VEXTRACTF128 $1, Y10, %s", dstAt(2, g*8))
		p("VEXTRACTF128 $1, Y11, %s", dstAt(3, g*8))
	}
	p("ADDQ $32, SI")
	p("ADDQ $32, R14")
	p("LEAQ (DI)(R8*4), DI")
	p("DECQ R10")
	p("JNZ %s_loop", name)
	label(name + "_tail")
	p("ANDQ $3, CX")
	p("JZ %s_done", name)
	label(name + "_tailloop")
	for i := 0; i < h; i++ {
		p("MOVSD %s, X%d", rowAddr(i, 0), i)
	}
	for i := 0; i < h; i++ {
		p("MOVSD X%d, %d(DI)", i, i*8)
	}
	p("ADDQ $8, SI")
	p("ADDQ $8, R14")
	p("ADDQ R8, DI")
	p("DECQ CX")
	p("JNZ %s_tailloop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genInterleaveS6() {
	name := "interleaveS6"
	fmt.Fprintf(&w, "// func %s(dst, src unsafe.Pointer, ld, w, kb int)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ ld+16(FP), R11")
	p("SHLQ $2, R11")
	p("LEAQ (R11)(R11*2), R13")
	p("LEAQ (SI)(R11*1), R14")
	p("MOVQ w+24(FP), R8")
	p("SHLQ $2, R8")         // bytes per k step in dst
	p("LEAQ (R8)(R8*2), R9") // 3 steps
	p("MOVQ kb+32(FP), CX")
	p("SHRQ $3, CX")
	p("JZ %s_done", name)
	label(name + "_loop")
	for i := 0; i < 6; i++ {
		p("VMOVUPS %s, Y%d", rowAddr(i, 0), i)
	}
	// Y6: (r0,r1) pairs of steps 0,1 | 4,5; Y7: steps 2,3 | 6,7; Y8, Y9 the
	// same of (r2,r3); Y10, Y11 of (r4,r5).
	p("VUNPCKLPS Y1, Y0, Y6")
	p("VUNPCKHPS Y1, Y0, Y7")
	p("VUNPCKLPS Y3, Y2, Y8")
	p("VUNPCKHPS Y3, Y2, Y9")
	p("VUNPCKLPS Y5, Y4, Y10")
	p("VUNPCKHPS Y5, Y4, Y11")
	// Rows 0-3 of step q (low lane) and q+4 (high lane).
	p("VUNPCKLPD Y8, Y6, Y0") // steps 0 | 4
	p("VUNPCKHPD Y8, Y6, Y1") // steps 1 | 5
	p("VUNPCKLPD Y9, Y7, Y2") // steps 2 | 6
	p("VUNPCKHPD Y9, Y7, Y3") // steps 3 | 7
	// dst address of step q (0..3) plus byte offset off, from DI (steps
	// 0-3) or R10 = DI + 4 steps (steps 4-7).
	at := func(q, off int) string {
		base := "DI"
		if q >= 4 {
			base, q = "R10", q-4
		}
		return [...]string{fmt.Sprintf("%d(%s)", off, base), fmt.Sprintf("%d(%s)(R8*1)", off, base), fmt.Sprintf("%d(%s)(R8*2)", off, base), fmt.Sprintf("%d(%s)(R9*1)", off, base)}[q]
	}
	p("LEAQ (DI)(R8*4), R10")
	for q := 0; q < 4; q++ {
		p("VMOVUPS X%d, %s", q, at(q, 0))
		p("VEXTRACTF128 $1, Y%d, %s", q, at(q+4, 0))
	}
	// Rows 4-5: Y10 holds steps 0, 1 | 4, 5, Y11 steps 2, 3 | 6, 7.
	p("VEXTRACTF128 $1, Y10, X12")
	p("VEXTRACTF128 $1, Y11, X13")
	p("VMOVLPS X10, %s", at(0, 16))
	p("VMOVHPS X10, %s", at(1, 16))
	p("VMOVLPS X11, %s", at(2, 16))
	p("VMOVHPS X11, %s", at(3, 16))
	p("VMOVLPS X12, %s", at(4, 16))
	p("VMOVHPS X12, %s", at(5, 16))
	p("VMOVLPS X13, %s", at(6, 16))
	p("VMOVHPS X13, %s", at(7, 16))
	p("ADDQ $32, SI")
	p("ADDQ $32, R14")
	p("LEAQ (R10)(R8*4), DI")
	p("DECQ CX")
	p("JNZ %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genCopyRows(b int) {
	name := fmt.Sprintf("copyRows%d", b)
	fmt.Fprintf(&w, "// func %s(dst, src unsafe.Pointer, ld, kb int)\n", name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ ld+16(FP), R11")
	p("MOVQ kb+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	label(name + "_loop")
	off, r := 0, 0
	type mv struct{ load, store string }
	var moves []mv
	for ; b-off >= 32; off += 32 {
		moves = append(moves, mv{fmt.Sprintf("VMOVUPD %d(SI), Y%d", off, r), fmt.Sprintf("VMOVUPD Y%d, %d(DI)", r, off)})
		r++
	}
	if b-off >= 16 {
		moves = append(moves, mv{fmt.Sprintf("VMOVUPD %d(SI), X%d", off, r), fmt.Sprintf("VMOVUPD X%d, %d(DI)", r, off)})
		off += 16
	}
	if b-off >= 8 {
		moves = append(moves, mv{fmt.Sprintf("MOVQ %d(SI), AX", off), fmt.Sprintf("MOVQ AX, %d(DI)", off)})
		off += 8
	}
	if b-off >= 4 {
		moves = append(moves, mv{fmt.Sprintf("MOVL %d(SI), DX", off), fmt.Sprintf("MOVL DX, %d(DI)", off)})
		off += 4
	}
	if off != b {
		panic("copyRows: size not a multiple of 4")
	}
	for _, m := range moves {
		p(m.load)
	}
	for _, m := range moves {
		p(m.store)
	}
	p("ADDQ R11, SI")
	p("ADDQ $%d, DI", b)
	p("DECQ CX")
	p("JNZ %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genPacks() {
	for _, h := range []int{4, 6, 8} {
		genInterleaveD(h)
	}
	genInterleaveS6()
	for _, b := range []int{24, 32, 48, 64, 128} {
		genCopyRows(b)
	}
}
