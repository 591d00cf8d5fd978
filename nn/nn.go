// Package nn provides network layers and composite functions built from
// jacobi's primitives: activations (softplus, GELU, SiLU), layer norm,
// mean squared error, and the multilayer perceptron — built from layer
// sizes with PyTorch's or Xavier's initialisation from a seed (NewMLPFrom),
// its parameters a list that optimizers update in place (MLP.Params), saved
// and loaded as safetensors under torch.nn.Sequential's names (MLP.Save,
// LoadMLP).
//
// A network is a jacobi.Fn (MLP.Apply, or MLP.ApplyWith for traced
// parameters): whatever takes a traced function — derivatives, Compile,
// Trace, and the export of traced programs — takes a network.
//
// A network computes in the dtype of its parameters: float64 as built from
// sizes and loaded, float32 from float32 tensors (NewMLP) or converted
// (MLP.Convert). Its input must have that dtype.
//
// Composites are plain Go functions of *jacobi.Node, so every derivative
// and transform applies to them.
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Softplus returns log(1 + e^x), computed as max(x,0) + log1p(e^-|x|) so
// that it neither overflows nor loses precision for large |x|.
func Softplus(x *jacobi.Node) *jacobi.Node {
	return x.Relu().Add(x.Abs().Neg().Exp().Log1p())
}

// GELU is x·Φ(x) with the exact normal CDF, as torch.nn.GELU().
func GELU(x *jacobi.Node) *jacobi.Node {
	return x.Mul(x.Scale(1 / math.Sqrt2).Erf().AddScalar(1)).Scale(0.5)
}

// GELUTanh is the tanh approximation of GELU, as torch.nn.GELU(approximate="tanh").
func GELUTanh(x *jacobi.Node) *jacobi.Node {
	inner := x.Add(x.Pow(3).Scale(0.044715)).Scale(math.Sqrt(2 / math.Pi))
	return x.Mul(inner.Tanh().AddScalar(1)).Scale(0.5)
}

// SiLU is x·σ(x) (also called swish).
func SiLU(x *jacobi.Node) *jacobi.Node { return x.Mul(x.Sigmoid()) }

// Relu is max(x, 0).
func Relu(x *jacobi.Node) *jacobi.Node { return x.Relu() }

// LayerNorm normalises over the last axis: (x - mean) / sqrt(var + eps),
// then scales by gamma and shifts by beta when they are not nil (shape: the
// last axis of x).
func LayerNorm(x, gamma, beta *jacobi.Node, eps float64) *jacobi.Node {
	mu := x.MeanKeep(-1)
	d := x.Sub(mu)
	v := d.Square().MeanKeep(-1)
	y := d.Div(v.AddScalar(eps).Sqrt())
	if gamma != nil {
		y = y.Mul(gamma)
	}
	if beta != nil {
		y = y.Add(beta)
	}
	return y
}

// MSE returns the mean of (a - b)² over all elements.
func MSE(a, b *jacobi.Node) *jacobi.Node { return a.Sub(b).Square().Mean() }

// Linear applies x·Wᵀ + b with W in torch.nn.Linear's (out, in) layout; b may be nil.
func Linear(x, w, b *jacobi.Node) *jacobi.Node {
	y := x.MatMul(w.T())
	if b != nil {
		y = y.Add(b)
	}
	return y
}

// Activations maps the names NewMLP accepts to their functions.
var Activations = map[string]func(*jacobi.Node) *jacobi.Node{
	"tanh":     func(x *jacobi.Node) *jacobi.Node { return x.Tanh() },
	"sigmoid":  func(x *jacobi.Node) *jacobi.Node { return x.Sigmoid() },
	"relu":     Relu,
	"softplus": Softplus,
	"sin":      func(x *jacobi.Node) *jacobi.Node { return x.Sin() },
	"gelu":     GELU,
	"silu":     SiLU,
}

