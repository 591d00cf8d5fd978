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
	// opset 13, double, sample [2]: Gemm → Shape → ConstantOfShape → Mul
	{"Gemm, ConstantOfShape of Shape", []byte{0x80, 0x6, 0x48, 0x4d, 0x21, 0x9b, 0x8, 0x65, 0xda, 0xbb, 0x5a, 0xc5, 0x4a, 0xa7, 0x99, 0x3e, 0x4e}, "Gemm → Shape → ConstantOfShape", false},
	// opset 17, float, sample [4]: Shape → Slice → Concat → Reshape
	{"Reshape to the batch read from Shape", []byte{0x79, 0xbf, 0x22, 0xdf, 0x90, 0xa5, 0x42, 0xa8, 0x53, 0x59, 0xa0, 0x68, 0xcb, 0xf3, 0x8e, 0xbe, 0x7d, 0x78}, "Shape → Slice → Concat → Reshape", false},
	// opset 13, float, sample [1]: Shape → Gather → Mul → Div → Concat → Expand
	{"Expand to a shape computed from the batch", []byte{0x4c, 0x41, 0x4a, 0x70, 0x10, 0x48, 0xa6, 0x83}, "Mul → Div → Concat → Expand", false},
	// opset 18, float, sample [3 1]: Mul → Add → Reciprocal → Transpose → Transpose → LayerNormalization
	{"LayerNormalization", []byte{0x12, 0x8b, 0xc9, 0xe2, 0xfc, 0xdb, 0xd8, 0x55, 0x45, 0xa9, 0x25, 0xce, 0x10, 0x1d, 0x8a, 0x27, 0x4e, 0xdb, 0x68}, "LayerNormalization", false},
	// opset 18, double, sample [2]: Split → Einsum → Pad
	{"Split, Einsum, Pad", []byte{0xb6, 0xa2, 0x50, 0x15, 0x32, 0xb6, 0xd7, 0x32, 0x61, 0xa5, 0x26, 0x4b, 0xae, 0xd4, 0xf3, 0xdb, 0x27}, "Split → ", false},
	// opset 18, float, sample [4 2]: Slice → Flatten → Unsqueeze → Conv
	{"Conv", []byte{0x52, 0x5e, 0x6f, 0xd3, 0x11, 0xe3, 0x7a, 0xf1, 0xe8, 0x27, 0x60, 0xe9, 0xeb, 0xe0, 0x52, 0xe9, 0x36, 0x1b, 0xda}, "Conv", false},
	// opset 12, float, sample [2 3]: Unsqueeze → Shape → Gather → Cast → Div
	{"a sample dimension used as a value", []byte{0x53, 0xf1, 0xdd, 0xf1, 0x1e, 0x39, 0x2f, 0x44, 0x3, 0xc4, 0xdc, 0x39, 0x63, 0x16, 0x7d}, "Shape → Gather → Cast → Div", false},
	// opset 17, double, sample [3 2]: Tanh → Mul → ReduceMean → Add → ReduceSum → Add (mixes samples: ReduceMean over the batch axis)
	{"ReduceMean over the batch axis", []byte{0x41, 0x45, 0x59, 0xa2, 0xcd, 0xb3, 0x21, 0x59, 0xdb, 0x57, 0xd8, 0xfb, 0xf2, 0x4c, 0x46, 0x26, 0x89}, "ReduceMean over the batch", true},
	// opset 17, float, sample [1 4]: Shape → Cast → Div → Transpose → Concat (mixes samples: the batch size used as a value)
	{"the batch size used as a value", []byte{0xc1, 0x74, 0x77, 0xc8, 0x8b, 0xda, 0x82, 0x37, 0x2e, 0xe, 0x24, 0x17, 0xa1, 0xe4, 0x80, 0xaa, 0x2c}, "batch size used as a value", true},
	// opset 17, float, sample [4 2]: Shape → Slice → Mul → Div → Squeeze → Range → Cast → Unsqueeze → Add (mixes samples: the sample's index used as a value)
	{"the sample's index used as a value", []byte{0xd9, 0x88, 0x6b, 0x43, 0xe9, 0xc8, 0x0, 0x8c, 0xb7, 0xb1, 0x6d, 0x21, 0x79, 0x28, 0x9e, 0x8e, 0x75, 0x86, 0x4f}, "sample's index", true},
	// opset 12, float, sample [3 4]: Split → Reshape → Reshape (mixes samples: Reshape to a literal [2, -1])
	{"Reshape to a literal [2, -1]", []byte{0xe3, 0xe0, 0xf5, 0x16, 0xeb, 0x37, 0xa2, 0xbb, 0x39, 0xa1, 0x2d, 0x34, 0xb2, 0xd8, 0x95, 0x96, 0xd5}, "literal [2, -1]", true},
	// opset 13, double, sample [1]: Transpose → Unsqueeze → Slice → Add → LessOrEqual → Where (mixes samples: sample 0 used by every sample)
	{"sample 0 used by every sample", []byte{0xa0, 0xb4, 0xe6, 0x5c, 0xc3, 0xc9, 0x79, 0x95, 0xbd, 0x44, 0x94, 0x50, 0x6, 0x85, 0x1d, 0x31, 0x53}, "sample 0 used", true},
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

