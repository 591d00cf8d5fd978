package onnx

import (
	"math"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/fdcheck"
	"github.com/jacobi-ad/jacobi/tensor"
)

// pipelineSeeds are graphs for the seed corpus (see buildFuzzGraph for how
// the bytes are read), named by what they exercise.
var pipelineSeeds = []struct {
	name  string
	data  []byte
	ops   string // what the graph's operators include
	mixes bool   // whether it mixes samples
}{
	// opset 13, double, sample [3]: Gemm → Shape → ConstantOfShape → Add
	{"Gemm, ConstantOfShape of Shape", []byte{0x6f, 0x90, 0x80, 0xe2, 0x99, 0x9, 0x59, 0xa8, 0x67, 0x17, 0xe8, 0x28, 0x25, 0x2d, 0x91, 0xb8, 0x9a, 0xe5}, "Gemm → Shape → ConstantOfShape", false},
	// opset 17, double, sample [3 1]: Shape → Slice → Concat → Reshape
	{"Reshape to the batch read from Shape", []byte{0x76, 0x1e, 0xc1, 0x5e, 0x74, 0x88, 0x42, 0xac, 0xe1, 0xa1, 0x6d, 0x24, 0xfe}, "Shape → Slice → Concat → Reshape", false},
	// opset 17, double, sample [1 4]: Shape → Mul → Div → Concat → Expand → Gather
	{"Expand to a shape computed from the batch", []byte{0x52, 0xf, 0xb5, 0xe8, 0xe3, 0xd1, 0xa2, 0xbc, 0x3b, 0x4a, 0x69, 0xb4, 0x4d, 0x66, 0xe, 0xc3}, "Shape → Mul → Div → Concat → Expand", false},
	// opset 18, float, sample [4 1]: Tanh → LeakyRelu → LayerNormalization
	{"LayerNormalization", []byte{0x3e, 0xca, 0xb, 0x3, 0xbc, 0xaa, 0x2d, 0xa7, 0xb, 0xf5, 0xcd, 0xde, 0xdf, 0x4a, 0xdc, 0x1d, 0xda, 0x9f, 0xf}, "LayerNormalization", false},
	// opset 18, float, sample [2 4]: Split → Mish → Shape → ConstantOfShape → Add → Unsqueeze → Transpose
	{"Split, Transpose", []byte{0xfb, 0x35, 0xc3, 0xc1, 0xa3, 0x3b, 0x8f, 0xd0, 0x24, 0x38, 0x17, 0x0, 0x6a, 0x25, 0x4c, 0x64, 0xb3, 0x2b, 0x27}, "Split → Mish", false},
	// opset 18, double, sample [3 2]: Shape → Gather → Cast → Div
	{"a sample dimension used as a value", []byte{0x17, 0xed, 0xdb, 0x72, 0x81, 0xc8, 0x9f, 0xd5, 0xe3, 0xd9, 0xf2, 0xc6, 0x36, 0x69, 0x4f, 0x88, 0x90, 0x31, 0xdd}, "Shape → Gather → Cast → Div", false},
	// opset 18, float, sample [1 4]: ReduceMean → Add → Tanh → … (mixes samples)
	{"ReduceMean over the batch axis", []byte{0x32, 0x9a, 0x8b, 0x44, 0x1f, 0x9c, 0xb4, 0x68, 0x49, 0x5e}, "ReduceMean → Add", true},
	// opset 18, float, sample [3 4]: Shape → Cast → Div → … (depends on the batch size)
	{"the batch size used as a value", []byte{0x1a, 0x97, 0xd7, 0x8a, 0xcb, 0xbb, 0xf0, 0x3, 0x5e, 0xc1}, "Shape → Cast → Div", true},
	// opset 17, float, sample [3 4]: Tile → Shape → Slice → Squeeze → Range → Cast → Unsqueeze → Add (mixes samples)
	{"the sample's index used as a value", []byte{0xf4, 0x16, 0x85, 0x12, 0xe7, 0x41, 0xac, 0x17, 0x6c, 0xb4, 0x3c, 0x4b, 0x25, 0xdd, 0x98, 0x56, 0xde}, "Range → Cast → Unsqueeze → Add", true},
	// opset 13, float, sample [4]: Shape → Gather → Cast → Div → Mul → HardSigmoid → Reshape (depends on the batch size)
	{"Reshape to a literal [2, -1]", []byte{0xc0, 0x67, 0x2c, 0x7b, 0xae, 0xbf, 0x33, 0x7a, 0xa5, 0x4e, 0x31, 0x11, 0xc5, 0xc0, 0x1d, 0xce, 0xa, 0x6d}, "Reshape", true},
	// opset 13, float, sample [3]: Gather → Add → … (mixes samples)
	{"sample 0 used by every sample", []byte{0x33, 0x4, 0x86, 0xd6, 0x45, 0x32, 0x6, 0xac, 0x6b, 0xe3, 0x93, 0x93, 0xa0, 0x72, 0x90, 0xe6, 0x70, 0xa9}, "Gather → Add", true},
	{"no bytes: a reduction over the batch axis", []byte{}, "ReduceSum → Add", true},
}

