package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/onnx/internal/pb"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// Export writes jacobi programs — a compiled per-sample derivative, a
// traced training step — as ONNX models that ONNX Runtime, Triton Inference
// Server or any other ONNX engine runs, on CPUs, GPUs or a cluster. Every
// primitive lowers to standard ONNX operators (see the table in
// export_ops.go); the batch becomes a symbolic dimension wherever the
// program is free of the batch size, so one file serves every batch.

// DefaultOpset is the ONNX opset exported models import unless Opset says
// otherwise; MinExportOpset and MaxExportOpset bound what Opset accepts.
const (
	DefaultOpset   = 17
	MinExportOpset = 13
	MaxExportOpset = MaxOpset
)

// ElemType is the element type of an exported model's inputs.
type ElemType int

// The element types.
const (
	Float64 ElemType = iota // ONNX DOUBLE
	Float32                 // ONNX FLOAT
)

// String names the type as ONNX does.
func (t ElemType) String() string {
	switch t {
	case Float64:
		return "double"
	case Float32:
		return "float"
	}
	return fmt.Sprintf("ElemType(%d)", int(t))
}

// ExportOption adjusts an export.
type ExportOption func(*exportConfig) error

type exportConfig struct {
	opset     int
	inputs    []string
	outputs   []string
	batchName string
	inType    ElemType
	inTypeSet bool
	dtype     tensor.DType
	doc       string
	perSample bool
}

// Opset sets the version of the default ONNX operator set the model
// imports (default DefaultOpset, 17). Every version from 13 to 21 gives
// the same operators.
func Opset(v int) ExportOption {
	return func(c *exportConfig) error {
		if v < MinExportOpset || v > MaxExportOpset {
			return fmt.Errorf("opset %d: want %d to %d", v, MinExportOpset, MaxExportOpset)
		}
		c.opset = v
		return nil
	}
}

// InputNames names the model's inputs, in the order of the program's
// (default "x" for one input, "input0", "input1", … for several).
func InputNames(names ...string) ExportOption {
	return func(c *exportConfig) error { c.inputs = names; return nil }
}

// OutputNames names the model's outputs (default "y" for one output,
// "output0", "output1", … for several).
func OutputNames(names ...string) ExportOption {
	return func(c *exportConfig) error { c.outputs = names; return nil }
}

// BatchName names the symbolic batch dimension (default "batch").
func BatchName(name string) ExportOption {
	return func(c *exportConfig) error {
		if name == "" {
			return errors.New("BatchName: empty name")
		}
		c.batchName = name
		return nil
	}
}

// InputType sets the element type of the model's inputs (default: the
// program's, FLOAT for a float32 program and DOUBLE for a float64 one).
// Inputs of another type are converted at the start of the graph, which
// computes in the program's precision and returns outputs of it: Float32
// inputs of a float64 program are widened, as jacobi --dtype float64 does
// for float32 models.
func InputType(t ElemType) ExportOption {
	return func(c *exportConfig) error {
		if t != Float64 && t != Float32 {
			return fmt.Errorf("InputType: %v is not an element type", t)
		}
		c.inType, c.inTypeSet = t, true
		return nil
	}
}

// DType sets the dtype ExportFunc traces its function in (default
// float64): the precision the graph computes in, FLOAT for float32.
// ExportCompiled and ExportTraced keep their program's.
func DType(dt tensor.DType) ExportOption {
	return func(c *exportConfig) error {
		if !dt.Valid() {
			return fmt.Errorf("DType: %v is not a dtype", dt)
		}
		c.dtype = dt
		return nil
	}
}

// PerSample declares that ExportFunc's function maps every sample on its
// own, as the per-sample derivatives (BatchJacobianOf and friends) do:
// nothing in it may then depend on the batch size, not even through a
// mean, and a function that does (a model that divides by its batch size)
// is refused instead of exported.
func PerSample() ExportOption {
	return func(c *exportConfig) error { c.perSample = true; return nil }
}

// DocString sets the model's description.
func DocString(s string) ExportOption {
	return func(c *exportConfig) error { c.doc = s; return nil }
}

func configureExport(opts []ExportOption) (*exportConfig, error) {
	c := &exportConfig{opset: DefaultOpset, batchName: "batch"}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("onnx: a nil ExportOption")
		}
		if err := o(c); err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
	}
	return c, nil
}

