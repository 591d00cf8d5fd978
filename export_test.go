package jacobi

import "github.com/jacobi-ad/jacobi/tensor"

// IsSplit reports whether t runs split at its sums over the batch.
func (t *Traced) IsSplit() bool { return t.split != nil }

// RunWhole runs t's whole program, not split.
func (t *Traced) RunWhole(in ...*tensor.Tensor) ([]*tensor.Tensor, error) { return t.plan.Run(in) }
