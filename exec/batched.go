package exec

import (
	"fmt"
	"math"
	"sync"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/transform"
)

// DefaultChunk is how many samples run together unless a program is so
// cheap that a chunk this size would not pay for its scheduling.
const DefaultChunk = 256

// A chunk is worth a goroutine of its own from minChunk samples and
// minChunkWork units of work (FLOPs plus elements moved, by the cost
// model): below that, handing it to another core costs more than it saves.
const (
	minChunk     = 32
	minChunkWork = 1 << 20
)

// minSamples is the smallest chunk of a program whose one sample costs c
// that is worth running on its own.
func minSamples(c transform.Cost) int {
	work := max(c.FLOPs+c.Bytes/8, 1)
	return max(minChunk, int(math.Ceil(minChunkWork/work)))
}

// Batched runs a program of one sample (one input, one output) on batches
// of any size: in chunks of samples, each the program mapped over the
// chunk (transform.Vmap) and compiled once per chunk size, side by side on
// several goroutines. Results do not depend on the chunk size or the
// number of workers, bit for bit. It is safe for concurrent use.
type Batched struct {
	prog            *ir.Program
	inSize, outSize int
	minSamples      int
	chunk           int // 0: the default
	workers         int

	mu    sync.RWMutex
	plans map[int]*Plan // by chunk size

	runs stash[batchedRun]
}

// batchedRun is the state of one run in flight.
type batchedRun struct {
	r       *Batched
	in, out Values
	b       int
	chunk   int
	serial  bool
	team    *team
}

// NewBatched prepares p, a program of one input and one output (one
// sample), to run on batches, chunk samples at a time (0: DefaultChunk, or
// more when a sample is too cheap for chunks that small) on up to workers
// goroutines at once.
func NewBatched(p *ir.Program, chunk, workers int) (*Batched, error) {
	if len(p.In) != 1 || len(p.Out) != 1 {
		return nil, fmt.Errorf("exec: a batched program takes one input and returns one output, not %d and %d", len(p.In), len(p.Out))
	}
	if chunk < 0 || workers < 1 {
		return nil, fmt.Errorf("exec: chunk %d and workers %d: want chunk >= 0 and workers >= 1", chunk, workers)
	}
	r := &Batched{
		prog:       p,
		inSize:     p.In[0].Size(),
		outSize:    p.Out[0].Size(),
		minSamples: minSamples(transform.CostOf(p)),
		chunk:      chunk,
		workers:    workers,
		plans:      map[int]*Plan{},
	}
	r.runs.make = func() *batchedRun {
		run := &batchedRun{r: r}
		run.team = newTeam(run.chunkTask)
		return run
	}
	return r, nil
}

// Plan returns the plan of a chunk of n samples, compiling it the first
// time.
func (r *Batched) Plan(n int) (*Plan, error) {
	r.mu.RLock()
	pl, ok := r.plans[n]
	r.mu.RUnlock()
	if ok {
		return pl, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if pl, ok := r.plans[n]; ok {
		return pl, nil
	}
	v, err := transform.Vmap(r.prog, []bool{true}, n)
	if err != nil {
		return nil, err
	}
	if v, err = transform.Simplify(v); err != nil {
		return nil, err
	}
	if pl, err = Compile(v); err != nil {
		return nil, err
	}
	r.plans[n] = pl
	return pl, nil
}

// RunInto runs the program on the samples of in, one after the other (a
// multiple of the sample's size), writing their outputs into out. Once the
// plans of its chunk sizes are compiled it allocates nothing.
func (r *Batched) RunInto(in, out Values) error {
	if dt := r.prog.In[0].DType; in.DType() != dt {
		return fmt.Errorf("exec: the input is %v, the program takes %v", in.DType(), dt)
	}
	if dt := r.prog.Out[0].DType; out.DType() != dt {
		return fmt.Errorf("exec: the output is %v, the program returns %v", out.DType(), dt)
	}
	if r.inSize == 0 || in.Len()%r.inSize != 0 {
		return fmt.Errorf("exec: %d input values are not a whole number of samples of %d", in.Len(), r.inSize)
	}
	b := in.Len() / r.inSize
	if out.Len() != b*r.outSize {
		return fmt.Errorf("exec: %d samples need room for %d output values, got %d", b, b*r.outSize, out.Len())
	}
	if b == 0 {
		return nil
	}
	// Every worker gets a chunk when the batch allows, but chunks stay
	// large enough that the split pays for itself.
	chunk := r.chunk
	if chunk == 0 {
		chunk = max(DefaultChunk, r.minSamples)
	}
	chunk = min(chunk, max(r.minSamples, (b+r.workers-1)/r.workers), b)
	nchunks := (b + chunk - 1) / chunk
	run := r.runs.get()
	defer r.runs.put(run)
	// Chunks run side by side keep their matrix products to themselves; a
	// lone chunk lets them use every core.
	run.in, run.out, run.b, run.chunk = in, out, b, chunk
	run.serial = nchunks > 1 && r.workers > 1
	err := run.team.run(r.workers, nchunks)
	run.in, run.out = Values{}, Values{}
	return err
}

func (run *batchedRun) chunkTask(i int) error {
	r := run.r
	lo, hi := i*run.chunk, min((i+1)*run.chunk, run.b)
	pl, err := r.Plan(hi - lo)
	if err != nil {
		return err
	}
	return pl.RunInto1(run.in.Slice(lo*r.inSize, hi*r.inSize), run.out.Slice(lo*r.outSize, hi*r.outSize), run.serial)
}