// ExportCompiled returns, as the bytes of an ONNX model file, c's function
// of a batch: one input of shape (batch, sample...) and one output of
// shape (batch, out...), with batch a symbolic dimension, so that the
// model runs on batches of any size as c.Run does. The graph is the
// program jacobi runs on every chunk of samples (c's per-sample program
// mapped over the batch), in float64. Compile has proved that the program
// maps every sample on its own and does not depend on the batch size.
func ExportCompiled(c *jacobi.Compiled, opts ...ExportOption) ([]byte, error) {
	cfg, err := configureExport(opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("onnx: ExportCompiled of a nil program")
	}
	p := c.Program()
	ns := batchSizes(programInts(p))
	progs := make([]*ir.Program, len(ns))
	for i, n := range ns {
		v, err := transform.Vmap(p, []bool{true}, n)
		if err == nil {
			v, err = transform.Simplify(v)
		}
		if err != nil {
			return nil, fmt.Errorf("onnx: mapping the per-sample program over a batch: %w", err)
		}
		progs[i] = v
	}
	return exportPrograms(progs, ns, cfg)
}

// ExportFunc traces f on inputs of the given shapes, in which -1 stands for
// the batch size, and returns an ONNX model computing it on batches of any
// size: the batch becomes a symbolic dimension of the inputs and outputs
// that carry it. This is how a training step (a loss and its gradients
// with respect to parameters, computed on a batch) or several derivatives
// at once (ValueAndGradOf, a value and its per-sample Jacobian) leave
// jacobi:
//
//	model, err := onnx.ExportFunc(step, [][]int{{-1, 2}, {64, 2}, {64}})
//
// f is traced at three batch sizes; a program that is not the same at all
// three but for the size of the batch — one that uses the batch size as a
// value other than in a mean, or reshapes to shapes that only fit one
// batch — is refused with the equation that differs. A mean over the batch
// (a constant k/b) becomes k divided by the batch size at run time.
// Shapes without -1 give a model of fixed shapes.
func ExportFunc(f jacobi.MultiFn, shapes [][]int, opts ...ExportOption) ([]byte, error) {
	cfg, err := configureExport(opts)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errors.New("onnx: ExportFunc of a nil function")
	}
	var fixed []int
	symbolic := false
	axes := make([]int, len(shapes)) // each input's batch axis, or -1
	for i, s := range shapes {
		axes[i] = -1
		for j, d := range s {
			switch {
			case d == -1 && axes[i] >= 0:
				return nil, fmt.Errorf("onnx: ExportFunc: input %d has shape %v: one batch axis (-1) per input at most", i, s)
			case d == -1:
				symbolic, axes[i] = true, j
			case d < 0:
				return nil, fmt.Errorf("onnx: ExportFunc: input %d has shape %v: dimensions are sizes or -1 for the batch", i, s)
			default:
				fixed = append(fixed, d)
			}
		}
	}
	if !symbolic {
		t, err := jacobi.Trace(f, shapes, jacobi.WithDType(cfg.dtype))
		if err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
		return exportPrograms([]*ir.Program{t.Program()}, nil, cfg)
	}
	// A batch size equal to another dimension can change how a program is
	// simplified: when the programs differ, they are traced again at sizes
	// that avoid every dimension of them (as jacobi.Compile does).
	avoid := fixed
	for try := 0; ; try++ {
		ns := batchSizes(avoid)
		progs, err := traceAt(f, shapes, ns, cfg.dtype)
		if err == nil && cfg.perSample {
			err = samePerSample(progs, axes, ns)
		}
		var b []byte
		if err == nil {
			if b, err = exportPrograms(progs, ns, cfg); err == nil {
				return b, nil
			}
		}
		var bs *transform.BatchSizeError
		if try == 1 || !(errors.As(err, &bs) || errors.Is(err, errDiffers)) {
			if !strings.HasPrefix(err.Error(), "onnx: ") {
				err = fmt.Errorf("onnx: %w", err)
			}
			return nil, err
		}
		avoid = append(avoid, ns...)
		for _, p := range progs {
			avoid = append(avoid, programInts(p)...)
		}
	}
}

// traceAt traces f in dtype dt with -1 in shapes replaced by each of the
// batch sizes ns.
func traceAt(f jacobi.MultiFn, shapes [][]int, ns []int, dt tensor.DType) ([]*ir.Program, error) {
	progs := make([]*ir.Program, len(ns))
	for k, n := range ns {
		at := make([][]int, len(shapes))
		for i, s := range shapes {
			at[i] = make([]int, len(s))
			for j, d := range s {
				if d == -1 {
					d = n
				}
				at[i][j] = d
			}
		}
		t, err := jacobi.Trace(f, at, jacobi.WithDType(dt))
		if err != nil {
			if k > 0 {
				return nil, &transform.BatchSizeError{Sizes: [2]int{ns[0], n}, Err: err}
			}
			return nil, fmt.Errorf("tracing at batch size %d: %w", n, err)
		}
		progs[k] = t.Program()
	}
	return progs, nil
}

