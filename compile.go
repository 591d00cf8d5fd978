package jacobi

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// traceProgram records f on inputs of the given shapes. Panics inside f (a
// bug in the user's function or in jacobi) become errors.
func traceProgram(f MultiFn, shapes [][]int) (prog *ir.Program, err error) {
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
	prog, _ = s.call("", "", shapes, f)
	return prog, s.err
}

// Traced is a function traced once into a program, run as many times as
// wanted on inputs of the traced shapes.
type Traced struct {
	prog  *ir.Program
	plan  *exec.Plan
	split *splitRun // nil: the program runs whole
}

// Trace records f on inputs of the given shapes, simplifies the program and
// prepares it to run.
//
// When the inputs whose leading dimension is some b carry a batch of b
// samples that f treats one by one except for sums over them (a loss that
// is a mean over the batch and its gradients with respect to parameters),
// Run computes the per-sample work in chunks of samples that stay in cache,
// one chunk per core, and adds up the chunks' parts of the sums in chunk
// order. The chunk size comes from the cost model (or WithChunk), so
// results do not depend on the number of cores.
func Trace(f MultiFn, shapes [][]int, opts ...RunOption) (*Traced, error) {
	_, rc, err := configure(opts)
	if err != nil {
		return nil, apiError(err)
	}
	t, err := traceOnce(f, shapes)
	if err != nil {
		return nil, apiError(err)
	}
	t.split = newSplitRun(t.prog, rc)
	return t, nil
}

// traceOnce is Trace for a program run once: it does not look for a split.
func traceOnce(f MultiFn, shapes [][]int) (*Traced, error) {
	p, err := traceProgram(f, shapes)
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
	return &Traced{prog: p, plan: plan}, nil
}

// String prints the program.
func (t *Traced) String() string { return t.prog.String() }

// Cost returns the cost model's FLOPs and bytes for one run.
func (t *Traced) Cost() transform.Cost { return transform.CostOf(t.prog) }

// Run evaluates the program. It is safe for concurrent use.
func (t *Traced) Run(in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	out, err := t.run(in)
	return out, apiError(err)
}

func (t *Traced) run(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	for i, x := range in {
		if x == nil {
			return nil, fmt.Errorf("input %d is nil", i)
		}
	}
	if t.split != nil {
		return t.split.run(in)
	}
	return t.plan.Run(in)
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
	}, shapes)
	if err != nil {
		return nil, nil, apiError(err)
	}
	outs, err := t.run(in)
	if err != nil {
		return nil, nil, apiError(err)
	}
	return outs[0], outs[1:], nil
}

// Compiled is a per-sample function traced and transformed once. Run takes
// any batch size and runs it in chunks of samples on several goroutines.
type Compiled struct {
	cfg      runConfig
	prog     *ir.Program // maps one sample to its outputs
	inShape  []int       // shape of one sample
	outShape []int       // shape of one sample's output

	// minSamples is the smallest chunk worth running on its own: enough
	// samples for minChunkWork.
	minSamples int

	mu    sync.RWMutex
	plans map[int]*exec.Plan // by chunk size
}

// Compile traces f — a function of a batch that maps every sample on its own,
// typically built from BatchJacobianOf and friends — for samples of the
// given shape, proves that it maps samples independently, and prepares it to
// run at any batch size.
func Compile(f Fn, sampleShape []int, opts ...RunOption) (*Compiled, error) {
	_, rc, err := configure(opts)
	if err != nil {
		return nil, apiError(err)
	}
	c, err := compile(f, append([]int{2}, sampleShape...), rc)
	return c, apiError(err)
}

func compile(f Fn, batchShape []int, cfg runConfig) (*Compiled, error) {
	ps, err := perSampleProgram(f, batchShape)
	if err != nil {
		return nil, err
	}
	cost := transform.CostOf(ps)
	work := max(cost.FLOPs+cost.Bytes/8, 1)
	minSamples := max(minChunk, int(math.Ceil(minChunkWork/work)))
	return &Compiled{cfg: cfg, prog: ps, inShape: batchShape[1:], outShape: ps.Out[0].Shape, minSamples: minSamples, plans: map[int]*exec.Plan{}}, nil
}

// perSampleProgram traces f on a batch of the given shape and proves it
// maps samples independently, returning the simplified program of one sample.
func perSampleProgram(f Fn, batchShape []int) (*ir.Program, error) {
	p, err := traceProgram(func(in []*Node) []*Node { return []*Node{f(in[0])} }, [][]int{batchShape})
	if err != nil {
		return nil, err
	}
	ps, outAxes, err := transform.Unbatch(p, []int{0})
	if err != nil {
		return nil, err
	}
	if outAxes[0] != 0 {
		return nil, fmt.Errorf("the output of shape %v does not have the samples along axis 0", p.Out[0].Shape)
	}
	return transform.Simplify(ps)
}

