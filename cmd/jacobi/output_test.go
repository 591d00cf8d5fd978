package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/tensor"
)

// seedResult runs jacobian on the built-in network with a small random
// batch into a regular file and returns the file's bytes: what every other
// destination must receive.
func seedResult(t *testing.T, args ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "want.npy")
	code, _, stderr := runBin(t, append([]string{"jacobian", "--batch", "7", "--quiet", "--output", path}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// --output through a symbolic link (or a chain of them) writes the link's
// target and keeps the link; "-" and /dev/stdout write the array to
// standard output, with the summary on standard error.
func TestOutputDestinations(t *testing.T) {
	want := seedResult(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target.npy")
	os.WriteFile(target, []byte("old contents"), 0o644)
	link, chain := filepath.Join(dir, "link.npy"), filepath.Join(dir, "chain.npy")
	if err := os.Symlink("target.npy", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	os.Symlink(link, chain)
	if code, _, stderr := runBin(t, "jacobian", "--batch", "7", "--quiet", "--output", chain); code != 0 {
		t.Fatalf("through links: exit %d: %s", code, stderr)
	}
	for _, l := range []string{link, chain} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link: %v", l, err)
		}
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, want) {
		t.Errorf("the link's target holds %d bytes, not the result's %d", len(got), len(want))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("the directory holds %d entries, want the target and two links", len(ents))
	}

	for _, out := range []string{"-", "/dev/stdout"} {
		if _, err := os.Stat(out); out != "-" && err != nil {
			continue
		}
		code, stdout, stderr := runBin(t, "jacobian", "--batch", "7", "--quiet", "--output", out)
		if code != 0 {
			t.Fatalf("--output %s: exit %d: %s", out, code, stderr)
		}
		if stdout != string(want) {
			t.Errorf("--output %s: standard output has %d bytes, not the result's %d", out, len(stdout), len(want))
		}
		if !strings.Contains(stderr, "per-sample Jacobians (7, 10, 5)") {
			t.Errorf("--output %s: the summary is not on standard error: %q", out, stderr)
		}
	}
}

// --output naming the input file — by its name, through a symbolic link or
// as a hard link — is refused (exit 1) before any work, and the input is
// left as it was.
func TestOutputIsInput(t *testing.T) {
	dir := t.TempDir()
	x, err := os.ReadFile("../../testdata/models/mlp/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "x.npy")
	os.WriteFile(in, x, 0o644)
	names := []string{in, filepath.Join(dir, ".", "x.npy")}
	if os.Symlink("x.npy", filepath.Join(dir, "sym.npy")) == nil {
		names = append(names, filepath.Join(dir, "sym.npy"))
	}
	if os.Link(in, filepath.Join(dir, "hard.npy")) == nil {
		names = append(names, filepath.Join(dir, "hard.npy"))
	}
	for _, out := range names {
		code, _, stderr := runBin(t, "jacobian", "--input", in, "--output", out, "--quiet")
		if code != 1 || !strings.Contains(stderr, "is the input file") {
			t.Errorf("--output %s: exit %d, want 1 naming the input: %s", out, code, stderr)
		}
		if got, _ := os.ReadFile(in); !bytes.Equal(got, x) {
			t.Fatalf("--output %s: the input was changed", out)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("a refused run left %s", e.Name())
		}
	}
}

// A result larger than the file system holds is refused up front (exit
// 1), saying how much it needs, before anything is computed or written.
// (The file system is made to say it has 1 MB free, so that a regression
// writes 20 MB, not a full disk.)
func TestOutputTooLargeForDisk(t *testing.T) {
	defer func(f func(string) (int64, bool)) { freeSpaceOf = f }(freeSpaceOf)
	freeSpaceOf = func(string) (int64, bool) { return 1 << 20, true }
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"jacobian", "--batch", "100000", "--output", filepath.Join(dir, "j.npy"), "--quiet"}, &stdout, &stderr, false)
	if code != 1 || !strings.Contains(stderr.String(), "needs 20.0 MB") || !strings.Contains(stderr.String(), "1.0 MB free") {
		t.Fatalf("exit %d, want 1 saying what it needs: %s", code, stderr.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused run left %s", ents[0].Name())
	}
	// Where it fits, it is written.
	freeSpaceOf = func(string) (int64, bool) { return 1 << 30, true }
	if code := run([]string{"jacobian", "--batch", "100000", "--output", filepath.Join(dir, "j.npy"), "--quiet"}, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// NaN and Inf in a sample propagate to that sample's derivatives only: the
// other samples' are bit for bit those of the clean batch.
func TestNaNPropagatesPerSample(t *testing.T) {
	dir := t.TempDir()
	x, err := npy.ReadFile("../../testdata/models/mlp/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	x = x.Convert(tensor.Float64)
	in := x.Shape()[1]
	bad := tensor.MustNew(x.Shape(), append([]float64{}, x.Data()...))
	bad.Data()[0*in+1] = math.NaN()
	bad.Data()[2*in+0] = math.Inf(1)
	clean, dirty := filepath.Join(dir, "clean.npy"), filepath.Join(dir, "dirty.npy")
	npy.WriteFile(clean, x)
	npy.WriteFile(dirty, bad)
	for _, cmd := range []string{"jacobian", "hessian", "laplacian"} {
		var res [2]*tensor.Tensor
		for i, in := range []string{clean, dirty} {
			out := filepath.Join(dir, "out.npy")
			if code, _, stderr := runBin(t, cmd, "--model", "../../testdata/models/mlp/model.onnx", "--input", in, "--output", out, "--quiet"); code != 0 {
				t.Fatalf("%s: exit %d: %s", cmd, code, stderr)
			}
			if res[i], err = npy.ReadFile(out); err != nil {
				t.Fatal(err)
			}
		}
		per := tensor.Size(res[0].Shape()[1:])
		a, b := res[0].Float64s(), res[1].Float64s()
		if !slices.ContainsFunc(b[:per], math.IsNaN) {
			t.Errorf("%s: sample 0 holds a NaN input, its derivatives none", cmd)
		}
		for s := 1; s < x.Shape()[0]; s++ {
			if s == 2 {
				continue
			}
			for i := s * per; i < (s+1)*per; i++ {
				if a[i] != b[i] {
					t.Fatalf("%s: sample %d (clean) differs: %v, %v without NaN and Inf elsewhere", cmd, s, b[i], a[i])
				}
			}
		}
	}
}

// An input file read in pieces (here of 32 samples: --chunk 16 with the
// progress bar on) gives the same result, bit for bit, as read whole.
func TestInputInPieces(t *testing.T) {
	progressAfter = 0
	defer func() { progressAfter = time.Second }()
	dir := t.TempDir()
	in := filepath.Join(dir, "x.npy")
	if err := npy.WriteFile(in, tensor.Randn(tensor.NewRand(4), 1000, 5)); err != nil {
		t.Fatal(err)
	}
	var got [2][]byte
	for i, extra := range [][]string{{"--chunk", "16"}, {"--quiet"}} {
		out := filepath.Join(dir, fmt.Sprintf("out%d.npy", i))
		var stdout, stderr bytes.Buffer
		args := append([]string{"hessian", "--model", "../../testdata/models/mlp/model.onnx", "--input", in, "--output", out}, extra...)
		if code := run(args, &stdout, &stderr, true); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		got[i], _ = os.ReadFile(out)
	}
	if len(got[0]) == 0 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("read in pieces, the result (%d bytes) differs from read whole (%d bytes)", len(got[0]), len(got[1]))
	}
}
