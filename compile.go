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

// DType returns the dtype of the inputs Run takes.
func (c *Compiled) DType() tensor.DType { return c.prog.In[0].DType }

// OutDType returns the dtype of the outputs Run returns.
func (c *Compiled) OutDType() tensor.DType { return c.prog.Out[0].DType }

// Compile traces f — a function of a batch that maps every sample on its own,
// typically built from BatchJacobianOf and friends — for samples of the
// given shape, proves that it maps samples independently, and prepares it to
// run at any batch size: in chunks of samples (WithChunk; by default 256, or
// more for programs too cheap to be worth splitting that finely), side by
// side (WithWorkers; by default one per core). Results do not depend on
// either, bit for bit.
//
// f is traced at two batch sizes, and its per-sample programs must be the
// same: a function that uses its batch size as a value (x / b) or in a
// shape that fits one batch only (a reshape to a literal (2, -1)) is
// refused with a *transform.BatchSizeError naming the operation, since
// run at another batch size it would compute something else. The one-shot
// derivatives (BatchJacobian, …) trace at their input's batch size and so
// give such functions' derivatives at that size.
//
// The samples are float64, or of the dtype WithDType sets.
func Compile(f Fn, sampleShape []int, opts ...RunOption) (*Compiled, error) {
	_, rc, err := configure(opts)
	if err != nil {
		return nil, apiError(err)
	}
	ps, err := perSampleAnyBatch(f, sampleShape, rc.dtype)
	if err != nil {
		return nil, apiError(err)
	}
	c, err := compileProgram(ps, sampleShape, rc)
	return c, apiError(err)
}

// Compile traces a function whose batch size is not known at two batch
// sizes, an even one and an odd prime, chosen from these lists: unlikely
// to be mistaken for another dimension. A function that fails at the
// first is traced at 2 (the smallest batch that can show that samples
// mix) to tell a function that fails at every size from one that fails
// at some.
var (
	evenBatches = []int{6, 10, 14, 22, 26, 34, 38, 46, 58, 62, 74, 82, 86, 94, 106, 118, 122, 134}
	oddBatches  = []int{5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79}
)

// batchSizes returns an even and an odd batch size that are none of
// avoid's keys.
func batchSizes(avoid map[int]bool) [2]int {
	ns := [2]int{138, 83}
	for i, list := range [][]int{evenBatches, oddBatches} {
		for _, n := range list {
			if !avoid[n] {
				ns[i] = n
				break
			}
		}
	}
	return ns
}

// programDims adds the dimensions of p's variables to set.
func programDims(p *ir.Program, set map[int]bool) {
	for _, v := range p.In {
		for _, d := range v.Shape {
			set[d] = true
		}
	}
	for _, e := range p.Eqns {
		for _, d := range e.Out.Shape {
			set[d] = true
		}
	}
}

// perSampleAnyBatch traces f at two batch sizes and returns its simplified
// per-sample program, or an error when f mixes samples or depends on the
// batch size (a *transform.BatchSizeError).
//
// The per-sample programs of a function that does not depend on the batch
// size are the same, equation for equation, unless the batch size happens
// to equal another dimension: the simplifications inside derivatives then
// share values of the batched program that differ only there. So the
// sizes avoid the sample's dimensions, and when the programs differ the
// comparison is made again at sizes that avoid every dimension of both.
func perSampleAnyBatch(f Fn, sampleShape []int, dt tensor.DType) (*ir.Program, error) {
	avoid := map[int]bool{}
	for _, d := range sampleShape {
		avoid[d] = true
	}
	var err error
	for try := 0; try < 2; try++ {
		ns := batchSizes(avoid)
		var ps [2]*ir.Program
		for i, n := range ns {
			ps[i], err = unbatched(f, append([]int{n}, sampleShape...), dt)
			if err != nil {
				if i == 0 {
					if _, err2 := unbatched(f, append([]int{2}, sampleShape...), dt); err2 == nil {
						return nil, &transform.BatchSizeError{Sizes: [2]int{2, n}, Err: err}
					}
					return nil, err
				}
				return nil, &transform.BatchSizeError{Sizes: ns, Err: err}
			}
			// Unbatch leaves the batched forms of values that only their
			// rows reach dead, and those carry the batch size in their shapes.
			ps[i] = transform.DeadCode(ps[i])
		}
		if err = transform.CompareBatchSizes(ps[0], ps[1], ns[0], ns[1]); err == nil {
			return transform.Simplify(ps[0])
		}
		for i, p := range ps {
			avoid[ns[i]] = true
			programDims(p, avoid)
		}
	}
	return nil, err
}

