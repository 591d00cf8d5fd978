package jacobi

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Traces nest in time, as in JAX. A session is everything recorded for one
// entry point (Trace, Compile, a one-shot derivative): the traces of the
// functions it runs form a stack, innermost on top. A transform on nodes
// (BatchLaplacianOf, VJPOf, VmapOf, …) pushes a trace for the dynamic
// extent of its function's one call and pops it when the function returns:
// its trace nests in the innermost live trace — whichever that is, not one
// guessed from the arguments — so a derivative inside another derivative's
// function may use the values of every enclosing function. Those values are
// captured as extra inputs of the inner program (closure conversion), and a
// value that outlives its function (kept in a variable, used after the
// function returned) is an error that says so.
//
// The stack belongs to the session, which every node of it reaches through
// its trace: traces on several goroutines at once do not meet.
type session struct {
	top *trace // the innermost live trace; nil once the root has returned

	// err is the first error; errDepth is the depth of the trace that was
	// on top when it happened. Each transform whose function was running
	// then adds its name and line as it returns, so the message reads from
	// the outermost derivative down to the operation that failed.
	err      error
	errDepth int

	// eager marks a session started by a transform whose inputs are all
	// constants: it computes its result at once.
	eager string
}

// A trace records one function: the root function of an entry point, or
// the function of a transform called while it ran.
type trace struct {
	b      *ir.Builder
	s      *session
	parent *trace
	depth  int
	what   string // the transform that started it (e.g. "VJPOf"), "" for the root
	src    string // where the transform was called in user code
	done   bool   // the function has returned
}

func (t *trace) String() string {
	if t.what == "" {
		return "the traced function"
	}
	if t.src == "" {
		return "the function of " + t.what
	}
	return fmt.Sprintf("the function of %s (at %s)", t.what, t.src)
}

// fail records err as the session's error unless it has one.
func (s *session) fail(err error) {
	if s.err == nil && err != nil {
		s.err = err
		s.errDepth = -1
		if s.top != nil {
			s.errDepth = s.top.depth
		}
	}
}

// context prefixes err with the transform that started t.
func (t *trace) context(err error) error {
	if t.what == "" {
		return err
	}
	if t.src == "" {
		return fmt.Errorf("%s: %w", t.what, err)
	}
	return fmt.Errorf("%s (at %s): %w", t.what, t.src, err)
}

// push starts a trace on top of the stack (a root when the stack is empty).
func (s *session) push(what, src string) *trace {
	t := &trace{s: s, parent: s.top, what: what, src: src}
	if s.top != nil {
		t.b, t.depth = ir.NewBuilder(s.top.b), s.top.depth+1
	} else {
		t.b = ir.NewBuilder(nil)
	}
	s.top = t
	return t
}

// pop ends t, which must be on top.
func (s *session) pop(t *trace) {
	if s.top != t {
		panic("jacobi: trace stack out of order") // a bug in jacobi
	}
	s.top, t.done = t.parent, true
	t.b.Finish()
	if s.err != nil && s.errDepth >= t.depth {
		s.err = t.context(s.err)
		s.errDepth = t.depth - 1
	}
}

// placeholder is the node returned by an operation that failed: it stands
// for a value of the right trace, and every operation on it does nothing
// while the session's error makes its way to the entry point.
func (s *session) placeholder() *Node {
	if s.top == nil {
		return &Node{err: s.err}
	}
	return &Node{t: s.top, v: &ir.Var{}}
}

// failNode records err and returns a placeholder.
func (s *session) failNode(err error) *Node {
	s.fail(err)
	return s.placeholder()
}

// sessionOf returns the session of the nodes (nil when all are constants),
// or the error that one of them carries, or an error when they belong to
// different sessions or one has outlived its function. The session is
// returned with the error whenever there is one, for the error to be
// recorded there.
func sessionOf(nodes []*Node) (*session, error) {
	var s *session
	var escaped *trace
	for _, n := range nodes {
		if n == nil {
			return s, errors.New("a node is nil")
		}
		if n.err != nil {
			return s, n.err
		}
		if n.t == nil {
			continue
		}
		switch {
		case s == nil:
			s = n.t.s
		case n.t.s != s:
			return s, otherSession(s, n.t.s)
		}
		if n.t.done && escaped == nil {
			escaped = n.t
		}
	}
	if s != nil && s.err != nil {
		return s, nil // the session's error comes first
	}
	if escaped != nil {
		return s, escapeError(escaped)
	}
	return s, nil
}

