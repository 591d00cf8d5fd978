// Package npy reads and writes NumPy .npy files holding float32 or float64
// arrays in C (row-major) order and little-endian byte order.
//
// The reader is written for untrusted input: it rejects Fortran order, other
// dtypes, big-endian data, malformed headers, absurd shapes and truncated data
// with an error, never a panic, and it never allocates more than the data
// actually present justifies (data is read in bounded chunks, and ReadFile
// checks the header's shape against the file's size before reading).
//
// Arrays are returned as tensors of their dtype ('<f4' as float32, '<f8' as
// float64); Write writes a tensor in its dtype, format version 1.0.
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
	"strconv"

	"github.com/jacobi-ad/jacobi/tensor"
)

// magic is the six bytes every .npy file starts with.
const magic = "\x93NUMPY"

const (
	// maxHeaderLen bounds the header dictionary; NumPy itself refuses
	// headers above 10000 bytes by default.
	maxHeaderLen = 1 << 16
	// MaxElements is the largest number of elements Read accepts.
	MaxElements = 1 << 31
	// maxRank bounds the number of dimensions.
	maxRank = 32
	// chunkBytes is the size of the pieces in which data is read, so that a
	// header claiming a huge array over a short stream fails on the missing
	// data before any large allocation.
	chunkBytes = 1 << 20
)

// header is the decoded header dictionary.
type header struct {
	descr   string
	fortran bool
	shape   []int
}

// Read decodes one .npy array from r. It reads exactly the bytes of one
// array and nothing after it.
func Read(r io.Reader) (*tensor.Tensor, error) {
	h, _, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	return readData(r, h)
}

