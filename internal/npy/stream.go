package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Arrays larger than memory are read and written piece by piece: a Reader
// hands out the values of a file in pieces of the caller's size, an
// Encoder writes the header and then the values as they come, and a File
// is where an Encoder writes so that a failed or interrupted run leaves
// nothing behind.

// header returns the header of an array of the given dtype and shape:
// magic, version 1.0, length and the dictionary, padded with spaces to a
// multiple of 64 bytes and ending in a newline, as NumPy writes it.
func encodeHeader(dt tensor.DType, shape []int) ([]byte, error) {
	descr := "<f8"
	if dt == tensor.Float32 {
		descr = "<f4"
	}
	var sb bytes.Buffer
	sb.WriteString("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	total := 10 + sb.Len() + 1
	pad := (64 - total%64) % 64
	sb.Write(bytes.Repeat([]byte{' '}, pad))
	sb.WriteByte('\n')
	if sb.Len() > math.MaxUint16 {
		return nil, fmt.Errorf("npy: header for shape %v too long", shape)
	}
	out := make([]byte, 0, 10+sb.Len())
	out = append(out, magic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(sb.Len()))
	return append(out, sb.Bytes()...), nil
}

// FileSize returns the size in bytes of the .npy file of an array of the
// given dtype and shape, header included, or an error when it does not
// fit in an int64.
func FileSize(dt tensor.DType, shape []int) (int64, error) {
	h, err := encodeHeader(dt, shape)
	if err != nil {
		return 0, err
	}
	n := int64(dt.Size())
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		if d != 0 && n > (math.MaxInt64-int64(len(h)))/int64(d) {
			return 0, fmt.Errorf("npy: an array of shape %v is too large for a file", shape)
		}
		n *= int64(d)
	}
	return n + int64(len(h)), nil
}

// An Encoder writes one .npy array piece by piece: the header when it is
// made, then the values, in row-major order, as Write receives them.
// Close checks that exactly the values of the shape were written.
type Encoder struct {
	w     *bufio.Writer
	dtype tensor.DType
	shape []int
	left  int64 // values still to come
}

// NewEncoder writes the header of an array of the given dtype and shape
// to w and returns the Encoder for its values.
func NewEncoder(w io.Writer, dt tensor.DType, shape []int) (*Encoder, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("npy: cannot write dtype %v", dt)
	}
	size, err := FileSize(dt, shape)
	if err != nil {
		return nil, err
	}
	h, _ := encodeHeader(dt, shape)
	e := &Encoder{w: bufio.NewWriterSize(w, 1<<16), dtype: dt, shape: append([]int{}, shape...), left: (size - int64(len(h))) / int64(dt.Size())}
	if _, err := e.w.Write(h); err != nil {
		return nil, fmt.Errorf("npy: write: %w", err)
	}
	return e, nil
}

// Write writes t's values next; t has the Encoder's dtype and any shape.
func (e *Encoder) Write(t *tensor.Tensor) error {
	if t == nil {
		return errors.New("npy: Write of a nil tensor")
	}
	if t.DType() != e.dtype {
		return fmt.Errorf("npy: writing %v values into a %v array", t.DType(), e.dtype)
	}
	if int64(t.Len()) > e.left {
		return fmt.Errorf("npy: %d values more than the shape %v holds", int64(t.Len())-e.left, e.shape)
	}
	// Values are encoded a block at a time into the buffer's free space.
	if e.dtype == tensor.Float32 {
		for d := t.Data32(); len(d) > 0; {
			if e.w.Available() < 4 {
				if err := e.w.Flush(); err != nil {
					return fmt.Errorf("npy: write: %w", err)
				}
			}
			buf := e.w.AvailableBuffer()
			k := min(len(d), cap(buf)/4)
			for _, v := range d[:k] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if _, err := e.w.Write(buf); err != nil {
				return fmt.Errorf("npy: write: %w", err)
			}
			d = d[k:]
		}
	} else {
		for d := t.Data(); len(d) > 0; {
			if e.w.Available() < 8 {
				if err := e.w.Flush(); err != nil {
					return fmt.Errorf("npy: write: %w", err)
				}
			}
			buf := e.w.AvailableBuffer()
			k := min(len(d), cap(buf)/8)
			for _, v := range d[:k] {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			}
			if _, err := e.w.Write(buf); err != nil {
				return fmt.Errorf("npy: write: %w", err)
			}
			d = d[k:]
		}
	}
	e.left -= int64(t.Len())
	return nil
}

// Close flushes what is buffered; it fails when values of the shape are
// missing.
func (e *Encoder) Close() error {
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("npy: write: %w", err)
	}
	if e.left != 0 {
		return fmt.Errorf("npy: %d values of the shape %v were not written", e.left, e.shape)
	}
	return nil
}