// Graphs FuzzPipeline found refused although they map samples
// independently (each failed before its fix).
func TestPipelineFindings(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		// opset 12, float, sample [4 2]: … → Expand → Softsign → Tanh → Tanh → Softmax.
		// Before opset 13 Softmax flattens its input to a matrix at axis:
		// lowered as a reshape to (b·…, …) that merged the batch axis with
		// the next one, refused as mixing samples.
		{"Softmax at opset 12 on a sample of rank 3", []byte{219, 8, 99, 87, 161, 198, 202, 217, 98, 193, 76, 250, 101, 239, 222, 179, 25, 69, 2, 127, 97, 12, 93, 167, 167, 42, 19, 186, 59, 182, 200, 181, 138, 20, 225, 119, 14, 86, 28, 39, 54, 106, 250, 82, 198, 114, 101, 107}},
		// opset 13, double, sample [1 3]: MatMul → ReduceSumSquare → Softmax → Sin → Concat →
		// Shape → Gather → Cast → Div → Unsqueeze → Unsqueeze → Transpose.
		// BatchJacobian at b = 2 and 3: the derivative mapped over the
		// batch was simplified with linear folding, which folded a chain
		// over the whole batch (b·k values) into one product across the
		// samples, refused as mixing them; at b = 1 the batch axis after
		// Unsqueeze (a reshape to (1, 1, 2)) and Transpose was taken to
		// be axis 1.
		{"one-shot Jacobians at small batches", []byte{128, 141, 171, 168, 10, 111, 21, 91, 212, 76, 185, 47, 228, 135, 71, 214, 12, 230, 204, 126, 240, 180, 117, 2, 50, 105, 128, 228, 172, 207, 24, 58, 153, 225, 231, 213, 162, 35, 154, 4, 147, 98, 213, 106, 118, 129, 214, 130}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, g := buildFuzzGraph(c.data)
			if g.mixes != "" {
				t.Fatalf("the graph mixes samples: %s", g.describe())
			}
			m, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			fn, err := m.Fn(g.sample)
			if err != nil {
				t.Fatalf("%v\ngraph: %s", err, g.describe())
			}
			for _, n := range []int{1, 2, 3, 4} {
				x := tensor.Randn(tensor.NewRand(uint64(n)), append([]int{n}, g.sample...)...).Convert(m.DType())
				j, err := jacobi.BatchJacobian(fn, x)
				if err != nil {
					t.Fatalf("BatchJacobian at b = %d: %v\ngraph: %s", n, err, g.describe())
				}
				for i := range n {
					want, err := jacobi.Jacobian(fn, rowOf(x, i))
					if err != nil {
						t.Fatal(err)
					}
					fdcheck.Compare(t, "BatchJacobian against the sample's full Jacobian", sampleOf(j, i), want.Float64s(), nil, pipelineTol(m.DType(), want.Float64s()))
				}
			}
			checkPerSample(t, g, m, fn)
		})
	}
}
