package main

import (
	"fmt"
	"strings"
)

// The float32 streaming ops (the float64 ones on 4S), the row sum in
// float64 and the conversions between float32 and float64.

func genStreams32() {
	arr = "4s"
	for _, op := range streamOps {
		op.name = strings.Replace(op.name, "NEON", "32NEON", 1)
		genStream(op)
	}
	arr = "2d"
	genSumRow32()
	genConvert32()
}

// genSumRow32: func sumRow32NEON(x []float32) float64 for len(x) a
// multiple of 16, sumRow32Blocks in elementwise32_generic.go: sixteen
// float64 partial sums (V0..V7, lanes 2q and 2q+1 in Vq), combined as
// m[j] = s[j]+s[j+8] and then ((m0+m1)+(m2+m3))+((m4+m5)+(m6+m7)).
func genSumRow32() {
	fmt.Fprintf(&w, "// func sumRow32NEON(x []float32) float64\n")
	fmt.Fprintf(&w, "TEXT ·sumRow32NEON(SB), NOSPLIT, $0-32\n")
	p("MOVD x_base+0(FP), R1")
	p("MOVD x_len+8(FP), R0")
	for i := 0; i < 8; i++ {
		p("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	label("sumrow32neon_loop")
	p("CBZ R0, sumrow32neon_combine")
	p("VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]")
	for g := 0; g < 4; g++ {
		fcvtl(20+2*g, 16+g)
		fcvtl2(21+2*g, 16+g)
	}
	for q := 0; q < 8; q++ {
		fadd(q, q, 20+q)
	}
	p("SUB $16, R0")
	p("B sumrow32neon_loop")
	label("sumrow32neon_combine")
	for q := 0; q < 4; q++ {
		fadd(8+q, q, q+4)
	}
	combine8(8, 9, 10, 11)
	p("FMOVD F0, ret+24(FP)")
	p("RET")
	fmt.Fprintln(&w)
}

// genConvert32: widen32NEON, addWiden32NEON (n int, d *float64, a
// *float32) and narrow32NEON (n int, d *float32, a *float64), for n a
// multiple of 4; FCVTL is exact, FCVTN rounds to nearest even as Go's
// float32().
func genConvert32() {
	for _, add := range []bool{false, true} {
		name := "widen32NEON"
		if add {
			name = "addWiden32NEON"
		}
		fmt.Fprintf(&w, "// func %s(n int, d *float64, a *float32)\n", name)
		fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
		p("MOVD n+0(FP), R0")
		p("MOVD d+8(FP), R1")
		p("MOVD a+16(FP), R2")
		label(name + "_loop")
		p("CBZ R0, %s_done", name)
		p("VLD1.P 16(R2), [V0.S4]")
		fcvtl(1, 0)
		fcvtl2(2, 0)
		if add {
			p("VLD1 (R1), [V3.D2, V4.D2]")
			fadd(1, 3, 1)
			fadd(2, 4, 2)
		}
		p("VST1.P [V1.D2, V2.D2], 32(R1)")
		p("SUB $4, R0")
		p("B %s_loop", name)
		label(name + "_done")
		p("RET")
		fmt.Fprintln(&w)
	}
	fmt.Fprintf(&w, "// func narrow32NEON(n int, d *float32, a *float64)\n")
	fmt.Fprintf(&w, "TEXT ·narrow32NEON(SB), NOSPLIT, $0-24\n")
	p("MOVD n+0(FP), R0")
	p("MOVD d+8(FP), R1")
	p("MOVD a+16(FP), R2")
	label("narrow32neon_loop")
	p("CBZ R0, narrow32neon_done")
	p("VLD1.P 32(R2), [V0.D2, V1.D2]")
	fcvtn(2, 0)
	fcvtn2(2, 1)
	p("VST1.P [V2.S4], 16(R1)")
	p("SUB $4, R0")
	p("B narrow32neon_loop")
	label("narrow32neon_done")
	p("RET")
	fmt.Fprintln(&w)
}