// FuzzPipeline pushes small random ONNX graphs (buildFuzzGraph) through
// the whole pipeline — Decode, lowering and the batch check (Model.Fn),
// Compile, Run — and checks that nothing panics; that a graph that mixes
// samples is refused; and that for a graph that is accepted, its values
// and Jacobians on a batch of 3 match a loop over the samples at batch size
// 1 (the generic full Jacobian, which does not rely on the per-sample
// proof), in forward, reverse and auto mode and through the one-shot
// BatchJacobian, match central finite differences (float64, smooth
// graphs), and its Laplacian matches the trace of per-sample Hessians.
func FuzzPipeline(f *testing.F) {
	for _, s := range pipelineSeeds {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 96 {
			data = data[:96]
		}
		b, g := buildFuzzGraph(data)
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("decode: %v\ngraph: %s", err, g.describe())
		}
		fn, err := m.Fn(g.sample)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("%v\ngraph: %s", err, g.describe())
		}
		if g.mixes != "" {
			if err == nil {
				t.Fatalf("a graph that mixes samples was accepted\ngraph: %s", g.describe())
			}
			// The refusal says why and names a node.
			msg := err.Error()
			if !strings.Contains(msg, "mixes samples") && !strings.Contains(msg, "depends on its batch size") || !strings.Contains(msg, `node "/`) {
				t.Fatalf("a graph that mixes samples was refused with %q\ngraph: %s", msg, g.describe())
			}
			return
		}
		if err != nil {
			t.Fatalf("a graph that maps samples independently was refused: %v\ngraph: %s", err, g.describe())
		}
		checkPerSample(t, g, m, fn)
	})
}

// pipelineTol is the tolerance for two exact computations of one value in
// the model's precision, relative to the largest magnitude in want.
func pipelineTol(dt tensor.DType, want []float64) fdcheck.Tol {
	scale := 0.0
	for _, v := range want {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			scale = math.Max(scale, math.Abs(v))
		}
	}
	// Rounding errors scale with the intermediate values, which can be
	// much larger than a result that cancels (a layer norm's or a
	// softmax's derivative): an absolute floor for those.
	if dt == tensor.Float32 {
		return fdcheck.Tol{Rel: 1e-3, Abs: 1e-3*scale + 1e-5}
	}
	return fdcheck.Tol{Rel: 1e-10, Abs: 1e-10*scale + 1e-11}
}

// rowOf returns sample i of x as a batch of one.
func rowOf(x *tensor.Tensor, i int) *tensor.Tensor {
	r := fdcheck.Row(x.Convert(tensor.Float64), i)
	r, _ = r.Reshape(append([]int{1}, r.Shape()...)...)
	return r.Convert(x.DType())
}

// sampleOf returns sample i of t's values.
func sampleOf(t *tensor.Tensor, i int) []float64 {
	n := tensor.Size(t.Shape()[1:])
	return t.Float64s()[i*n : (i+1)*n]
}

