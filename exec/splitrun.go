package exec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// A program over a batch — a training loss and its gradients — is mostly
// per-sample work that the samples share only through sums. Run whole, its
// intermediate values are batch-sized and live in memory, not in cache.
// Split runs it as transform.SplitSums cuts it: the per-sample head in
// chunks of the batch (side by side, one per worker), the chunks' parts of
// the sums added in chunk order, then the tail on the sums. The chunk size
// comes from the cost model alone (or the caller), so results do not depend
// on the number of workers; they differ from the whole program's in the
// order of the sums' additions.
type Split struct {
	s       *transform.SumSplit
	prog    *ir.Program // the whole program, for its input and output shapes
	batch   int
	chunk   int
	workers int
	tail    *Plan
	rowsOut []int // for each of the head's batched outputs, the program output it fills
	nterms  int   // how many of the head's outputs are terms of sums (the rows follow)

	mu     sync.RWMutex
	chunks map[int]*Plan // by chunk size

	runs stash[splitState]
}

// splitState is one run in flight: its inputs and outputs, each group
// slot's part of the sums and arguments, and the sums.
type splitState struct {
	r        *Split
	in, out  []*tensor.Tensor
	group    int // the first chunk of the group running
	serial   bool
	parts    [][]Values // per slot, one per sum
	args     [][]Values // per slot, one per program input
	dst      [][]Values // per slot, one per sum, then one per batched output
	sums     []Values   // one per sum
	tailArgs []Values
	tailDst  []Values
	team     *team
}

// sumGroup is how many chunks' parts of the sums are held at once: it
// bounds the memory of a run, whatever the batch.
const sumGroup = 16

// NewSplit splits p over the batch carried along axis 0 by the inputs whose
// leading dimension is some b — the first such b where p splits and the
// per-sample head holds most of the work — to run in chunks of chunk
// samples (0: as the cost model says) on up to workers goroutines at once.
// When p is better run whole it returns why, for every candidate batch
// (largest first), in terms of the program: the operation that mixes
// samples and the line of user code that recorded it (an *op.MixError, for
// errors.As), per-sample work too small to matter, or a batch that fits in
// one chunk.
func NewSplit(p *ir.Program, chunk, workers int) (*Split, error) {
	if chunk < 0 || workers < 1 {
		return nil, fmt.Errorf("exec: chunk %d and workers %d: want chunk >= 0 and workers >= 1", chunk, workers)
	}
	total := transform.CostOf(p)
	tried := map[int]bool{}
	var why notSplit
	for i, v := range p.In {
		if v.Rank() == 0 || tried[v.Shape[0]] {
			continue
		}
		b := v.Shape[0]
		tried[b] = true
		r, err := splitAt(p, b, chunk, workers, total)
		if err == nil {
			return r, nil
		}
		why = append(why, candidateError{b: b, err: fmt.Errorf("over the %d samples of input %d (shape %v): %w", b, i, v.Shape, err)})
	}
	if len(why) == 0 {
		return nil, errors.New("no input has a leading axis to split over")
	}
	// The largest batch is the likeliest to be the samples: its reason first.
	slices.SortStableFunc(why, func(a, b candidateError) int { return b.b - a.b })
	return nil, why
}

// notSplit is why a program does not split over any of its candidate
// batches, the largest first.
type notSplit []candidateError

type candidateError struct {
	b   int
	err error
}

