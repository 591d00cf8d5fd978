package onnx

import (
	"fmt"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Constant folding. Operators whose inputs are all known are lowered as
// usual, onto jacobi's operations on constant nodes, which evaluate at once
// by the primitives' own Eval: folding needs no arithmetic of its own.

// folded returns the known value of n, an operation on known inputs alone;
// isInt says whether it holds integers. A failed evaluation is an error.
func folded(n *jacobi.Node, isInt bool) ([]*value, error) {
	t, ok := n.Value()
	if !ok {
		if err := n.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("known inputs gave no known value (internal error)")
	}
	return []*value{known(t, isInt)}, nil
}

// foldable checks that the broadcast of the shapes of known values is not
// too large to fold.
func foldable(shapes ...[]int) error {
	s := []int{}
	for _, sh := range shapes {
		var err error
		if s, err = tensor.BroadcastShapes(s, sh); err != nil {
			return err
		}
	}
	if tensor.Size(s) > maxFolded {
		return fmt.Errorf("shape %v too large", s)
	}
	return nil
}
