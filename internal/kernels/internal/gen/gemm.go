package main

import (
	"fmt"
	"log"
)

// GEMM micro-kernels, for float64 (PD) and float32 (PS) from the same
// code. Each computes an MR×NR tile of C = alpha*A*B + beta*C from a packed
// or strided A panel (element (i, p) at a[i*ars+p*aks]; packed: ars=1,
// aks=MR) and a B panel (element (p, j) at b[p*bks+j]), keeping the whole
// tile in vector registers: per k step it loads NR/lanes vectors of B,
// broadcasts each of the MR values of A and does MR·NR/lanes fused
// multiply-adds. The k loop runs in increasing k with one FMA per term, so
// results do not depend on blocking or threads.

// elem is a GEMM element type.
type elem struct {
	size  int    // bytes
	sfx   string // "PD" or "PS"
	bcast string // broadcast of one element from memory
	goTyp string
}

var (
	f64 = elem{8, "PD", "VBROADCASTSD", "float64"}
	f32 = elem{4, "PS", "VBROADCASTSS", "float32"}
)

type kern struct {
	name   string
	e      elem
	reg    string // "Y" (AVX2, 32 bytes) or "Z" (AVX-512, 64 bytes)
	mr, nv int    // rows, vectors per row
	unroll int
	pfA    int  // prefetch distance for A in bytes
	noPfC  bool // do not prefetch the C tile (better when K is small)
	// packedA: A is a packed panel (ars=1, aks=MR, arguments ignored):
	// constant offsets, one pointer update per unrolled loop.
	packedA bool
	// rowLoop: the kernel takes two more arguments, npan and bps, and does
	// npan tiles side by side (B panel p at b + p*bps, C tile at c + p*NR),
	// saving a call per tile when K is small.
	rowLoop bool
	// colLoop: the kernel takes two more arguments, npan and aps, and does
	// npan tiles one below the other (A panel p at a + p*aps, C tile at
	// c + p*MR*ldc): the loop over a packed A block for one B panel, in one
	// call.
	colLoop bool
}

func (k kern) r(i int) string { return fmt.Sprintf("%s%d", k.reg, i) }

func (k kern) acc(i, v int) string { return k.r(i*k.nv + v) }

// vbytes is the size of one vector register.
func (k kern) vbytes() int {
	if k.reg == "Z" {
		return 64
	}
	return 32
}

