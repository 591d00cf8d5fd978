// Command gen writes the amd64 assembly micro-kernels of package kernels
// (ukernel_amd64.s). Run it with `go generate` in internal/kernels.
//
// Each kernel computes an MR×NR tile of C = alpha*A*B + beta*C from a packed
// or strided A panel (element (i, p) at a[i*ars+p*aks]; packed: ars=1,
// aks=MR) and a B panel (element (p, j) at b[p*bks+j]), keeping the whole tile in vector registers: per k step it
// loads NR/V vectors of B, broadcasts each of the MR values of A and does
// MR·NR/V fused multiply-adds (VFMADD231PD). The k loop runs in increasing
// k with one FMA per term, so results do not depend on blocking or threads.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

type kern struct {
	name   string
	reg    string // "Y" (AVX2, 4 doubles) or "Z" (AVX-512, 8 doubles)
	vl     int    // doubles per vector
	mr, nv int    // rows, vectors per row
	unroll int
	pfA    int  // prefetch distance for A in bytes
	noPfC  bool // do not prefetch the C tile (better when K is small)
	// rowLoop: the kernel takes two more arguments, npan and bps, and does
	// npan tiles side by side (B panel p at b + p*bps, C tile at c + p*NR),
	// saving a call per tile when K is small.
	rowLoop bool
}

var w bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&w, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&w, "%s:\n", l) }

func (k kern) r(i int) string { return fmt.Sprintf("%s%d", k.reg, i) }

func (k kern) acc(i, v int) string { return k.r(i*k.nv + v) }

// aRow is the address of row i of the A panel: rows are ars bytes apart,
// with SI = row 0, R14 = row 1, R11 = ars and R13 = 3*ars.
func aRow(i int) string {
	return [...]string{"(SI)", "(SI)(R11*1)", "(SI)(R11*2)", "(SI)(R13*1)",
		"(SI)(R11*4)", "(R14)(R11*4)", "(SI)(R13*2)", "(R14)(R13*2)"}[i]
}

