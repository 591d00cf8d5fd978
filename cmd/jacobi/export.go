package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

// exportable are the derivatives "jacobi export" writes: the name of the
// model's output for each, and its shape.
var exportable = []struct {
	name, output, shape string
	modes               bool
}{
	{"jacobian", "jacobian", "(batch, out, in)", true},
	{"hessian", "hessian", "(batch, out, in, in)", false},
	{"hessian-diag", "hessian_diag", "(batch, out, in)", false},
	{"laplacian", "laplacian", "(batch, out)", false},
	{"value-and-jacobian", "jacobian", "the model's output and (batch, out, in)", true},
}

// runExport is "jacobi export": a model's per-sample derivative written as
// an ONNX model of a symbolic batch.
func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jacobi export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	derivative := fs.String("derivative", "jacobian", "`what` to export: jacobian, hessian, hessian-diag, laplacian or value-and-jacobian")
	model := fs.String("model", "", "ONNX model `file` (default: the built-in seed network)")
	output := fs.String("output", "", "where to write the exported ONNX model (`file`, required)")
	mode := fs.String("mode", "auto", "`method` for Jacobians: auto (cheapest by the cost model), forward or reverse")
	opset := fs.Int("opset", onnx.DefaultOpset, fmt.Sprintf("ONNX `opset` of the exported model (%d to %d)", onnx.MinExportOpset, onnx.MaxExportOpset))
	name := fs.String("output-name", "", "`name` of the derivative's output in the exported model (default: the derivative's name)")
	dtype := fs.String("dtype", "auto", "`precision` the exported model computes in: auto (the model's: float32 for a float32 model), float32 or float64")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: jacobi export --derivative D --model IN.onnx --output OUT.onnx [flags]

Writes the per-sample derivative D of the model as an ONNX model: its input
has the model's input name, element type and shape (batch, in...) with batch
a symbolic dimension, its output is the derivative, in the model's precision
(float for a float32 model; --dtype float64 computes it in double), with the
shape "jacobi D" writes to .npy. Run it with ONNX Runtime (CPU, CUDA, TensorRT),
serve it with Triton Inference Server, or map it over a dataset: see
docs/scale-out.md. The exported model is checked against jacobi before it is
written; a model that mixes samples or depends on the batch size is refused.