// op names a vector instruction for the element type: op("VFMADD231") is
// VFMADD231PD or VFMADD231PS.
func (k kern) op(base string) string { return base + k.e.sfx }

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
	areg := nacc + k.nv // broadcasts of A
	nregs := 16
	if k.reg == "Z" {
		nregs = 32
	}
	na := min(2, nregs-areg) // broadcast registers, used in turn
	if na < 1 {
		log.Fatalf("%s: %d accumulators and %d B vectors leave no register for A", k.name, nacc, k.nv)
	}
	alphaReg, betaReg := areg, areg+1
	if areg+1 >= nregs {
		alphaReg, betaReg = breg, breg+1 // B's registers are free when storing
	}
	vb := k.vbytes()
	es := k.e.size
	shift := log2(es)
	// Argument offsets: kc, a, ars, aks, b, bks, c, ldc at 0..56; alpha and
	// beta of the element's size; npan and bps 8-aligned after them.
	alphaOff, betaOff := 64, 64+es
	npanOff := (betaOff + es + 7) &^ 7
	argSize := npanOff
	sig := fmt.Sprintf("kc int, a *%[1]s, ars, aks int, b *%[1]s, bks int, c *%[1]s, ldc int, alpha, beta %[1]s", k.e.goTyp)
	loop := k.rowLoop || k.colLoop
	if loop {
		argSize = npanOff + 16
		last := "bps"
		if k.colLoop {
			last = "aps"
		}
		fmt.Fprintf(&w, "// func %s(%s, npan, %s int)\n", k.name, sig, last)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $32-%d\n", k.name, argSize)
	} else {
		fmt.Fprintf(&w, "// func %s(%s)\n", k.name, sig)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", k.name, argSize)
	}
	p("MOVQ ars+16(FP), R11")
	p("SHLQ $%d, R11", shift)
	p("MOVQ aks+24(FP), R12")
	p("SHLQ $%d, R12", shift)
	p("LEAQ (R11)(R11*2), R13")
	p("MOVQ bks+40(FP), BX")
	p("SHLQ $%d, BX", shift)
	if k.packedA {
		if k.unroll != 4 {
			log.Fatalf("%s: packedA needs unroll 4", k.name)
		}
		p("LEAQ (BX)(BX*2), R13") // 3 B rows; the A strides are not used
	}
	p("MOVQ ldc+56(FP), R8")
	p("SHLQ $%d, R8", shift)
	if k.rowLoop {
		// Locals: 0(SP) panels left, 8(SP) B panel, 16(SP) C tile.
		p("MOVQ npan+%d(FP), AX", npanOff)
		p("MOVQ AX, 0(SP)")
		p("MOVQ b+32(FP), AX")
		p("MOVQ AX, 8(SP)")
		p("MOVQ c+48(FP), AX")
		p("MOVQ AX, 16(SP)")
		label(k.name + "_panel")
		p("MOVQ 8(SP), DI")
		p("MOVQ 16(SP), DX")
	} else if k.colLoop {
		// Locals: 0(SP) panels left, 8(SP) A panel, 16(SP) C tile.
		p("MOVQ npan+%d(FP), AX", npanOff)
		p("MOVQ AX, 0(SP)")
		p("MOVQ a+8(FP), AX")
		p("MOVQ AX, 8(SP)")
		p("MOVQ c+48(FP), AX")
		p("MOVQ AX, 16(SP)")
		label(k.name + "_panel")
		p("MOVQ b+32(FP), DI")
		p("MOVQ 16(SP), DX")
	} else {
		p("MOVQ b+32(FP), DI")
		p("MOVQ c+48(FP), DX")
	}
	p("MOVQ kc+0(FP), CX")
	if k.colLoop {
		p("MOVQ 8(SP), SI")
	} else {
		p("MOVQ a+8(FP), SI")
	}
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
			p("%s %s, %s, %s", k.op("VXOR"), k.r(i), k.r(i), k.r(i))
		}
	}
	// step does k step u of an unrolled loop (u = 0 in the tail loop):
	// with packedA, A and B are at constant offsets from SI and DI until
	// advance moves them past the steps done.
	step := func(u int) {
		for v := 0; v < k.nv; v++ {
			bAddr := "(DI)"
			if k.packedA {
				bAddr = [...]string{"(DI)", "(DI)(BX*1)", "(DI)(BX*2)", "(DI)(R13*1)"}[u]
			}
			p("%s %d%s, %s", k.op("VMOVU"), v*vb, bAddr, k.r(breg+v))
		}
		for i := 0; i < k.mr; i++ {
			a := k.r(areg + i%na)
			if k.packedA {
				p("%s %d(SI), %s", k.e.bcast, (u*k.mr+i)*es, a)
			} else {
				p("%s %s, %s", k.e.bcast, aRow(i), a)
			}
			for v := 0; v < k.nv; v++ {
				p("%s %s, %s, %s", k.op("VFMADD231"), k.r(breg+v), a, k.acc(i, v))
			}
		}
		if !k.packedA {
			p("ADDQ R12, SI")
			p("ADDQ R12, R14")
			p("ADDQ BX, DI")
		}
	}
	advance := func(steps int) {
		if !k.packedA {
			return
		}
		p("ADDQ $%d, SI", steps*k.mr*es)
		if steps == 4 {
			p("LEAQ (DI)(BX*4), DI")
		} else {
			p("ADDQ BX, DI")
		}
	}
	p("MOVQ CX, R10")
	p("SHRQ $%d, R10", log2(k.unroll))
	p("JZ %s_tail", k.name)
	label(k.name + "_loop")
	p("PREFETCHT0 %d(SI)", k.pfA)
	if k.mr*es*k.unroll > 64 {
		p("PREFETCHT0 %d(SI)", k.pfA+64)
	}
	for u := 0; u < k.unroll; u++ {
		step(u)
	}
	advance(k.unroll)
	p("DECQ R10")
	p("JNZ %s_loop", k.name)
	label(k.name + "_tail")
	p("ANDQ $%d, CX", k.unroll-1)
	p("JZ %s_store", k.name)
	label(k.name + "_tailloop")
	step(0)
	advance(1)
	p("DECQ CX")
	p("JNZ %s_tailloop", k.name)
	label(k.name + "_store")
	p("%s alpha+%d(FP), %s", k.e.bcast, alphaOff, k.r(alphaReg))
	if es == 8 {
		p("MOVQ beta+%d(FP), AX", betaOff)
		p("SHLQ $1, AX") // ignore the sign: -0 is zero too
	} else {
		p("MOVL beta+%d(FP), AX", betaOff)
		p("SHLL $1, AX") // ignore the sign: -0 is zero too
	}
	p("JZ %s_beta0", k.name)
	p("%s beta+%d(FP), %s", k.e.bcast, betaOff, k.r(betaReg))
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("%s %s, %s, %s", k.op("VMUL"), k.r(alphaReg), k.acc(i, v), k.acc(i, v))
			p("%s %d(DX), %s, %s", k.op("VFMADD231"), v*vb, k.r(betaReg), k.acc(i, v))
			p("%s %s, %d(DX)", k.op("VMOVU"), k.acc(i, v), v*vb)
		}
		if i < k.mr-1 {
			p("ADDQ R8, DX")
		}
	}
	if loop {
		p("JMP %s_next", k.name)
	} else {
		p("VZEROUPPER")
		p("RET")
	}
	label(k.name + "_beta0")
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("%s %s, %s, %s", k.op("VMUL"), k.r(alphaReg), k.acc(i, v), k.acc(i, v))
			p("%s %s, %d(DX)", k.op("VMOVU"), k.acc(i, v), v*vb)
		}
		if i < k.mr-1 {
			p("ADDQ R8, DX")
		}
	}
	if k.rowLoop {
		label(k.name + "_next")
		p("ADDQ $%d, 16(SP)", k.nv*vb)
		p("MOVQ bps+%d(FP), AX", npanOff+8)
		p("SHLQ $%d, AX", shift)
		p("ADDQ AX, 8(SP)")
		p("DECQ 0(SP)")
		p("JNZ %s_panel", k.name)
	}
	if k.colLoop {
		label(k.name + "_next")
		p("IMUL3Q $%d, R8, AX", k.mr) // MR rows of C
		p("ADDQ AX, 16(SP)")
		p("MOVQ aps+%d(FP), AX", npanOff+8)
		p("SHLQ $%d, AX", shift)
		p("ADDQ AX, 8(SP)")
		p("DECQ 0(SP)")
		p("JNZ %s_panel", k.name)
	}
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