func (k kern) gen() {
	if k.mr > 8 {
		log.Fatalf("%s: MR > 8 not supported", k.name)
	}
	nacc := k.mr * k.nv
	breg := nacc        // nv registers for B
	areg := nacc + k.nv // 2 registers for broadcasts of A
	alphaReg, betaReg := areg, areg+1
	vb := 8 * k.vl // bytes per vector
	if k.rowLoop {
		fmt.Fprintf(&w, "// func %s(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)\n", k.name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $32-96\n", k.name)
	} else {
		fmt.Fprintf(&w, "// func %s(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)\n", k.name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-80\n", k.name)
	}
	p("MOVQ ars+16(FP), R11")
	p("SHLQ $3, R11")
	p("MOVQ aks+24(FP), R12")
	p("SHLQ $3, R12")
	p("LEAQ (R11)(R11*2), R13")
	p("MOVQ bks+40(FP), BX")
	p("SHLQ $3, BX")
	p("MOVQ ldc+56(FP), R8")
	p("SHLQ $3, R8")
	if k.rowLoop {
		// Locals: 0(SP) panels left, 8(SP) B panel, 16(SP) C tile.
		p("MOVQ npan+80(FP), AX")
		p("MOVQ AX, 0(SP)")
		p("MOVQ b+32(FP), AX")
		p("MOVQ AX, 8(SP)")
		p("MOVQ c+48(FP), AX")
		p("MOVQ AX, 16(SP)")
		label(k.name + "_panel")
		p("MOVQ 8(SP), DI")
		p("MOVQ 16(SP), DX")
	} else {
		p("MOVQ b+32(FP), DI")
		p("MOVQ c+48(FP), DX")
	}
	p("MOVQ kc+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("LEAQ (SI)(R11*1), R14")
	// Prefetch the C tile for writing (PREFETCHW off(R9), which the Go
	// assembler does not know: 41 0F 0D /1 with an 8-bit displacement).
	p("MOVQ DX, R9")
	for i := 0; i < k.mr && !k.noPfC; i++ {
		for off := 0; off < k.nv*vb; off += 64 {
			if off > 127 {
				log.Fatal("PREFETCHW displacement too large")
			}
			p("BYTE $0x41; BYTE $0x0F; BYTE $0x0D; BYTE $0x49; BYTE $0x%02x // PREFETCHW %d(R9)", off, off)
		}
		if i < k.mr-1 {
			p("ADDQ R8, R9")
		}
	}
	for i := 0; i < nacc; i++ {
		if k.reg == "Z" {
			p("VPXORQ %s, %s, %s", k.r(i), k.r(i), k.r(i))
		} else {
			p("VXORPD %s, %s, %s", k.r(i), k.r(i), k.r(i))
		}
	}
	step := func() {
		for v := 0; v < k.nv; v++ {
			p("VMOVUPD %d(DI), %s", v*vb, k.r(breg+v))
		}
		for i := 0; i < k.mr; i++ {
			a := k.r(areg + i%2)
			p("VBROADCASTSD %s, %s", aRow(i), a)
			for v := 0; v < k.nv; v++ {
				p("VFMADD231PD %s, %s, %s", k.r(breg+v), a, k.acc(i, v))
			}
		}
		p("ADDQ R12, SI")
		p("ADDQ R12, R14")
		p("ADDQ BX, DI")
	}
	p("MOVQ CX, R10")
	p("SHRQ $%d, R10", log2(k.unroll))
	p("JZ %s_tail", k.name)
	label(k.name + "_loop")
	p("PREFETCHT0 %d(SI)", k.pfA)
	if k.mr*8*k.unroll > 64 {
		p("PREFETCHT0 %d(SI)", k.pfA+64)
	}
	for u := 0; u < k.unroll; u++ {
		step()
	}
	p("DECQ R10")
	p("JNZ %s_loop", k.name)
	label(k.name + "_tail")
	p("ANDQ $%d, CX", k.unroll-1)
	p("JZ %s_store", k.name)
	label(k.name + "_tailloop")
	step()
	p("DECQ CX")
	p("JNZ %s_tailloop", k.name)
	label(k.name + "_store")
	p("VBROADCASTSD alpha+64(FP), %s", k.r(alphaReg))
	p("MOVQ beta+72(FP), AX")
	p("SHLQ $1, AX") // ignore the sign: -0 is zero too
	p("JZ %s_beta0", k.name)
	p("VBROADCASTSD beta+72(FP), %s", k.r(betaReg))
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("VMULPD %s, %s, %s", k.r(alphaReg), k.acc(i, v), k.acc(i, v))
			p("VFMADD231PD %d(DX), %s, %s", v*vb, k.r(betaReg), k.acc(i, v))
			p("VMOVUPD %s, %d(DX)", k.acc(i, v), v*vb)
		}
		if i < k.mr-1 {
			p("ADDQ R8, DX")
		}
	}
	if k.rowLoop {
		p("JMP %s_next", k.name)
	} else {
		p("VZEROUPPER")
		p("RET")
	}
	label(k.name + "_beta0")
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("VMULPD %s, %s, %s", k.r(alphaReg), k.acc(i, v), k.acc(i, v))
			p("VMOVUPD %s, %d(DX)", k.acc(i, v), v*vb)
		}
		if i < k.mr-1 {
			p("ADDQ R8, DX")
		}
	}
	if k.rowLoop {
		label(k.name + "_next")
		p("ADDQ $%d, 16(SP)", k.nv*vb)
		p("MOVQ bps+88(FP), AX")
		p("SHLQ $3, AX")
		p("ADDQ AX, 8(SP)")
		p("DECQ 0(SP)")
		p("JNZ %s_panel", k.name)
	}
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	if 1<<l != n {
		log.Fatalf("unroll %d is not a power of two", n)
	}
	return l
}

func header() {
	fmt.Fprintln(&w, "// Code generated by internal/gen; DO NOT EDIT.")
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "//go:build !purego")
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, `#include "textflag.h"`)
	fmt.Fprintln(&w)
}

func main() {
	out := flag.String("out", "ukernel_amd64.s", "output file for the GEMM kernels")
	mapsOut := flag.String("maps", "elementwise_amd64.s", "output file for the elementwise maps")
	flag.Parse()
	header()
	for _, k := range []kern{
		{name: "kernAVX2_6x8", reg: "Y", vl: 4, mr: 6, nv: 2, unroll: 4, pfA: 384},
		{name: "kernAVX512_8x16", reg: "Z", vl: 8, mr: 8, nv: 2, unroll: 4, pfA: 512},
		{name: "kernAVX512_8x16_nopf", reg: "Z", vl: 8, mr: 8, nv: 2, unroll: 4, pfA: 512, noPfC: true},
		{name: "kernAVX2_6x8_nopf", reg: "Y", vl: 4, mr: 6, nv: 2, unroll: 4, pfA: 384, noPfC: true},
		{name: "kernAVX512_8x16_row", reg: "Z", vl: 8, mr: 8, nv: 2, unroll: 4, pfA: 512, noPfC: true, rowLoop: true},
		{name: "kernAVX2_6x8_row", reg: "Y", vl: 4, mr: 6, nv: 2, unroll: 4, pfA: 384, noPfC: true, rowLoop: true},
	} {
		k.gen()
	}
	if err := os.WriteFile(*out, w.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	w.Reset()
	header()
	genMaps()
	genTrigs()
	genLogs()
	genStreams()
	genAVX2()
	genErf()
	genAVX2Trig()
	genErfY()
	genDot512()
	genDot2()
	if err := os.WriteFile(*mapsOut, w.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
