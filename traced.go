package jacobi

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// traceProgram records f on inputs of the given shapes. Panics inside f (a
// bug in the user's function or in jacobi) become errors.
func traceProgram(f MultiFn, shapes [][]int, dtypes []tensor.DType) (prog *ir.Program, err error) {
	if f == nil {
		return nil, errors.New("the function is nil")
	}
	s := &session{}
	defer func() {
		if r := recover(); r != nil {
			// A failed operation returns a placeholder without a shape, on
			// which user code may well panic: the first error explains it.
			if prog, err = nil, s.err; err == nil {
				err = fmt.Errorf("panic while tracing: %v\n%s", r, debug.Stack())
			}
		}
	}()
	prog, _ = s.call("", "", shapes, dtypes, f)
	return prog, s.err
}

// Traced is a function traced once into a program, run as many times as
// wanted on inputs of the traced shapes. It is safe for concurrent use.
type Traced struct {
	prog  *ir.Program
	plan  *exec.Plan
	split *exec.Split // nil: the program runs whole, for the reason in whole
	whole error
	args  sync.Pool // of *wholeArgs, for runs of the whole program
}

type wholeArgs struct{ in, out []exec.Values }

// Trace records f on inputs of the given shapes, simplifies the program and
// prepares it to run.
//
// When the inputs whose leading dimension is some b carry a batch of b
// samples that f treats one by one except for sums over them (a loss that
// is a mean over the batch and its gradients with respect to parameters),
// Run computes the per-sample work in chunks of samples that stay in cache,
// side by side (WithWorkers; default one per core), and adds up the chunks'
// parts of the sums in chunk order. The chunk size comes from the cost
// model (or WithChunk), so results do not depend on the number of workers.
// WhyNotSplit says why a program runs whole.
//
// The inputs are float64, or of the dtype WithDType sets.
func Trace(f MultiFn, shapes [][]int, opts ...RunOption) (*Traced, error) {
	_, rc, err := configure(opts)
	if err != nil {
		return nil, apiError(err)
	}
	t, err := traceOnce(f, shapes, sameDTypes(len(shapes), rc.dtype))
	if err != nil {
		return nil, apiError(err)
	}
	chunk := 0
	if rc.chunkSet {
		chunk = rc.chunk
	}
	t.split, t.whole = exec.NewSplit(t.prog, chunk, rc.workers)
	return t, nil
}

// sameDTypes returns n times dt.
func sameDTypes(n int, dt tensor.DType) []tensor.DType {
	d := make([]tensor.DType, n)
	for i := range d {
		d[i] = dt
	}
	return d
}

// dtypesOf returns the tensors' dtypes (float64 for a nil one: its error
// comes later).
func dtypesOf(ts []*tensor.Tensor) []tensor.DType {
	d := make([]tensor.DType, len(ts))
	for i, t := range ts {
		if t != nil {
			d[i] = t.DType()
		}
	}
	return d
}

// traceOnce is Trace for a program run once: it does not look for a split.
func traceOnce(f MultiFn, shapes [][]int, dtypes []tensor.DType) (*Traced, error) {
	p, err := traceProgram(f, shapes, dtypes)
	if err != nil {
		return nil, err
	}
	if p, err = transform.Simplify(p); err != nil {
		return nil, err
	}
	plan, err := exec.Compile(p)
	if err != nil {
		return nil, err
	}
	t := &Traced{prog: p, plan: plan, whole: errors.New("it was traced to run once")}
	t.args.New = func() any {
		return &wholeArgs{in: make([]exec.Values, len(p.In)), out: make([]exec.Values, len(p.Out))}
	}
	return t, nil
}

// String prints the program.
func (t *Traced) String() string { return t.prog.String() }

// Cost returns the cost model's FLOPs and bytes for one run.
func (t *Traced) Cost() transform.Cost { return transform.CostOf(t.prog) }

// OutShapes returns the shapes of the outputs, for RunInto.
func (t *Traced) OutShapes() [][]int {
	s := make([][]int, len(t.prog.Out))
	for i, v := range t.prog.Out {
		s[i] = append([]int{}, v.Shape...)
	}
	return s
}

