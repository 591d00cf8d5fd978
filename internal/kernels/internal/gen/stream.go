package main

import "fmt"

// Streaming AVX-512 ops (elementwise arithmetic and reductions). They do
// the scalar Go loops' operations lane by lane (never fused), so results
// are bit-identical to the Go code.
//
// Calling convention: func name(n int, d, a, b, c *float64, alpha float64)
// (arguments an op does not use are ignored).

type streamOp struct {
	name string
	in   []string // pointers loaded: "d", "a", "b", "c" into Z0, Z1, Z2, Z3
	body []string // result in Z0; Z30 = alpha, Z31 = 1.0
}

var streamOps = []streamOp{
	{"vecAddTo", []string{"d", "a"}, []string{"VADDPD Z1, Z0, Z0"}},
	{"vecMul", []string{"a", "b"}, []string{"VMULPD Z2, Z1, Z0"}},
	{"vecAdd", []string{"a", "b"}, []string{"VADDPD Z2, Z1, Z0"}},
	{"vecMulAdd", []string{"a", "b", "c"}, []string{"VMULPD Z2, Z1, Z0", "VADDPD Z3, Z0, Z0"}},
	{"vecOneMinusSq", []string{"a"}, []string{"VMULPD Z1, Z1, Z0", "VSUBPD Z0, Z31, Z0"}},
	{"vecTanhBackward", []string{"a", "b"}, []string{"VMULPD Z2, Z2, Z0", "VSUBPD Z0, Z31, Z0", "VMULPD Z0, Z1, Z0"}},
	{"vecSigmoidDeriv", []string{"a"}, []string{"VSUBPD Z1, Z31, Z0", "VMULPD Z0, Z1, Z0"}},
	{"vecSigmoidBackward", []string{"a", "b"}, []string{"VSUBPD Z2, Z31, Z0", "VMULPD Z0, Z2, Z0", "VMULPD Z0, Z1, Z0"}},
	{"vecAxpy", []string{"d", "a"}, []string{"VMULPD Z1, Z30, Z1", "VADDPD Z1, Z0, Z0"}},
	{"vecScale", []string{"a"}, []string{"VMULPD Z1, Z30, Z0"}},
}

var ptrReg = map[string]string{"d": "DI", "a": "SI", "b": "DX", "c": "R8"}
var ptrZ = map[string]string{"d": "Z0", "a": "Z1", "b": "Z2", "c": "Z3"}

func genStream(op streamOp) {
	fmt.Fprintf(&w, "// func %s(n int, d, a, b, c *float64, alpha float64)\n", op.name)
	fmt.Fprintf(&w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", op.name)
	p("MOVQ n+0(FP), CX")
	p("MOVQ d+8(FP), DI")
	p("MOVQ a+16(FP), SI")
	p("MOVQ b+24(FP), DX")
	p("MOVQ c+32(FP), R8")
	p("VBROADCASTSD alpha+40(FP), Z30")
	p("VBROADCASTSD %s, Z31", cref("one"))
	p("XORQ AX, AX") // byte offset
	label(op.name + "_loop")
	p("CMPQ CX, $8")
	p("JLT %s_tail", op.name)
	for _, in := range op.in {
		p("VMOVUPD (%s)(AX*1), %s", ptrReg[in], ptrZ[in])
	}
	for _, l := range op.body {
		p(l)
	}
	p("VMOVUPD Z0, (DI)(AX*1)")
	p("ADDQ $64, AX")
	p("SUBQ $8, CX")
	p("JMP %s_loop", op.name)
	label(op.name + "_tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", op.name)
	p("MOVQ $1, BX")
	p("SHLQ CX, BX")
	p("DECQ BX")
	p("KMOVW BX, K1")
	for _, in := range op.in {
		p("VMOVUPD.Z (%s)(AX*1), K1, %s", ptrReg[in], ptrZ[in])
	}
	for _, l := range op.body {
		p(l)
	}
	p("VMOVUPD Z0, K1, (DI)(AX*1)")
	label(op.name + "_done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

// genSumRow: func vecSumRow(x []float64) float64, the sum of sumRow in
// reduce.go: eight interleaved partial sums (one vector), combined as
// ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then the tail added in order.
func genSumRow() {
	fmt.Fprintf(&w, "// func vecSumRow(x []float64) float64\n")
	fmt.Fprintf(&w, "TEXT ·vecSumRow(SB), NOSPLIT, $0-32\n")
	p("MOVQ x_base+0(FP), SI")
	p("MOVQ x_len+8(FP), CX")
	p("VPXORQ Z0, Z0, Z0")
	label("sumrow_loop")
	p("CMPQ CX, $8")
	p("JLT sumrow_combine")
	p("VADDPD (SI), Z0, Z0")
	p("ADDQ $64, SI")
	p("SUBQ $8, CX")
	p("JMP sumrow_loop")
	label("sumrow_combine")
	p("VSHUFPD $0x55, Z0, Z0, Z1") // swap neighbours
	p("VADDPD Z1, Z0, Z0")         // lanes 0,2,4,6: s0+s1, s2+s3, s4+s5, s6+s7
	p("VPERMPD $0x4e, Z0, Z1")     // swap 128-bit halves of each 256
	p("VADDPD Z1, Z0, Z0")         // lane 0: (s0+s1)+(s2+s3); lane 4: (s4+s5)+(s6+s7)
	p("VEXTRACTF64X4 $1, Z0, Y1")
	p("VADDSD X1, X0, X0")
	label("sumrow_tail")
	p("TESTQ CX, CX")
	p("JZ sumrow_done")
	p("VADDSD (SI), X0, X0")
	p("ADDQ $8, SI")
	p("DECQ CX")
	p("JMP sumrow_tail")
	label("sumrow_done")
	p("VMOVSD X0, ret+24(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&w)
}

func genStreams() {
	for _, op := range streamOps {
		genStream(op)
	}
	genSumRow()
}
