// Package op defines jacobi's primitives. Each primitive carries, in one
// place (its file), all of its rules: the shape rule, evaluation, the JVP
// rule, the transpose rule (for primitives linear in some inputs), the
// batching rule used by Vmap, the per-sample rule used by the
// batch-independence check, the second-order Taylor rule, its cost, how the
// runtime runs it (its row kernel, its view, or its lowering) and its
// algebraic identities for Simplify.
//
// Most rules follow from the kind of function a primitive is: a primitive
// declares its families (Elementwise, Smooth, LinearMap, Bilinear,
// ZeroDerivative, View) and writes only the rules they do not give, as JAX
// does with defvectorized, deflinear and defjvp. RulesOf assembles the
// complete rules; a primitive that lacks one cannot be used.
//
// Rules are written in primitives: they emit equations into an ir.Builder
// rather than computing numbers, so every transform applies to the output of
// every other.
package op

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Evaluator computes a primitive's output from concrete inputs.
type Evaluator interface {
	Eval(in []*tensor.Tensor) (*tensor.Tensor, error)
}

// JVPRule emits the tangent of the primitive's output given the primals, the
// primal output and the input tangents. A nil tangent is a symbolic zero; a
// nil result means the output tangent is zero.
type JVPRule interface {
	JVP(b *ir.Builder, primals []*ir.Var, out *ir.Var, tangents []*ir.Var) *ir.Var
}

// TransposeRule emits the cotangents of the linear inputs given the output
// cotangent ct. in holds the non-linear inputs (nil at linear positions),
// shapes the shapes of all inputs. The result has one entry per input; nil
// means zero (and is required at non-linear positions).
type TransposeRule interface {
	Transpose(b *ir.Builder, ct *ir.Var, in []*ir.Var, shapes [][]int, linear []bool) []*ir.Var
}

// BatchRule emits the primitive applied independently along a new leading
// axis of size n. Inputs with batched[i] carry that axis; the others do not.
// The result always carries it.
type BatchRule interface {
	Batch(b *ir.Builder, in []*ir.Var, batched []bool, n int) *ir.Var
}

// Dropper gives the per-sample form of an input that does not depend on the
// sample but whose shape carries the batch axis (a broadcast, say): the
// same value with that axis removed.
type Dropper func(input, axis int) (*ir.Var, error)

// UnbatchRule is the inverse of BatchRule, used to prove that a traced
// function maps every sample on its own. Given per-sample inputs (batched
// ones with their batch axis removed; axes[i] is that axis in the original,
// or -1), it emits the per-sample equation and returns the batch axis of the
// original output (-1 when the output does not depend on the sample). It
// fails when the primitive mixes samples.
type UnbatchRule interface {
	Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error)
}

// Linear is implemented by primitives that are linear in some inputs.
type Linear interface {
	TransposeRule
	// LinearIn reports whether the primitive is linear in input i (with the
	// other inputs held fixed), so a tangent may flow through it.
	LinearIn(i int) bool
}

// MixError is returned when a primitive mixes samples along the batch axis.
type MixError struct {
	Prim   string
	Src    string
	Reason string
}

// Error describes the mixing, naming the primitive and where it was traced.
func (e *MixError) Error() string {
	at := ""
	if e.Src != "" {
		at = " at " + e.Src
	}
	return fmt.Sprintf("the function mixes samples along the batch axis: %s%s %s", e.Prim, at, e.Reason)
}

func mix(p ir.Primitive, format string, args ...any) error {
	return &MixError{Prim: p.Name(), Reason: fmt.Sprintf(format, args...)}
}

// ---- emit helpers used by rules ----

// Const emits a constant.
func Const(b *ir.Builder, t *tensor.Tensor) *ir.Var { return b.Emit(Constant{Value: t}) }

// Full emits a tensor of the given dtype and shape filled with c (a
// broadcast scalar, c rounded to the dtype).
func Full(b *ir.Builder, c float64, dt tensor.DType, shape []int) *ir.Var {
	s := Const(b, tensor.ScalarOf(dt, c))
	if len(shape) == 0 {
		return s
	}
	return b.Emit(Broadcast{Shape: append([]int{}, shape...), Dims: []int{}}, s)
}

// FullLike emits c everywhere in x's shape and dtype.
func FullLike(b *ir.Builder, c float64, x *ir.Var) *ir.Var { return Full(b, c, x.DType, x.Shape) }

// Zeros emits zeros of the given dtype and shape.
func Zeros(b *ir.Builder, dt tensor.DType, shape []int) *ir.Var { return Full(b, 0, dt, shape) }

// ZerosLike emits zeros of x's shape and dtype.
func ZerosLike(b *ir.Builder, x *ir.Var) *ir.Var { return Full(b, 0, x.DType, x.Shape) }

// Scale emits c*x (c in x's dtype).
func Scale(b *ir.Builder, c float64, x *ir.Var) *ir.Var {
	return b.Emit(Mul{}, FullLike(b, c, x), x)
}

// AddZ adds two possibly-zero (nil) values.
func AddZ(b *ir.Builder, x, y *ir.Var) *ir.Var {
	switch {
	case x == nil:
		return y
	case y == nil:
		return x
	}
	return b.Emit(Add{}, x, y)
}

// MulZ multiplies a possibly-zero tangent t by a primal c.
func MulZ(b *ir.Builder, t, c *ir.Var) *ir.Var {
	if t == nil {
		return nil
	}
	return b.Emit(Mul{}, t, c)
}

// OrZeros materialises a symbolic zero of the given dtype and shape.
func OrZeros(b *ir.Builder, x *ir.Var, dt tensor.DType, shape []int) *ir.Var {
	if x != nil {
		return x
	}
	return Zeros(b, dt, shape)
}

// BroadcastBatch adds a leading axis of size n to an unbatched x.
func BroadcastBatch(b *ir.Builder, x *ir.Var, n int) *ir.Var {
	dims := make([]int, x.Rank())
	for i := range dims {
		dims[i] = i + 1
	}
	return b.Emit(Broadcast{Shape: append([]int{n}, x.Shape...), Dims: dims}, x)
}

// SwapLast transposes the last two axes.
func SwapLast(b *ir.Builder, x *ir.Var) *ir.Var {
	r := x.Rank()
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	return b.Emit(Transpose{Perm: perm}, x)
}

// ReshapeTo emits a reshape unless x already has the shape.
func ReshapeTo(b *ir.Builder, x *ir.Var, shape []int) *ir.Var {
	if tensor.SameShape(x.Shape, shape) {
		return x
	}
	return b.Emit(Reshape{Shape: append([]int{}, shape...)}, x)
}

// ---- small shape utilities ----

func checkArity(in [][]int, n int) error {
	if len(in) != n {
		return fmt.Errorf("takes %d inputs, got %d", n, len(in))
	}
	return nil
}
