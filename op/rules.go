package op

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Families. Most rules are not written primitive by primitive: they follow
// from what kind of function a primitive is, as JAX derives them with
// defvectorized, deflinear and defjvp. A primitive says which families it
// belongs to by implementing their interfaces, and writes only the rules
// its families do not give. RulesOf assembles the rules a transform needs:
// the primitive's own where it has them, the derived ones elsewhere.
//
//	family          gives
//	Elementwise     Batch, Unbatch (vectorised), FLOPs, the runtime's fused lowering
//	Smooth          JVP and Taylor from the derivatives g' and g”
//	LinearMap       JVP and Taylor (the primitive applied to the coefficients), zeros in give zeros out
//	Bilinear        JVP and Taylor (the product rule), a zero operand gives zeros
//	ZeroDerivative  JVP and Taylor (zero)
//	View            the runtime's strided lowering, identities (a uniform input stays uniform; a view that changes nothing is its input)

// RowKernel computes one contiguous row d of an elementwise primitive from
// rows of its operands (a, b, c: as many as it has; the others are nil).
// The operand rows may be longer than d.
type RowKernel func(d, a, b, c []float64)

// RowKernel32 is RowKernel for float32 values, computed in float32.
type RowKernel32 func(d, a, b, c []float32)

// Elementwise is implemented by primitives that apply a scalar function
// position by position to inputs of one shape (and one dtype, which is the
// output's).
type Elementwise interface {
	ir.Primitive
	// Kernel returns the runtime's kernel for one row of float64 values.
	Kernel() RowKernel
	// Kernel32 returns the runtime's kernel for one row of float32 values.
	Kernel32() RowKernel32
	// ElementFLOPs is what the cost model charges for one output element.
	ElementFLOPs() float64
}

// Smooth is implemented by elementwise primitives of one input, y = g(x),
// that give their first and second derivatives as expressions.
type Smooth interface {
	Elementwise
	// Deriv emits g'(x), given x and y = g(x); nil means zero.
	Deriv(b *ir.Builder, x, y *ir.Var) *ir.Var
	// Deriv2 emits g”(x), given x, y = g(x) and d1 = g'(x) as Deriv emitted it.
	Deriv2(b *ir.Builder, x, y, d1 *ir.Var) *ir.Var
}

// LinearMap is implemented by linear primitives that are linear in their
// linear inputs together (a sum, a rearrangement) and whose other inputs
// only select (Select's predicate: zero derivative). Bilinear primitives
// are linear in each input separately and are not linear maps.
type LinearMap interface {
	ir.Primitive
	Linear
	linearMap()
}

// Bilinear is implemented by products: linear in each of their two inputs
// with the other held fixed.
type Bilinear interface {
	ir.Primitive
	Linear
	bilinear()
}

// ZeroDerivative is implemented by primitives whose derivative is zero
// wherever it exists (comparisons, constants).
type ZeroDerivative interface {
	ir.Primitive
	zeroDerivative()
}

// View is implemented by primitives whose output is a strided view of their
// one input: the runtime runs them as new strides over the input's memory.
type View interface {
	ir.Primitive
	// View returns the output's offset and strides given the input's, or
	// false when the input's layout admits no view (a reshape of a
	// non-contiguous input), which a contiguous input always does.
	View(off int, strides, in, out []int) (int, []int, bool)
}

// Lowering says how the runtime runs a primitive.
type Lowering int

// The lowerings.
const (
	// Evaluated: the primitive's Eval, on contiguous copies of the inputs.
	Evaluated Lowering = iota + 1
	// Fused: an elementwise step by its row kernel, fused with the
	// elementwise equations around it.
	Fused
	// Strided: a view, new strides over the input's memory (no step).
	Strided
	// Literal: a constant buffer, the primitive's Eval of no inputs.
	Literal
	// MatrixProduct: the runtime's strided matrix product.
	MatrixProduct
	// Reduction: the runtime's strided sum.
	Reduction
	// Conversion: the runtime's converting copy (Convert).
	Conversion
	// Generated: values of no inputs written on every run into the run's
	// memory (a Generator: Basis).
	Generated
)

// String names the lowering.
func (l Lowering) String() string {
	switch l {
	case Evaluated:
		return "evaluated"
	case Fused:
		return "fused"
	case Strided:
		return "strided"
	case Literal:
		return "literal"
	case MatrixProduct:
		return "matrix product"
	case Reduction:
		return "reduction"
	case Conversion:
		return "conversion"
	case Generated:
		return "generated"
	}
	return fmt.Sprintf("Lowering(%d)", int(l))
}

// Lowerer is implemented by primitives that are neither elementwise nor
// views, to say how the runtime runs them.
type Lowerer interface {
	Lowering() Lowering
}