Derivatives:
`)
		for _, e := range exportable {
			fmt.Fprintf(stderr, "  %-19s output %q, %s\n", e.name, e.output, e.shape)
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExample:\n  jacobi export --derivative laplacian --model net.onnx --output laplacian.onnx\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jacobi export: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !kernelPathOK(stderr) {
		return 1
	}
	err := export(exportOptions{derivative: *derivative, model: *model, output: *output, mode: *mode, opset: *opset, name: *name, dtype: *dtype}, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "jacobi export: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type exportOptions struct {
	derivative, model, output, mode, name, dtype string
	opset                                        int
}

func export(o exportOptions, stdout io.Writer) error {
	ei := -1
	for i, e := range exportable {
		if e.name == o.derivative {
			ei = i
		}
	}
	if ei < 0 {
		names := make([]string, len(exportable))
		for i, e := range exportable {
			names[i] = e.name
		}
		return usageError{fmt.Errorf("--derivative %q: want one of %s", o.derivative, strings.Join(names, ", "))}
	}
	what := exportable[ei]
	var mode jacobi.Mode
	switch o.mode {
	case "auto":
		mode = jacobi.ModeAuto
	case "forward":
		mode = jacobi.ModeForward
	case "reverse":
		mode = jacobi.ModeReverse
	default:
		return usageError{fmt.Errorf("--mode %q: want auto, forward or reverse", o.mode)}
	}
	if o.mode != "auto" && !what.modes {
		return usageError{fmt.Errorf("--mode applies to Jacobians, not to --derivative %s", what.name)}
	}
	if o.opset < onnx.MinExportOpset || o.opset > onnx.MaxExportOpset {
		return usageError{fmt.Errorf("--opset %d: want %d to %d", o.opset, onnx.MinExportOpset, onnx.MaxExportOpset)}
	}
	if o.output == "" {
		return usageError{errors.New("--output FILE.onnx is required")}
	}
	var dtype tensor.DType
	if o.dtype != "auto" {
		var err error
		if dtype, err = tensor.ParseDType(o.dtype); err != nil {
			return usageError{fmt.Errorf("--dtype %q: want auto, float32 or float64", o.dtype)}
		}
	}
	if st, err := os.Stat(filepath.Dir(o.output)); err != nil || !st.IsDir() {
		return fmt.Errorf("--output %s: directory %s does not exist", o.output, filepath.Dir(o.output))
	}
	if st, err := os.Stat(o.output); err == nil && st.IsDir() {
		return fmt.Errorf("--output %s is a directory", o.output)
	}

	start := time.Now()
	var m *onnx.Model
	var err error
	modelName := o.model
	if o.model == "" {
		m, err = onnx.Decode(defaultModel)
		modelName = defaultName
	} else {
		m, err = onnx.Load(o.model)
	}
	if err != nil {
		return err
	}
	if len(m.InputShape) == 0 {
		return fmt.Errorf("the model does not declare its input's shape: jacobi export needs its sample dimensions")
	}
	sample := make([]int, 0, len(m.InputShape)-1)
	for _, d := range m.InputShape[1:] {
		if d.Size < 0 {
			return fmt.Errorf("the model's input %q has shape %v: jacobi export needs fixed sample dimensions (only the batch may be symbolic)", m.Input, m.InputShape)
		}
		sample = append(sample, d.Size)
	}
	if o.dtype == "auto" {
		dtype = m.DType()
	}
	f, err := m.Fn(sample, jacobi.WithDType(dtype))
	if err != nil {
		return err
	}
	derive := derivativeFn(what.name, f, sample, mode)
	outName := what.output
	if o.name != "" {
		outName = o.name
	}
	outNames := []string{outName}
	fn := func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{derive(in[0])} }
	if what.name == "value-and-jacobian" {
		value := m.Output
		if value == outName || value == m.Input {
			value = "value"
		}
		outNames = []string{value, outName}
		fn = func(in []*jacobi.Node) []*jacobi.Node { return []*jacobi.Node{f(in[0]), derive(in[0])} }
	}
	batchName := "batch"
	if d := m.InputShape[0]; d.Size < 0 && d.Param != "" {
		batchName = d.Param
	}
	model, err := onnx.ExportFunc(fn, [][]int{append([]int{-1}, sample...)},
		onnx.PerSample(), onnx.Opset(o.opset), onnx.InputNames(m.Input), onnx.OutputNames(outNames...),
		onnx.InputType(m.InputType), onnx.DType(dtype), onnx.BatchName(batchName),
		onnx.DocString(fmt.Sprintf("per-sample %s of %s, exported by jacobi %s", what.name, filepath.Base(modelName), version)))
	if err != nil {
		return err
	}
	check, err := checkExport(model, fn, sample, len(outNames), dtype)
	if err != nil {
		return err
	}
	info, err := onnx.Inspect(model)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(o.output, model); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "jacobi export\n")
	fmt.Fprintf(stdout, "  model    %s (opset %d", modelName, m.Opset)
	if m.Producer != "" {
		fmt.Fprintf(stdout, ", %s", m.Producer)
	}
	fmt.Fprintf(stdout, ")\n  exported per-sample %s", what.name)
	if what.modes {
		chosen := mode
		if mode == jacobi.ModeAuto {
			if chosen, _, _, err = jacobi.JacobianMode(f, sample, jacobi.WithDType(dtype)); err != nil {
				chosen = mode
			}
		}
		fmt.Fprintf(stdout, ", %s mode", chosen)
	}
	fmt.Fprintln(stdout)
	for _, v := range info.Inputs {
		fmt.Fprintf(stdout, "  input    %v\n", v)
	}
	for _, v := range info.Outputs {
		fmt.Fprintf(stdout, "  output   %v\n", v)
	}
	fmt.Fprintf(stdout, "  file     %s: opset %d, %d nodes, %d initializers, %s\n", o.output, info.Opset, info.Nodes, info.Initializers, byteSize(len(model)))
	fmt.Fprintf(stdout, "  check    %s\n", check)
	fmt.Fprintf(stdout, "  time     %s\n", dur(time.Since(start)))
	return nil
}

// derivativeFn returns the derivative of f named d as a function of a
// batch of samples of the given shape; the Taylor-mode ones take vector
// samples, so other samples are flattened for them and the result shaped
// back as "jacobi hessian-diag" writes it.
func derivativeFn(d string, f jacobi.Fn, sample []int, mode jacobi.Mode) jacobi.Fn {
	flat := len(sample) != 1
	fv := func(v *jacobi.Node) *jacobi.Node { return f(v.Reshape(append([]int{v.Shape()[0]}, sample...)...)) }
	flatten := func(x *jacobi.Node) *jacobi.Node { return x.Reshape(x.Shape()[0], tensor.Size(sample)) }
	switch d {
	case "hessian":
		return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(f, x) }
	case "hessian-diag":
		if !flat {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(f, x) }
		}
		return func(x *jacobi.Node) *jacobi.Node {
			h := jacobi.BatchHessianDiagOf(fv, flatten(x)) // (b, out..., size)
			s := h.Shape()
			if s == nil {
				return h
			}
			return h.Reshape(append(append([]int{}, s[:len(s)-1]...), sample...)...)
		}
	case "laplacian":
		if !flat {
			return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(f, x) }
		}
		return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(fv, flatten(x)) }
	}
	return func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(mode)) }
}

// checkExport runs the exported model, re-imported by jacobi's own
// importer, on a random batch and compares it with jacobi's result; it
// fails when they differ by more than rounding.
func checkExport(model []byte, fn jacobi.MultiFn, sample []int, outputs int, dt tensor.DType) (string, error) {
	if outputs != 1 {
		return fmt.Sprintf("not re-imported (%d outputs; jacobi's importer takes one)", outputs), nil
	}
	const batch = 3
	x := tensor.Randn(tensor.NewRand(1), append([]int{batch}, sample...)...).Convert(dt)
	m, err := onnx.Decode(model)
	if err != nil {
		return "", fmt.Errorf("the exported model does not re-import (a bug in jacobi): %w", err)
	}
	g, err := m.Fn(sample, jacobi.WithDType(dt))
	if err != nil {
		return "", fmt.Errorf("the exported model does not re-import (a bug in jacobi): %w", err)
	}
	got, err := jacobi.Eval(g, x)
	if err != nil {
		return "", fmt.Errorf("the exported model does not run (a bug in jacobi): %w", err)
	}
	t, err := jacobi.Trace(fn, [][]int{x.Shape()}, jacobi.WithDType(dt))
	if err != nil {
		return "", err
	}
	want, err := t.Run(x)
	if err != nil {
		return "", err
	}
	diff := tensor.MaxAbsDiff(got, want[0])
	// The re-imported graph may round in another order: a few thousand
	// ulps of the largest element (1e-12 in float64).
	if scale := want[0].MaxAbs(); diff > 4500*dt.Epsilon()*max(scale, 1e-300) || diff != diff {
		return "", fmt.Errorf("the exported model, re-imported, differs from jacobi by %.3g on a random batch (a bug in jacobi; nothing written)", diff)
	}
	return fmt.Sprintf("re-imported into jacobi and run on a random batch of %d: largest difference %.3g", batch, diff), nil
}

func byteSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
