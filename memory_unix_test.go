//go:build unix

package jacobi_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/tensor"
)

// A result larger than the memory there is (here a Go memory limit of 48
// MB, for a 134 MB Jacobian) is refused before anything is allocated, with
// its size and the alternative; RunInto writes the same result into
// memory the caller provides — a memory-mapped file — whatever its size.
func TestResultLargerThanMemory(t *testing.T) {
	const b, n = 4096, 64
	w := tensor.Randn(tensor.NewRand(1), n, n)
	f := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)).Scale(0.125).Tanh() }
	c, err := jacobi.Compile(func(x *jacobi.Node) *jacobi.Node { return jacobi.BatchJacobianOf(f, x) }, []int{n})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn(tensor.NewRand(2), b, n)

	old := debug.SetMemoryLimit(48 << 20)
	defer debug.SetMemoryLimit(old)
	for name, run := range map[string]func() (*tensor.Tensor, error){
		"Run":           func() (*tensor.Tensor, error) { return c.Run(x) },
		"BatchJacobian": func() (*tensor.Tensor, error) { return jacobi.BatchJacobian(f, x) },
	} {
		_, err = run()
		var me *exec.MemoryError
		if !errors.As(err, &me) {
			t.Fatalf("%s: error %v, want an *exec.MemoryError", name, err)
		}
		for _, want := range []string{"134.2 MB", "GOMEMLIMIT", "RunInto"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the error does not say %q: %v", name, want, err)
			}
		}
	}

	// The same result into a memory-mapped file.
	size := b * n * n * 8
	file, err := os.Create(filepath.Join(t.TempDir(), "j.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := file.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(file.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Skip("no mmap here:", err)
	}
	defer unix.Munmap(mem)
	out, err := tensor.New([]int{b, n, n}, unsafe.Slice((*float64)(unsafe.Pointer(&mem[0])), b*n*n))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunInto(x, out); err != nil {
		t.Fatalf("RunInto a memory-mapped file: %v", err)
	}
	debug.SetMemoryLimit(old)
	for _, i := range []int{0, 1234, b - 1} {
		want, err := jacobi.BatchJacobian(f, row(x, i))
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "sample of the mapped result", out.Data()[i*n*n:(i+1)*n*n], want.Data(), 1e-14, 1e-16)
	}
}

// A run whose working memory does not fit (the Laplacian by nested
// differentiation at in = 4096 holds each sample's 4096 × 4096 Hessian,
// 134 MB; here under a Go memory limit of 48 MB) returns an error that says
// so and what to do, instead of ending the process. The derivatives whose
// basis is in × in run: Simplify reduces the identity's products (I·W = W)
// so it is never generated, and reverse mode's basis is out × out.
func TestWorkingMemoryLargerThanMemory(t *testing.T) {
	const in = 4096
	w := tensor.Randn(tensor.NewRand(1), in, 2)
	f := func(x *jacobi.Node) *jacobi.Node { return x.MatMul(jacobi.Const(w)).Tanh() }
	x := tensor.Randn(tensor.NewRand(2), 2, in)
	old := debug.SetMemoryLimit(48 << 20)
	defer debug.SetMemoryLimit(old)
	_, err := jacobi.BatchLaplacian(f, x, jacobi.WithMethod(jacobi.MethodNested))
	var me *exec.MemoryError
	if !errors.As(err, &me) || !me.Working {
		t.Fatalf("nested Laplacian: error %v, want an *exec.MemoryError for the working memory", err)
	}
	for _, want := range []string{"working memory", "GOMEMLIMIT", "WithChunk"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	for _, m := range []jacobi.Mode{jacobi.ModeForward, jacobi.ModeReverse} {
		if _, err := jacobi.BatchJacobian(f, x, jacobi.WithMode(m)); err != nil {
			t.Fatalf("Jacobian, mode %v: %v", m, err)
		}
	}
	if _, err := jacobi.BatchHessianDiag(f, x); err != nil {
		t.Fatalf("Hessian diagonal: %v", err)
	}
	if _, err := jacobi.BatchLaplacian(f, x); err != nil {
		t.Fatalf("Laplacian (Taylor): %v", err)
	}
}
