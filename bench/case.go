// Package bench times jacobi on the project's standard benchmark cases
// (multilayer perceptrons with a per-sample derivative to compute, as listed
// in cases.json) and on the alternatives a user could write with the same
// library: forward or reverse mode, the full Jacobian then its diagonal, a
// loop over samples, nested first-order derivatives for second order. It
// reports median seconds, GFLOP/s from the cost model, peak heap growth and
// the largest difference to jacobi's default result, as a table or as JSON
// lines comparable with the PyTorch script torch_anchor.py.
package bench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"

	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Case is one benchmark case: an MLP sizes[0] -> ... -> sizes[len-1] with
// the activation between layers (none after the last), a batch of Batch
// standard-normal inputs, and the derivative to compute ("jacobian",
// "hessian", "laplacian" or "pinn_step"), all in DType ("float64", the
// default, or "float32": the weights and the batch are drawn in float64
// and rounded). The JSON field names are those of cases.json.
type Case struct {
	Name       string `json:"name"`
	Sizes      []int  `json:"sizes"`
	Activation string `json:"activation"`
	Batch      int    `json:"batch"`
	Derivative string `json:"derivative"`
	DType      string `json:"dtype,omitempty"`
}

// dtype returns the case's dtype (float64 when DType is empty).
func (c Case) dtype() tensor.DType {
	if c.DType == "" {
		return tensor.Float64
	}
	dt, _ := tensor.ParseDType(c.DType) // checked by validate
	return dt
}

// Derivative kinds a Case may ask for.
const (
	Jacobian  = "jacobian"
	Hessian   = "hessian"
	Laplacian = "laplacian"
	PINNStep  = "pinn_step"
)

//go:embed cases.json
var defaultCases []byte

// DefaultCases returns the standard cases (a copy of the project's
// shared/bench/cases.json embedded in the package).
func DefaultCases() []Case {
	cs, err := parseCases(defaultCases, "embedded cases.json")
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return cs
}

// InFloat32 returns the cases in float32, each named with the suffix
// "_f32" (bench/cases_float32.json holds the standard cases so).
func InFloat32(cs []Case) []Case {
	out := make([]Case, len(cs))
	for i, c := range cs {
		c.Name += "_f32"
		c.DType = "float32"
		c.Sizes = append([]int{}, c.Sizes...)
		out[i] = c
	}
	return out
}

// LoadCases reads and checks a cases file in the format of cases.json.
func LoadCases(path string) ([]Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return parseCases(data, path)
}

func parseCases(data []byte, where string) ([]Case, error) {
	var cs []Case
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", where, err)
	}
	seen := map[string]bool{}
	for i, c := range cs {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("bench: %s: case %d (%q): %w", where, i, c.Name, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("bench: %s: case %d: the name %q is used twice", where, i, c.Name)
		}
		seen[c.Name] = true
	}
	return cs, nil
}

// validate checks that the case can be built and run.
func (c Case) validate() error {
	if c.Name == "" {
		return fmt.Errorf("no name")
	}
	if len(c.Sizes) < 2 {
		return fmt.Errorf("sizes %v: need at least an input and an output size", c.Sizes)
	}
	for _, s := range c.Sizes {
		if s < 1 {
			return fmt.Errorf("sizes %v: every size must be at least 1", c.Sizes)
		}
	}
	if c.Batch < 1 {
		return fmt.Errorf("batch %d: must be at least 1", c.Batch)
	}
	if c.DType != "" && c.DType != "float64" && c.DType != "float32" {
		return fmt.Errorf("dtype %q: want float64 or float32", c.DType)
	}
	if _, ok := nn.Activations[c.Activation]; !ok {
		return fmt.Errorf("unknown activation %q (want one of %v)", c.Activation, nn.ActivationNames())
	}
	switch c.Derivative {
	case Jacobian:
	case Hessian, Laplacian, PINNStep:
		if out := c.Sizes[len(c.Sizes)-1]; out != 1 {
			return fmt.Errorf("derivative %q needs one output, sizes %v end in %d", c.Derivative, c.Sizes, out)
		}
	default:
		return fmt.Errorf("unknown derivative %q (want %s, %s, %s or %s)", c.Derivative, Jacobian, Hessian, Laplacian, PINNStep)
	}
	return nil
}

// in and out are the case's input and output sizes.
func (c Case) in() int  { return c.Sizes[0] }
func (c Case) out() int { return c.Sizes[len(c.Sizes)-1] }
