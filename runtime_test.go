package jacobi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Results are identical bit for bit whatever the chunk size and the number
// of workers, for first and second derivatives.
func TestDeterministicAcrossChunksAndWorkers(t *testing.T) {
	rng := tensor.NewRand(3)
	m, err := nn.RandomMLP(rng, []int{6, 40, 33, 5}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(rng, 301, 6)
	derivs := map[string]func(...jacobi.Option) (*tensor.Tensor, error){
		"jacobian":  func(o ...jacobi.Option) (*tensor.Tensor, error) { return jacobi.BatchJacobian(m.Apply, x, o...) },
		"laplacian": func(o ...jacobi.Option) (*tensor.Tensor, error) { return jacobi.BatchLaplacian(m.Apply, x, o...) },
		"hessian":   func(o ...jacobi.Option) (*tensor.Tensor, error) { return jacobi.BatchHessian(m.Apply, x, o...) },
	}
	for name, run := range derivs {
		t.Run(name, func(t *testing.T) {
			ref, err := run(jacobi.WithChunk(1000), jacobi.WithWorkers(1))
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []int{1, 7, 64, 300} {
				for _, workers := range []int{1, 2, 5} {
					got, err := run(jacobi.WithChunk(chunk), jacobi.WithWorkers(workers))
					if err != nil {
						t.Fatal(err)
					}
					for i, v := range got.Data() {
						if v != ref.Data()[i] {
							t.Fatalf("chunk %d, %d workers: element %d is %v, with one chunk %v", chunk, workers, i, v, ref.Data()[i])
						}
					}
				}
			}
		})
	}
}

// A compiled program is safe to Run from several goroutines at once.
func TestCompiledConcurrentRuns(t *testing.T) {
	rng := tensor.NewRand(4)
	m, err := nn.RandomMLP(rng, []int{3, 16, 2}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{3}, jacobi.WithChunk(16))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := tensor.Randn(tensor.NewRand(uint64(g)), 50+g, 3)
			got, err := c.Run(x)
			if err != nil {
				errs <- err
				return
			}
			want, err := jacobi.BatchJacobian(m.Apply, x)
			if err != nil {
				errs <- err
				return
			}
			for i, v := range got.Data() {
				if v != want.Data()[i] {
					errs <- fmt.Errorf("goroutine %d: element %d differs", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BenchmarkMillionSamples runs BatchJacobian of the pinn2d network on
// b = 1,000,000 and reports the peak heap above the output's size: it is
// bounded by the chunks in flight, not by the batch.
func BenchmarkMillionSamples(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates a 16 MB input and a 16 MB output")
	}
	rng := tensor.NewRand(1)
	m, err := nn.RandomMLP(rng, []int{2, 64, 64, 64, 64, 1}, "tanh")
	if err != nil {
		b.Fatal(err)
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{2})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	x := tensor.Randn(rng, n, 2)
	outBytes := float64(n * 2 * 8)
	for b.Loop() {
		peak := peakHeap(func() {
			if _, err := c.Run(x); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		b.ReportMetric((float64(peak)-outBytes)/(1<<20), "peak-minus-output-MiB")
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e9/n, "ns/sample")
}
