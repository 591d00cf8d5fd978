package jacobi

import "github.com/jacobi-ad/jacobi/tensor"

// SetSplitChunk sets the chunk size of split runs and returns a function
// that restores it.
func SetSplitChunk(n int) (restore func()) {
	old := splitChunk
	splitChunk = n
	return func() { splitChunk = old }
}

// IsSplit reports whether t runs split at its sums over the batch.
func (t *Traced) IsSplit() bool { return t.split != nil }

// RunWhole runs t's whole program, not split.
func (t *Traced) RunWhole(in ...*tensor.Tensor) ([]*tensor.Tensor, error) { return t.plan.Run(in) }
