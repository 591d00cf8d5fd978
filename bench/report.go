package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/jacobi-ad/jacobi/tensor"
)

// WriteTable writes the results as an aligned, human-readable table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tmethod\tseconds\tGFLOP/s\tof GEMM\tpeak MiB\terr\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%s\t%s\t%.1f\t%.2g\t\n", r.Case, r.Method, r.Seconds, gflops(r.GFLOPs),
			percent(r.OfDGEMM), float64(r.PeakBytes)/(1<<20), r.Err)
	}
	return tw.Flush()
}

func percent(f float64) string {
	if f <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func gflops(g float64) string {
	if g <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.3g", g)
}

// jsonResult is the JSON form of a Result: the keys of torch_anchor.py's
// lines (dtype included) plus gflops, peak_bytes, kernels and of_dgemm.
type jsonResult struct {
	Case      string  `json:"case"`
	Method    string  `json:"method"`
	DType     string  `json:"dtype"`
	Seconds   float64 `json:"seconds"`
	GFLOPs    float64 `json:"gflops"`
	PeakBytes uint64  `json:"peak_bytes"`
	Err       float64 `json:"err"`
	Kernels   string  `json:"kernels,omitempty"`
	OfDGEMM   float64 `json:"of_dgemm,omitempty"`
}

// WriteJSON writes one JSON object per result and line:
// {"case", "method", "dtype", "seconds", "gflops", "peak_bytes", "err",
// "kernels", "of_dgemm"}. An Err that JSON cannot hold (NaN, ±Inf) is written as -1.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		e := r.Err
		if math.IsNaN(e) || math.IsInf(e, 0) {
			e = -1
		}
		if err := enc.Encode(jsonResult{r.Case, r.Method, r.DType, r.Seconds, r.GFLOPs, r.PeakBytes, e, r.Kernels, r.OfDGEMM}); err != nil {
			return fmt.Errorf("bench: writing %s/%s: %w", r.Case, r.Method, err)
		}
	}
	return nil
}

// ReadJSON reads results written one JSON object per line, by WriteJSON or
// by torch_anchor.py (whose lines have no gflops or peak_bytes). Blank lines
// are skipped.
func ReadJSON(r io.Reader) ([]Result, error) {
	var rs []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var j jsonResult
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			return nil, fmt.Errorf("bench: line %d: %w", n, err)
		}
		if j.Case == "" || j.Method == "" {
			return nil, fmt.Errorf("bench: line %d: no case or method in %s", n, line)
		}
		rs = append(rs, Result(j))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return rs, nil
}

// Comparison is one case measured on both sides.
type Comparison struct {
	Case         Case
	TorchMethod  string  // the fastest PyTorch method
	TorchSec     float64 // its median seconds
	JacobiSec    float64 // the MethodJacobi median seconds
	JacobiGF     float64 // the MethodJacobi GFLOP/s
	JacobiOfGEMM float64 // JacobiGF as a fraction of the DGEMM rate measured in the same run
	BestMethod   string  // the fastest jacobi method (may differ from MethodJacobi)
	BestSec      float64 // its seconds
	Ratio        float64 // TorchSec / JacobiSec: above 1, jacobi is faster
}

// Compare pairs the MethodJacobi result of every case with the fastest
// PyTorch result of the same case. Cases missing on either side are left
// out. A method measured more than once (several rounds concatenated) counts
// with its fastest median, on both sides alike.
func Compare(cases []Case, ours, torch []Result) []Comparison {
	var cs []Comparison
	for _, c := range cases {
		var cmp Comparison
		cmp.Case = c
		for _, r := range torch {
			if r.Case == c.Name && r.Seconds > 0 && (cmp.TorchMethod == "" || r.Seconds < cmp.TorchSec) {
				cmp.TorchMethod, cmp.TorchSec = r.Method, r.Seconds
			}
		}
		for _, r := range ours {
			if r.Case != c.Name || r.Seconds <= 0 {
				continue
			}
			if r.Method == MethodJacobi && (cmp.JacobiSec == 0 || r.Seconds < cmp.JacobiSec) {
				cmp.JacobiSec, cmp.JacobiGF, cmp.JacobiOfGEMM = r.Seconds, r.GFLOPs, r.OfDGEMM
			}
			if cmp.BestMethod == "" || r.Seconds < cmp.BestSec {
				cmp.BestMethod, cmp.BestSec = r.Method, r.Seconds
			}
		}
		if cmp.TorchMethod == "" || cmp.JacobiSec == 0 {
			continue
		}
		cmp.Ratio = cmp.TorchSec / cmp.JacobiSec
		cs = append(cs, cmp)
	}
	return cs
}