// String prints the per-sample program.
func (c *Compiled) String() string { return c.prog.String() }

// OutShape returns the shape of one sample's output.
func (c *Compiled) OutShape() []int { return c.outShape }

// Cost returns the cost model's estimate for a batch of b samples.
func (c *Compiled) Cost(b int) (transform.Cost, error) {
	pl, err := c.plan(b)
	if err != nil {
		return transform.Cost{}, apiError(err)
	}
	return transform.CostOf(pl.Program()), nil
}

func (c *Compiled) plan(n int) (*exec.Plan, error) {
	c.mu.RLock()
	pl, ok := c.plans[n]
	c.mu.RUnlock()
	if ok {
		return pl, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pl, ok := c.plans[n]; ok {
		return pl, nil
	}
	v, err := transform.Vmap(c.prog, []bool{true}, n)
	if err != nil {
		return nil, err
	}
	if v, err = transform.Simplify(v); err != nil {
		return nil, err
	}
	if pl, err = exec.Compile(v); err != nil {
		return nil, err
	}
	c.plans[n] = pl
	return pl, nil
}

// Run evaluates the compiled function on a batch x of shape (b, sample...).
// It is safe for concurrent use. Large outputs are recycled once the
// garbage collector finds nothing refers to them any more, so a loop of
// Runs rarely pays for fresh memory; RunInto avoids allocation altogether.
func (c *Compiled) Run(x *tensor.Tensor) (*tensor.Tensor, error) {
	out, err := c.run(x)
	return out, apiError(err)
}

func (c *Compiled) run(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("input is nil")
	}
	s := x.Shape()
	if len(s) != len(c.inShape)+1 || !tensor.SameShape(s[1:], c.inShape) {
		return nil, fmt.Errorf("input has shape %v, want (b, %v)", s, c.inShape)
	}
	shape := append([]int{s[0]}, c.outShape...)
	out, err := tensor.New(shape, newOutput(tensor.Size(shape)))
	if err != nil {
		return nil, err
	}
	if err := c.runInto(x, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto is Run writing into out, of shape (b, OutShape()...), so that a
// loop of runs allocates nothing.
func (c *Compiled) RunInto(x, out *tensor.Tensor) error {
	return apiError(c.runInto(x, out))
}

func (c *Compiled) runInto(x, out *tensor.Tensor) error {
	if x == nil || out == nil {
		return fmt.Errorf("nil input or output")
	}
	s := x.Shape()
	if len(s) != len(c.inShape)+1 || !tensor.SameShape(s[1:], c.inShape) {
		return fmt.Errorf("input has shape %v, want (b, %v)", s, c.inShape)
	}
	b := s[0]
	if want := append([]int{b}, c.outShape...); !tensor.SameShape(out.Shape(), want) {
		return fmt.Errorf("output has shape %v, want %v", out.Shape(), want)
	}
	inSize, outSize := tensor.Size(c.inShape), tensor.Size(c.outShape)
	if b == 0 {
		return nil
	}
	// Every worker gets a chunk when the batch allows, but chunks stay large
	// enough that the split pays for itself.
	chunk := c.cfg.chunk
	if !c.cfg.chunkSet {
		chunk = max(chunk, c.minSamples)
	}
	chunk = min(chunk, max(c.minSamples, (b+c.cfg.workers-1)/c.cfg.workers), b)
	nchunks := (b + chunk - 1) / chunk
	// Chunks run side by side keep their matrix products to themselves;
	// a lone chunk lets them use every core.
	serial := nchunks > 1 && c.cfg.workers > 1
	run := func(i int) error {
		lo, hi := i*chunk, min((i+1)*chunk, b)
		return c.runChunk(x.Data()[lo*inSize:hi*inSize], out.Data()[lo*outSize:hi*outSize], hi-lo, serial)
	}
	if nchunks == 1 {
		return run(0)
	}
	return parallel(min(c.cfg.workers, nchunks), nchunks, run)
}

// parallel runs task(0..n-1) on up to workers goroutines (the caller's
// included) and returns the first error.
func parallel(workers, n int, task func(int) error) error {
	if workers <= 1 {
		for i := range n {
			if err := task(i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			if err := task(i); err != nil {
				once.Do(func() { firstErr = err })
				return
			}
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return firstErr
}

// A chunk is worth a goroutine of its own from minChunk samples and
// minChunkWork units of work (FLOPs plus elements moved, by the cost
// model): below that, handing it to another core costs more than it saves.
const (
	minChunk     = 32
	minChunkWork = 1 << 20
)

func (c *Compiled) runChunk(in, out []float64, n int, serial bool) error {
	pl, err := c.plan(n)
	if err != nil {
		return err
	}
	return pl.RunInto1(in, out, serial)
}

// ---- one-shot entry points ----

// runPerSample compiles the per-sample function f for x's samples and runs
// it on x; err is an error of the options.
func runPerSample(name string, f Fn, x *tensor.Tensor, rc runConfig, err error) (*tensor.Tensor, error) {
	if err != nil {
		return nil, apiError(fmt.Errorf("%s: %w", name, err))
	}
	if x == nil || x.Rank() < 1 {
		return nil, apiError(fmt.Errorf("%s: the input needs a batch axis", name))
	}
	c, err := compile(f, x.Shape(), rc)
	if err != nil {
		return nil, apiError(err)
	}
	out, err := c.run(x)
	return out, apiError(err)
}

// BatchJacobian returns the per-sample Jacobians of f at the batch x: for x
// of shape (b, in) and f(x) of shape (b, out), shape (b, out, in). It fails
// (naming the operation) if f mixes samples.
func BatchJacobian(f Fn, x *tensor.Tensor, opts ...BatchJacobianOption) (*tensor.Tensor, error) {
	d, rc, err := configure(opts)
	return runPerSample("BatchJacobian", func(x *Node) *Node { return batchJacobianOf("BatchJacobianOf", f, x, d, nil) }, x, rc, err)
}

// BatchHessian returns the per-sample Hessians, shape (b, out, in, in).
func BatchHessian(f Fn, x *tensor.Tensor, opts ...RunOption) (*tensor.Tensor, error) {
	_, rc, err := configure(opts)
	return runPerSample("BatchHessian", func(x *Node) *Node { return BatchHessianOf(f, x) }, x, rc, err)
}

// BatchHessianDiag returns the diagonals of the per-sample Hessians, shape
// (b, out, in).
func BatchHessianDiag(f Fn, x *tensor.Tensor, opts ...BatchHessianDiagOption) (*tensor.Tensor, error) {
	d, rc, err := configure(opts)
	return runPerSample("BatchHessianDiag", func(x *Node) *Node { return batchHessianDiagOf(f, x, d, nil) }, x, rc, err)
}

// BatchLaplacian returns the per-sample Laplacians of every output, shape (b, out).
func BatchLaplacian(f Fn, x *tensor.Tensor, opts ...BatchLaplacianOption) (*tensor.Tensor, error) {
	d, rc, err := configure(opts)
	return runPerSample("BatchLaplacian", func(x *Node) *Node { return batchLaplacianOf(f, x, d, nil) }, x, rc, err)
}

// BatchGrad returns the per-sample gradients of a function with one output
// per sample, shape (b, in).
func BatchGrad(f Fn, x *tensor.Tensor, opts ...RunOption) (*tensor.Tensor, error) {
	_, rc, err := configure(opts)
	return runPerSample("BatchGrad", func(x *Node) *Node { return BatchGradOf(f, x) }, x, rc, err)
}

// BatchOperator is BatchOperatorOf on a concrete batch: shape (b, out).
func BatchOperator(f Fn, x, a, b *tensor.Tensor, opts ...RunOption) (*tensor.Tensor, error) {
	_, rc, err := configure(opts)
	return runPerSample("BatchOperator", func(x *Node) *Node { return BatchOperatorOf(f, x, a, b) }, x, rc, err)
}

// evalOne traces g at x and runs it once.
func evalOne(g Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, apiError(fmt.Errorf("input is nil"))
	}
	t, err := traceOnce(func(in []*Node) []*Node { return []*Node{g(in[0])} }, [][]int{x.Shape()})
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
// output, shaped x.shape ++ x.shape.
func Hessian(f Fn, x *tensor.Tensor) (*tensor.Tensor, error) {
	return evalOne(func(x *Node) *Node { return HessianOf(f, x) }, x)
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

func pair(f Fn, x, v *tensor.Tensor, of func(Fn, *Node, *Node) (*Node, *Node)) (*tensor.Tensor, *tensor.Tensor, error) {
	if x == nil || v == nil {
		return nil, nil, apiError(fmt.Errorf("nil input"))
	}
	t, err := traceOnce(func(in []*Node) []*Node {
		y, d := of(f, in[0], in[1])
		return []*Node{y, d}
	}, [][]int{x.Shape(), v.Shape()})
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
