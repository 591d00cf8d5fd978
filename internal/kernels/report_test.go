package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReport prints best-of-N GFLOP/s for the benchmark shapes on 1 and 2
// workers; it runs only with JACOBI_REPORT=trials (noisy machines need the
// best of several short runs). Not an assertion: a measuring tool.
func TestReport(t *testing.T) {
	v := os.Getenv("JACOBI_REPORT")
	if v == "" {
		t.Skip("set JACOBI_REPORT=<trials> to run")
	}
	trials, _ := strconv.Atoi(v)
	shapes := benchShapes
	if s := os.Getenv("JACOBI_SHAPES"); s != "" {
		shapes = nil
		for _, f := range strings.Split(s, ",") {
			var m, n, k int
			fmt.Sscanf(f, "%dx%dx%d", &m, &n, &k)
			shapes = append(shapes, [3]int{m, n, k})
		}
	}
	defer SetWorkers(0)
	for _, w := range []int{1, 2} {
		SetWorkers(w)
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			r := rand.New(rand.NewPCG(1, 1))
			a, b, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			flops := 2 * float64(m) * float64(n) * float64(k)
			reps := max(3, int(2e8/flops))
			best := 0.0
			for tr := 0; tr < trials; tr++ {
				t0 := time.Now()
				for i := 0; i < reps; i++ {
					Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				}
				best = max(best, flops*float64(reps)/time.Since(t0).Seconds()/1e9)
			}
			fmt.Printf("jacobi threads=%d %dx%dx%d %.1f GFLOP/s\n", w, m, n, k, best)
		}
	}
}
