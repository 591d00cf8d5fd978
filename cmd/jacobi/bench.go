package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jacobi-ad/jacobi/bench"
)

// runBench is "jacobi bench": the standard benchmark cases (or a cases file
// of the same schema), timed for jacobi's default and the alternatives.
func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jacobi bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cases := fs.String("cases", "", "cases `file` with the schema of shared/bench/cases.json, a case's optional \"dtype\": \"float32\" included (default: the standard cases, embedded; bench/cases_float32.json holds them in float32)")
	only := fs.String("only", "", "comma-separated case `names` to run (default: all)")
	methods := fs.String("methods", "", "comma-separated `methods` to run besides jacobi (default: all)")
	budget := fs.Duration("budget", 0, "timing `budget` per method (default 2s)")
	asJSON := fs.Bool("json", false, `one JSON object per line: {"case": ..., "method": ..., "seconds": ..., "gflops": ...}`)
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	dtype := fs.String("dtype", "", "`precision` to run the cases in: float32 runs them in float32, named CASE_f32 (default: each case's own, float64 unless its \"dtype\" says)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: jacobi bench [--cases FILE] [--dtype float32] [--only a,b] [--json]

Builds each case's MLP with seeded random weights and a seeded normal batch,
and times jacobi's default choice (method "jacobi") and the alternatives:
forward, reverse, naive (full Jacobian then its diagonal, where it fits), a
per-sample loop, and for second order taylor, nested and friends. Median
seconds over repeats, GFLOP/s from the cost model and as a fraction of the
rate of a 1024³ DGEMM (SGEMM for float32 cases) timed first (printed with
the CPU and the kernels in use: JACOBI_KERNEL=purego|avx2|avx512|neon forces
a path), peak heap.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jacobi bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cs := bench.DefaultCases()
	if *cases != "" {
		var err error
		if cs, err = bench.LoadCases(*cases); err != nil {
			fmt.Fprintf(stderr, "jacobi bench: %v\n", err)
			return 1
		}
	}
	switch *dtype {
	case "", "float64":
	case "float32":
		cs = bench.InFloat32(cs)
	default:
		fmt.Fprintf(stderr, "jacobi bench: --dtype %q: want float32 or float64\n", *dtype)
		return 2
	}
	var machine bench.Machine
	opts := bench.Options{Budget: *budget, Machine: &machine}
	if !*quiet {
		opts.Progress = func(s string) { fmt.Fprintln(stderr, s) }
	}
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	if *methods != "" {
		opts.Methods = strings.Split(*methods, ",")
	}
	rs, runErr := bench.Run(cs, opts)
	var err error
	if *asJSON {
		err = bench.WriteJSON(stdout, rs)
	} else {
		fmt.Fprintf(stdout, "%s\n\n", machine)
		err = bench.WriteTable(stdout, rs)
	}
	if err == nil {
		err = runErr
	}
	if err != nil {
		fmt.Fprintf(stderr, "jacobi bench: %v\n", err)
		return 1
	}
	return 0
}
