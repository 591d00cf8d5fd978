package nn

import (
	"fmt"
	"math"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Init is how NewMLPFrom draws the initial weights and biases of each layer
// with fan_in inputs and fan_out outputs.
type Init int

const (
	// TorchDefault is torch.nn.Linear's initialisation: weights and biases
	// uniform in ±1/√fan_in.
	TorchDefault Init = iota
	// XavierNormal (Glorot & Bengio 2010) draws weights from a normal with
	// standard deviation √(2/(fan_in+fan_out)), as torch.nn.init.xavier_normal_,
	// and sets biases to zero, as PINN codes do (Raissi et al. use a
	// normal truncated at two standard deviations; this one is not truncated).
	XavierNormal
	// XavierUniform draws weights uniformly in ±√(6/(fan_in+fan_out)), as
	// torch.nn.init.xavier_uniform_, and sets biases to zero.
	XavierUniform
)

// String returns the initialiser's name.
func (i Init) String() string {
	switch i {
	case TorchDefault:
		return "torch-default"
	case XavierNormal:
		return "xavier-normal"
	case XavierUniform:
		return "xavier-uniform"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// ParseInit returns the initialiser of a name String returns.
func ParseInit(name string) (Init, error) {
	for _, i := range []Init{TorchDefault, XavierNormal, XavierUniform} {
		if i.String() == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("nn: unknown initialisation %q (want torch-default, xavier-normal or xavier-uniform)", name)
}

// NewMLPFrom returns an MLP with the given layer sizes (inputs, hidden
// widths…, outputs), activation between layers, and weights drawn by init
// from a source seeded with seed: the same seed gives the same network.
// For Raissi et al.'s Burgers network:
//
//	nn.NewMLPFrom([]int{2, 20, 20, 20, 20, 20, 20, 20, 20, 1}, "tanh", nn.XavierNormal, seed)
func NewMLPFrom(sizes []int, activation string, init Init, seed uint64) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: an MLP needs at least two sizes (inputs and outputs), got %v", sizes)
	}
	for i, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("nn: layer size %d is %d, want at least 1", i, s)
		}
	}
	rng := tensor.NewRand(seed)
	var ws, bs []*tensor.Tensor
	for i := 0; i+1 < len(sizes); i++ {
		in, out := sizes[i], sizes[i+1]
		var w, b *tensor.Tensor
		switch init {
		case TorchDefault:
			bound := 1 / math.Sqrt(float64(in))
			w = tensor.Uniform(rng, -bound, bound, out, in)
			b = tensor.Uniform(rng, -bound, bound, out)
		case XavierNormal:
			w = tensor.Randn(rng, out, in).Scale(math.Sqrt(2 / float64(in+out)))
			b = tensor.Zeros(out)
		case XavierUniform:
			bound := math.Sqrt(6 / float64(in+out))
			w = tensor.Uniform(rng, -bound, bound, out, in)
			b = tensor.Zeros(out)
		default:
			return nil, fmt.Errorf("nn: unknown initialisation %v", init)
		}
		ws, bs = append(ws, w), append(bs, b)
	}
	return NewMLP(ws, bs, activation)
}

// Sizes returns the layer sizes: inputs, hidden widths, outputs.
func (m *MLP) Sizes() []int {
	s := []int{m.In()}
	for _, w := range m.Weights {
		s = append(s, w.Shape()[0])
	}
	return s
}

// NumParams returns the number of scalar parameters.
func (m *MLP) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += p.Len()
	}
	return n
}
