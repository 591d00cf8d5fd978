//go:build unix

package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jacobi-ad/jacobi/tensor"
)

// A named pipe is written in place, not replaced by a regular file: the
// reader at its other end gets the array. (The reader opens its end first,
// without blocking, so that a regression fails instead of hanging.)
func TestFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.npy")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skip("cannot open the pipe:", err)
	}
	r := os.NewFile(uintptr(fd), fifo)
	defer r.Close()
	x := tensor.MustNew([]int{3}, []float64{1, 2, 3})
	if err := WriteFile(fifo, x); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe was replaced: %v %v", st.Mode(), err)
	}
	var want bytes.Buffer
	Write(&want, x)
	got := make([]byte, 2*want.Len())
	n, _ := r.Read(got)
	if !bytes.Equal(got[:n], want.Bytes()) {
		t.Fatalf("the reader of the pipe got %d bytes, want the %d of the array", n, want.Len())
	}
}
