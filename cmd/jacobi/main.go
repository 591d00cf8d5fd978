// Command jacobi computes per-sample derivatives of ONNX models (as exported
// by torch.onnx.export) on a batch of inputs read from a .npy file.
//
//	jacobi jacobian     --model net.onnx --input x.npy --output j.npy   # (b, out, in)
//	jacobi hessian      --model net.onnx --input x.npy --output h.npy   # (b, out, in, in)
//	jacobi hessian-diag --model net.onnx --input x.npy --output d.npy   # (b, out, in)
//	jacobi laplacian    --model net.onnx --input x.npy --output l.npy   # (b, out)
//	jacobi export --derivative laplacian --model net.onnx --output lap.onnx
//
// With no --model it uses a built-in seed network, Linear(5,2) → Sigmoid →
// Linear(2,10) exported from PyTorch; with no --input, a seeded random
// batch. It prints a summary with the time taken and, for comparison, the
// same result computed the naive way (the full Jacobian or Hessian of the
// whole batch, then its diagonal blocks). With no arguments at all it runs
// "jacobi jacobian" on the built-in network. Run "jacobi help" for more.
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/onnx"
	"github.com/jacobi-ad/jacobi/tensor"
)

// version is the tool's version, printed by --version.
const version = "0.1.0"

//go:embed default.onnx
var defaultModel []byte

// defaultName describes the embedded model.
const defaultName = "built-in seed network Linear(5,2) → Sigmoid → Linear(2,10)"

// command describes one derivative command.
type command struct {
	name, short, shape string
	modes              bool // whether --mode applies
}

var commands = []command{
	{"jacobian", "per-sample Jacobians", "(b, out, in)", true},
	{"hessian", "per-sample Hessians of every output", "(b, out, in, in)", false},
	{"hessian-diag", "diagonals of the per-sample Hessians", "(b, out, in)", false},
	{"laplacian", "per-sample Laplacians (Hessian traces) of every output", "(b, out)", false},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))))
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `jacobi %s: per-sample derivatives of ONNX models

Usage:
  jacobi <command> [flags]
  jacobi              (no command: jacobian on the built-in seed network)

Commands:
`, version)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s, shape %s\n", c.name, c.short, c.shape)
	}
	fmt.Fprintf(w, "  %-13s %s\n", "export", "write a per-sample derivative as an ONNX model (batch symbolic)")
	fmt.Fprintf(w, "  %-13s %s\n", "bench", "time jacobi against the alternatives on the benchmark cases")
	fmt.Fprintf(w, `  help [command] show help for a command

Flags of every command (see "jacobi help jacobian"):
  --model FILE.onnx  --input X.npy  --output OUT.npy  --mode auto|forward|reverse
  --chunk N  --batch N  --seed S  --compare  --quiet

  --version          print the version

With no --model, a built-in seed network Linear(5,2) → Sigmoid → Linear(2,10);
with no --input, a seeded random batch. Try: jacobi jacobian
`)
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// options are a command's parsed flags.
type options struct {
	model, input, output, mode, dtype string
	chunk, batch                      int
	seed                              uint64
	compare, quiet                    bool
}

