package exec

import (
	"slices"
	"sync"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// state is one run's memory: the buffer table and the slab; serial asks
// the steps to leave the other cores alone.
type state struct {
	bufs   [][]float64
	slab   []float64
	serial bool
	rows   [][]float64 // scratch for a fused step's slab rows
}

type step func(s *state)

// compiled is a program ready to run.
type compiled struct {
	c        *compiler
	slabSize int
	out      []layout
	outCopy  []gather
	direct   []int // per output: the slab buffer the caller's memory stands in for, or -1
	pool     sync.Pool
}

func newCompiled(p *ir.Program) (*compiled, error) {
	c, err := compilePlan(p)
	if err != nil {
		return nil, err
	}
	cp := &compiled{c: c, slabSize: placeSlab(c.bufs)}
	for _, v := range p.Out {
		l := c.lay[v]
		cp.out = append(cp.out, l)
		cp.outCopy = append(cp.outCopy, newGather(l))
		// An output that fills a buffer of its own is written straight into
		// the caller's memory: the step that makes it writes there.
		d := -1
		if b := c.bufs[l.buf]; b.kind == bufSlab && l.off == 0 && l.contiguous() && b.size == tensor.Size(l.shape) && !slices.Contains(cp.direct, l.buf) {
			d = l.buf
		}
		cp.direct = append(cp.direct, d)
	}
	cp.pool.New = func() any {
		s := &state{bufs: make([][]float64, len(c.bufs)), slab: make([]float64, cp.slabSize)}
		for i, b := range c.bufs {
			switch b.kind {
			case bufConst:
				s.bufs[i] = b.data
			case bufSlab:
				s.bufs[i] = s.slab[b.off : b.off+b.size]
			}
		}
		return s
	}
	return cp, nil
}

// run executes the steps with the inputs' data and copies the outputs
// into dst (one slice per output, of the outputs' sizes).
func (cp *compiled) run(in [][]float64, dst [][]float64, serial bool) {
	s := cp.pool.Get().(*state)
	defer cp.pool.Put(s)
	s.serial = serial
	for i, b := range cp.c.bufs {
		if b.kind == bufInput {
			s.bufs[i] = in[b.input]
		}
	}
	for i, d := range cp.direct {
		if d >= 0 {
			s.bufs[d] = dst[i]
		}
	}
	for _, st := range cp.c.steps {
		st(s)
	}
	for i, l := range cp.out {
		if cp.direct[i] < 0 {
			cp.outCopy[i].run(dst[i], s.bufs[l.buf])
		}
	}
	for _, d := range cp.direct {
		if d >= 0 {
			b := cp.c.bufs[d]
			s.bufs[d] = s.slab[b.off : b.off+b.size]
		}
	}
	for i, b := range cp.c.bufs {
		if b.kind == bufInput {
			s.bufs[i] = nil
		}
	}
}