// Fastest keeps, of results measured more than once for the same case and
// method (several rounds concatenated), the one with the fewest seconds, in
// the order the pairs first appear.
func Fastest(rs []Result) []Result {
	type key struct{ c, m string }
	at := map[key]int{}
	var out []Result
	for _, r := range rs {
		k := key{r.Case, r.Method}
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, r)
		case r.Seconds < out[i].Seconds:
			out[i] = r
		}
	}
	return out
}

// GeoMeanRatio returns the geometric mean of the comparisons' ratios (NaN
// when there are none).
func GeoMeanRatio(cs []Comparison) float64 {
	if len(cs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, c := range cs {
		s += math.Log(c.Ratio)
	}
	return math.Exp(s / float64(len(cs)))
}

// WriteComparison writes the comparisons as a Markdown table followed by
// the geometric mean of the ratios.
func WriteComparison(w io.Writer, cs []Comparison) error {
	var b strings.Builder
	b.WriteString("| case | dtype | derivative | sizes | batch | best PyTorch | PyTorch s | jacobi s | ratio (PyTorch/jacobi) | jacobi GFLOP/s | of GEMM | fastest jacobi method |\n")
	b.WriteString("|---|---|---|---|---|---|--:|--:|--:|--:|--:|---|\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %.4g | %.4g | %.3g | %s | %s | %s (%.4g s) |\n",
			c.Case.Name, c.Case.dtype(), c.Case.Derivative, sizesString(c.Case.Sizes), c.Case.Batch, c.TorchMethod, c.TorchSec,
			c.JacobiSec, c.Ratio, gflops(c.JacobiGF), percent(c.JacobiOfGEMM), c.BestMethod, c.BestSec)
	}
	fmt.Fprintf(&b, "\nGeometric mean of the ratios over %d cases: %.3g (above 1: jacobi faster).\n", len(cs), GeoMeanRatio(cs))
	_, err := io.WriteString(w, b.String())
	return err
}

func sizesString(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "-")
}

// DTypeComparison is one case's jacobi default method in float32 and in
// float64.
type DTypeComparison struct {
	Case       Case    // the float32 case
	F32Sec     float64 // MethodJacobi seconds in float32
	F64Sec     float64 // MethodJacobi seconds of the float64 case
	F32GF      float64 // their GFLOP/s
	F64GF      float64
	Speedup    float64 // F64Sec / F32Sec
	F64Name    string  // the float64 case's name
	F32OfSGEMM float64 // F32GF as a fraction of the SGEMM rate of its run
	F64OfDGEMM float64 // F64GF as a fraction of the DGEMM rate of its run
}

// CompareDTypes pairs the MethodJacobi result of every float32 case with
// that of the float64 case of the same name without the "_f32" suffix, each
// at its fastest; cases missing on either side are left out.
func CompareDTypes(cases []Case, f32, f64 []Result) []DTypeComparison {
	best := func(rs []Result, name string) (Result, bool) {
		var b Result
		for _, r := range rs {
			if r.Case == name && r.Method == MethodJacobi && r.Seconds > 0 && (b.Seconds == 0 || r.Seconds < b.Seconds) {
				b = r
			}
		}
		return b, b.Seconds > 0
	}
	var cs []DTypeComparison
	for _, c := range cases {
		if c.dtype() != tensor.Float32 {
			continue
		}
		name64 := strings.TrimSuffix(c.Name, "_f32")
		a, ok1 := best(f32, c.Name)
		b, ok2 := best(f64, name64)
		if !ok1 || !ok2 {
			continue
		}
		cs = append(cs, DTypeComparison{Case: c, F32Sec: a.Seconds, F64Sec: b.Seconds, F32GF: a.GFLOPs, F64GF: b.GFLOPs,
			Speedup: b.Seconds / a.Seconds, F64Name: name64, F32OfSGEMM: a.OfDGEMM, F64OfDGEMM: b.OfDGEMM})
	}
	return cs
}

// WriteDTypeComparison writes the comparisons as a Markdown table.
func WriteDTypeComparison(w io.Writer, cs []DTypeComparison) error {
	var b strings.Builder
	b.WriteString("| case | derivative | float64 s | float32 s | float32 speed-up | float64 GFLOP/s (of DGEMM) | float32 GFLOP/s (of SGEMM) |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "| %s | %s | %.4g | %.4g | %.2f | %s (%s) | %s (%s) |\n", c.F64Name, c.Case.Derivative, c.F64Sec, c.F32Sec, c.Speedup,
			gflops(c.F64GF), percent(c.F64OfDGEMM), gflops(c.F32GF), percent(c.F32OfSGEMM))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