func escapeError(t *trace) error {
	if t.what == "" {
		return errors.New("a value of a traced function that has returned is used (was it kept from an earlier Trace or Compile?)")
	}
	return fmt.Errorf("a value escaped %s, which has returned: a value computed inside a derivative's function can be used only inside that function (return it instead)", t)
}

func otherSession(s, o *session) error {
	for _, e := range []*session{s, o} {
		if e.eager != "" {
			return fmt.Errorf("the inputs of %s are all constants, so it is computed on its own, but its function uses a traced value from outside it: give it a traced input", e.eager)
		}
	}
	return errors.New("values of two different traces are combined (was a node kept from another Trace or Compile, or shared with another goroutine?)")
}

// deepest returns the innermost trace among the nodes' (all live and of
// one session, so one is inside all the others), or nil for constants.
func deepest(nodes []*Node) *trace {
	var t *trace
	for _, n := range nodes {
		if n.t != nil && (t == nil || n.t.depth > t.depth) {
			t = n.t
		}
	}
	return t
}

// varIn returns n's variable in t's builder: a constant placed there, or a
// value of t or of an enclosing trace, captured. n belongs to t's session
// and is live (see sessionOf).
func varIn(t *trace, n *Node) (*ir.Var, error) {
	if n.t == nil {
		return op.Const(t.b, n.c), nil
	}
	return t.b.Capture(n.v)
}

// call runs fn once on fresh inputs of the given shapes in a new trace on
// top of s, for the dynamic extent of the call, and returns the program it
// recorded: its inputs are the fresh ones, then one for each value of an
// enclosing trace that fn used (their outer variables are in
// t.b.CapturedOuter). On failure the program is nil and the error is on s.
func (s *session) call(what, src string, shapes [][]int, dtypes []tensor.DType, fn func(in []*Node) []*Node) (prog *ir.Program, t *trace) {
	t = s.push(what, src)
	defer func() {
		if s.top == t { // also when fn panics
			s.pop(t)
		}
	}()
	in := make([]*Node, len(shapes))
	for i, sh := range shapes {
		in[i] = &Node{t: t, v: t.b.InputOf(dtypes[i], sh)}
	}
	outs := fn(in)
	if s.err != nil {
		return nil, t
	}
	vars := make([]*ir.Var, len(outs))
	for i, o := range outs {
		if o == nil {
			s.fail(fmt.Errorf("output %d of the function is nil", i))
			return nil, t
		}
		if _, err := sessionOf([]*Node{o}); err != nil {
			s.fail(fmt.Errorf("output %d of the function: %w", i, err))
			return nil, t
		}
		if o.t != nil && o.t.s != s {
			s.fail(fmt.Errorf("output %d of the function: %w", i, otherSession(s, o.t.s)))
			return nil, t
		}
		v, err := varIn(t, o)
		if err != nil {
			s.fail(fmt.Errorf("output %d of the function: %w", i, err))
			return nil, t
		}
		vars[i] = v
	}
	s.pop(t)
	if s.err != nil {
		return nil, t
	}
	prog, err := t.b.Build(vars...)
	if err != nil {
		s.fail(t.context(err)) // t is popped: the error is its transform's
		return nil, t
	}
	return prog, t
}

// A transformation applies a program transform to a function of nodes
// inside a trace: the derivatives (…Of), ValueAndGradOf and VmapOf are
// each one, and apply is their one entry point.
type transformation struct {
	what        string  // the API function, for errors
	args, extra []*Node // the function's arguments; extra inputs of the transformed program
	in          [][]int // shapes of the function's inputs (of the args' dtypes); nil: those of args
	nout        int     // outputs of the transformed program
	fn          func(in []*Node) []*Node
	// check, when set, vets the arguments before fn runs.
	check func() error
	// build rewrites the program fn recorded (inputs: fn's, then captured
	// values) into one whose inputs are those, then one per extra.
	build func(*ir.Program) (*ir.Program, error)
}

