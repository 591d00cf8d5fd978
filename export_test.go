package jacobi

import "github.com/jacobi-ad/jacobi/tensor"

// RunWhole runs t's whole program, not split.
func (t *Traced) RunWhole(in ...*tensor.Tensor) ([]*tensor.Tensor, error) { return t.plan.Run(in) }
