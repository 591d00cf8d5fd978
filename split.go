package jacobi

import (
	"fmt"
	"math"
	"sync"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
	"github.com/jacobi-ad/jacobi/transform"
)

// A traced program over a batch — a training loss and its gradients — is
// mostly per-sample work that the samples share only through sums. Run
// whole, its intermediate values are batch-sized and live in memory, not in
// cache. splitRun runs it as transform.SplitSums cuts it: the per-sample
// head in chunks of the batch (side by side, one per core), the chunks'
// parts of the sums added in chunk order, then the tail on the sums. The
// chunk size comes from the cost model alone, so results do not depend on
// the number of cores; they differ from the whole program's in the order
// of the sums' additions.
type splitRun struct {
	s       *transform.SumSplit
	prog    *ir.Program // the whole program, for its input and output shapes
	batch   int
	chunk   int
	workers int
	tail    *exec.Plan
	offs    []int // each sum's offset in the concatenated sums
	total   int   // size of all sums together
	mu      sync.Mutex
	chunks  map[int]*exec.Plan // by chunk size
	bufs    sync.Pool          // of *splitBufs
}

// splitBufs holds one run's parts of the sums, chunk by chunk, and the sums.
type splitBufs struct {
	parts [][]float64
	sums  []float64
}

// newSplitRun splits p over the batch of the inputs whose leading
// dimension is the first such that p splits there and the head holds most
// of the work, or returns nil when p is better run whole.
func newSplitRun(p *ir.Program, rc runConfig) *splitRun {
	total := transform.CostOf(p)
	tried := map[int]bool{}
	for _, v := range p.In {
		if v.Rank() == 0 || tried[v.Shape[0]] {
			continue
		}
		b := v.Shape[0]
		tried[b] = true
		if b <= defaultChunk && (!rc.chunkSet || b <= rc.chunk) {
			continue // one chunk at most: the whole program is as good
		}
		batched := make([]bool, len(p.In))
		for i, w := range p.In {
			batched[i] = w.Rank() > 0 && w.Shape[0] == b
		}
		s, err := transform.SplitSums(p, batched)
		if err != nil {
			continue
		}
		head, err := transform.Simplify(s.Head)
		if err != nil {
			continue
		}
		s.Head = head
		hc := transform.CostOf(head)
		work := max(hc.FLOPs+hc.Bytes/8, 1)
		if hc.FLOPs*float64(b) < total.FLOPs/2 {
			continue // the work is not per-sample
		}
		chunk := max(defaultChunk, minChunk, int(math.Ceil(minChunkWork/work)))
		if rc.chunkSet {
			chunk = rc.chunk
		}
		if b <= chunk {
			continue // one chunk: the whole program is as good
		}
		tail, err := transform.Simplify(s.Tail)
		if err != nil {
			continue
		}
		s.Tail = tail
		plan, err := exec.Compile(tail)
		if err != nil {
			continue
		}
		r := &splitRun{s: s, prog: p, batch: b, chunk: chunk, workers: rc.workers, tail: plan, chunks: map[int]*exec.Plan{}}
		for _, sum := range s.Sums {
			r.offs = append(r.offs, r.total)
			r.total += tensor.Size(sum.Shape)
		}
		return r
	}
	return nil
}

func (r *splitRun) plan(n int) (*exec.Plan, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pl, ok := r.chunks[n]; ok {
		return pl, nil
	}
	c, err := r.s.Chunk(n)
	if err != nil {
		return nil, err
	}
	pl, err := exec.Compile(c)
	if err != nil {
		return nil, err
	}
	r.chunks[n] = pl
	return pl, nil
}

// sumGroup is how many chunks' parts of the sums are held at once: it
// bounds the memory of a run, whatever the batch.
const sumGroup = 16

func (r *splitRun) run(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p := r.prog
	if len(in) != len(p.In) {
		return nil, fmt.Errorf("the program takes %d inputs, got %d", len(p.In), len(in))
	}
	for i, t := range in {
		if !tensor.SameShape(t.Shape(), p.In[i].Shape) {
			return nil, fmt.Errorf("input %d has shape %v, the program expects %v", i, t.Shape(), p.In[i].Shape)
		}
	}
	outs := make([]*tensor.Tensor, len(p.Out))
	for i, v := range p.Out {
		outs[i] = tensor.Zeros(v.Shape...)
	}
	nchunks := (r.batch + r.chunk - 1) / r.chunk
	workers := min(r.workers, nchunks)
	serial := workers > 1
	bufs, _ := r.bufs.Get().(*splitBufs)
	if bufs == nil {
		bufs = &splitBufs{parts: make([][]float64, min(sumGroup, nchunks)), sums: make([]float64, r.total)}
		for i := range bufs.parts {
			bufs.parts[i] = make([]float64, r.total)
		}
	}
	defer r.bufs.Put(bufs)
	parts, sums := bufs.parts, bufs.sums
	clear(sums)
	// The head's batched outputs, by head output index.
	rowsOut := map[int]*tensor.Tensor{}
	for i, o := range r.s.Out {
		if o.Head {
			rowsOut[o.Index] = outs[i]
		}
	}
	nterms := len(r.s.Head.Out) - len(rowsOut)
	runChunk := func(c int, part []float64) error {
		lo, hi := c*r.chunk, min((c+1)*r.chunk, r.batch)
		pl, err := r.plan(hi - lo)
		if err != nil {
			return err
		}
		args := make([][]float64, len(in))
		for i, t := range in {
			d := t.Data()
			if r.s.Batched[i] {
				row := len(d) / r.batch
				d = d[lo*row : hi*row]
			}
			args[i] = d
		}
		dst := make([][]float64, 0, len(r.s.Sums)+len(rowsOut))
		for j, sum := range r.s.Sums {
			dst = append(dst, part[r.offs[j]:r.offs[j]+tensor.Size(sum.Shape)])
		}
		for k := nterms; k < len(r.s.Head.Out); k++ {
			d := rowsOut[k].Data()
			row := len(d) / r.batch
			dst = append(dst, d[lo*row:hi*row])
		}
		return pl.RunIntoSerial(args, dst, serial)
	}
	for g := 0; g < nchunks; g += len(parts) {
		n := min(len(parts), nchunks-g)
		if err := parallel(min(workers, n), n, func(j int) error { return runChunk(g+j, parts[j]) }); err != nil {
			return nil, err
		}
		for j := range n { // in chunk order, whatever ran first
			for k, v := range parts[j] {
				sums[k] += v
			}
		}
	}
	// The tail, on the shared inputs and the sums.
	var args [][]float64
	for i, t := range in {
		if !r.s.Batched[i] {
			args = append(args, t.Data())
		}
	}
	for j, sum := range r.s.Sums {
		args = append(args, sums[r.offs[j]:r.offs[j]+tensor.Size(sum.Shape)])
	}
	dst := make([][]float64, len(r.s.Tail.Out))
	for i, o := range r.s.Out {
		if !o.Head {
			dst[o.Index] = outs[i].Data()
		}
	}
	if err := r.tail.RunInto(args, dst); err != nil {
		return nil, err
	}
	return outs, nil
}
