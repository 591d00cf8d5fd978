package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// An array written piece by piece by an Encoder is byte for byte the one
// Write writes whole, and a Reader gives it back piece by piece; FileSize
// is its size.
func TestStreamRoundTrip(t *testing.T) {
	rng := tensor.NewRand(3)
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		for _, shape := range [][]int{{7, 3}, {5}, {0, 4}, {3, 2, 2}} {
			x := tensor.Randn(rng, shape...).Convert(dt)
			var whole bytes.Buffer
			if err := Write(&whole, x); err != nil {
				t.Fatal(err)
			}
			if size, err := FileSize(dt, shape); err != nil || size != int64(whole.Len()) {
				t.Fatalf("%v %v: FileSize %d (%v), the file has %d bytes", dt, shape, size, err, whole.Len())
			}
			path := filepath.Join(t.TempDir(), "x.npy")
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewEncoder(f, dt, shape)
			if err != nil {
				t.Fatal(err)
			}
			flat, _ := x.Reshape(x.Len())
			for lo := 0; lo < x.Len(); lo += 4 {
				piece := slice(flat, lo, min(lo+4, x.Len()))
				if err := e.Write(piece); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, whole.Bytes()) {
				t.Fatalf("%v %v: written in pieces, the file differs from Write's", dt, shape)
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(r.Shape(), shape) || r.DType() != dt {
				t.Fatalf("Open: %v %v, want %v %v", r.DType(), r.Shape(), dt, shape)
			}
			back := tensor.ZerosOf(dt, x.Len())
			for lo := 0; lo < x.Len(); lo += 3 {
				piece := slice(back, lo, min(lo+3, x.Len()))
				if err := r.ReadInto(piece); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.ReadInto(tensor.ZerosOf(dt, 1)); err == nil {
				t.Fatal("read past the end")
			}
			r.Close()
			if d := tensor.MaxAbsDiff(back, flat); d != 0 {
				t.Fatalf("%v %v: read back in pieces, differs by %g", dt, shape, d)
			}
		}
	}
}

// slice returns elements [lo, hi) of a flat tensor, sharing its memory.
func slice(t *tensor.Tensor, lo, hi int) *tensor.Tensor {
	if t.DType() == tensor.Float32 {
		return tensor.MustNew32([]int{hi - lo}, t.Data32()[lo:hi])
	}
	return tensor.MustNew([]int{hi - lo}, t.Data()[lo:hi])
}

// An Encoder refuses values beyond the shape and a Close before all of
// them, and values of the other dtype.
func TestEncoderCounts(t *testing.T) {
	var buf bytes.Buffer
	e, err := NewEncoder(&buf, tensor.Float64, []int{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Write(tensor.Zeros(3)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err == nil || !strings.Contains(err.Error(), "not written") {
		t.Fatalf("Close with a value missing: %v", err)
	}
	if err := e.Write(tensor.Zeros(2)); err == nil {
		t.Fatal("a value beyond the shape was accepted")
	}
	if err := e.Write(tensor.ZerosOf(tensor.Float32, 1)); err == nil {
		t.Fatal("a float32 value was written into a float64 array")
	}
}

// WriteFile through a symbolic link replaces the link's target and keeps
// the link; a file that is not regular is written in place (/dev/null
// stays a device); an aborted File leaves nothing behind.
func TestFileTargets(t *testing.T) {
	dir := t.TempDir()
	x := tensor.MustNew([]int{2}, []float64{1, 2})
	target := filepath.Join(dir, "real.npy")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.npy")
	if err := os.Symlink("real.npy", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	chain := filepath.Join(dir, "chain.npy")
	os.Symlink(link, chain)
	if err := WriteFile(chain, x); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", st.Mode(), err)
	}
	if y, err := ReadFile(target); err != nil || y.Data()[1] != 2 {
		t.Fatalf("the link's target was not written: %v %v", y, err)
	}
	// A dangling link: its target is created.
	dangling := filepath.Join(dir, "dangling.npy")
	os.Symlink("new.npy", dangling)
	if err := WriteFile(dangling, x); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(filepath.Join(dir, "new.npy")); err != nil {
		t.Fatalf("the dangling link's target: %v", err)
	}

	// Only where a regression cannot replace the system's /dev/null:
	// TestFileFIFO checks the same on a named pipe of its own.
	if st, err := os.Stat(os.DevNull); err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Geteuid() != 0 {
		if err := WriteFile(os.DevNull, x); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
		}
	}

	f, err := Create(filepath.Join(dir, "aborted.npy"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	f.Abort()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "aborted.npy" {
			t.Errorf("an aborted write left %s", e.Name())
		}
	}
	if _, err := Create(dir); err == nil {
		t.Error("Create of a directory succeeded")
	}
}
