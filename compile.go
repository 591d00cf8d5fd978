package jacobi

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Compiled is a per-sample function traced and transformed once. Run takes
// any batch size and runs it in chunks of samples on several goroutines.
// It is safe for concurrent use.
type Compiled struct {
	prog     *ir.Program // maps one sample to its outputs
	inShape  []int       // shape of one sample
	outShape []int       // shape of one sample's output
	run      *exec.Batched
}

// Compile traces f — a function of a batch that maps every sample on its own,
// typically built from BatchJacobianOf and friends — for samples of the
// given shape, proves that it maps samples independently, and prepares it to
// run at any batch size: in chunks of samples (WithChunk; by default 256, or
// more for programs too cheap to be worth splitting that finely), side by
// side (WithWorkers; by default one per core). Results do not depend on
// either, bit for bit.
func Compile(f Fn, sampleShape []int, opts ...RunOption) (*Compiled, error) {
	_, rc, err := configure(opts)
	if err != nil {
		return nil, apiError(err)
	}
	c, err := compile(f, append([]int{2}, sampleShape...), rc)
	return c, apiError(err)
}

func compile(f Fn, batchShape []int, rc runConfig) (*Compiled, error) {
	ps, err := perSampleProgram(f, batchShape)
	if err != nil {
		return nil, err
	}
	chunk := 0
	if rc.chunkSet {
		chunk = rc.chunk
	}
	r, err := exec.NewBatched(ps, chunk, rc.workers)
	if err != nil {
		return nil, err
	}
	return &Compiled{prog: ps, inShape: batchShape[1:], outShape: ps.Out[0].Shape, run: r}, nil
}

// perSampleProgram traces f on a batch of the given shape and proves it
// maps samples independently, returning the simplified program of one sample.
func perSampleProgram(f Fn, batchShape []int) (*ir.Program, error) {
	if f == nil {
		return nil, fmt.Errorf("the function is nil")
	}
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
	pl, err := c.run.Plan(b)
	if err != nil {
		return transform.Cost{}, apiError(err)
	}
	return transform.CostOf(pl.Program()), nil
}

// Run evaluates the compiled function on a batch x of shape (b, sample...).
// Large outputs come from memory recycled from earlier outputs that
// nothing refers to any more, so a loop of Runs rarely pays for fresh
// memory; RunInto allocates nothing.
func (c *Compiled) Run(x *tensor.Tensor) (*tensor.Tensor, error) {
	out, err := c.runNew(x)
	return out, apiError(err)
}

func (c *Compiled) runNew(x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := c.checkInput(x); err != nil {
		return nil, err
	}
	shape := append([]int{x.Shape()[0]}, c.outShape...)
	out, err := tensor.New(shape, exec.NewOutput(tensor.Size(shape)))
	if err != nil {
		return nil, err
	}
	if err := c.runInto(x, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Compiled) checkInput(x *tensor.Tensor) error {
	if x == nil {
		return fmt.Errorf("input is nil")
	}
	if s := x.Shape(); len(s) != len(c.inShape)+1 || !tensor.SameShape(s[1:], c.inShape) {
		return fmt.Errorf("input has shape %v, want (b, %v)", s, c.inShape)
	}
	return nil
}

// RunInto is Run writing into out, of shape (b, OutShape()...), so that a
// loop of runs allocates nothing.
func (c *Compiled) RunInto(x, out *tensor.Tensor) error {
	return apiError(c.runInto(x, out))
}

func (c *Compiled) runInto(x, out *tensor.Tensor) error {
	if err := c.checkInput(x); err != nil {
		return err
	}
	if out == nil {
		return fmt.Errorf("output is nil")
	}
	if s := out.Shape(); len(s) != len(c.outShape)+1 || s[0] != x.Shape()[0] || !tensor.SameShape(s[1:], c.outShape) {
		return fmt.Errorf("output has shape %v, want (%d, %v)", s, x.Shape()[0], c.outShape)
	}
	return c.run.RunInto(x.Data(), out.Data())
}

// ---- one-shot per-sample derivatives on tensors ----

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
	out, err := c.runNew(x)
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