// CostRule gives the cost model's FLOP count of one evaluation, from the
// input and output shapes. Elementwise primitives derive it.
type CostRule interface {
	FLOPs(in [][]int, out []int) float64
}

// An Operand is what Simplify knows of one input of an equation: the
// variable (never nil), the value it holds at every position when
// Uniform, and whether it is an identity matrix (a Basis of a vector
// shape, generated at run time).
type Operand struct {
	Var      *ir.Var
	Uniform  bool
	Fill     float64
	Identity bool
}

// IsFill reports whether the operand holds c at every position.
func (o Operand) IsFill(c float64) bool { return o.Uniform && o.Fill == c }

// A Rewrite is what an algebraic identity reduces an equation to.
type Rewrite struct {
	Kind RewriteKind
	// Input: the equation's output is input Input (UseInput).
	Input int
	// Fill: the output holds Fill at every position (UseFill).
	Fill float64
	// Prim applied to the inputs numbered Args (Apply).
	Prim ir.Primitive
	Args []int
}

// RewriteKind says which field of a Rewrite holds.
type RewriteKind int

// The kinds of rewrites.
const (
	NoRewrite RewriteKind = iota
	UseInput
	UseFill
	Apply
)

// IdentityRule gives a primitive's own algebraic identities (x + 0 = x,
// x·1 = x, …), for Simplify; families add theirs (see RulesOf).
type IdentityRule interface {
	Identity(in []Operand, out []int) Rewrite
}

// Rules is everything the transforms, the cost model and the runtime ask
// of a primitive. RulesOf assembles it.
type Rules interface {
	ir.Primitive
	Evaluator
	JVPRule
	BatchRule
	UnbatchRule
	TaylorRule
	CostRule
	IdentityRule
	// Lowering says how the runtime runs the primitive.
	Lowering() Lowering
}

// RulesOf returns p's rules: its own methods, and for each rule it lacks
// the one its families derive. It fails, naming the missing rules, for a
// primitive that has neither: such a primitive does not exist.
func RulesOf(p ir.Primitive) (Rules, error) {
	cache := cacheable(reflect.TypeOf(p))
	if cache {
		if r, ok := rulesCache.Load(p); ok {
			return r.(Rules), nil
		}
	}
	r, err := rulesOf(p)
	if err == nil && cache {
		rulesCache.Store(p, r)
	}
	return r, err
}

// rulesCache holds the rules of primitives whose parameters are plain
// values (see cacheable): assembling them is a good part of a transform's
// time, every equation asking again.
var rulesCache, cacheableTypes sync.Map

// cacheable reports whether primitives of type t can key rulesCache: a
// struct of integers, strings and booleans only, so that equal values have
// equal rules and the cache holds no pointers (a constant's tensor).
func cacheable(t reflect.Type) bool {
	if c, ok := cacheableTypes.Load(t); ok {
		return c.(bool)
	}
	c := t.Kind() == reflect.Struct
	for i := 0; c && i < t.NumField(); i++ {
		switch t.Field(i).Type.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.String:
		default:
			c = false
		}
	}
	cacheableTypes.Store(t, c)
	return c
}

func rulesOf(p ir.Primitive) (Rules, error) {
	r := ruleSet{Primitive: p}
	var missing []string
	var ok bool
	if r.Evaluator, ok = p.(Evaluator); !ok {
		missing = append(missing, "eval")
	}
	if r.JVPRule = jvpOf(p); r.JVPRule == nil {
		missing = append(missing, "jvp")
	}
	if r.BatchRule = batchOf(p); r.BatchRule == nil {
		missing = append(missing, "batch")
	}
	if r.UnbatchRule = unbatchOf(p); r.UnbatchRule == nil {
		missing = append(missing, "unbatch")
	}
	if r.TaylorRule = taylorOf(p); r.TaylorRule == nil {
		missing = append(missing, "taylor")
	}
	if r.CostRule = costOf(p); r.CostRule == nil {
		missing = append(missing, "cost")
	}
	if r.lowering = LoweringOf(p); r.lowering == 0 {
		missing = append(missing, "lowering")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("primitive %s has no %s rule (internal error)", p.Name(), strings.Join(missing, ", "))
	}
	r.IdentityRule = identitiesOf(p)
	return r, nil
}

// MustRules is RulesOf for primitives known to be complete (package op's
// own, emitted by rules); it panics otherwise.
func MustRules(p ir.Primitive) Rules {
	r, err := RulesOf(p)
	if err != nil {
		panic(err)
	}
	return r
}

type ruleSet struct {
	ir.Primitive
	Evaluator
	JVPRule
	BatchRule
	UnbatchRule
	TaylorRule
	CostRule
	IdentityRule
	lowering Lowering
}

func (r ruleSet) Lowering() Lowering { return r.lowering }