// samePerSample proves that the programs, traced at the batch sizes ns,
// map every sample on its own (inputs carry the batch along axes, -1 for
// none), and that their per-sample programs are the same: the analysis of
// jacobi.Compile, which refuses a function that depends on its batch size
// with a *transform.BatchSizeError.
func samePerSample(progs []*ir.Program, axes []int, ns []int) error {
	ps := make([]*ir.Program, len(progs))
	for i, p := range progs {
		u, _, err := transform.Unbatch(p, axes)
		if err != nil {
			return err
		}
		// Unbatch leaves dead the batched forms of values that only their
		// rows reach, whose shapes carry the batch size.
		ps[i] = transform.DeadCode(u)
	}
	for i := 1; i < len(ps); i++ {
		if err := transform.CompareBatchSizes(ps[0], ps[i], ns[0], ns[i]); err != nil {
			return err
		}
	}
	return nil
}

// ExportTraced returns t's program as an ONNX model of fixed shapes: the
// shapes it was traced at. ExportFunc gives a model for every batch size.
func ExportTraced(t *jacobi.Traced, opts ...ExportOption) ([]byte, error) {
	cfg, err := configureExport(opts)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("onnx: ExportTraced of a nil program")
	}
	return exportPrograms([]*ir.Program{t.Program()}, nil, cfg)
}

