package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Every task runs exactly once, also with concurrent and nested loops and
// while the pool is resized (run with -race).
func TestPoolParallelFor(t *testing.T) {
	defer SetWorkers(0)
	p := newPool(3)
	defer p.resize(1)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				n := 1 + (rep*7+g)%37
				counts := make([]int32, n)
				p.parallelFor(n, func(i int) {
					atomic.AddInt32(&counts[i], 1)
					if i%5 == 0 {
						inner := make([]int32, 9)
						p.parallelFor(9, func(j int) { atomic.AddInt32(&inner[j], 1) })
						for j, c := range inner {
							if c != 1 {
								t.Errorf("inner task %d ran %d times", j, c)
							}
						}
					}
				})
				for i, c := range counts {
					if c != 1 {
						t.Errorf("task %d of %d ran %d times", i, n, c)
					}
				}
			}
		}()
	}
	for _, n := range []int{1, 4, 2, 3} {
		p.resize(n)
	}
	wg.Wait()
}

func TestSetWorkersDgemmRace(t *testing.T) {
	defer SetWorkers(0)
	m, n, k := 200, 150, 100
	a, b := make([]float64, m*k), make([]float64, k*n)
	for i := range a {
		a[i] = float64(i%7) - 3
	}
	for i := range b {
		b[i] = float64(i%5) - 2
	}
	ref := make([]float64, m*n)
	Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, ref, n)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float64, m*n)
			for rep := 0; rep < 5; rep++ {
				Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				for i := range c {
					if c[i] != ref[i] {
						t.Errorf("concurrent Dgemm differs at %d", i)
						return
					}
				}
			}
		}()
	}
	for _, w := range []int{2, 1, 3, 2} {
		SetWorkers(w)
	}
	wg.Wait()
}