func (e notSplit) Error() string {
	msgs := make([]string, len(e))
	for i, c := range e {
		msgs[i] = c.err.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the reasons, for errors.Is and errors.As.
func (e notSplit) Unwrap() []error {
	errs := make([]error, len(e))
	for i, c := range e {
		errs[i] = c.err
	}
	return errs
}

func splitAt(p *ir.Program, b, chunk, workers int, total transform.Cost) (*Split, error) {
	switch {
	case chunk == 0 && b <= DefaultChunk:
		return nil, fmt.Errorf("the batch fits in one chunk of %d samples", DefaultChunk)
	case chunk > 0 && b <= chunk:
		return nil, fmt.Errorf("the batch fits in one chunk of %d samples", chunk)
	}
	batched := make([]bool, len(p.In))
	for i, w := range p.In {
		batched[i] = w.Rank() > 0 && w.Shape[0] == b
	}
	s, err := transform.SplitSums(p, batched)
	if err != nil {
		return nil, err
	}
	if s.Head, err = transform.Simplify(s.Head); err != nil {
		return nil, err
	}
	hc := transform.CostOf(s.Head)
	if hc.FLOPs*float64(b) < total.FLOPs/2 {
		return nil, fmt.Errorf("the per-sample work is %.0f%% of the program's FLOPs, too little to split", 100*hc.FLOPs*float64(b)/max(total.FLOPs, 1))
	}
	if chunk == 0 {
		chunk = max(DefaultChunk, minSamples(hc))
	}
	if b <= chunk {
		return nil, fmt.Errorf("the batch fits in one chunk of %d samples", chunk)
	}
	if s.Tail, err = transform.Simplify(s.Tail); err != nil {
		return nil, err
	}
	tail, err := Compile(s.Tail)
	if err != nil {
		return nil, err
	}
	r := &Split{s: s, prog: p, batch: b, chunk: chunk, workers: workers, tail: tail, chunks: map[int]*Plan{}}
	nrows := 0
	for _, o := range s.Out {
		if o.Head {
			nrows++
		}
	}
	r.nterms = len(s.Head.Out) - nrows
	r.rowsOut = make([]int, nrows)
	for i, o := range s.Out {
		if o.Head {
			r.rowsOut[o.Index-r.nterms] = i
		}
	}
	r.runs.make = r.newState
	return r, nil
}

// Batch returns the number of samples the program is split over, and the
// chunk size.
func (r *Split) Batch() (samples, chunk int) { return r.batch, r.chunk }

func (r *Split) newState() *splitState {
	nchunks := (r.batch + r.chunk - 1) / r.chunk
	slots := min(sumGroup, nchunks)
	sums := func() []Values {
		v := make([]Values, len(r.s.Sums))
		for k, sum := range r.s.Sums {
			v[k] = makeValues(sum.DType, tensor.Size(sum.Shape))
		}
		return v
	}
	st := &splitState{r: r, sums: sums()}
	st.parts = make([][]Values, slots)
	st.args = make([][]Values, slots)
	st.dst = make([][]Values, slots)
	for j := range slots {
		st.parts[j] = sums()
		st.args[j] = make([]Values, len(r.prog.In))
		st.dst[j] = make([]Values, len(r.s.Sums)+len(r.rowsOut))
	}
	st.tailDst = make([]Values, len(r.s.Tail.Out))
	st.team = newTeam(st.chunkTask)
	return st
}

func (r *Split) plan(n int) (*Plan, error) {
	r.mu.RLock()
	pl, ok := r.chunks[n]
	r.mu.RUnlock()
	if ok {
		return pl, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if pl, ok := r.chunks[n]; ok {
		return pl, nil
	}
	c, err := r.s.Chunk(n)
	if err != nil {
		return nil, err
	}
	if pl, err = Compile(c); err != nil {
		return nil, err
	}
	r.chunks[n] = pl
	return pl, nil
}

// RunInto runs the program on in and writes its outputs into out (shaped
// as the program's). Once its plans are compiled it allocates nothing. It
// is safe for concurrent use.
func (r *Split) RunInto(in, out []*tensor.Tensor) error {
	p := r.prog
	if len(in) != len(p.In) || len(out) != len(p.Out) {
		return fmt.Errorf("exec: the program takes %d inputs and %d outputs, got %d and %d", len(p.In), len(p.Out), len(in), len(out))
	}
	for i, t := range in {
		if t == nil || !tensor.SameShape(t.Shape(), p.In[i].Shape) {
			return fmt.Errorf("exec: input %d has shape %v, the program expects %v", i, shapeOf(t), p.In[i].Shape)
		}
		if t.DType() != p.In[i].DType {
			return fmt.Errorf("exec: input %d is %v, the program expects %v", i, t.DType(), p.In[i].DType)
		}
	}
	for i, t := range out {
		if t == nil || !tensor.SameShape(t.Shape(), p.Out[i].Shape) {
			return fmt.Errorf("exec: output %d has shape %v, the program returns %v", i, shapeOf(t), p.Out[i].Shape)
		}
		if t.DType() != p.Out[i].DType {
			return fmt.Errorf("exec: output %d is %v, the program returns %v", i, t.DType(), p.Out[i].DType)
		}
	}
	st := r.runs.get()
	defer r.runs.put(st)
	st.in, st.out = in, out
	defer func() { st.in, st.out = nil, nil }()
	nchunks := (r.batch + r.chunk - 1) / r.chunk
	workers := min(r.workers, nchunks)
	st.serial = workers > 1
	for _, v := range st.sums {
		clearValues(v)
	}
	for g := 0; g < nchunks; g += len(st.parts) {
		n := min(len(st.parts), nchunks-g)
		st.group = g
		if err := st.team.run(workers, n); err != nil {
			return err
		}
		for j := range n { // in chunk order, whatever ran first
			for k, v := range st.parts[j] {
				addInto(st.sums[k], v)
			}
		}
	}
	// The tail, on the shared inputs and the sums.
	st.tailArgs = st.tailArgs[:0]
	for i, t := range in {
		if !r.s.Batched[i] {
			st.tailArgs = append(st.tailArgs, ValuesOf(t))
		}
	}
	st.tailArgs = append(st.tailArgs, st.sums...)
	for i, o := range r.s.Out {
		if !o.Head {
			st.tailDst[o.Index] = ValuesOf(out[i])
		}
	}
	// The tail works on sums, not on the batch: small enough for one core,
	// which also keeps the run from allocating for parallel loops.
	err := r.tail.RunIntoSerial(st.tailArgs, st.tailDst, true)
	clear(st.tailArgs)
	clear(st.tailDst)
	return err
}

// chunkTask runs chunk group+j into slot j.
func (st *splitState) chunkTask(j int) error {
	r := st.r
	c := st.group + j
	lo, hi := c*r.chunk, min((c+1)*r.chunk, r.batch)
	pl, err := r.plan(hi - lo)
	if err != nil {
		return err
	}
	args, dst, part := st.args[j], st.dst[j], st.parts[j]
	for i, t := range st.in {
		d := ValuesOf(t)
		if r.s.Batched[i] {
			row := d.Len() / r.batch
			d = d.Slice(lo*row, hi*row)
		}
		args[i] = d
	}
	copy(dst, part)
	for k, o := range r.rowsOut {
		d := ValuesOf(st.out[o])
		row := d.Len() / r.batch
		dst[len(r.s.Sums)+k] = d.Slice(lo*row, hi*row)
	}
	err = pl.RunIntoSerial(args, dst, st.serial)
	clear(args)
	clear(dst[len(r.s.Sums):])
	return err
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}