func flags(c *command, stderr io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	fs := flag.NewFlagSet("jacobi "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.model, "model", "", "ONNX model `file` (default: the built-in seed network)")
	fs.StringVar(&o.input, "input", "", "input batch, a float32 or float64 .npy `file` of shape (b, in) (default: a random batch)")
	fs.StringVar(&o.output, "output", "", "where to write the result, a .npy `file` of shape "+c.shape+" in the precision computed in (--dtype); - for standard output")
	fs.StringVar(&o.dtype, "dtype", "auto", "`precision` to compute and write in: auto (the model's: float32 for a float32 model), float32 or float64")
	fs.StringVar(&o.mode, "mode", "auto", "`method` for Jacobians: auto (cheapest by the cost model), forward or reverse")
	fs.IntVar(&o.chunk, "chunk", 0, "samples per chunk of the batch (default: the library's)")
	fs.IntVar(&o.batch, "batch", 256, "size of the random batch used when there is no --input")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random batch")
	fs.BoolVar(&o.compare, "compare", false, "also compute the result the naive way and compare (default: on without --model and --input)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: jacobi %s [flags]\n\nComputes the %s of the model at every sample of the input batch; the result has shape %s and is written as .npy in the model's precision (float32 for a float32 model; --dtype float64 widens it).\n",
			c.name, c.short, c.shape)
		if !c.modes {
			fmt.Fprintln(stderr, "(--mode applies to Jacobians only; this command uses second-order methods chosen by the library.)")
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, `
Any batch size: the input is read and the result written a piece at a time.
--output - writes the result to standard output; a symbolic link's target is
replaced, a device or pipe written directly; the input file is refused.
NaN and Inf in a sample propagate to that sample's derivatives only.
Ctrl-C stops at once and removes the partial file.
Exit status: 0 success, 1 refused input, model or output, 2 bad usage,
130 interrupted.
`)
		fmt.Fprintf(stderr, "\nExample:\n  jacobi %s --model net.onnx --input x.npy --output out.npy\n", c.name)
	}
	return fs, o
}

// run is the whole tool; it returns the exit status: 0 success, 1 failure
// (a refused input, model or output), 2 bad usage, 128 + the signal's
// number when interrupted (130 for Ctrl-C). With no arguments it does its main job on the built-in
// model: jacobi jacobian.
func run(args []string, stdout, stderr io.Writer, tty bool) int {
	if len(args) == 0 {
		args = []string{"jacobian"}
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintf(stdout, "jacobi %s (%s, %s/%s, %s kernels)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernels.Path())
		return 0
	case "bench":
		if !kernelPathOK(stderr) {
			return 1
		}
		return runBench(args[1:], stdout, stderr)
	case "export":
		return runExport(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && args[1] == "bench" {
			return runBench([]string{"-h"}, stdout, stdout)
		}
		if len(args) > 1 && args[1] == "export" {
			return runExport([]string{"-h"}, stdout, stdout)
		}
		if len(args) > 1 {
			c := findCommand(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "jacobi: unknown command %q\n\n", args[1])
				usage(stderr)
				return 2
			}
			fs, _ := flags(c, stdout)
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		usage(stdout)
		return 0
	}
	c := findCommand(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "jacobi: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs, o := flags(c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jacobi %s: unexpected argument %q\n", c.name, fs.Arg(0))
		return 2
	}
	if !kernelPathOK(stderr) {
		return 1
	}
	if err := execute(c, o, stdout, stderr, tty); err != nil {
		fmt.Fprintf(stderr, "jacobi %s: %v\n", c.name, err)
		var ue usageError
		var stop interruption
		switch {
		case errors.As(err, &ue):
			return 2
		case errors.As(err, &stop):
			return stop.status()
		}
		return 1
	}
	return 0
}

// kernelPathOK reports whether the kernels JACOBI_KERNEL asks for (if any)
// can run here, and says why not on stderr.
func kernelPathOK(stderr io.Writer) bool {
	if err := kernels.PathError(); err != nil {
		fmt.Fprintf(stderr, "jacobi: %v\n", err)
		return false
	}
	return true
}

type usageError struct{ error }

func execute(c *command, o *options, stdout, stderr io.Writer, tty bool) error {
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
	if o.chunk < 0 || o.batch < 1 {
		return usageError{errors.New("--chunk and --batch must be positive")}
	}
	var dtype tensor.DType
	autoDType := o.dtype == "auto"
	if !autoDType {
		var err error
		if dtype, err = tensor.ParseDType(o.dtype); err != nil {
			return usageError{fmt.Errorf("--dtype %q: want auto, float32 or float64", o.dtype)}
		}
	}
	if err := checkOutput(o); err != nil {
		return err
	}
	// With the result on standard output, the summary goes to stderr.
	summary := stdout
	if o.output == "-" || isStdout(o.output, stdout) {
		summary = stderr
	}

	// An interrupt (Ctrl-C) or SIGTERM stops the run at once: the partial
	// temporary file is removed and the exit status is 128 + the signal's
	// number (130 for Ctrl-C).
	out := &sink{}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan error, 1)
	go func() {
		done <- compute(c, o, mode, dtype, autoDType, out, stdout, summary, stderr, tty)
	}()
	select {
	case err := <-done:
		return err
	case s := <-sig:
		if e, ok := out.stop(s); ok {
			return e
		}
		return <-done // the output was complete: the run ends as it would have
	}
}