// LoweringOf returns how the runtime runs p: fused for elementwise
// primitives, strided for views, and otherwise what p declares (0 when it
// declares nothing).
func LoweringOf(p ir.Primitive) Lowering {
	switch p := p.(type) {
	case Elementwise:
		return Fused
	case View:
		return Strided
	case Lowerer:
		return p.Lowering()
	}
	return 0
}

// ---- derived rules ----

// Function types that implement the rule interfaces, for derived rules.
type (
	jvpFunc     func(b *ir.Builder, x []*ir.Var, y *ir.Var, t []*ir.Var) *ir.Var
	batchFunc   func(b *ir.Builder, in []*ir.Var, batched []bool, n int) *ir.Var
	unbatchFunc func(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error)
	taylorFunc  func(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var)
	costFunc    func(in [][]int, out []int) float64
	identFunc   func(in []Operand, out []int) Rewrite
)

func (f jvpFunc) JVP(b *ir.Builder, x []*ir.Var, y *ir.Var, t []*ir.Var) *ir.Var {
	return f(b, x, y, t)
}
func (f batchFunc) Batch(b *ir.Builder, in []*ir.Var, batched []bool, n int) *ir.Var {
	return f(b, in, batched, n)
}
func (f unbatchFunc) Unbatch(b *ir.Builder, in []*ir.Var, axes []int, shapes [][]int, drop Dropper) (*ir.Var, int, error) {
	return f(b, in, axes, shapes, drop)
}
func (f taylorFunc) Taylor(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
	return f(t, x0, y0, x1, x2)
}
func (f costFunc) FLOPs(in [][]int, out []int) float64       { return f(in, out) }
func (f identFunc) Identity(in []Operand, out []int) Rewrite { return f(in, out) }

func jvpOf(p ir.Primitive) JVPRule {
	switch q := p.(type) {
	case JVPRule:
		return q
	case Smooth:
		// y' = g'(x)·x'.
		return jvpFunc(func(b *ir.Builder, x []*ir.Var, y *ir.Var, t []*ir.Var) *ir.Var {
			if t[0] == nil {
				return nil
			}
			d := q.Deriv(b, x[0], y)
			if d == nil {
				return nil
			}
			return b.Emit(Mul{}, t[0], d)
		})
	case ZeroDerivative:
		return jvpFunc(func(*ir.Builder, []*ir.Var, *ir.Var, []*ir.Var) *ir.Var { return nil })
	case LinearMap:
		// The map applied to the tangents (zeros for the missing ones),
		// selectors held at their primal values.
		return jvpFunc(func(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
			args, any := linearArgs(b, q, x, t, func(i int) []int { return x[i].Shape })
			if !any {
				return nil
			}
			return b.Emit(q, args...)
		})
	case Bilinear:
		// (a∘c)' = a'∘c + a∘c'.
		return jvpFunc(func(b *ir.Builder, x []*ir.Var, _ *ir.Var, t []*ir.Var) *ir.Var {
			var l, r *ir.Var
			if t[0] != nil {
				l = b.Emit(q, t[0], x[1])
			}
			if t[1] != nil {
				r = b.Emit(q, x[0], t[1])
			}
			return AddZ(b, l, r)
		})
	}
	return nil
}

// linearArgs returns the inputs of a linear map applied to coefficients c:
// c[i] (zeros of shape(i) where nil) at linear positions, the primal x[i]
// at the others; any reports whether some linear coefficient is not nil.
func linearArgs(b *ir.Builder, p Linear, x, c []*ir.Var, shape func(i int) []int) ([]*ir.Var, bool) {
	args := make([]*ir.Var, len(x))
	any := false
	for i := range x {
		if !p.LinearIn(i) {
			args[i] = x[i]
			continue
		}
		any = any || c[i] != nil
	}
	if !any {
		return nil, false
	}
	for i := range x {
		if p.LinearIn(i) {
			args[i] = OrZeros(b, c[i], x[i].DType, shape(i))
		}
	}
	return args, true
}

func batchOf(p ir.Primitive) BatchRule {
	switch q := p.(type) {
	case BatchRule:
		return q
	case Elementwise:
		return batchFunc(func(b *ir.Builder, in []*ir.Var, batched []bool, n int) *ir.Var {
			return batchElementwise(b, q, in, batched, n)
		})
	}
	return nil
}

func unbatchOf(p ir.Primitive) UnbatchRule {
	switch q := p.(type) {
	case UnbatchRule:
		return q
	case Elementwise:
		return unbatchFunc(func(b *ir.Builder, in []*ir.Var, axes []int, _ [][]int, drop Dropper) (*ir.Var, int, error) {
			return unbatchElementwise(b, q, in, axes, drop)
		})
	}
	return nil
}

