package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// build assembles a version-1.0 .npy file from a header dictionary and raw data.
func build(dict string, data []byte) []byte {
	h := []byte(dict)
	total := 10 + len(h) + 1
	h = append(h, bytes.Repeat([]byte{' '}, (64-total%64)%64)...)
	h = append(h, '\n')
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.Write(h)
	b.Write(data)
	return b.Bytes()
}

func f64bytes(v ...float64) []byte {
	var b bytes.Buffer
	for _, x := range v {
		binary.Write(&b, binary.LittleEndian, x)
	}
	return b.Bytes()
}

func f32bytes(v ...float32) []byte {
	var b bytes.Buffer
	for _, x := range v {
		binary.Write(&b, binary.LittleEndian, x)
	}
	return b.Bytes()
}

func TestReadFloat64(t *testing.T) {
	b := build("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f64bytes(1, 2, 3, 4, 5, -6.5))
	x, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Shape(); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("shape %v, want [2 3]", got)
	}
	want := []float64{1, 2, 3, 4, 5, -6.5}
	for i, v := range x.Data() {
		if v != want[i] {
			t.Fatalf("data %v, want %v", x.Data(), want)
		}
	}
}

func TestReadFloat32(t *testing.T) {
	b := build("{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", f32bytes(0.1, -2, 3e30))
	x, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.1, -2, 3e30}
	if len(x.Shape()) != 1 || x.Shape()[0] != 3 || x.DType() != tensor.Float32 {
		t.Fatalf("shape %v, %v", x.Shape(), x.DType())
	}
	for i, v := range x.Data32() {
		if v != want[i] {
			t.Fatalf("data %v, want %v", x.Data32(), want)
		}
	}
	// Written back as float32, byte for byte.
	var buf bytes.Buffer
	if err := Write(&buf, x); err != nil {
		t.Fatal(err)
	}
	y, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if y.DType() != tensor.Float32 || tensor.MaxAbsDiff(x, y) != 0 {
		t.Fatalf("float32 read back as %v %v", y.DType(), y)
	}
}