// WriteFile writes model bytes to path atomically: to a temporary file in
// the same directory, synced and renamed over path, so that a failed write
// leaves nothing behind.
func WriteFile(path string, model []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(model); err != nil {
		return fmt.Errorf("onnx: %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("onnx: %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("onnx: %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("onnx: %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// exportPrograms lowers the programs, the same program traced at the batch
// sizes ns (nil: one program of fixed shapes), to a serialized model.
func exportPrograms(progs []*ir.Program, ns []int, cfg *exportConfig) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("onnx: internal error (a bug in jacobi, please report it) while exporting: %v", r)
		}
	}()
	s, err := symbolize(progs, ns, cfg.perSample)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := lowerProgram(s, cfg)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// ---- the batch as a symbol ----

// dim is a dimension of a program traced at several batch sizes: a·N + c
// for batch size N (a = 0: a fixed size).
type dim struct{ a, c int }

func fixed(c int) dim { return dim{0, c} }

// batchDim is the batch size itself.
var batchDim = dim{1, 0}

func (d dim) symbolic() bool { return d.a != 0 }

func (d dim) String() string {
	switch {
	case d.a == 0:
		return fmt.Sprint(d.c)
	case d.c == 0 && d.a == 1:
		return "N"
	case d.c == 0:
		return fmt.Sprintf("%d·N", d.a)
	}
	return fmt.Sprintf("%d·N%+d", d.a, d.c)
}

// batchCandidates are the batch sizes programs are traced at: primes, so
// that a dimension made from the batch is not mistaken for another.
var batchCandidates = []int{7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97}

// batchSizes returns three batch sizes none of the given sizes equals.
func batchSizes(avoid []int) []int {
	var ns []int
	for _, n := range batchCandidates {
		if !slices.Contains(avoid, n) {
			ns = append(ns, n)
			if len(ns) == 3 {
				return ns
			}
		}
	}
	return []int{101, 103, 107}
}

// programInts returns every dimension of p's variables.
func programInts(p *ir.Program) []int {
	var out []int
	for _, v := range p.In {
		out = append(out, v.Shape...)
	}
	for _, e := range p.Eqns {
		out = append(out, e.Out.Shape...)
	}
	return out
}

// errDiffers is the error of programs that differ between batch sizes.
var errDiffers = errors.New("the program depends on the batch size")

// symProgram is a program with the batch size as a symbol: the program as
// traced at the first batch size, the dimension of every variable, and the
// constants that are not the same tensor at every batch size.
type symProgram struct {
	p      *ir.Program
	ns     []int // the batch sizes traced (nil: fixed shapes)
	dims   map[*ir.Var][]dim
	consts map[*ir.Eqn]*symConst
}

// symConst is a constant that depends on the batch: a tensor broadcast
// along its symbolic axes (value holds it with size 1 there), or, when
// perBatch is not 0, the uniform value k/N (perBatch -1) or k·N (perBatch
// 1) with k in value's one element.
type symConst struct {
	value    *tensor.Tensor
	perBatch int
}

// symbolize compares the programs traced at the batch sizes ns and returns
// the program with the batch as a symbol, or an error naming the first
// equation that differs other than by the batch.
func symbolize(ps []*ir.Program, ns []int, perSample bool) (*symProgram, error) {
	s := &symProgram{p: ps[0], ns: ns, dims: map[*ir.Var][]dim{}, consts: map[*ir.Eqn]*symConst{}}
	if len(ns) == 0 {
		for _, v := range ps[0].In {
			s.dims[v] = fixedDims(v.Shape)
		}
		for _, e := range ps[0].Eqns {
			s.dims[e.Out] = fixedDims(e.Out.Shape)
		}
		return s, nil
	}
	p0 := ps[0]
	differs := func(format string, args ...any) error {
		return fmt.Errorf("%w: traced at batch sizes %v, %s", errDiffers, ns, fmt.Sprintf(format, args...))
	}
	for _, p := range ps[1:] {
		if len(p.In) != len(p0.In) || len(p.Out) != len(p0.Out) {
			return nil, differs("it has different inputs or outputs")
		}
		if len(p.Eqns) != len(p0.Eqns) {
			return nil, differs("it has %d equations at %d and %d at %d: an operation depends on the batch size", len(p0.Eqns), ns[0], len(p.Eqns), ns[slices.Index(ps, p)])
		}
	}
	// Variables by position: inputs first, then equations' outputs.
	ids := make([]map[*ir.Var]int, len(ps))
	vars := make([][]*ir.Var, len(ps))
	for t, p := range ps {
		ids[t] = map[*ir.Var]int{}
		for _, v := range p.In {
			ids[t][v] = len(vars[t])
			vars[t] = append(vars[t], v)
		}
		for _, e := range p.Eqns {
			ids[t][e.Out] = len(vars[t])
			vars[t] = append(vars[t], e.Out)
		}
	}
	shapes := make([][]int, len(ps))
	for i, v := range vars[0] {
		for t := range ps {
			shapes[t] = vars[t][i].Shape
		}
		d, err := fitShape(shapes, ns)
		if err != nil {
			what := "an input"
			if i >= len(p0.In) {
				e := p0.Eqns[i-len(p0.In)]
				what = "equation " + describeEqn(i-len(p0.In), e)
			}
			return nil, differs("the shape of %s %s", what, err)
		}
		s.dims[v] = d
	}
	for j, e := range p0.Eqns {
		for t, p := range ps[1:] {
			f := p.Eqns[j]
			if reflect.TypeOf(f.Prim) != reflect.TypeOf(e.Prim) || f.Prim.Name() != e.Prim.Name() {
				return nil, differs("equation %s is %s at batch size %d", describeEqn(j, e), f.Prim.Name(), ns[t+1])
			}
			if len(f.In) != len(e.In) {
				return nil, differs("equation %s has different inputs", describeEqn(j, e))
			}
			for k := range e.In {
				if ids[t+1][f.In[k]] != ids[0][e.In[k]] {
					return nil, differs("equation %s has different inputs", describeEqn(j, e))
				}
			}
			if _, ok := e.Prim.(op.Constant); ok {
				continue
			}
			if !reflect.DeepEqual(withoutShapeParams(e.Prim), withoutShapeParams(f.Prim)) {
				return nil, differs("equation %s has parameters %v at batch size %d and %v at %d", describeEqn(j, e), params(e.Prim), ns[0], params(f.Prim), ns[t+1])
			}
		}
		if _, ok := e.Prim.(op.Constant); ok {
			vals := make([]*tensor.Tensor, len(ps))
			for t, p := range ps {
				vals[t] = p.Eqns[j].Prim.(op.Constant).Value.Convert(tensor.Float64) // float32 values are exact
			}
			eps := e.Prim.(op.Constant).Value.DType().Epsilon()
			sc, err := fitConstant(vals, s.dims[e.Out], ns, perSample, eps)
			if err != nil {
				return nil, differs("constant %s %v", describeEqn(j, e), err)
			}
			if sc != nil {
				s.consts[e] = sc
			}
		}
	}
	return s, nil
}

func fixedDims(shape []int) []dim {
	d := make([]dim, len(shape))
	for i, n := range shape {
		d[i] = fixed(n)
	}
	return d
}

func params(p ir.Primitive) string {
	if st, ok := p.(fmt.Stringer); ok {
		return "[" + st.String() + "]"
	}
	return "[]"
}

// describeEqn names equation j for errors: its number, primitive and where
// it was traced.
func describeEqn(j int, e *ir.Eqn) string {
	s := fmt.Sprintf("%d (%s", j, e.Prim.Name())
	if e.Src != "" {
		s += " at " + e.Src
	}
	return s + ")"
}

// fitShape fits each dimension of the shapes traced at the batch sizes ns
// as a·N + c.
func fitShape(shapes [][]int, ns []int) ([]dim, error) {
	r := len(shapes[0])
	for _, s := range shapes[1:] {
		if len(s) != r {
			return nil, fmt.Errorf("has rank %d at one batch size and %d at another", r, len(s))
		}
	}
	out := make([]dim, r)
	ds := make([]int, len(shapes))
	for i := range out {
		for t, s := range shapes {
			ds[t] = s[i]
		}
		d, ok := fitDim(ds, ns)
		if !ok {
			return nil, fmt.Errorf("is %v at batch sizes %v: not a·N + c of the batch size N", shapes, ns)
		}
		out[i] = d
	}
	return out, nil
}

// fitDim fits the sizes ds at batch sizes ns as a·N + c with integers a, c.
func fitDim(ds, ns []int) (dim, bool) {
	if len(ds) == 1 {
		return fixed(ds[0]), true
	}
	dn, dd := ns[1]-ns[0], ds[1]-ds[0]
	if dd%dn != 0 {
		return dim{}, false
	}
	d := dim{a: dd / dn}
	d.c = ds[0] - d.a*ns[0]
	for t := range ds {
		if d.a*ns[t]+d.c != ds[t] {
			return dim{}, false
		}
	}
	return d, true
}

// withoutShapeParams returns p without the parameters that its output
// shape determines (Reshape's and Broadcast's target shapes, Slice's
// limits), which differ between batch sizes when the batch passes through.
func withoutShapeParams(p ir.Primitive) ir.Primitive {
	switch q := p.(type) {
	case op.Reshape:
		return op.Reshape{}
	case op.Broadcast:
		return op.Broadcast{Dims: q.Dims}
	case op.Slice:
		return op.Slice{Start: q.Start}
	}
	return p
}

// fitConstant compares a constant traced at the batch sizes ns, of
// dimensions dims. It returns nil when the constant is the same tensor at
// every batch size; a symConst when it is a broadcast along the batch, or
// k/N or k·N (within a few roundings of eps); an error otherwise.
func fitConstant(vals []*tensor.Tensor, dims []dim, ns []int, perSample bool, eps float64) (*symConst, error) {
	sym := false
	for _, d := range dims {
		sym = sym || d.symbolic()
	}
	reduced := vals
	if sym {
		reduced = make([]*tensor.Tensor, len(vals))
		for t, v := range vals {
			r, ok := unbroadcast(v, dims)
			if !ok {
				return nil, fmt.Errorf("of shape %v varies along the batch", v.Shape())
			}
			reduced[t] = r
		}
	}
	same := true
	for _, r := range reduced[1:] {
		same = same && slices.Equal(r.Data(), reduced[0].Data())
	}
	if same {
		if !sym {
			return nil, nil
		}
		return &symConst{value: reduced[0]}, nil
	}
	if perSample {
		return nil, fmt.Errorf("of shape %v differs between batch sizes (%s): a per-sample function must not use the batch size", vals[0].Shape(), describeValues(reduced, ns))
	}
	// The batch size as a value: uniform k/N or k·N.
	fills := make([]float64, len(reduced))
	for t, r := range reduced {
		f, ok := uniformValue(r)
		if !ok {
			return nil, fmt.Errorf("of shape %v differs between batch sizes", vals[t].Shape())
		}
		fills[t] = f
	}
	for _, per := range []int{-1, 1} {
		k := fills[0] * math.Pow(float64(ns[0]), float64(-per))
		ok := true
		for t, f := range fills {
			if !closeTo(f*math.Pow(float64(ns[t]), float64(-per)), k, eps) {
				ok = false
			}
		}
		if ok {
			return &symConst{value: tensor.Full(k, reduced[0].Shape()...), perBatch: per}, nil
		}
	}
	return nil, fmt.Errorf("holds %v at batch sizes %v: a value of the batch size other than k/N or k·N", fills, ns)
}

// describeValues shows a constant at each batch size: its first element.
func describeValues(vals []*tensor.Tensor, ns []int) string {
	s := ""
	for t, v := range vals {
		if t > 0 {
			s += ", "
		}
		if v.Len() == 0 {
			s += "[]"
		} else {
			s += fmt.Sprintf("%.6g", v.Data()[0])
		}
		if v.Len() > 1 {
			s += ", …"
		}
		s += fmt.Sprintf(" at %d", ns[t])
	}
	return s
}

// closeTo reports whether a and b agree within a few roundings of eps.
func closeTo(a, b, eps float64) bool {
	return math.Abs(a-b) <= 8*eps*math.Max(math.Abs(a), math.Abs(b))
}

func uniformValue(t *tensor.Tensor) (float64, bool) {
	d := t.Data()
	if len(d) == 0 {
		return 0, false
	}
	for _, x := range d[1:] {
		if x != d[0] {
			return 0, false
		}
	}
	return d[0], true
}

// unbroadcast returns v with its symbolic axes reduced to size 1, when v
// is constant along them.
func unbroadcast(v *tensor.Tensor, dims []dim) (*tensor.Tensor, bool) {
	shape := v.Shape()
	small := make([]int, len(shape))
	for i, d := range dims {
		small[i] = shape[i]
		if d.symbolic() {
			small[i] = 1
		}
	}
	out := tensor.Zeros(small...)
	st := tensor.Strides(shape)
	sst := tensor.Strides(small)
	data := v.Data()
	idx := make([]int, len(shape))
	for flat := range data {
		rem := flat
		o := 0
		for k := range shape {
			idx[k] = rem / st[k]
			rem %= st[k]
			if small[k] != 1 || !dims[k].symbolic() {
				o += idx[k] * sst[k]
			}
		}
		first := true
		for k := range shape {
			if dims[k].symbolic() && idx[k] != 0 {
				first = false
			}
		}
		if first {
			out.Data()[o] = data[flat]
		} else if out.Data()[o] != data[flat] && !(math.IsNaN(out.Data()[o]) && math.IsNaN(data[flat])) {
			return nil, false
		}
	}
	return out, true
}

// Value describes an input or output of a model: its name, element type
// and dimensions (Size -1 with Param for a symbolic one).
type Value struct {
	Name string
	Type ElemType
	Dims []Dim
}

// String writes the value as "name: double (batch, 5)".
func (v Value) String() string {
	ds := make([]string, len(v.Dims))
	for i, d := range v.Dims {
		ds[i] = d.String()
	}
	shape := "(" + strings.Join(ds, ", ") + ")"
	if len(ds) == 1 {
		shape = "(" + ds[0] + ",)"
	}
	return fmt.Sprintf("%s: %v %s", v.Name, v.Type, shape)
}

// Info is what Inspect finds in a model.
type Info struct {
	Opset           int64
	Nodes           int
	Initializers    int
	Inputs, Outputs []Value
}

// Inspect decodes a model's opset, size and inputs and outputs (of float
// or double type), without the checks Decode makes for import.
func Inspect(model []byte) (*Info, error) {
	var mp pb.ModelProto
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(model, &mp); err != nil {
		return nil, fmt.Errorf("onnx: not a valid ONNX model (protobuf decoding failed: %v)", err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, errors.New("onnx: the model has no graph")
	}
	info := &Info{Nodes: len(g.GetNode()), Initializers: len(g.GetInitializer())}
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			info.Opset = o.GetVersion()
		}
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	value := func(v *pb.ValueInfoProto, what string) (Value, error) {
		dims, err := valueShape(v, what)
		if err != nil {
			return Value{}, err
		}
		t := Float64
		if pb.TensorProto_DataType(v.GetType().GetTensorType().GetElemType()) == pb.TensorProto_FLOAT {
			t = Float32
		}
		return Value{Name: v.GetName(), Type: t, Dims: dims}, nil
	}
	for _, in := range g.GetInput() {
		if inits[in.GetName()] {
			continue
		}
		v, err := value(in, "input")
		if err != nil {
			return nil, err
		}
		info.Inputs = append(info.Inputs, v)
	}
	for _, out := range g.GetOutput() {
		v, err := value(out, "output")
		if err != nil {
			return nil, err
		}
		info.Outputs = append(info.Outputs, v)
	}
	return info, nil
}