// compute does the work of a derivative command: load the model, compile
// the derivative, run it over the input a piece at a time into out, and
// print the summary.
func compute(c *command, o *options, mode jacobi.Mode, dtype tensor.DType, autoDType bool, out *sink, stdout, summary, stderr io.Writer, tty bool) error {
	defer out.abort() // nothing once committed
	demo := o.model == "" && o.input == ""
	compare := o.compare || demo

	// The summary's time is the whole job, model loading and lowering
	// included (a large model can take longer to lower and check than to
	// differentiate); its parts are marked by the clock. The input is read
	// and the result written piece by piece during the run: its time
	// includes them.
	var phases phaseTimes
	mark := phases.start()

	// The model.
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
	phases.model += mark()

	// The input, read or generated a piece at a time.
	var src *source
	inputName := o.input
	if o.input != "" {
		if src, err = fileSource(o.input); err != nil {
			return err
		}
	} else {
		sample := make([]int, 0, len(m.InputShape))
		for i, d := range m.InputShape {
			if i == 0 {
				continue
			}
			if d.Size < 0 {
				return usageError{fmt.Errorf("the model's input %q has shape %v with a symbolic sample dimension; give --input", m.Input, m.InputShape)}
			}
			sample = append(sample, d.Size)
		}
		if len(m.InputShape) == 0 {
			return usageError{fmt.Errorf("the model does not declare its input shape; give --input")}
		}
		src = randomSource(o.seed, append([]int{o.batch}, sample...))
		inputName = fmt.Sprintf("random normal batch (seed %d)", o.seed)
	}
	defer src.close()
	if err := m.CheckInput(src.shape); err != nil {
		return err
	}
	// The precision: the model's, unless --dtype says otherwise; the
	// input is converted to it.
	if autoDType {
		dtype = m.DType()
	}
	phases.input += mark()
	b, sample := src.shape[0], src.shape[1:]
	f, err := m.Fn(sample, jacobi.WithDType(dtype))
	if err != nil {
		return err
	}
	phases.model += mark()

	run := []jacobi.RunOption{jacobi.WithDType(dtype)}
	if o.chunk > 0 {
		run = append(run, jacobi.WithChunk(o.chunk))
	}
	// The Taylor-mode derivatives take vector samples: scalar samples and
	// samples with several axes are flattened for them and the result shaped back.
	runSample, fd := sample, f
	flat := (c.name == "hessian-diag" || c.name == "laplacian") && len(sample) != 1
	if flat {
		runSample = []int{tensor.Size(sample)}
		fd = func(v *jacobi.Node) *jacobi.Node { return f(v.Reshape(append([]int{v.Shape()[0]}, sample...)...)) }
	}
	var derive func(x *jacobi.Node) *jacobi.Node
	switch c.name {
	case "jacobian":
		derive = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x, jacobi.WithMode(mode)) }
	case "hessian":
		derive = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(f, x) }
	case "hessian-diag":
		derive = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(fd, x) }
	case "laplacian":
		derive = func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(fd, x) }
	}

	comp, err := jacobi.Compile(derive, runSample, run...)
	if err != nil {
		return err
	}
	phases.compile += mark()
	perShape := comp.OutShape()
	if c.name == "hessian-diag" && flat {
		perShape = append(append([]int{}, perShape[:len(perShape)-1]...), sample...)
	}
	resShape := append([]int{b}, perShape...)

	// The naive comparison needs the whole batch and result in memory: it
	// is made only on batches small enough for the naive way.
	in := tensor.Size(sample)
	what, size := naiveSize(c.name, b, in, tensor.Size(perShape))
	keep := compare && size <= naiveLimit
	if err := out.open(o.output, stdout, comp.OutDType(), resShape); err != nil {
		return err
	}
	var x, res *tensor.Tensor
	if keep {
		if x, err = src.all(); err != nil {
			return err
		}
		x = x.Convert(dtype)
		src = memorySource(x)
		res = tensor.ZerosOf(comp.OutDType(), append([]int{b}, comp.OutShape()...)...)
	}
	var first *tensor.Tensor // the result at sample 0
	err = runPieces(comp, src, dtype, runSample, res, out, o, stderr, tty && !o.quiet, func(y *tensor.Tensor) {
		first = y.Convert(tensor.Float64)
		if first == y {
			first, _ = tensor.New(y.Shape(), append([]float64{}, y.Data()...))
		}
	})
	if err != nil {
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	phases.run += mark()
	if out.isStopped() {
		return errStopped
	}

	// The summary.
	fmt.Fprintf(summary, "jacobi %s\n", c.name)
	fmt.Fprintf(summary, "  model   %s (opset %d", modelName, m.Opset)
	if m.Producer != "" {
		fmt.Fprintf(summary, ", %s", m.Producer)
	}
	fmt.Fprintf(summary, ")\n  input   %s, shape %s\n", inputName, shapeStr(src.shape))
	desc := c.short + " " + shapeStr(resShape) + ", " + comp.OutDType().String()
	if c.modes {
		if mode == jacobi.ModeAuto {
			if chosen, _, _, err := jacobi.JacobianMode(f, sample, jacobi.WithDType(dtype)); err == nil {
				desc += fmt.Sprintf(", %s mode (chosen by the cost model)", chosen)
			}
		} else {
			desc += fmt.Sprintf(", %s mode", mode)
		}
	}
	fmt.Fprintf(summary, "  result  %s\n", desc)
	fmt.Fprintf(summary, "  time    %s\n", phases)
	switch o.output {
	case "":
		if !demo {
			fmt.Fprintf(summary, "  output  none (give --output FILE.npy to save the result)\n")
		}
	case "-":
		fmt.Fprintf(summary, "  output  standard output\n")
	default:
		fmt.Fprintf(summary, "  output  %s\n", o.output)
	}
	if compare {
		if keep {
			if res, err = res.Reshape(resShape...); err != nil {
				return err
			}
			naive(c, f, x, res, phases.compile+phases.run, summary)
		} else {
			fmt.Fprintf(summary, "  naive   %s: skipped (%.3g elements; try a smaller --batch)\n", what, size)
		}
	}
	if demo {
		if first != nil && first.Len() <= 100 {
			if first, err = first.Reshape(perShape...); err == nil {
				fmt.Fprintf(summary, "\nsample 0:\n%v\n", first)
			}
		}
		fmt.Fprintf(summary, "\n(give --model FILE.onnx --input X.npy --output OUT.npy for your own model; jacobi help %s)\n", c.name)
	}
	return nil
}