func TestReadScalarAndEmpty(t *testing.T) {
	x, err := Read(bytes.NewReader(build("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f64bytes(7))))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Shape()) != 0 || x.Data()[0] != 7 {
		t.Fatalf("scalar: shape %v data %v", x.Shape(), x.Data())
	}
	x, err = Read(bytes.NewReader(build("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4), }", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 0 || x.Shape()[1] != 4 {
		t.Fatalf("empty: shape %v", x.Shape())
	}
}

func TestReadVersion2(t *testing.T) {
	dict := []byte("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n")
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{2, 0})
	binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	b.Write(dict)
	b.Write(f64bytes(3.5))
	x, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if x.Data()[0] != 3.5 {
		t.Fatalf("got %v", x.Data())
	}
}

func TestReadRejects(t *testing.T) {
	good := "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "magic"},
		{"bad magic", []byte("PK\x03\x04 this is a zip file"), "not a .npy file"},
		{"version", append([]byte(magic+"\x09\x00"), 0, 0), "version 9.0"},
		{"fortran", build("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", f64bytes(1, 2)), "Fortran order"},
		{"int64", build("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", f64bytes(1, 2)), "dtype \"<i8\""},
		{"complex", build("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", f64bytes(1, 2)), "dtype"},
		{"big endian", build("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", f64bytes(1, 2)), "big-endian"},
		{"truncated data", build(good, f64bytes(1)), "truncated"},
		{"truncated header", build(good, f64bytes(1, 2))[:30], "header"},
		{"huge shape", build("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", f64bytes(1)), "elements"},
		{"huge dim", build("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }", nil), "too large"},
		{"big but plausible shape, little data", build("{'descr': '<f8', 'fortran_order': False, 'shape': (20000, 50000), }", f64bytes(1, 2, 3)), "truncated"},
		{"negative dim", build("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", f64bytes(1, 2)), "integer"},
		{"missing shape", build("{'descr': '<f8', 'fortran_order': False, }", f64bytes(1, 2)), "missing key \"shape\""},
		{"extra key", build("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", f64bytes(1, 2)), "unexpected key"},
		{"duplicate key", build("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f64bytes(1, 2)), "duplicate"},
		{"not a tuple", build("{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", f64bytes(1, 2)), "trailing comma"},
		{"garbage", build("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } junk", f64bytes(1, 2)), "after the dictionary"},
		{"structured", build("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", f64bytes(1, 2)), "descr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.file))
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {1}, {3}, {2, 3}, {2, 0, 4}, {2, 3, 4, 5}}
	for _, s := range shapes {
		n := tensor.Size(s)
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Sin(float64(i)) * 1e10
		}
		d = append(d[:0:0], d...)
		if n > 2 {
			d[0], d[1] = math.Inf(-1), math.SmallestNonzeroFloat64
		}
		x := tensor.MustNew(s, d)
		var b bytes.Buffer
		if err := Write(&b, x); err != nil {
			t.Fatal(err)
		}
		if b.Len() < 64 || (b.Len()-8*n)%64 != 0 {
			t.Fatalf("shape %v: header not padded to 64 bytes (file %d bytes)", s, b.Len())
		}
		y, err := Read(&b)
		if err != nil {
			t.Fatalf("shape %v: %v", s, err)
		}
		if len(y.Shape()) != len(s) {
			t.Fatalf("shape %v read back as %v", s, y.Shape())
		}
		for i := range s {
			if y.Shape()[i] != s[i] {
				t.Fatalf("shape %v read back as %v", s, y.Shape())
			}
		}
		for i := range d {
			if math.Float64bits(y.Data()[i]) != math.Float64bits(d[i]) {
				t.Fatalf("shape %v: element %d %v read back as %v", s, i, d[i], y.Data()[i])
			}
		}
	}
}

// TestWriteHeaderBytes pins the exact header NumPy 1.24 writes for a (2, 3)
// float64 array (np.save(f, np.zeros((2, 3)))).
func TestWriteHeaderBytes(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, tensor.Zeros(2, 3)); err != nil {
		t.Fatal(err)
	}
	want := "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + strings.Repeat(" ", 58) + "\n"
	if got := b.String()[:128]; got != want {
		t.Fatalf("header\n%q\nwant\n%q", got, want)
	}
}

func TestFileRoundTripAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	x := tensor.MustNew([]int{2, 2}, []float64{1, 2, 3, 4})
	if err := WriteFile(p, x); err != nil {
		t.Fatal(err)
	}
	y, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if y.Data()[3] != 4 {
		t.Fatalf("got %v", y.Data())
	}
	// A write into a missing directory fails and leaves nothing behind.
	if err := WriteFile(filepath.Join(dir, "nope", "y.npy"), x); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries after writes, want 1 (no temp files)", len(ents))
	}
	// Trailing bytes and truncation are caught by the size check.
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, append(raw, 0), 0o644)
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "unexpected bytes") {
		t.Fatalf("trailing byte: err = %v", err)
	}
	os.WriteFile(p, raw[:len(raw)-1], 0o644)
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated file: err = %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.npy")); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestReadNumpyFiles reads files written by NumPy itself (see scripts/make_testdata.py).
func TestReadNumpyFiles(t *testing.T) {
	cases := []struct {
		file  string
		shape []int
		data  []float64
	}{
		{"f64_2x3.npy", []int{2, 3}, []float64{0, 1.5, -2, 3, 4.25, 1e-300}},
		{"f32_3.npy", []int{3}, []float64{float64(float32(0.1)), -1, 2.5}},
		{"f64_scalar.npy", []int{}, []float64{42}},
	}
	for _, c := range cases {
		p := filepath.Join("..", "..", "testdata", "npy", c.file)
		x, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Shape()) != len(c.shape) {
			t.Fatalf("%s: shape %v, want %v", c.file, x.Shape(), c.shape)
		}
		for i := range c.shape {
			if x.Shape()[i] != c.shape[i] {
				t.Fatalf("%s: shape %v, want %v", c.file, x.Shape(), c.shape)
			}
		}
		if want := strings.HasPrefix(c.file, "f32"); want != (x.DType() == tensor.Float32) {
			t.Fatalf("%s: read as %v", c.file, x.DType())
		}
		got := x.Float64s()
		for i := range c.data {
			if got[i] != c.data[i] {
				t.Fatalf("%s: data %v, want %v", c.file, got, c.data)
			}
		}
	}
	for _, bad := range []string{"fortran.npy", "int64.npy", "bigendian.npy"} {
		if _, err := ReadFile(filepath.Join("..", "..", "testdata", "npy", bad)); err == nil {
			t.Fatalf("%s: no error", bad)
		}
	}
}

func FuzzReadNpy(f *testing.F) {
	f.Add(build("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f64bytes(1, 2, 3, 4, 5, 6)))
	f.Add(build("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32bytes(1, 2)))
	f.Add(build("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f64bytes(1)))
	f.Add(build("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }", f64bytes(1)))
	f.Add(build("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000), }", f64bytes(1)))
	f.Add([]byte(magic + "\x02\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if x.Len() != tensor.Size(x.Shape()) {
			t.Fatalf("tensor of shape %v holds %d values", x.Shape(), x.Len())
		}
		if 8*x.Len() > len(b) && x.Len() > 0 && 4*x.Len() > len(b) {
			t.Fatalf("read %d values from %d bytes", x.Len(), len(b))
		}
		// What was read must survive a round trip.
		var w bytes.Buffer
		if err := Write(&w, x); err != nil {
			t.Fatal(err)
		}
		y, err := Read(&w)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if y.DType() != x.DType() {
			t.Fatalf("round trip changed the dtype %v to %v", x.DType(), y.DType())
		}
		yd := y.Float64s()
		for i, v := range x.Float64s() {
			if math.Float64bits(v) != math.Float64bits(yd[i]) {
				t.Fatalf("round trip changed element %d", i)
			}
		}
	})
}