func checkPerSample(t *testing.T, g *fuzzGraph, m *Model, fn jacobi.Fn) {
	const b = 3
	dt := m.DType()
	x := tensor.Randn(tensor.NewRand(uint64(len(g.ops))), append([]int{b}, g.sample...)...).Convert(dt)
	what := "\ngraph: " + g.describe()

	// Values: the batch against its samples one by one.
	y, err := jacobi.Eval(fn, x)
	if err != nil {
		t.Fatalf("eval: %v%s", err, what)
	}
	if y.Rank() < 1 || y.Shape()[0] != b {
		t.Fatalf("output of shape %v for a batch of %d%s", y.Shape(), b, what)
	}
	for i := range b {
		yi, err := jacobi.Eval(fn, rowOf(x, i))
		if err != nil {
			t.Fatalf("eval of sample %d: %v%s", i, err, what)
		}
		want := sampleOf(yi, 0)
		if !fdcheck.Compare(t, "value of sample "+string(rune('0'+i))+" in the batch against alone", sampleOf(y, i), want, nil, pipelineTol(dt, want)) {
			t.Fatal(what)
		}
	}

	// Jacobians: compiled in each mode, and one-shot, against the generic
	// Jacobian of each sample alone.
	loop := make([][]float64, b)
	for i := range b {
		j, err := jacobi.Jacobian(fn, rowOf(x, i))
		if err != nil {
			t.Fatalf("full Jacobian of sample %d: %v%s", i, err, what)
		}
		loop[i] = j.Float64s()
	}
	for _, mode := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse, jacobi.ModeAuto} {
		c, err := jacobi.Compile(func(v *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(fn, v, jacobi.WithMode(mode)) }, g.sample, jacobi.WithDType(dt))
		if err != nil {
			t.Fatalf("compile (%v): %v%s", mode, err, what)
		}
		j, err := c.Run(x)
		if err != nil {
			t.Fatalf("run (%v): %v%s", mode, err, what)
		}
		for i := range b {
			if !fdcheck.Compare(t, "per-sample Jacobian ("+mode.String()+") against the sample's full Jacobian", sampleOf(j, i), loop[i], nil, pipelineTol(dt, loop[i])) {
				t.Fatal(what)
			}
		}
		empty, err := c.Run(tensor.ZerosOf(dt, append([]int{0}, g.sample...)...))
		if err != nil || empty.Shape()[0] != 0 {
			t.Fatalf("run (%v) on an empty batch: %v%s", mode, err, what)
		}
	}
	j1, err := jacobi.BatchJacobian(fn, x)
	if err != nil {
		t.Fatalf("BatchJacobian: %v%s", err, what)
	}
	for i := range b {
		if !fdcheck.Compare(t, "BatchJacobian against the sample's full Jacobian", sampleOf(j1, i), loop[i], nil, pipelineTol(dt, loop[i])) {
			t.Fatal(what)
		}
	}

	// In float64 (the model computed in float64 when it is float32):
	// finite differences for smooth graphs, and the Laplacian.
	f64, err := m.Fn(g.sample, jacobi.WithDType(tensor.Float64))
	if err != nil {
		t.Fatalf("lowering in float64: %v%s", err, what)
	}
	x64 := x.Convert(tensor.Float64)
	val, err := jacobi.Compile(f64, g.sample)
	if err != nil {
		t.Fatalf("compile the value: %v%s", err, what)
	}
	outShape := val.OutShape()
	nout, nin := tensor.Size(outShape), tensor.Size(g.sample)
	evalAt := func(v []float64) []float64 {
		y, err := val.Run(tensor.MustNew(append([]int{1}, g.sample...), append([]float64{}, v...)))
		if err != nil {
			t.Fatalf("run the value: %v%s", err, what)
		}
		return y.Data()
	}
	if g.smooth {
		jac, err := jacobi.BatchJacobian(f64, x64)
		if err != nil {
			t.Fatalf("BatchJacobian (float64): %v%s", err, what)
		}
		for i := range b {
			want := fdcheck.FDJacobian(evalAt, sampleOf(x64, i), nout)
			got := sampleOf(jac, i)
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(v))
			}
			if !fdcheck.Compare(t, "per-sample Jacobian against finite differences", got, want, nil, fdcheck.Tol{Rel: 1e-5, Abs: 1e-6 * math.Max(scale, 1)}) {
				t.Fatal(what)
			}
		}
	}
	if len(g.sample) != 1 || nout > 8 {
		return
	}
	lap, err := jacobi.Compile(func(v *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f64, v) }, g.sample)
	if err != nil {
		t.Fatalf("compile the Laplacian: %v%s", err, what)
	}
	l, err := lap.Run(x64)
	if err != nil {
		t.Fatalf("run the Laplacian: %v%s", err, what)
	}
	for i := range b {
		want := make([]float64, nout)
		scale := 0.0 // of the terms: the trace can cancel them
		for o := range nout {
			out := func(v *jacobi.Node) *jacobi.Node {
				return f64(v).Reshape(1, nout).Slice(1, o, o+1).Sum()
			}
			h, err := jacobi.Hessian(out, rowOf(x64, i)) // (1, in, 1, in)
			if err != nil {
				t.Fatalf("Hessian of output %d of sample %d: %v%s", o, i, err, what)
			}
			for k := range nin {
				want[o] += h.Data()[k*nin+k]
				scale = math.Max(scale, math.Abs(h.Data()[k*nin+k]))
			}
		}
		if !fdcheck.Compare(t, "per-sample Laplacian against the trace of the sample's Hessian", sampleOf(l, i), want, nil, fdcheck.Tol{Rel: 1e-10, Abs: 1e-10*scale + 1e-11}) {
			t.Fatal(what)
		}
	}
}

// The seeds build the graphs their names say, mixing or not.
func TestPipelineSeeds(t *testing.T) {
	for _, s := range pipelineSeeds {
		_, g := buildFuzzGraph(s.data)
		if d := g.describe(); !strings.Contains(d, s.ops) || (g.mixes != "") != s.mixes {
			t.Errorf("seed %q builds %s", s.name, d)
		}
	}
}
