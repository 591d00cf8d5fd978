package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Results are computed and written a piece of the batch at a time, so that
// memory is bounded by the piece, whatever the batch size: the input is
// read (or generated) piece by piece, and each piece of the result is
// written to the output .npy as soon as it is computed.

// pieceBytes bounds the memory of one piece of the input and result.
const pieceBytes = 32 << 20

// checkOutput makes the checks on --output that need no work done: an
// existing directory, the input file itself (also through a symbolic or
// hard link) and a missing directory are refused.
func checkOutput(o *options) error {
	if o.output == "" || o.output == "-" {
		return nil
	}
	st, err := os.Stat(o.output) // through symbolic links
	if err != nil {
		dir := filepath.Dir(o.output)
		if target, err := filepath.EvalSymlinks(filepath.Dir(o.output)); err == nil {
			dir = target
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("--output %s: directory %s does not exist", o.output, filepath.Dir(o.output))
		}
		return nil
	}
	if st.IsDir() {
		return fmt.Errorf("--output %s is a directory", o.output)
	}
	if o.input != "" {
		if in, err := os.Stat(o.input); err == nil && os.SameFile(in, st) {
			return fmt.Errorf("--output %s is the input file %s: writing the result there would destroy the input; name another file", o.output, o.input)
		}
	}
	return nil
}

// isStdout reports whether path names the file stdout writes to
// (/dev/stdout, say).
func isStdout(path string, stdout io.Writer) bool {
	f, ok := stdout.(*os.File)
	if !ok || path == "" {
		return false
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// freeSpaceOf is freeSpace (a test replaces it).
var freeSpaceOf = freeSpace

// source hands out the input batch a piece at a time, in order.
type source struct {
	shape []int        // (b, sample...)
	dtype tensor.DType // of the pieces handed out
	next  func(n int) (*tensor.Tensor, error)
	close func()
}

// fileSource reads the .npy file at path piece by piece.
func fileSource(path string) (*source, error) {
	r, err := npy.Open(path)
	if err != nil {
		return nil, err
	}
	shape := r.Shape()
	if len(shape) < 1 {
		r.Close()
		return nil, fmt.Errorf("%s: input of shape %v has no batch axis", path, shape)
	}
	return &source{shape: shape, dtype: r.DType(), close: func() { r.Close() },
		next: func(n int) (*tensor.Tensor, error) {
			t := tensor.ZerosOf(r.DType(), append([]int{n}, shape[1:]...)...)
			return t, r.ReadInto(t)
		}}, nil
}

// randomSource generates the random normal batch of the given shape piece
// by piece: the same numbers, in the same order, as tensor.Randn of the
// whole batch.
func randomSource(seed uint64, shape []int) *source {
	rng := tensor.NewRand(seed)
	return &source{shape: shape, dtype: tensor.Float64, close: func() {},
		next: func(n int) (*tensor.Tensor, error) {
			return tensor.Randn(rng, append([]int{n}, shape[1:]...)...), nil
		}}
}

// memorySource hands out the pieces of x.
func memorySource(x *tensor.Tensor) *source {
	lo := 0
	per := tensor.Size(x.Shape()[1:])
	return &source{shape: x.Shape(), dtype: x.DType(), close: func() {},
		next: func(n int) (*tensor.Tensor, error) {
			t, err := rows(x, lo*per, (lo+n)*per, append([]int{n}, x.Shape()[1:]...))
			lo += n
			return t, err
		}}
}

// all reads the whole batch.
func (s *source) all() (*tensor.Tensor, error) { return s.next(s.shape[0]) }

// An interrupted run returns an interruption: the signal, and what became
// of the output.
type interruption struct {
	sig  os.Signal
	left string // what is left of the output
}

func (e interruption) Error() string {
	name := fmt.Sprint(e.sig)
	switch e.sig {
	case os.Interrupt:
		name = "SIGINT"
	case syscall.SIGTERM:
		name = "SIGTERM"
	}
	return fmt.Sprintf("interrupted (%s): stopped%s", name, e.left)
}

// status is the exit status of a run ended by the signal: 128 + its
// number, as a shell reports it (130 for SIGINT).
func (e interruption) status() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

var errStopped = errors.New("stopped")

// sink is where the result is written — a .npy file, standard output, or
// nowhere — shared between the run and an interrupt: an interrupt stops
// the run and removes its temporary file, unless the file was already
// complete and renamed.
type sink struct {
	mu        sync.Mutex
	name      string
	file      *npy.File // nil for standard output or nowhere
	w         io.Writer // nil for nowhere
	enc       *npy.Encoder
	stopped   bool
	committed bool
}

// open starts the output of the result of the given dtype and shape:
// --output "" writes nothing, "-" standard output, anything else a file
// (see npy.Create). A regular file is refused up front when its file
// system has not the room for it.
func (s *sink) open(path string, stdout io.Writer, dt tensor.DType, shape []int) error {
	size, err := npy.FileSize(dt, shape)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errStopped
	}
	s.name = path
	switch path {
	case "":
		return nil
	case "-":
		s.name = "standard output"
		s.w = stdout
	default:
		f, err := npy.Create(path)
		if err != nil {
			return err
		}
		if !f.InPlace() {
			if free, ok := freeSpaceOf(f.Dir()); ok && free < size {
				f.Abort()
				return fmt.Errorf("--output %s: the result %v needs %s (%d bytes), the file system of %s has %s free",
					path, shapeStr(shape), exec.FormatBytes(float64(size)), size, f.Dir(), exec.FormatBytes(float64(free)))
			}
		}
		s.file, s.w = f, f
	}
	s.enc, err = npy.NewEncoder(s.w, dt, shape)
	if err != nil {
		s.abortLocked()
	}
	return err
}

// write writes the next piece of the result.
func (s *sink) write(t *tensor.Tensor) error {
	s.mu.Lock()
	enc, stopped := s.enc, s.stopped
	s.mu.Unlock()
	if stopped {
		return errStopped
	}
	if enc == nil {
		return nil
	}
	return enc.Write(t)
}

// isStopped reports whether an interrupt stopped the run.
func (s *sink) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// commit finishes the output.
func (s *sink) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errStopped
	}
	if s.enc != nil {
		if err := s.enc.Close(); err != nil {
			s.abortLocked()
			return err
		}
	}
	if s.file != nil {
		if err := s.file.Commit(); err != nil {
			return err
		}
	}
	s.committed = true
	return nil
}

// abort gives up the output after a failure.
func (s *sink) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked()
}

func (s *sink) abortLocked() {
	if s.file != nil && !s.committed {
		s.file.Abort()
	}
	s.file, s.enc = nil, nil
}

// stop stops the run on an interrupt and says what is left of the output;
// it reports false when the output was already complete.
func (s *sink) stop(sig os.Signal) (interruption, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return interruption{}, false
	}
	s.stopped = true
	e := interruption{sig: sig, left: "; nothing written"}
	switch {
	case s.file != nil && s.file.InPlace():
		e.left = fmt.Sprintf("; %s holds part of the result", s.name)
	case s.file == nil && s.w != nil:
		e.left = "; standard output holds part of the result"
	}
	s.abortLocked()
	return e, true
}
