package nn

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// TestInitDistributions checks each initialiser's bounds, spread and
// biases on a large layer, and that a seed reproduces the network.
func TestInitDistributions(t *testing.T) {
	const in, out = 300, 200
	cases := []struct {
		init      Init
		std       float64 // of the weights
		bound     float64 // |w| ≤ bound (0: unbounded)
		zeroBias  bool
		biasBound float64
	}{
		{TorchDefault, 1 / math.Sqrt(3*in), 1 / math.Sqrt(in), false, 1 / math.Sqrt(in)},
		{XavierNormal, math.Sqrt(2.0 / (in + out)), 0, true, 0},
		{XavierUniform, math.Sqrt(2.0 / (in + out)), math.Sqrt(6.0 / (in + out)), true, 0},
	}
	for _, c := range cases {
		m, err := NewMLPFrom([]int{in, out}, "tanh", c.init, 42)
		if err != nil {
			t.Fatal(err)
		}
		w := m.Weights[0]
		if !tensor.SameShape(w.Shape(), []int{out, in}) {
			t.Fatalf("%v: weight shape %v", c.init, w.Shape())
		}
		mean := w.Mean()
		std := math.Sqrt(w.Map(func(v float64) float64 { return (v - mean) * (v - mean) }).Mean())
		// 60000 draws: the sample standard deviation is within 1% with
		// overwhelming probability, the mean within 5 standard errors.
		if math.Abs(std/c.std-1) > 0.01 || math.Abs(mean) > 5*c.std/math.Sqrt(in*out) {
			t.Errorf("%v: weights mean %.3g std %.4g, want 0 and %.4g", c.init, mean, std, c.std)
		}
		if c.bound > 0 && w.MaxAbs() > c.bound {
			t.Errorf("%v: |w| up to %v, bound %v", c.init, w.MaxAbs(), c.bound)
		}
		if c.bound > 0 && w.MaxAbs() < 0.99*c.bound {
			t.Errorf("%v: |w| only up to %v, the bound is %v", c.init, w.MaxAbs(), c.bound)
		}
		b := m.Biases[0]
		if c.zeroBias && b.MaxAbs() != 0 {
			t.Errorf("%v: biases not zero", c.init)
		}
		if !c.zeroBias && (b.MaxAbs() == 0 || b.MaxAbs() > c.biasBound) {
			t.Errorf("%v: biases up to %v, bound %v", c.init, b.MaxAbs(), c.biasBound)
		}
		again, _ := NewMLPFrom([]int{in, out}, "tanh", c.init, 42)
		other, _ := NewMLPFrom([]int{in, out}, "tanh", c.init, 43)
		if tensor.MaxAbsDiff(again.Weights[0], w) != 0 || tensor.MaxAbsDiff(other.Weights[0], w) == 0 {
			t.Errorf("%v: the seed does not decide the weights", c.init)
		}
		if p, err := ParseInit(c.init.String()); err != nil || p != c.init {
			t.Errorf("ParseInit(%q) = %v, %v", c.init.String(), p, err)
		}
	}
	for _, bad := range [][]int{{2}, {2, 0, 1}} {
		if _, err := NewMLPFrom(bad, "tanh", XavierNormal, 0); err == nil {
			t.Errorf("sizes %v accepted", bad)
		}
	}
	if _, err := NewMLPFrom([]int{2, 1}, "tanh", Init(9), 0); err == nil {
		t.Error("unknown initialisation accepted")
	}
	m, _ := NewMLPFrom([]int{2, 20, 20, 1}, "tanh", XavierNormal, 0)
	if s := m.Sizes(); len(s) != 4 || s[1] != 20 || s[3] != 1 || m.NumParams() != 2*20+20+20*20+20+20+1 {
		t.Errorf("sizes %v, %d parameters", s, m.NumParams())
	}
}

func ExampleNewMLPFrom() {
	// Raissi et al.'s Burgers network: 2 inputs (t, x), 8 hidden layers of
	// 20 tanh units, 1 output, Xavier-initialised from seed 1234.
	m, err := NewMLPFrom([]int{2, 20, 20, 20, 20, 20, 20, 20, 20, 1}, "tanh", XavierNormal, 1234)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Sizes(), m.NumParams(), "parameters")

	// Saved as a torch.nn.Sequential's state_dict in safetensors format.
	path := filepath.Join(os.TempDir(), "burgers-example.safetensors")
	defer os.Remove(path)
	if err := m.Save(path); err != nil {
		fmt.Println(err)
		return
	}
	back, err := LoadMLP(path, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Activation, tensor.MaxAbsDiff(back.Weights[3], m.Weights[3]))
	// Output:
	// [2 20 20 20 20 20 20 20 20 1] 3021 parameters
	// tanh 0
}