// apply calls fn once in a trace nested in the innermost live trace of the
// arguments' session, lets build rewrite the program fn recorded, and
// inlines the result into that enclosing trace, called with args, the
// values fn captured, then extra. It returns nout nodes; on failure they
// carry the error, prefixed with what and the user's line.
//
// When the arguments are all constants there is no enclosing trace to find:
// the transformation is computed at once, on its own, into constants.
func (c *transformation) apply() []*Node {
	src := callerSrc()
	all := append(append([]*Node{}, c.args...), c.extra...)
	s, err := sessionOf(all)
	if err == nil && c.fn == nil {
		err = errors.New("the function is nil")
	}
	if err == nil && c.check != nil {
		err = c.check()
	}
	ctx := &trace{what: c.what, src: src}
	// fail records err (nil: the error is already recorded) as this
	// transformation's: the trace on top is the one it was called from.
	fail := func(err error) []*Node {
		out := make([]*Node, c.nout)
		for i := range out {
			if s == nil {
				out[i] = &Node{err: ctx.context(err)}
				continue
			}
			if err != nil {
				s.fail(ctx.context(err))
			}
			out[i] = s.placeholder()
		}
		return out
	}
	if err != nil {
		return fail(err)
	}
	if s == nil { // all constants
		return c.eager(src)
	}
	if s.err != nil {
		return fail(nil)
	}
	parent := s.top
	in := c.in
	if in == nil {
		in = make([][]int, len(c.args))
		for i, a := range c.args {
			in[i] = a.Shape()
		}
	}
	argVars := make([]*ir.Var, len(c.args))
	for i, a := range c.args {
		if argVars[i], err = varIn(parent, a); err != nil {
			return fail(err)
		}
	}
	dtypes := make([]tensor.DType, len(c.args))
	for i, a := range c.args {
		dtypes[i] = a.DType()
	}
	prog, t := s.call(c.what, src, in, dtypes, c.fn)
	if prog == nil {
		return fail(nil)
	}
	q, err := c.build(prog)
	if err != nil {
		return fail(err)
	}
	callArgs := append(argVars, t.b.CapturedOuter...)
	for _, e := range c.extra {
		if e.weak && len(callArgs) < len(q.In) {
			// A Go number (a cotangent of 1) takes the dtype the program
			// expects.
			e = &Node{c: e.c.Convert(q.In[len(callArgs)].DType)}
		}
		v, err := varIn(parent, e)
		if err != nil {
			return fail(err)
		}
		callArgs = append(callArgs, v)
	}
	parent.b.Src = src
	vars := parent.b.Inline(q, callArgs)
	parent.b.Src = ""
	if err := parent.b.Err(); err != nil {
		return fail(err)
	}
	if len(vars) != c.nout {
		return fail(fmt.Errorf("the transformed program has %d outputs, want %d (a bug in jacobi)", len(vars), c.nout))
	}
	out := make([]*Node, c.nout)
	for i, v := range vars {
		out[i] = &Node{t: parent, v: v}
	}
	return out
}

// eager computes a transform of constants at once: in a session of its
// own, whose root holds the constants, then evaluated.
func (c *transformation) eager(src string) []*Node {
	s := &session{eager: fmt.Sprintf("%s (at %s)", c.what, src)}
	root := s.push("", "")
	constants := func(ns []*Node) []*Node {
		l := make([]*Node, len(ns))
		for i, n := range ns {
			l[i] = &Node{t: root, v: op.Const(root.b, n.c)}
		}
		return l
	}
	res, err := func() (res []*Node, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic while tracing: %v\n%s", r, debug.Stack())
			}
		}()
		inner := *c
		inner.args, inner.extra = constants(c.args), constants(c.extra)
		return inner.apply(), nil
	}()
	if s.top == root {
		s.pop(root)
	}
	fail := func(err error) []*Node {
		ns := make([]*Node, c.nout)
		for i := range ns {
			ns[i] = &Node{err: err}
		}
		return ns
	}
	ctx := &trace{what: c.what, src: src}
	switch {
	case err != nil:
		return fail(ctx.context(err))
	case s.err != nil:
		return fail(s.err) // the inner apply named the transformation
	}
	vars := make([]*ir.Var, len(res))
	for i, r := range res {
		vars[i] = r.v
	}
	p, err := root.b.Build(vars...)
	if err != nil {
		return fail(ctx.context(err))
	}
	vals, err := exec.Run(p)
	if err != nil {
		return fail(ctx.context(err))
	}
	ns := make([]*Node, len(vals))
	for i, v := range vals {
		ns[i] = &Node{c: v}
	}
	return ns
}