// ReadFile decodes the .npy file at path. Besides the checks of Read, it
// requires the file's size to match the header exactly.
func ReadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	br := bufio.NewReader(f)
	h, hlen, err := readHeader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := tensor.Size(h.shape)
	want := int64(hlen) + int64(n)*int64(itemSize(h.descr))
	if st.Mode().IsRegular() && st.Size() != want {
		if st.Size() < want {
			return nil, fmt.Errorf("npy: %s: truncated: header says shape %v of %s (%d bytes in all) but the file has %d bytes",
				path, h.shape, h.descr, want, st.Size())
		}
		return nil, fmt.Errorf("npy: %s: %d unexpected bytes after the data of shape %v", path, st.Size()-want, h.shape)
	}
	t, err := readData(br, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func itemSize(descr string) int {
	if descr[2] == '4' {
		return 4
	}
	return 8
}

// readHeader reads and validates the magic, version and header dictionary;
// it returns the header and the total number of bytes consumed.
func readHeader(r io.Reader) (header, int, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return header{}, 0, fmt.Errorf("npy: reading magic: %w", noEOF(err))
	}
	if string(pre[:6]) != magic {
		return header{}, 0, errors.New("npy: not a .npy file (bad magic)")
	}
	major, minor := pre[6], pre[7]
	var hlen, consumed int
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return header{}, 0, fmt.Errorf("npy: reading header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
		consumed = 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return header{}, 0, fmt.Errorf("npy: reading header length: %w", noEOF(err))
		}
		l := binary.LittleEndian.Uint32(b[:])
		if l > maxHeaderLen {
			return header{}, 0, fmt.Errorf("npy: header length %d exceeds the limit of %d bytes", l, maxHeaderLen)
		}
		hlen = int(l)
		consumed = 12
	default:
		return header{}, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	if hlen > maxHeaderLen {
		return header{}, 0, fmt.Errorf("npy: header length %d exceeds the limit of %d bytes", hlen, maxHeaderLen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return header{}, 0, fmt.Errorf("npy: reading %d-byte header: %w", hlen, noEOF(err))
	}
	h, err := parseHeader(buf)
	if err != nil {
		return header{}, 0, fmt.Errorf("npy: header %q: %w", clip(buf), err)
	}
	return h, consumed + hlen, nil
}

func clip(b []byte) string {
	b = bytes.TrimRight(b, " \n\x00")
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readData reads the array's data after a validated header.
func readData(r io.Reader, h header) (*tensor.Tensor, error) {
	n := tensor.Size(h.shape)
	size := itemSize(h.descr)
	var out []float64
	var out32 []float32
	if size == 4 {
		out32 = make([]float32, 0, min(n, chunkBytes/4))
	} else {
		out = make([]float64, 0, min(n, chunkBytes/8))
	}
	buf := make([]byte, min(n*size, chunkBytes))
	for len(out)+len(out32) < n {
		got := len(out) + len(out32)
		k := min(n-got, len(buf)/size)
		b := buf[:k*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("npy: truncated data: shape %v of %s needs %d bytes, read only about %d: %w",
				h.shape, h.descr, n*size, got*size, noEOF(err))
		}
		if size == 4 {
			for i := 0; i < k; i++ {
				out32 = append(out32, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
			}
		} else {
			for i := 0; i < k; i++ {
				out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
			}
		}
	}
	var t *tensor.Tensor
	var err error
	if size == 4 {
		t, err = tensor.New32(h.shape, out32)
	} else {
		t, err = tensor.New(h.shape, out)
	}
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	return t, nil
}

// parseHeader parses the Python dict literal of a .npy header, for example
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(b []byte) (header, error) {
	p := &parser{s: b}
	var h header
	seen := map[string]bool{}
	p.space()
	if !p.eat('{') {
		return h, errors.New("expected '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("dictionary key: %w", err)
		}
		p.space()
		if !p.eat(':') {
			return h, fmt.Errorf("expected ':' after key %q", key)
		}
		p.space()
		if seen[key] {
			return h, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			d, err := p.str()
			if err != nil {
				return h, fmt.Errorf("descr: %w", err)
			}
			h.descr = d
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return h, errors.New("fortran_order: expected True or False")
			}
		case "shape":
			s, err := p.tuple()
			if err != nil {
				return h, fmt.Errorf("shape: %w", err)
			}
			h.shape = s
		default:
			return h, fmt.Errorf("unexpected key %q", key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if p.eat('}') {
			break
		}
		return h, errors.New("expected ',' or '}'")
	}
	p.space()
	if p.i != len(p.s) {
		return h, errors.New("unexpected bytes after the dictionary")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("missing key %q", k)
		}
	}
	if h.fortran {
		return h, errors.New("arrays in Fortran order are not supported; save a C-order array (numpy.ascontiguousarray)")
	}
	switch h.descr {
	case "<f8", "<f4":
	case ">f8", ">f4":
		return h, fmt.Errorf("big-endian dtype %q is not supported; use little-endian float32 or float64", h.descr)
	default:
		return h, fmt.Errorf("dtype %q is not supported; use float32 ('<f4') or float64 ('<f8')", h.descr)
	}
	n := 1
	for _, d := range h.shape {
		if d != 0 && n > MaxElements/d {
			return h, fmt.Errorf("shape %v has more than %d elements", h.shape, MaxElements)
		}
		n *= d
	}
	return h, nil
}

type parser struct {
	s []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) word(w string) bool {
	if bytes.HasPrefix(p.s[p.i:], []byte(w)) {
		p.i += len(w)
		return true
	}
	return false
}

// str parses a quoted string without escapes.
func (p *parser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("expected a quoted string")
	}
	q := p.s[p.i]
	j := bytes.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", errors.New("unterminated string")
	}
	s := string(p.s[p.i+1 : p.i+1+j])
	p.i += j + 2
	return s, nil
}

// tuple parses a Python tuple of non-negative integers: (), (3,), (3, 4).
func (p *parser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("expected '('")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') {
			return shape, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		// Python 2 era files may write long integers as 3L.
		digits := string(p.s[start:p.i])
		p.eat('L')
		if digits == "" {
			return nil, errors.New("expected a non-negative integer")
		}
		d, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || d > MaxElements {
			return nil, fmt.Errorf("dimension %s is too large", digits)
		}
		if len(shape) == maxRank {
			return nil, fmt.Errorf("more than %d dimensions", maxRank)
		}
		shape = append(shape, int(d))
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if p.eat(')') {
			if len(shape) == 1 {
				// "(3)" is an int in Python, not a tuple; NumPy never writes it.
				return nil, errors.New("a one-element tuple needs a trailing comma")
			}
			return shape, nil
		}
		return nil, errors.New("expected ',' or ')'")
	}
}

// Write encodes t as a .npy array of its dtype (format version 1.0) to w.
func Write(w io.Writer, t *tensor.Tensor) error {
	if t == nil {
		return errors.New("npy: Write of a nil tensor")
	}
	e, err := NewEncoder(w, t.DType(), t.Shape())
	if err != nil {
		return err
	}
	if err := e.Write(t); err != nil {
		return err
	}
	return e.Close()
}

// WriteFile writes t as a .npy file of its dtype at path atomically: it
// writes a temporary file in the same directory, syncs it and renames it
// over path, so that a failed write leaves no partial file behind. Through
// a symbolic link it replaces the link's target; a path that is not a
// regular file (a device such as /dev/null) is written in place (see File).
func WriteFile(path string, t *tensor.Tensor) error {
	if t == nil {
		return errors.New("npy: WriteFile of a nil tensor")
	}
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, t); err != nil {
		f.Abort()
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	return f.Commit()
}
