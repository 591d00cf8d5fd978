package jacobi

import "github.com/jacobi-ad/jacobi/ir"

// Program returns the program of one sample that c runs on every sample
// (one input, the sample; one output), for tools that translate programs,
// such as package onnx's exporter. It is shared: do not modify it.
func (c *Compiled) Program() *ir.Program { return c.prog }

// Program returns the traced and simplified program that t runs, for
// tools that translate programs, such as package onnx's exporter. It is
// shared: do not modify it.
func (t *Traced) Program() *ir.Program { return t.prog }
