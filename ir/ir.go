// Package ir holds jacobi's program representation: variables with static
// shapes and dtypes, equations that apply a primitive to variables, and
// programs that list equations in order. A Builder records equations as a
// Go function is traced or as a transform rewrites a program.
//
// The package knows nothing of what primitives mean; it asks each primitive
// for its output shape (and, for the few that change it, its output dtype)
// and its name when printing.
package ir

import (
	"fmt"
	"strings"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Primitive is an operation that equations apply. Concrete primitives (package
// op) add evaluation and derivative rules; ir only needs shapes and names.
type Primitive interface {
	// Name is the primitive's short name, e.g. "matmul".
	Name() string
	// OutShape checks the input shapes and returns the output shape.
	OutShape(in [][]int) ([]int, error)
}

// DTypeRule is implemented by primitives whose output dtype is not simply
// that of their inputs: constants (their value's), conversions (their
// target). The others take operands of one dtype and give that dtype (a
// primitive of no inputs gives float64).
type DTypeRule interface {
	OutDType(in []tensor.DType) (tensor.DType, error)
}

// OutDType returns the dtype of p's output for inputs of the given dtypes:
// p's own rule, or else the one dtype all inputs share. Operands of
// different dtypes are an error.
func OutDType(p Primitive, in []tensor.DType) (tensor.DType, error) {
	if r, ok := p.(DTypeRule); ok {
		return r.OutDType(in)
	}
	if len(in) == 0 {
		return tensor.Float64, nil
	}
	for i, d := range in[1:] {
		if d != in[0] {
			return 0, &DTypeError{Prim: p.Name(), DTypes: in, Input: i + 1}
		}
	}
	return in[0], nil
}

// DTypeError is the error of a primitive given operands of different
// dtypes.
type DTypeError struct {
	Prim   string
	DTypes []tensor.DType // the inputs' dtypes
	Input  int            // the first input whose dtype differs from input 0's
}

// Error says which operands differ and how to make them agree.
func (e *DTypeError) Error() string {
	return fmt.Sprintf("operands of different dtypes: %v (input 0) and %v (input %d); convert one with Convert",
		e.DTypes[0], e.DTypes[e.Input], e.Input)
}

// Var is a variable of a program: a value of fixed shape and dtype
// produced by one equation or passed in as a program input.
type Var struct {
	Shape []int
	DType tensor.DType
	owner *Builder
}

// Rank returns the number of dimensions of v.
func (v *Var) Rank() int { return len(v.Shape) }

// Size returns the number of elements of v.
func (v *Var) Size() int {
	n := 1
	for _, d := range v.Shape {
		n *= d
	}
	return n
}

// Owner returns the builder that created v.
func (v *Var) Owner() *Builder { return v.owner }

// Eqn applies a primitive to input variables and defines one output variable.
type Eqn struct {
	Prim Primitive
	In   []*Var
	Out  *Var
	// Src says where the equation was traced from (file:line of user code),
	// kept through transforms so errors can point at the user's code.
	Src string
}

// Program is a straight-line list of equations with inputs and outputs.
type Program struct {
	In   []*Var
	Out  []*Var
	Eqns []*Eqn
}

// Builder records equations into a program. Builders nest: a builder with a
// parent can use the parent's variables, which become extra inputs
// (captures) of the inner program.
type Builder struct {
	parent *Builder
	in     []*Var
	eqns   []*Eqn
	err    error

	// Src, when not empty, is recorded on every equation emitted.
	Src string
	// Label, when not empty, names where the equations recorded now come
	// from (a node of a model file) for the tracer to record as their Src
	// in place of the Go line that emitted them. Nested builders inherit it.
	Label string

	finished bool

	captured map[*Var]*Var // parent's var -> input var of this builder
	// CapturedOuter and CapturedInner list captures in order: the parent's
	// variable and the input of this builder that stands for it.
	CapturedOuter, CapturedInner []*Var
}

// NewBuilder returns a builder; parent may be nil.
func NewBuilder(parent *Builder) *Builder {
	return &Builder{parent: parent, captured: map[*Var]*Var{}}
}

// Finish marks the builder as done: its trace has ended, and values of it
// can no longer be used by new traces.
func (b *Builder) Finish() { b.finished = true }

// IsFinished reports whether Finish was called.
func (b *Builder) IsFinished() bool { return b.finished }

// CurrentLabel returns the Label of b or of the nearest enclosing builder
// that has one, or "".
func (b *Builder) CurrentLabel() string {
	for ; b != nil; b = b.parent {
		if b.Label != "" {
			return b.Label
		}
	}
	return ""
}

// Parent returns the enclosing builder, or nil.
func (b *Builder) Parent() *Builder { return b.parent }

// Depth returns how many parents b has.
func (b *Builder) Depth() int {
	d := 0
	for p := b.parent; p != nil; p = p.parent {
		d++
	}
	return d
}

// Input adds a float64 program input of the given shape.
func (b *Builder) Input(shape []int) *Var { return b.InputOf(tensor.Float64, shape) }

// InputOf adds a program input of the given dtype and shape.
func (b *Builder) InputOf(dt tensor.DType, shape []int) *Var {
	v := &Var{Shape: append([]int{}, shape...), DType: dt, owner: b}
	b.in = append(b.in, v)
	return v
}

// InputLike adds a program input of v's dtype and shape.
func (b *Builder) InputLike(v *Var) *Var { return b.InputOf(v.DType, v.Shape) }

// Inputs returns the inputs added so far, captures included.
func (b *Builder) Inputs() []*Var { return b.in }

// Err returns the first error recorded.
func (b *Builder) Err() error { return b.err }

// Fail records err if no error was recorded yet.
func (b *Builder) Fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// Emit appends an equation applying p to in and returns its output. A shape
// or dtype error is recorded on the builder (see Err) and a placeholder
// returned.
func (b *Builder) Emit(p Primitive, in ...*Var) *Var {
	shapes := make([][]int, len(in))
	dtypes := make([]tensor.DType, len(in))
	for i, v := range in {
		if v == nil {
			b.Fail(fmt.Errorf("%s: input %d is missing", p.Name(), i))
			return &Var{Shape: nil, owner: b}
		}
		if v.owner != b {
			b.Fail(fmt.Errorf("%s: input %d belongs to another program (internal error)", p.Name(), i))
			return &Var{Shape: nil, owner: b}
		}
		shapes[i] = v.Shape
		dtypes[i] = v.DType
	}
	if b.err != nil {
		return &Var{Shape: nil, owner: b}
	}
	s, err := p.OutShape(shapes)
	var dt tensor.DType
	if err == nil {
		dt, err = OutDType(p, dtypes)
	}
	if err != nil {
		if b.Src != "" {
			err = fmt.Errorf("%s (at %s): %w", p.Name(), b.Src, err)
		} else {
			err = fmt.Errorf("%s: %w", p.Name(), err)
		}
		b.Fail(err)
		return &Var{Shape: nil, owner: b}
	}
	out := &Var{Shape: s, DType: dt, owner: b}
	b.eqns = append(b.eqns, &Eqn{Prim: p, In: in, Out: out, Src: b.Src})
	return out
}

// Capture makes v, a variable of b or of one of its ancestors, usable in b.
// A parent's variable becomes an input of b (recorded in CapturedOuter and
// CapturedInner), recursively through intermediate builders.
func (b *Builder) Capture(v *Var) (*Var, error) {
	if v.owner == b {
		return v, nil
	}
	if b.parent == nil {
		return nil, fmt.Errorf("a value is used outside the function that traced it (was it kept from an earlier trace?)")
	}
	pv, err := b.parent.Capture(v)
	if err != nil {
		return nil, err
	}
	if iv, ok := b.captured[pv]; ok {
		return iv, nil
	}
	iv := b.InputLike(pv)
	b.captured[pv] = iv
	b.CapturedOuter = append(b.CapturedOuter, pv)
	b.CapturedInner = append(b.CapturedInner, iv)
	return iv, nil
}

// IsAncestorOf reports whether b is a (or a parent of a).
func (b *Builder) IsAncestorOf(a *Builder) bool {
	for ; a != nil; a = a.parent {
		if a == b {
			return true
		}
	}
	return false
}

// Build returns the program with the given outputs, or the first error.
func (b *Builder) Build(out ...*Var) (*Program, error) {
	if b.err != nil {
		return nil, b.err
	}
	for i, v := range out {
		if v == nil || v.owner != b {
			return nil, fmt.Errorf("ir: output %d does not belong to this program", i)
		}
	}
	return &Program{In: append([]*Var{}, b.in...), Out: append([]*Var{}, out...), Eqns: append([]*Eqn{}, b.eqns...)}, nil
}

// Inline emits p's equations into b, with args standing for p's inputs, and
// returns the variables standing for p's outputs.
func (b *Builder) Inline(p *Program, args []*Var) []*Var {
	if len(args) != len(p.In) {
		b.Fail(fmt.Errorf("ir: inlining a program of %d inputs with %d arguments", len(p.In), len(args)))
		return make([]*Var, len(p.Out))
	}
	env := make(map[*Var]*Var, len(p.Eqns)+len(args))
	for i, v := range p.In {
		env[v] = args[i]
	}
	src := b.Src
	for _, e := range p.Eqns {
		in := make([]*Var, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		if e.Src != "" {
			b.Src = e.Src
		}
		env[e.Out] = b.Emit(e.Prim, in...)
		b.Src = src
	}
	out := make([]*Var, len(p.Out))
	for i, v := range p.Out {
		out[i] = env[v]
	}
	return out
}

// Validate checks that every variable is defined before use and that shapes
// and dtypes agree with the primitives' rules.
func (p *Program) Validate() error {
	defined := map[*Var]bool{}
	for _, v := range p.In {
		defined[v] = true
	}
	for i, e := range p.Eqns {
		shapes := make([][]int, len(e.In))
		dtypes := make([]tensor.DType, len(e.In))
		for j, v := range e.In {
			if !defined[v] {
				return fmt.Errorf("ir: equation %d (%s) uses an undefined variable as input %d", i, e.Prim.Name(), j)
			}
			shapes[j] = v.Shape
			dtypes[j] = v.DType
		}
		s, err := e.Prim.OutShape(shapes)
		if err != nil {
			return fmt.Errorf("ir: equation %d (%s): %w", i, e.Prim.Name(), err)
		}
		if !sameShape(s, e.Out.Shape) {
			return fmt.Errorf("ir: equation %d (%s) declares shape %v, rule gives %v", i, e.Prim.Name(), e.Out.Shape, s)
		}
		dt, err := OutDType(e.Prim, dtypes)
		if err != nil {
			return fmt.Errorf("ir: equation %d (%s): %w", i, e.Prim.Name(), err)
		}
		if dt != e.Out.DType {
			return fmt.Errorf("ir: equation %d (%s) declares dtype %v, rule gives %v", i, e.Prim.Name(), e.Out.DType, dt)
		}
		if defined[e.Out] {
			return fmt.Errorf("ir: equation %d (%s) redefines a variable", i, e.Prim.Name())
		}
		defined[e.Out] = true
	}
	for i, v := range p.Out {
		if !defined[v] {
			return fmt.Errorf("ir: output %d is undefined", i)
		}
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String prints the program one equation a line, in the style of a jaxpr:
//
//	{ lambda a:f64[3,5] b:f64[2,5] .
//	  c:f64[3,2] = matmul a b
//	  in (c) }
func (p *Program) String() string {
	names := map[*Var]string{}
	name := func(v *Var) string {
		if n, ok := names[v]; ok {
			return n
		}
		n := varName(len(names))
		names[v] = n
		return n
	}
	typ := func(v *Var) string {
		s := make([]string, len(v.Shape))
		for i, d := range v.Shape {
			s[i] = fmt.Sprint(d)
		}
		return v.DType.Short() + "[" + strings.Join(s, ",") + "]"
	}
	var sb strings.Builder
	sb.WriteString("{ lambda")
	for _, v := range p.In {
		fmt.Fprintf(&sb, " %s:%s", name(v), typ(v))
	}
	sb.WriteString(" .\n")
	for _, e := range p.Eqns {
		args := make([]string, len(e.In))
		for i, v := range e.In {
			args[i] = name(v)
		}
		params := ""
		if s, ok := e.Prim.(fmt.Stringer); ok {
			params = "[" + s.String() + "]"
		}
		fmt.Fprintf(&sb, "  %s:%s = %s%s %s\n", name(e.Out), typ(e.Out), e.Prim.Name(), params, strings.Join(args, " "))
	}
	outs := make([]string, len(p.Out))
	for i, v := range p.Out {
		outs[i] = name(v)
	}
	fmt.Fprintf(&sb, "  in (%s) }", strings.Join(outs, ", "))
	return sb.String()
}

func varName(i int) string {
	s := ""
	for {
		s = string(rune('a'+i%26)) + s
		i = i/26 - 1
		if i < 0 {
			return s
		}
	}
}
