// Command benchall times jacobi on the benchmark cases and prints a table;
// with -json it also writes the results one JSON object per line, and with
// -torch (the JSON lines of shared/bench/torch_anchor.py from the same
// machine) it prints a Markdown comparison with the fastest PyTorch method
// of every case.
//
//	go run ./bench/cmd/benchall [-cases FILE] [-only a,b] [-methods m,n] [-budget 2s] [-json out.jsonl] [-torch torch.jsonl] [-results jacobi.jsonl [-f64 jacobi64.jsonl]] [-cpuprofile FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jacobi-ad/jacobi/bench"
)

func main() {
	exit := 0
	defer func() { os.Exit(exit) }()
	casesPath := flag.String("cases", "", "cases file in the format of cases.json (default: the embedded standard cases)")
	only := flag.String("only", "", "comma-separated case names to run (default: all)")
	methods := flag.String("methods", "", "comma-separated methods to run besides jacobi, which always runs (default: all)")
	budget := flag.Duration("budget", 0, "timing budget per method (default 2s)")
	jsonOut := flag.String("json", "", "write the results as JSON lines to this file")
	torch := flag.String("torch", "", "torch_anchor.py's JSON lines to compare with")
	results := flag.String("results", "", "do not run: read jacobi's results from this file (JSON lines of -json) and compare them with -torch")
	f64 := flag.String("f64", "", "with -results of float32 cases: jacobi's float64 results (JSON lines) to compare them with, case X_f32 against X")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (read it with go tool pprof)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchall:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "benchall: cpu profile:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var err error
	if *results != "" {
		err = compareOnly(*casesPath, *results, *torch, *f64)
	} else {
		err = run(*casesPath, *only, *methods, *budget, *jsonOut, *torch)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchall:", err)
		exit = 1
	}
}

func loadCases(path string) ([]bench.Case, error) {
	if path == "" {
		return bench.DefaultCases(), nil
	}
	return bench.LoadCases(path)
}

func readResults(path string) ([]bench.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := bench.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// compareOnly prints the comparison of saved results, and jacobi's
// results at their fastest, without running anything.
func compareOnly(casesPath, results, torch, f64 string) error {
	if torch == "" {
		return fmt.Errorf("-results needs -torch")
	}
	cases, err := loadCases(casesPath)
	if err != nil {
		return err
	}
	ours, err := readResults(results)
	if err != nil {
		return err
	}
	anchor, err := readResults(torch)
	if err != nil {
		return err
	}
	if err := bench.WriteComparison(os.Stdout, bench.Compare(cases, ours, anchor)); err != nil {
		return err
	}
	if f64 != "" {
		rs64, err := readResults(f64)
		if err != nil {
			return err
		}
		fmt.Println("\njacobi in float32 against float64 (fastest of the rounds):")
		fmt.Println()
		if err := bench.WriteDTypeComparison(os.Stdout, bench.CompareDTypes(cases, ours, rs64)); err != nil {
			return err
		}
	}
	fmt.Println("\njacobi, every method (fastest of the rounds):\n\n```")
	if err := bench.WriteTable(os.Stdout, bench.Fastest(ours)); err != nil {
		return err
	}
	fmt.Println("```")
	return nil
}

func run(casesPath, only, methods string, budget time.Duration, jsonOut, torch string) error {
	cases, err := loadCases(casesPath)
	if err != nil {
		return err
	}
	var anchor []bench.Result
	if torch != "" {
		if anchor, err = readResults(torch); err != nil {
			return err
		}
	}
	opts := bench.Options{Budget: budget, Progress: func(s string) { fmt.Fprintln(os.Stderr, s) }}
	if only != "" {
		opts.Only = strings.Split(only, ",")
	}
	if methods != "" {
		opts.Methods = strings.Split(methods, ",")
	}
	var machine bench.Machine
	opts.Machine = &machine
	rs, runErr := bench.Run(cases, opts)
	fmt.Printf("%s\n\n", machine)
	if err := bench.WriteTable(os.Stdout, rs); err != nil {
		return err
	}
	if jsonOut != "" {
		f, err := os.Create(jsonOut)
		if err != nil {
			return err
		}
		if err := bench.WriteJSON(f, rs); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if anchor != nil {
		fmt.Println()
		if err := bench.WriteComparison(os.Stdout, bench.Compare(cases, rs, anchor)); err != nil {
			return err
		}
	}
	return runErr
}