// gemmKernels lists the micro-kernels: for each element type and
// instruction set, the tile kernel (prefetching its C tile; on AVX2 it
// takes packed A only, see packedA), the same without the prefetch and on
// any A (for thin products, A read in place) and the row kernel (npan
// tiles per call, any A).
func gemmKernels() []kern {
	var ks []kern
	for _, c := range []struct {
		base    string
		e       elem
		reg     string
		mr, nv  int
		pfA     int
		packedA bool
	}{
		{"kernAVX2_6x8", f64, "Y", 6, 2, 384, true},
		{"kernAVX512_8x16", f64, "Z", 8, 2, 512, false},
		{"kernAVX2_6x16_f32", f32, "Y", 6, 2, 384, true},
		{"kernAVX512_8x32_f32", f32, "Z", 8, 2, 512, false},
	} {
		k := kern{name: c.base, e: c.e, reg: c.reg, mr: c.mr, nv: c.nv, unroll: 4, pfA: c.pfA}
		nopf, row := k, k
		k.packedA = c.packedA
		nopf.name, nopf.noPfC = c.base+"_nopf", true
		row.name, row.noPfC, row.rowLoop = c.base+"_row", true, true
		ks = append(ks, k, nopf, row)
		if c.packedA {
			col := k
			col.name, col.colLoop = c.base+"_col", true
			ks = append(ks, col)
		}
	}
	return ks
}
