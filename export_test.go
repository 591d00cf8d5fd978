package jacobi

import (
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// RunWhole runs t's whole program, not split.
func (t *Traced) RunWhole(in ...*tensor.Tensor) ([]*tensor.Tensor, error) { return t.plan.Run(in) }

// ChunkProgram returns the program the one-shot per-sample derivatives run
// on x (in one chunk): f's per-sample program mapped over x's samples.
func ChunkProgram(f Fn, x *tensor.Tensor) (*ir.Program, error) {
	ps, err := perSampleProgram(f, x.Shape(), x.DType())
	if err != nil {
		return nil, err
	}
	c, err := compileProgram(ps, x.Shape()[1:], runConfig{workers: 1})
	if err != nil {
		return nil, err
	}
	pl, err := c.run.Plan(x.Shape()[0])
	if err != nil {
		return nil, err
	}
	return pl.Program(), nil
}

// TracedProgram returns the program the one-shot functions run for f at in.
func TracedProgram(f MultiFn, in ...*tensor.Tensor) (*ir.Program, error) {
	shapes := make([][]int, len(in))
	for i, x := range in {
		shapes[i] = x.Shape()
	}
	t, err := traceOnce(f, shapes, dtypesOf(in))
	if err != nil {
		return nil, err
	}
	return t.prog, nil
}
