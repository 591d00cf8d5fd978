package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jacobi-ad/jacobi/tensor"
)

// The safetensors format (github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor's name
// to its dtype, shape and byte range in the data that follows
// ({"w": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 48]}}, plus
// an optional "__metadata__" of strings), then the tensors' little-endian
// bytes. PyTorch users read it with safetensors.torch.load_file, or with
// nothing but json and numpy.

// maxHeader bounds the JSON header read from a file (as the reference
// implementation does).
const maxHeader = 100 << 20

type stEntry struct {
	Dtype   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// WriteSafetensors writes tensors (float64 as dtype F64, float32 as F32)
// under their names, in the order given, with optional string metadata.
// Names must be unique and not "__metadata__".
func WriteSafetensors(w io.Writer, names []string, ts []*tensor.Tensor, meta map[string]string) error {
	if len(names) != len(ts) {
		return fmt.Errorf("safetensors: %d names for %d tensors", len(names), len(ts))
	}
	// The header is written by hand to keep the tensors in the given order
	// (a Go map would sort them) and the file byte-for-byte reproducible.
	var h bytes.Buffer
	h.WriteByte('{')
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(meta[k])
			h.Write(kb)
			h.WriteByte(':')
			h.Write(vb)
		}
		h.WriteByte('}')
	}
	seen := map[string]bool{}
	off := 0
	for i, name := range names {
		t := ts[i]
		if t == nil {
			return fmt.Errorf("safetensors: tensor %q is nil", name)
		}
		if name == "" || name == "__metadata__" || seen[name] {
			return fmt.Errorf("safetensors: bad or repeated tensor name %q", name)
		}
		seen[name] = true
		if h.Len() > 1 {
			h.WriteByte(',')
		}
		nb, _ := json.Marshal(name)
		shape := make([]string, t.Rank())
		for k, d := range t.Shape() {
			shape[k] = strconv.Itoa(d)
		}
		dtype, size := "F64", t.DType().Size()
		if t.DType() == tensor.Float32 {
			dtype = "F32"
		}
		fmt.Fprintf(&h, `%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}`, nb, dtype, strings.Join(shape, ","), off, off+size*t.Len())
		off += size * t.Len()
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 { // the data starts 8-byte aligned
		h.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 8*1024)
	flush := func() error {
		if len(buf)+8 <= cap(buf) {
			return nil
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, t := range ts {
		if t.DType() == tensor.Float32 {
			for _, v := range t.Data32() {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		for _, v := range t.Data() {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			if err := flush(); err != nil {
				return err
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// ReadSafetensors reads every tensor of a safetensors stream (F64 as
// float64, F32 as float32), with the names in the order of their data, and
// the metadata.
func ReadSafetensors(r io.Reader) (names []string, ts []*tensor.Tensor, meta map[string]string, err error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: reading the header length: %w", err)
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl < 2 || hl > maxHeader {
		return nil, nil, nil, fmt.Errorf("safetensors: header length %d out of range", hl)
	}
	hb := make([]byte, hl)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: reading the %d-byte header: %w", hl, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: the header is not a JSON object: %w", err)
	}
	type item struct {
		name string
		e    stEntry
	}
	var items []item
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, nil, fmt.Errorf("safetensors: __metadata__ is not a map of strings: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		items = append(items, item{name, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].e.Offsets[0] < items[j].e.Offsets[0] })
	data, err := io.ReadAll(io.LimitReader(r, math.MaxInt32*8))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: reading the data: %w", err)
	}
	end := 0
	for _, it := range items {
		e := it.e
		size := 0
		switch e.Dtype {
		case "F64":
			size = 8
		case "F32":
			size = 4
		default:
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %s; only F64 and F32 are read", it.name, e.Dtype)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32/d) {
				return nil, nil, nil, fmt.Errorf("safetensors: tensor %q has a bad shape %v", it.name, e.Shape)
			}
			count *= d
		}
		if e.Offsets[0] != end || e.Offsets[1]-e.Offsets[0] != count*size || e.Offsets[1] > len(data) {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q (%s %v) has byte range %v; want [%d, %d] within %d bytes of data", it.name, e.Dtype, e.Shape, e.Offsets, end, end+count*size, len(data))
		}
		end = e.Offsets[1]
		b := data[e.Offsets[0]:e.Offsets[1]]
		var t *tensor.Tensor
		if size == 8 {
			vals := make([]float64, count)
			for k := range vals {
				vals[k] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:]))
			}
			t, err = tensor.New(e.Shape, vals)
		} else {
			vals := make([]float32, count)
			for k := range vals {
				vals[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
			}
			t, err = tensor.New32(e.Shape, vals)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: %w", it.name, err)
		}
		names, ts = append(names, it.name), append(ts, t)
	}
	if end != len(data) {
		return nil, nil, nil, fmt.Errorf("safetensors: %d bytes of data, the tensors cover %d", len(data), end)
	}
	return names, ts, meta, nil
}

// writeFileAtomic writes through a temporary file in the same directory
// and renames it, so a failed write leaves nothing behind.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes it private
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Save writes the MLP's parameters to a safetensors file under the names
// torch.nn.Sequential(Linear, activation, Linear, …) gives them ("0.weight",
// "0.bias", "2.weight", …), with the activation in the metadata, so that
//
//	model.load_state_dict(safetensors.torch.load_file(path))
//
// restores it in PyTorch. The file is written to a temporary file and
// renamed.
func (m *MLP) Save(path string) error {
	var names []string
	for i := range m.Weights {
		names = append(names, fmt.Sprintf("%d.weight", 2*i), fmt.Sprintf("%d.bias", 2*i))
	}
	meta := map[string]string{"format": "pt", "activation": m.Activation}
	err := writeFileAtomic(path, func(w io.Writer) error { return WriteSafetensors(w, names, m.Params(), meta) })
	if err != nil {
		return fmt.Errorf("nn: saving %s: %w", path, err)
	}
	return nil
}

// LoadMLP reads an MLP saved by Save, or a torch.nn.Sequential of Linear
// layers and activations saved by safetensors.torch.save_file (F64 or F32;
// the layers are the "K.weight"/"K.bias" pairs in the order of K), in
// float64 (Convert gives it in float32). The activation comes from the
// file's metadata, or, when the file has none, from activation (which
// otherwise must agree or be empty).
func LoadMLP(path, activation string) (*MLP, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	defer f.Close()
	names, ts, meta, err := ReadSafetensors(f)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", path, err)
	}
	byName := map[string]*tensor.Tensor{}
	var layers []int
	for i, n := range names {
		byName[n] = ts[i]
		if k, ok := strings.CutSuffix(n, ".weight"); ok {
			idx, err := strconv.Atoi(k)
			if err != nil {
				return nil, fmt.Errorf("nn: %s: tensor %q is not named as a layer of a Sequential (K.weight)", path, n)
			}
			layers = append(layers, idx)
		}
	}
	sort.Ints(layers)
	var ws, bs []*tensor.Tensor
	for _, k := range layers {
		b, ok := byName[fmt.Sprintf("%d.bias", k)]
		if !ok {
			return nil, fmt.Errorf("nn: %s: layer %d has a weight but no bias", path, k)
		}
		ws, bs = append(ws, byName[fmt.Sprintf("%d.weight", k)].Convert(tensor.Float64)), append(bs, b.Convert(tensor.Float64))
	}
	if len(ws)*2 != len(names) {
		return nil, fmt.Errorf("nn: %s: %d tensors, not all weight/bias pairs of layers", path, len(names))
	}
	if a := meta["activation"]; a != "" {
		if activation != "" && activation != a {
			return nil, fmt.Errorf("nn: %s: the file's activation is %q, not %q", path, a, activation)
		}
		activation = a
	}
	if activation == "" {
		return nil, fmt.Errorf("nn: %s names no activation; pass one", path)
	}
	m, err := NewMLP(ws, bs, activation)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", path, err)
	}
	return m, nil
}