// A Reader reads the array of a .npy file piece by piece.
type Reader struct {
	f     *os.File
	br    *bufio.Reader
	path  string
	h     header
	dtype tensor.DType
	left  int64 // values not yet read
	buf   []byte
}

// Open opens the .npy file at path for reading piece by piece. It makes
// the checks of ReadFile on the header and the file's size, without
// reading the data.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	h, hlen, err := readHeader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := int64(tensor.Size(h.shape))
	want := int64(hlen) + n*int64(itemSize(h.descr))
	if st.Mode().IsRegular() && st.Size() != want {
		f.Close()
		if st.Size() < want {
			return nil, fmt.Errorf("npy: %s: truncated: header says shape %v of %s (%d bytes in all) but the file has %d bytes",
				path, h.shape, h.descr, want, st.Size())
		}
		return nil, fmt.Errorf("npy: %s: %d unexpected bytes after the data of shape %v", path, st.Size()-want, h.shape)
	}
	dt := tensor.Float64
	if itemSize(h.descr) == 4 {
		dt = tensor.Float32
	}
	return &Reader{f: f, br: br, path: path, h: h, dtype: dt, left: n}, nil
}

// Shape returns the array's shape.
func (r *Reader) Shape() []int { return r.h.shape }

// DType returns the array's dtype.
func (r *Reader) DType() tensor.DType { return r.dtype }

// ReadInto fills t, of the array's dtype, with its next t.Len() values.
func (r *Reader) ReadInto(t *tensor.Tensor) error {
	if t.DType() != r.dtype {
		return fmt.Errorf("npy: %s: reading %v values into a %v tensor", r.path, r.dtype, t.DType())
	}
	n := int64(t.Len())
	if n > r.left {
		return fmt.Errorf("npy: %s: %d values asked for, %d left", r.path, n, r.left)
	}
	size := r.dtype.Size()
	if len(r.buf) == 0 {
		r.buf = make([]byte, chunkBytes)
	}
	done := 0
	for done < int(n) {
		k := min(int(n)-done, len(r.buf)/size)
		b := r.buf[:k*size]
		if _, err := io.ReadFull(r.br, b); err != nil {
			return fmt.Errorf("npy: %s: truncated data: %w", r.path, noEOF(err))
		}
		if r.dtype == tensor.Float32 {
			d := t.Data32()[done:]
			for i := range k {
				d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		} else {
			d := t.Data()[done:]
			for i := range k {
				d[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			}
		}
		done += k
	}
	r.left -= n
	return nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// A File is where a .npy file is written: for a regular file (or a name
// that does not exist yet) a temporary file in the same directory, which
// Commit syncs and renames over the name — through symbolic links, over
// their target, which stays a regular file behind the same links — and
// Abort removes, so that a failed or interrupted write leaves nothing
// behind; for anything else (a device such as /dev/null, a named pipe,
// /dev/stdout) the file itself, written in place.
type File struct {
	f      *os.File
	target string // the file that Commit replaces ("" when written in place)
	tmp    string
}

// Create starts writing the file at path.
func Create(path string) (*File, error) {
	// What path names, through its links, decides: a link to a device or
	// pipe (/dev/stdout is /proc/self/fd/1, a link to "pipe:[…]") is
	// opened as it is.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, fmt.Errorf("npy: %s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("npy: %w", err)
		}
		return &File{f: f}, nil
	}
	target, err := resolve(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	return &File{f: f, target: target, tmp: f.Name()}, nil
}

// resolve follows the symbolic links of path to the file they name, which
// need not exist.
func resolve(path string) (string, error) {
	for range 64 {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			return path, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("npy: %w", err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", fmt.Errorf("npy: %s: too many levels of symbolic links", path)
}

// InPlace reports whether the file is written in place (not a regular
// file): nothing is renamed, and Abort cannot take back what was written.
func (f *File) InPlace() bool { return f.target == "" }

// Dir returns the directory the file is written in.
func (f *File) Dir() string {
	if f.InPlace() {
		return filepath.Dir(f.f.Name())
	}
	return filepath.Dir(f.tmp)
}

// Write writes p to the file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Commit finishes the file: a temporary file is synced and renamed over
// its target.
func (f *File) Commit() error {
	if f.InPlace() {
		return f.f.Close()
	}
	if err := f.f.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("npy: %s: %w", f.target, err)
	}
	if err := f.f.Close(); err != nil {
		f.Abort()
		return fmt.Errorf("npy: %s: %w", f.target, err)
	}
	if err := os.Chmod(f.tmp, 0o644); err != nil {
		f.Abort()
		return fmt.Errorf("npy: %s: %w", f.target, err)
	}
	if err := os.Rename(f.tmp, f.target); err != nil {
		f.Abort()
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// Abort gives up the file: a temporary file is removed.
func (f *File) Abort() {
	f.f.Close()
	if !f.InPlace() {
		os.Remove(f.tmp)
	}
}