// WhyNotSplit returns nil when Run computes the per-sample work in chunks
// of the batch (see Trace), and otherwise why it runs the whole program
// at once, in terms of the traced function: the operation that mixes
// samples and the line of code that recorded it (an *op.MixError, for
// errors.As), per-sample work too small to be worth chunks, or a batch
// that fits in one chunk.
func (t *Traced) WhyNotSplit() error {
	if t.whole == nil {
		return nil
	}
	return apiError(fmt.Errorf("the program runs whole: %w", t.whole))
}

// Run evaluates the program. Large outputs come from memory recycled from
// earlier outputs that nothing refers to any more; RunInto allocates
// nothing.
func (t *Traced) Run(in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	out, err := t.run(in)
	return out, apiError(err)
}

func (t *Traced) run(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(t.prog.Out))
	for i, v := range t.prog.Out {
		o, err := exec.NewOutputTensor(v.DType, v.Shape)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	if err := t.runInto(in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto evaluates the program into out, tensors of OutShapes(), which it
// overwrites. Once the first run has compiled what it needs, a run
// allocates nothing (matrix products that run on several cores at once,
// in a program run whole, excepted).
func (t *Traced) RunInto(in, out []*tensor.Tensor) error {
	return apiError(t.runInto(in, out))
}

func (t *Traced) runInto(in, out []*tensor.Tensor) error {
	p := t.prog
	if len(in) != len(p.In) {
		return fmt.Errorf("the program takes %d inputs, got %d", len(p.In), len(in))
	}
	if len(out) != len(p.Out) {
		return fmt.Errorf("the program returns %d outputs, got room for %d", len(p.Out), len(out))
	}
	for i, x := range in {
		if x == nil {
			return fmt.Errorf("input %d is nil", i)
		}
		if !tensor.SameShape(x.Shape(), p.In[i].Shape) {
			return fmt.Errorf("input %d has shape %v, the program expects %v", i, x.Shape(), p.In[i].Shape)
		}
		if x.DType() != p.In[i].DType {
			return fmt.Errorf("input %d is %v, the program takes %v (see WithDType)", i, x.DType(), p.In[i].DType)
		}
	}
	for i, o := range out {
		if o == nil {
			return fmt.Errorf("output %d is nil", i)
		}
		if !tensor.SameShape(o.Shape(), p.Out[i].Shape) {
			return fmt.Errorf("output %d has shape %v, the program returns %v", i, o.Shape(), p.Out[i].Shape)
		}
		if o.DType() != p.Out[i].DType {
			return fmt.Errorf("output %d is %v, the program returns %v", i, o.DType(), p.Out[i].DType)
		}
	}
	if t.split != nil {
		return t.split.RunInto(in, out)
	}
	a := t.args.Get().(*wholeArgs)
	defer t.args.Put(a)
	for i, x := range in {
		a.in[i] = exec.ValuesOf(x)
	}
	for i, o := range out {
		a.out[i] = exec.ValuesOf(o)
	}
	err := t.plan.RunInto(a.in, a.out)
	clear(a.in)
	clear(a.out)
	return err
}

// ValueAndGrad returns f's value and its gradient with respect to every
// input (f must have a single-element output), e.g. a training loss and
// the gradients of the parameters. To run the same step many times, Trace
// a function that returns ValueAndGradOf's results instead.
func ValueAndGrad(f LossFn, in ...*tensor.Tensor) (*tensor.Tensor, []*tensor.Tensor, error) {
	shapes := make([][]int, len(in))
	for i, t := range in {
		if t == nil {
			return nil, nil, apiError(fmt.Errorf("input %d is nil", i))
		}
		shapes[i] = t.Shape()
	}
	t, err := traceOnce(func(xs []*Node) []*Node {
		v, g := ValueAndGradOf(f, xs)
		return append([]*Node{v}, g...)
	}, shapes, dtypesOf(in))
	if err != nil {
		return nil, nil, apiError(err)
	}
	outs, err := t.run(in)
	if err != nil {
		return nil, nil, apiError(err)
	}
	return outs[0], outs[1:], nil
}

// ---- one-shot functions on tensors ----

// evalOne traces g at x and runs it once.
func evalOne(g Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, apiError(fmt.Errorf("input is nil"))
	}
	t, err := traceOnce(func(in []*Node) []*Node { return []*Node{g(in[0])} }, [][]int{x.Shape()}, []tensor.DType{x.DType()})
	if err != nil {
		return nil, apiError(err)
	}
	out, err := t.run([]*tensor.Tensor{x})
	if err != nil {
		return nil, apiError(err)
	}
	return out[0], nil
}

// Eval traces f at x and evaluates it.
func Eval(f Fn, x *tensor.Tensor) (*tensor.Tensor, error) { return evalOne(f, x) }

// Jacobian returns the full Jacobian of f at x, shaped f(x).shape ++
// x.shape, as PyTorch's jacobian does: for a batch, mostly zero blocks
// between different samples. Use BatchJacobian for per-sample Jacobians.
func Jacobian(f Fn, x *tensor.Tensor, opts ...JacobianOption) (*tensor.Tensor, error) {
	d, _, err := configure(opts)
	if err != nil {
		return nil, apiError(fmt.Errorf("Jacobian: %w", err))
	}
	return evalOne(func(x *Node) *Node { return jacobianOf(f, x, d, nil) }, x)
}

// Hessian returns the full Hessian of a function with a single-element
// output, shaped x.shape ++ x.shape (WithMethod: as HessianOf).
func Hessian(f Fn, x *tensor.Tensor, opts ...HessianOption) (*tensor.Tensor, error) {
	return evalOne(func(x *Node) *Node { return HessianOf(f, x, opts...) }, x)
}

// Grad returns the gradient of a function with a single-element output.
func Grad(f Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
	return evalOne(func(x *Node) *Node { return GradOf(f, x) }, x)
}

// JVP returns f(x) and the Jacobian-vector product J·v (v shaped like x).
func JVP(f Fn, x, v *tensor.Tensor) (y, jv *tensor.Tensor, err error) {
	return pair(f, x, v, JVPOf)
}

// VJP returns f(x) and the vector-Jacobian product uᵀ·J (u shaped like f(x)).
func VJP(f Fn, x, u *tensor.Tensor) (y, vj *tensor.Tensor, err error) {
	return pair(f, x, u, VJPOf)
}

// BatchJet returns, per sample of the batch x, f(x), the derivatives of f
// along the rows of dirs and the second-order operator with weights and
// drift, from one pass of collapsed Taylor mode: see BatchJetOf.
func BatchJet(f Fn, x, dirs *tensor.Tensor, weights []float64, drift *tensor.Tensor) (y, dy, lf *tensor.Tensor, err error) {
	if x == nil {
		return nil, nil, nil, apiError(fmt.Errorf("BatchJet: input is nil"))
	}
	t, err := traceOnce(func(in []*Node) []*Node {
		y, dy, lf := BatchJetOf(f, in[0], dirs, weights, drift)
		return []*Node{y, dy, lf}
	}, [][]int{x.Shape()}, []tensor.DType{x.DType()})
	if err != nil {
		return nil, nil, nil, apiError(err)
	}
	out, err := t.run([]*tensor.Tensor{x})
	if err != nil {
		return nil, nil, nil, apiError(err)
	}
	return out[0], out[1], out[2], nil
}

func pair(f Fn, x, v *tensor.Tensor, of func(Fn, *Node, *Node) (*Node, *Node)) (*tensor.Tensor, *tensor.Tensor, error) {
	if x == nil || v == nil {
		return nil, nil, apiError(fmt.Errorf("nil input"))
	}
	t, err := traceOnce(func(in []*Node) []*Node {
		y, d := of(f, in[0], in[1])
		return []*Node{y, d}
	}, [][]int{x.Shape(), v.Shape()}, []tensor.DType{x.DType(), v.DType()})
	if err != nil {
		return nil, nil, apiError(err)
	}
	out, err := t.run([]*tensor.Tensor{x, v})
	if err != nil {
		return nil, nil, apiError(err)
	}
	return out[0], out[1], nil
}

// apiError prefixes an error with the package name, once, where it leaves
// the package: inner layers add only what failed and where.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("jacobi: %w", err)
}