// ActivationNames returns the accepted activation names, sorted.
func ActivationNames() []string {
	var names []string
	for n := range Activations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MLP is a multilayer perceptron: Linear layers with an activation between
// them and none after the last.
type MLP struct {
	Weights    []*tensor.Tensor // (out, in) per layer, as torch.nn.Linear
	Biases     []*tensor.Tensor // (out) per layer
	Activation string
	act        func(*jacobi.Node) *jacobi.Node
}

// NewMLP checks the layer shapes and the activation name and returns the
// MLP. Its weights and biases are all float64 or all float32: that is the
// dtype it computes in (see DType and Convert).
func NewMLP(weights, biases []*tensor.Tensor, activation string) (*MLP, error) {
	act, ok := Activations[activation]
	if !ok {
		return nil, fmt.Errorf("nn: unknown activation %q (want one of %v)", activation, ActivationNames())
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("nn: an MLP needs at least one layer")
	}
	if len(biases) != len(weights) {
		return nil, fmt.Errorf("nn: %d weights but %d biases", len(weights), len(biases))
	}
	for i, w := range weights {
		if w == nil || biases[i] == nil {
			return nil, fmt.Errorf("nn: layer %d: nil weight or bias", i)
		}
		if w.Rank() != 2 {
			return nil, fmt.Errorf("nn: layer %d: weight has shape %v, want (out, in)", i, w.Shape())
		}
		if b := biases[i].Shape(); len(b) != 1 || b[0] != w.Shape()[0] {
			return nil, fmt.Errorf("nn: layer %d: bias has shape %v, want (%d)", i, b, w.Shape()[0])
		}
		if i > 0 && w.Shape()[1] != weights[i-1].Shape()[0] {
			return nil, fmt.Errorf("nn: layer %d takes %d inputs but layer %d gives %d", i, w.Shape()[1], i-1, weights[i-1].Shape()[0])
		}
		if dt := weights[0].DType(); w.DType() != dt || biases[i].DType() != dt {
			return nil, fmt.Errorf("nn: layer %d: weight %v and bias %v, but layer 0's weight is %v: the layers must have one dtype", i, w.DType(), biases[i].DType(), dt)
		}
	}
	return &MLP{Weights: weights, Biases: biases, Activation: activation, act: act}, nil
}

// RandomMLP returns an MLP with sizes[0] inputs, sizes[len-1] outputs and
// weights drawn as torch.nn.Linear does (uniform in ±1/√fan_in) from rng.
func RandomMLP(rng *rand.Rand, sizes []int, activation string) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: an MLP needs at least two sizes, got %v", sizes)
	}
	var ws, bs []*tensor.Tensor
	for i := 0; i+1 < len(sizes); i++ {
		bound := 1 / math.Sqrt(float64(sizes[i]))
		ws = append(ws, tensor.Uniform(rng, -bound, bound, sizes[i+1], sizes[i]))
		bs = append(bs, tensor.Uniform(rng, -bound, bound, sizes[i+1]))
	}
	return NewMLP(ws, bs, activation)
}

// DType returns the dtype of the network's parameters, in which it
// computes: its input must have that dtype.
func (m *MLP) DType() tensor.DType { return m.Weights[0].DType() }

// Convert returns the network with its parameters in dtype dt (float64 to
// float32 rounds to nearest): m itself when it has that dtype already,
// otherwise a copy.
func (m *MLP) Convert(dt tensor.DType) *MLP {
	if m.DType() == dt {
		return m
	}
	c := &MLP{Activation: m.Activation, act: m.act}
	for i := range m.Weights {
		c.Weights = append(c.Weights, m.Weights[i].Convert(dt))
		c.Biases = append(c.Biases, m.Biases[i].Convert(dt))
	}
	return c
}

// In returns the number of inputs.
func (m *MLP) In() int { return m.Weights[0].Shape()[1] }

// Out returns the number of outputs.
func (m *MLP) Out() int { return m.Weights[len(m.Weights)-1].Shape()[0] }

// Params returns the weights and biases interleaved: W0, b0, W1, b1, ...
func (m *MLP) Params() []*tensor.Tensor {
	var ps []*tensor.Tensor
	for i := range m.Weights {
		ps = append(ps, m.Weights[i], m.Biases[i])
	}
	return ps
}

// Apply runs the network on x (b, in) with its weights as constants. It is a
// jacobi.Fn.
func (m *MLP) Apply(x *jacobi.Node) *jacobi.Node {
	params := make([]*jacobi.Node, 0, 2*len(m.Weights))
	for _, p := range m.Params() {
		params = append(params, jacobi.Const(p))
	}
	return m.ApplyWith(params, x)
}

// ApplyWith runs the network with the given parameters (as Params orders
// them), so they can be traced inputs and be differentiated.
func (m *MLP) ApplyWith(params []*jacobi.Node, x *jacobi.Node) *jacobi.Node {
	for i := 0; i < len(params)/2; i++ {
		x = Linear(x, params[2*i], params[2*i+1])
		if 2*i+2 < len(params) {
			x = m.act(x)
		}
	}
	return x
}