func compileProgram(ps *ir.Program, sampleShape []int, rc runConfig) (*Compiled, error) {
	chunk := 0
	if rc.chunkSet {
		chunk = rc.chunk
	}
	r, err := exec.NewBatched(ps, chunk, rc.workers)
	if err != nil {
		return nil, err
	}
	return &Compiled{prog: ps, inShape: append([]int{}, sampleShape...), outShape: ps.Out[0].Shape, run: r}, nil
}

// perSampleProgram traces f on a batch of the given shape and proves it
// maps samples independently, returning the simplified program of one
// sample: exact at that batch size.
func perSampleProgram(f Fn, batchShape []int, dt tensor.DType) (*ir.Program, error) {
	ps, err := unbatched(f, batchShape, dt)
	if err != nil {
		return nil, err
	}
	return transform.Simplify(ps)
}

// unbatched traces f on a batch of the given shape and returns its
// per-sample program, not yet simplified.
func unbatched(f Fn, batchShape []int, dt tensor.DType) (*ir.Program, error) {
	if f == nil {
		return nil, fmt.Errorf("the function is nil")
	}
	p, err := traceProgram(func(in []*Node) []*Node { return []*Node{f(in[0])} }, [][]int{batchShape}, []tensor.DType{dt})
	if err != nil {
		return nil, err
	}
	ps, outAxes, err := transform.Unbatch(p, []int{0})
	if err != nil {
		return nil, err
	}
	if batchShape[0] == 1 {
		ps, outAxes = transform.BatchFirstAtOne(p, ps, outAxes)
	}
	switch outAxes[0] {
	case 0:
		return ps, nil
	case -1:
		return nil, fmt.Errorf("the output of shape %v does not depend on the input and has no batch axis (a constant?): a function of a batch must return one row per sample", p.Out[0].Shape)
	}
	return nil, fmt.Errorf("the output of shape %v does not have the samples along axis 0 (they are along axis %d)", p.Out[0].Shape, outAxes[0])
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
// memory; RunInto allocates nothing. An output larger than the memory
// available is refused before it is allocated, with an *exec.MemoryError
// that says its size: RunInto computes results of any size into memory
// of the caller's.
func (c *Compiled) Run(x *tensor.Tensor) (*tensor.Tensor, error) {
	out, err := c.runNew(x)
	return out, apiError(err)
}

func (c *Compiled) runNew(x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := c.checkInput(x); err != nil {
		return nil, err
	}
	shape := append([]int{x.Shape()[0]}, c.outShape...)
	out, err := exec.NewOutputTensor(c.OutDType(), shape)
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
	if x.DType() != c.DType() {
		return fmt.Errorf("input is %v, the program was compiled for %v (see WithDType)", x.DType(), c.DType())
	}
	return nil
}

// RunInto is Run writing into out, of shape (b, OutShape()...), so that a
// loop of runs allocates nothing. out may be any memory of the caller's —
// a tensor over a memory-mapped file, say, for a result larger than
// memory — or a piece of a larger result: run on consecutive pieces of the
// batch, it writes their results bit for bit as one run of the whole.
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
	if out.DType() != c.OutDType() {
		return fmt.Errorf("output is %v, the program returns %v", out.DType(), c.OutDType())
	}
	return c.run.RunInto(exec.ValuesOf(x), exec.ValuesOf(out))
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
	if rc.dtypeSet {
		x = x.Convert(rc.dtype)
	}
	// Traced at x's own batch size, the per-sample program is exact for
	// x even when f uses its batch size.
	ps, err := perSampleProgram(f, x.Shape(), x.DType())
	if err != nil {
		return nil, apiError(err)
	}
	c, err := compileProgram(ps, x.Shape()[1:], rc)
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
func BatchHessian(f Fn, x *tensor.Tensor, opts ...BatchHessianOption) (*tensor.Tensor, error) {
	d, rc, err := configure(opts)
	return runPerSample("BatchHessian", func(x *Node) *Node { return batchHessianOf("BatchHessianOf", f, x, d, nil) }, x, rc, err)
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