func taylorOf(p ir.Primitive) TaylorRule {
	switch q := p.(type) {
	case TaylorRule:
		return q
	case Smooth:
		return taylorFunc(func(t *TaylorCtx, x0 []*ir.Var, y0 *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
			var d1 *ir.Var
			return taylorUnary(t, x1[0], x2[0],
				func() *ir.Var {
					d1 = q.Deriv(t.B, x0[0], y0)
					return d1
				},
				func() *ir.Var { return q.Deriv2(t.B, x0[0], y0, d1) })
		})
	case ZeroDerivative:
		return taylorFunc(func(*TaylorCtx, []*ir.Var, *ir.Var, []*ir.Var, []*ir.Var) (*ir.Var, *ir.Var) {
			return nil, nil
		})
	case LinearMap:
		return taylorFunc(func(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
			return taylorLinear(t, q, x0, x1, x2)
		})
	case Bilinear:
		return taylorFunc(func(t *TaylorCtx, x0 []*ir.Var, _ *ir.Var, x1, x2 []*ir.Var) (*ir.Var, *ir.Var) {
			return taylorBilinear(t, q, x0, x1, x2)
		})
	}
	return nil
}

func costOf(p ir.Primitive) CostRule {
	switch q := p.(type) {
	case CostRule:
		return q
	case Elementwise:
		f := q.ElementFLOPs()
		return costFunc(func(_ [][]int, out []int) float64 { return f * float64(tensor.Size(out)) })
	}
	return nil
}

// identitiesOf composes the identities of p's families with its own; the
// first that applies wins.
func identitiesOf(p ir.Primitive) IdentityRule {
	var rules []func(in []Operand, out []int) Rewrite
	if v, ok := p.(View); ok {
		rules = append(rules, func(in []Operand, out []int) Rewrite {
			// A uniform input stays uniform; a view that keeps the
			// input's shape and order is the input.
			if in[0].Uniform {
				return Rewrite{Kind: UseFill, Fill: in[0].Fill}
			}
			s := in[0].Var.Shape
			if tensor.SameShape(s, out) {
				if off, st, ok := v.View(0, tensor.Strides(s), s, out); ok && off == 0 && rowMajor(out, st) {
					return Rewrite{Kind: UseInput, Input: 0}
				}
			}
			return Rewrite{}
		})
	}
	if m, ok := p.(LinearMap); ok {
		rules = append(rules, func(in []Operand, _ []int) Rewrite {
			// Zeros in, zeros out.
			for i, o := range in {
				if m.LinearIn(i) && !o.IsFill(0) {
					return Rewrite{}
				}
			}
			return Rewrite{Kind: UseFill}
		})
	}
	if _, ok := p.(Bilinear); ok {
		rules = append(rules, func(in []Operand, _ []int) Rewrite {
			if in[0].IsFill(0) || in[1].IsFill(0) {
				return Rewrite{Kind: UseFill}
			}
			return Rewrite{}
		})
	}
	if own, ok := p.(IdentityRule); ok {
		rules = append(rules, own.Identity)
	}
	return identFunc(func(in []Operand, out []int) Rewrite {
		for _, r := range rules {
			if w := r(in, out); w.Kind != NoRewrite {
				return w
			}
		}
		return Rewrite{}
	})
}

// rowMajor reports whether strides walk shape contiguously in row-major
// order (axes of size 1 may have any stride).
func rowMajor(shape, strides []int) bool {
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] != 1 && strides[d] != acc {
			return false
		}
		acc *= shape[d]
	}
	return true
}

// Check reports every rule p lacks, and family declarations that
// contradict each other; nil when p is complete.
func Check(p ir.Primitive) error {
	var errs []error
	if _, err := RulesOf(p); err != nil {
		errs = append(errs, err)
	}
	_, ew := p.(Elementwise)
	_, view := p.(View)
	_, lowerer := p.(Lowerer)
	if n := btoi(ew) + btoi(view) + btoi(lowerer); n > 1 {
		errs = append(errs, fmt.Errorf("primitive %s declares %d lowerings (elementwise, view, Lowering): one only", p.Name(), n))
	}
	_, m := p.(LinearMap)
	_, bl := p.(Bilinear)
	_, sm := p.(Smooth)
	_, zd := p.(ZeroDerivative)
	if n := btoi(m) + btoi(bl) + btoi(sm) + btoi(zd); n > 1 {
		errs = append(errs, fmt.Errorf("primitive %s is in %d derivative families (linear map, bilinear, smooth, zero derivative): at most one", p.Name(), n))
	}
	return errors.Join(errs...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// useInput is the rewrite "the output is input i".
func useInput(i int) Rewrite { return Rewrite{Kind: UseInput, Input: i} }

// useFill is the rewrite "the output holds c everywhere".
func useFill(c float64) Rewrite { return Rewrite{Kind: UseFill, Fill: c} }
