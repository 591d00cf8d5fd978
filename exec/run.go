package exec

import (
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/tensor"
)

// table is one dtype's memory of a run: the buffer table (indexed like
// compiler.bufs; nil for buffers of the other dtype), the slab the slab
// buffers live in, and scratch for a fused step's slab rows.
type table[T tensor.Float] struct {
	bufs [][]T
	slab []T
	rows [][]T
}

// state is one run's memory, a table per dtype; serial asks the steps to
// leave the other cores alone.
type state struct {
	f64    table[float64]
	f32    table[float32]
	serial bool
}

// tableOf returns s's table of T's dtype.
func tableOf[T tensor.Float](s *state) *table[T] {
	if t, ok := any(&s.f64).(*table[T]); ok {
		return t
	}
	return any(&s.f32).(*table[T])
}

// bind makes buffer i stand for v.
func (s *state) bind(i int, v Values) {
	if v.dtype == tensor.Float32 {
		s.f32.bufs[i] = v.f32
	} else {
		s.f64.bufs[i] = v.f64
	}
}

// unbind points buffer i back at the slab (slab buffers) or at nothing.
func (s *state) unbind(i int, b bufInfo) {
	if b.dtype == tensor.Float32 {
		s.f32.bufs[i] = nil
		if b.kind == bufSlab {
			s.f32.bufs[i] = s.f32.slab[b.off : b.off+b.size]
		}
		return
	}
	s.f64.bufs[i] = nil
	if b.kind == bufSlab {
		s.f64.bufs[i] = s.f64.slab[b.off : b.off+b.size]
	}
}

type step func(s *state)

// compiled is a program ready to run.
type compiled struct {
	c        *compiler
	slabSize [2]int // by dtype: elements
	out      []layout
	outCopy  []func(s *state, dst Values)
	direct   []int // per output: the slab buffer the caller's memory stands in for, or -1
	// states holds the memory of runs, one per run in flight. A stash, not
	// a sync.Pool: a pool drops its items at collections and keeps one per
	// processor out of reach of the others, so that runs on goroutines
	// that move between processors (a split run's chunks) allocated a
	// state now and then.
	states stash[state]
}

func newCompiled(p *ir.Program) (*compiled, error) {
	c, err := compilePlan(p)
	if err != nil {
		return nil, err
	}
	cp := &compiled{c: c}
	cp.slabSize[tensor.Float64] = placeSlab(c.bufs, tensor.Float64)
	cp.slabSize[tensor.Float32] = placeSlab(c.bufs, tensor.Float32)
	for _, v := range p.Out {
		l := c.lay[v]
		cp.out = append(cp.out, l)
		g := newGather(l)
		src := l.buf
		if v.DType == tensor.Float32 {
			cp.outCopy = append(cp.outCopy, func(s *state, dst Values) { gatherRun(g, dst.f32, s.f32.bufs[src]) })
		} else {
			cp.outCopy = append(cp.outCopy, func(s *state, dst Values) { gatherRun(g, dst.f64, s.f64.bufs[src]) })
		}
		// An output that fills a buffer of its own is written straight into
		// the caller's memory: the step that makes it writes there.
		d := -1
		if b := c.bufs[l.buf]; b.kind == bufSlab && l.off == 0 && l.contiguous() && b.size == tensor.Size(l.shape) && !slices.Contains(cp.direct, l.buf) {
			d = l.buf
		}
		cp.direct = append(cp.direct, d)
	}
	cp.states.make = func() *state {
		s := &state{}
		s.f64.bufs = make([][]float64, len(c.bufs))
		s.f32.bufs = make([][]float32, len(c.bufs))
		s.f64.slab = make([]float64, cp.slabSize[tensor.Float64])
		s.f32.slab = make([]float32, cp.slabSize[tensor.Float32])
		for i, b := range c.bufs {
			switch b.kind {
			case bufConst:
				s.bind(i, b.data)
			case bufSlab:
				s.unbind(i, b)
			}
		}
		return s
	}
	return cp, nil
}

// slabBytes is the memory of one run's slabs.
func (cp *compiled) slabBytes() int {
	return 8*cp.slabSize[tensor.Float64] + 4*cp.slabSize[tensor.Float32]
}

// run executes the steps with the inputs' data and copies the outputs
// into dst (one per output, of the outputs' dtypes and sizes). The memory
// of a new run is checked against the memory available first.
func (cp *compiled) run(in []Values, dst []Values, serial bool) error {
	s := cp.states.tryGet()
	if s == nil {
		if err := checkWorkingMemory(float64(cp.slabBytes())); err != nil {
			return err
		}
		s = cp.states.make()
	}
	defer cp.states.put(s)
	s.serial = serial
	for i, b := range cp.c.bufs {
		if b.kind == bufInput {
			s.bind(i, in[b.input])
		}
	}
	for i, d := range cp.direct {
		if d >= 0 {
			s.bind(d, dst[i])
		}
	}
	for _, st := range cp.c.steps {
		st(s)
	}
	for i := range cp.out {
		if cp.direct[i] < 0 {
			cp.outCopy[i](s, dst[i])
		}
	}
	for _, d := range cp.direct {
		if d >= 0 {
			s.unbind(d, cp.c.bufs[d])
		}
	}
	for i, b := range cp.c.bufs {
		if b.kind == bufInput {
			s.unbind(i, b)
		}
	}
	return nil
}
