// Package workcount counts the steps of the compiler's searches — the
// walks over a program whose length depends on more than one value's
// neighbourhood: linear folding's chain walks, the slab placement's tree,
// the fused groups' operand lookups — so that a test can check that
// compiling stays linear in the program's size by counting work, where
// timing it would measure the machine's load.
//
// Before d0228fc those walks made compilation quadratic (a 20 000-node
// Tanh chain took 65.8 s); TestCompileLinear in package jacobi compares
// the steps for programs of n and 8n equations.
package workcount

import "sync/atomic"

var steps atomic.Int64

// Add records n steps.
func Add(n int) { steps.Add(int64(n)) }

// Steps returns the number of steps recorded since the program started.
func Steps() int64 { return steps.Load() }