// now is the clock of the summary's times (a test replaces it).
var now = time.Now

// phaseTimes are the parts of a derivative command's time.
type phaseTimes struct {
	model   time.Duration // load, decode, lower and check the model (onnx.Load, Model.Fn)
	input   time.Duration // read the input (or draw the random batch)
	compile time.Duration // trace, transform and compile the derivative (jacobi.Compile)
	run     time.Duration // run it over the batch
}

// start returns a function that returns the time since its last call (or
// since start).
func (p *phaseTimes) start() func() time.Duration {
	last := now()
	return func() time.Duration {
		t := now()
		d := t.Sub(last)
		last = t
		return d
	}
}

// String is the summary's time line: the whole and its parts.
func (p phaseTimes) String() string {
	total := p.model + p.input + p.compile + p.run
	return fmt.Sprintf("%s (load, lower and check the model %s, read the input %s, trace, transform and compile %s, run %s)",
		dur(total), dur(p.model), dur(p.input), dur(p.compile), dur(p.run))
}

// progressAfter is how long a run goes before it shows a progress bar.
var progressAfter = time.Second

// runPieces runs comp over the batch of src a piece at a time, writing each
// piece of the result to out (and into keep, when not nil), and showing a
// progress bar on stderr once the run has taken more than a second (when
// show is set). first receives the result of the first piece.
func runPieces(comp *jacobi.Compiled, src *source, dtype tensor.DType, runSample []int, keep *tensor.Tensor, out *sink, o *options, stderr io.Writer, show bool, first func(*tensor.Tensor)) error {
	b := src.shape[0]
	per := tensor.Size(comp.OutShape())
	perBytes := per*comp.OutDType().Size() + 2*tensor.Size(runSample)*8
	piece := max(1, min(b, pieceBytes/perBytes))
	if show {
		chunk := o.chunk
		if chunk == 0 {
			chunk = 256
		}
		piece = min(piece, max(1, chunk*runtime.GOMAXPROCS(0)))
	}
	var buf *tensor.Tensor // a piece of the result, when not kept
	start := time.Now()
	var bar *progressbar.ProgressBar
	for lo := 0; lo < b; lo += piece {
		if out.isStopped() {
			return errStopped
		}
		hi := min(lo+piece, b)
		n := hi - lo
		xp, err := src.next(n)
		if err != nil {
			return err
		}
		if xp, err = xp.Convert(dtype).Reshape(append([]int{n}, runSample...)...); err != nil {
			return err
		}
		yShape := append([]int{n}, comp.OutShape()...)
		var yp *tensor.Tensor
		if keep != nil {
			yp, err = rows(keep, lo*per, hi*per, yShape)
		} else {
			if buf == nil {
				buf = tensor.ZerosOf(comp.OutDType(), piece*per)
			}
			yp, err = rows(buf, 0, n*per, yShape)
		}
		if err != nil {
			return err
		}
		if err := comp.RunInto(xp, yp); err != nil {
			return err
		}
		if lo == 0 && n > 0 {
			y0, err := rows(yp, 0, per, comp.OutShape())
			if err != nil {
				return err
			}
			first(y0)
		}
		if err := out.write(yp); err != nil {
			return err
		}
		if bar == nil && show && time.Since(start) > progressAfter && hi < b {
			bar = progressbar.NewOptions(b,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription("samples"),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("samples"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(100*time.Millisecond))
			bar.Add(lo)
		}
		if bar != nil {
			bar.Add(n)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	return nil
}

// rows returns the tensor of the given shape over t's values lo to hi.
func rows(t *tensor.Tensor, lo, hi int, shape []int) (*tensor.Tensor, error) {
	if t.DType() == tensor.Float32 {
		return tensor.New32(shape, t.Data32()[lo:hi])
	}
	return tensor.New(shape, t.Data()[lo:hi])
}

// naiveLimit bounds the size of the derivative of the whole batch that the
// naive way computes.
const naiveLimit = 5e7

// naiveSize describes the naive way's derivative of the whole batch for
// the given command, batch size, sample size and result size per sample,
// and returns its number of elements.
func naiveSize(name string, b, in, perSample int) (string, float64) {
	if name == "jacobian" {
		out := perSample / max(in, 1)
		return "full Jacobian of the batch, then its diagonal blocks", float64(b) * float64(out) * float64(b) * float64(in)
	}
	return "full Hessian of the batch for each output, then its diagonal blocks", float64(b) * float64(in) * float64(b) * float64(in)
}

// naive computes the result the way generic autodiff does — the full
// derivative of the whole batch, then its diagonal blocks — and prints its
// time and its largest difference from res.
func naive(c *command, f jacobi.Fn, x, res *tensor.Tensor, fast time.Duration, w io.Writer) {
	b := x.Shape()[0]
	in := tensor.Size(x.Shape()[1:])
	out := tensor.Size(res.Shape()[1:]) // outputs per sample, times in or in² below
	switch c.name {
	case "jacobian", "hessian-diag":
		out /= in
	case "hessian":
		out /= in * in
	}
	what, size := naiveSize(c.name, b, in, tensor.Size(res.Shape()[1:]))
	if size > naiveLimit {
		fmt.Fprintf(w, "  naive   %s: skipped (%.3g elements; try a smaller --batch)\n", what, size)
		return
	}
	start := time.Now()
	ref, err := naiveResult(c.name, f, x, out)
	if err != nil {
		fmt.Fprintf(w, "  naive   %s: failed: %v\n", what, err)
		return
	}
	t := time.Since(start)
	if ref, err = ref.Reshape(res.Shape()...); err != nil {
		fmt.Fprintf(w, "  naive   %s: failed: %v\n", what, err)
		return
	}
	diff := tensor.MaxAbsDiff(ref, res)
	fmt.Fprintf(w, "  naive   %s: %s (%.1f× jacobi's compile and run), largest difference %.3g\n", what, dur(t), float64(t)/float64(max(fast, 1)), diff)
}

func naiveResult(name string, f jacobi.Fn, x *tensor.Tensor, out int) (*tensor.Tensor, error) {
	b := x.Shape()[0]
	in := tensor.Size(x.Shape()[1:])
	if name == "jacobian" {
		full, err := jacobi.Jacobian(f, x) // (b, out, b, in...)
		if err != nil {
			return nil, err
		}
		full = full.Convert(tensor.Float64)
		r := tensor.Zeros(b, out, in)
		fd, rd := full.Data(), r.Data()
		for i := 0; i < b; i++ {
			for j := 0; j < out; j++ {
				copy(rd[(i*out+j)*in:(i*out+j+1)*in], fd[((i*out+j)*b+i)*in:((i*out+j)*b+i+1)*in])
			}
		}
		return r.Reshape(append([]int{b, out}, x.Shape()[1:]...)...)
	}
	hess := tensor.Zeros(b, out, in, in)
	for j := 0; j < out; j++ {
		j := j
		sum := func(x *jacobi.Node) *jacobi.Node {
			y := f(x)
			return y.Reshape(b, out).Slice(1, j, j+1).Sum()
		}
		full, err := jacobi.Hessian(sum, x) // (b, in..., b, in...)
		if err != nil {
			return nil, err
		}
		full = full.Convert(tensor.Float64)
		fd, hd := full.Data(), hess.Data()
		for i := 0; i < b; i++ {
			for p := 0; p < in; p++ {
				copy(hd[((i*out+j)*in+p)*in:((i*out+j)*in+p+1)*in], fd[((i*in+p)*b+i)*in:((i*in+p)*b+i+1)*in])
			}
		}
	}
	switch name {
	case "hessian":
		return hess.Reshape(append(append([]int{b, out}, x.Shape()[1:]...), x.Shape()[1:]...)...)
	case "hessian-diag":
		r := tensor.Zeros(b, out, in)
		for k := 0; k < b*out; k++ {
			for p := 0; p < in; p++ {
				r.Data()[k*in+p] = hess.Data()[(k*in+p)*in+p]
			}
		}
		return r.Reshape(append([]int{b, out}, x.Shape()[1:]...)...)
	default:
		r := tensor.Zeros(b, out)
		for k := 0; k < b*out; k++ {
			for p := 0; p < in; p++ {
				r.Data()[k] += hess.Data()[(k*in+p)*in+p]
			}
		}
		return r, nil
	}
}

func shapeStr(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
