package jacobi_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/nn"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Results are identical bit for bit whatever the chunk size and the number
// of workers, for first and second derivatives, in float64 and in float32.
func TestDeterministicAcrossChunksAndWorkers(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) { deterministic(t, dt) })
	}
}

func deterministic(t *testing.T, dt tensor.DType) {
	rng := tensor.NewRand(3)
	m, err := nn.RandomMLP(rng, []int{6, 40, 33, 5}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	m = m.Convert(dt)
	x := tensor.Randn(rng, 301, 6).Convert(dt)
	derivs := map[string]func(chunk, workers int) (*tensor.Tensor, error){
		"jacobian": func(chunk, workers int) (*tensor.Tensor, error) {
			return jacobi.BatchJacobian(m.Apply, x, jacobi.WithChunk(chunk), jacobi.WithWorkers(workers))
		},
		"laplacian": func(chunk, workers int) (*tensor.Tensor, error) {
			return jacobi.BatchLaplacian(m.Apply, x, jacobi.WithChunk(chunk), jacobi.WithWorkers(workers))
		},
		"hessian": func(chunk, workers int) (*tensor.Tensor, error) {
			return jacobi.BatchHessian(m.Apply, x, jacobi.WithChunk(chunk), jacobi.WithWorkers(workers))
		},
	}
	for name, run := range derivs {
		t.Run(name, func(t *testing.T) {
			ref, err := run(1000, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []int{1, 7, 64, 300} {
				for _, workers := range []int{1, 2, 5} {
					got, err := run(chunk, workers)
					if err != nil {
						t.Fatal(err)
					}
					if got.DType() != dt {
						t.Fatalf("the result is %v", got.DType())
					}
					g, r := got.Float64s(), ref.Float64s()
					for i, v := range g {
						if math.Float64bits(v) != math.Float64bits(r[i]) {
							t.Fatalf("chunk %d, %d workers: element %d is %v, with one chunk %v", chunk, workers, i, v, r[i])
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
		// The output is allocated inside, as Run does, but never recycled:
		// the peak always includes it.
		peak := peakHeap(func() {
			if err := c.RunInto(x, tensor.Zeros(n, 1, 2)); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		b.ReportMetric((float64(peak)-outBytes)/(1<<20), "peak-minus-output-MiB")
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e9/n, "ns/sample")
}

// Run's outputs are recycled only once nothing refers to them: outputs the
// caller keeps (even as a bare slice of their data) never change, and every
// output holds the right values however often arrays are reused.
func TestRunRecyclesOnlyDeadOutputs(t *testing.T) {
	rng := tensor.NewRand(5)
	m, err := nn.RandomMLP(rng, []int{5, 2, 10}, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) }, []int{5})
	if err != nil {
		t.Fatal(err)
	}
	if err := recycleRounds(c, 5, 30); err != nil {
		t.Fatal(err)
	}
	// The same from several goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := recycleRounds(c, uint64(100+g), 10); err != nil {
				errs <- fmt.Errorf("goroutine %d: %w", g, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// recycleRounds runs c on new batches whose outputs are large enough to be
// recycled, with a collection after each, checks every Run against RunInto
// and keeps a slice of every third output, which must not change.
func recycleRounds(c *jacobi.Compiled, seed uint64, rounds int) error {
	rng := tensor.NewRand(seed)
	type kept struct{ data, want []float64 }
	var keep []kept
	for round := range rounds {
		x := tensor.Randn(rng, 400, 5) // 20,000 values out: recycled
		want := tensor.Zeros(400, 10, 5)
		if err := c.RunInto(x, want); err != nil {
			return err
		}
		got, err := c.Run(x)
		if err != nil {
			return err
		}
		if !slices.Equal(got.Data(), want.Data()) {
			return fmt.Errorf("round %d: Run differs from RunInto", round)
		}
		if round%3 == 0 {
			keep = append(keep, kept{got.Data()[100:200], want.Data()[100:200]})
		}
		runtime.GC()
	}
	for i, k := range keep {
		if !slices.Equal(k.data, k.want) {
			return fmt.Errorf("kept output %d changed after later runs", i)
		}
	}
	return nil
}

// RunInto writes every value of its output, whatever the buffer held:
// Run relies on it when it hands out a recycled array.
func TestRunIntoOverwrites(t *testing.T) {
	rng := tensor.NewRand(6)
	m, err := nn.RandomMLP(rng, []int{3, 8, 2}, "tanh")
	if err != nil {
		t.Fatal(err)
	}
	w := tensor.Randn(rng, 3, 2)
	linear := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)) }
	fns := map[string]jacobi.Fn{
		"jacobian":           func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(m.Apply, x) },
		"hessian":            func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(m.Apply, x) },
		"laplacian":          func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchLaplacianOf(m.Apply, x) },
		"hessian diagonal":   func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianDiagOf(m.Apply, x) },
		"constant jacobian":  func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(linear, x) },
		"zero hessian":       func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchHessianOf(linear, x) },
		"input passed along": func(x *jacobi.Node) *jacobi.Node { return x },
	}
	x := tensor.Randn(rng, 70, 3)
	for name, f := range fns {
		t.Run(name, func(t *testing.T) {
			c, err := jacobi.Compile(f, []int{3}, jacobi.WithChunk(16))
			if err != nil {
				t.Fatal(err)
			}
			clean := tensor.Zeros(append([]int{70}, c.OutShape()...)...)
			dirty := tensor.Full(math.NaN(), clean.Shape()...)
			for _, out := range []*tensor.Tensor{clean, dirty} {
				if err := c.RunInto(x, out); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(dirty.Data(), clean.Data()) {
				t.Errorf("a NaN-filled output was not overwritten everywhere")
			}
		})
	}
}
