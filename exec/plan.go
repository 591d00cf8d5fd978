package exec

import (
	"fmt"
	"slices"
	"sync"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// The compiled plan. Shapes are static, so the layout of every value is
// known before anything runs: broadcasts, transposes, slices and reshapes
// of contiguous values become views (new strides over the same memory,
// no step at all); consecutive elementwise equations of one shape become
// one fused step that runs them block by block, keeping the values only
// they read in block-sized scratch; every other equation becomes a step
// that writes a buffer. Buffers are placed in one slab by liveness, a
// region reused once its last reader has run, so a run needs one slab
// (pooled across runs) and allocates only its outputs.

type bufKind int

const (
	bufInput bufKind = iota
	bufConst
	bufSlab
)

type bufInfo struct {
	kind      bufKind
	input     int       // bufInput: which input
	data      []float64 // bufConst
	size      int       // bufSlab: elements
	def, last int       // bufSlab: steps that write it first and read it last
	off       int       // bufSlab: offset in the slab
}

// layout places a value: element idx sits at buf[off + Σ idx·strides].
type layout struct {
	buf     int
	off     int
	shape   []int
	strides []int
}

func sameLayout(a, b layout) bool {
	return a.buf == b.buf && a.off == b.off && slices.Equal(a.shape, b.shape) && slices.Equal(a.strides, b.strides)
}

func (l layout) contiguous() bool {
	acc := 1
	for d := len(l.shape) - 1; d >= 0; d-- {
		if l.shape[d] != 1 && l.strides[d] != acc {
			return false
		}
		acc *= l.shape[d]
	}
	return true
}

// state is one run's memory: the buffer table and the slab; serial asks
// the steps to leave the other cores alone.
type state struct {
	bufs   [][]float64
	slab   []float64
	serial bool
}

type step func(s *state)

type compiler struct {
	bufs  []bufInfo
	steps []step
	lay   map[*ir.Var]layout
}

func (c *compiler) newBuf(size int) int {
	c.bufs = append(c.bufs, bufInfo{kind: bufSlab, size: size, def: len(c.steps), last: len(c.steps)})
	return len(c.bufs) - 1
}

// use marks a buffer as read by the step about to be added.
func (c *compiler) use(l layout) {
	if b := &c.bufs[l.buf]; b.kind == bufSlab && b.last < len(c.steps) {
		b.last = len(c.steps)
	}
}

// contiguousCopy returns l itself when contiguous, else a step copying it.
func (c *compiler) contiguousCopy(l layout) layout {
	if l.contiguous() {
		return l
	}
	n := tensor.Size(l.shape)
	bi := c.newBuf(n)
	c.use(l)
	src, g := l.buf, newGather(l)
	c.steps = append(c.steps, func(s *state) {
		g.run(s.bufs[bi][:n], s.bufs[src])
	})
	return layout{buf: bi, shape: l.shape, strides: rowMajor(l.shape)}
}

func compilePlan(p *ir.Program) (*compiler, error) {
	c := &compiler{lay: map[*ir.Var]layout{}}
	for i, v := range p.In {
		c.bufs = append(c.bufs, bufInfo{kind: bufInput, input: i})
		c.lay[v] = layout{buf: len(c.bufs) - 1, shape: v.Shape, strides: rowMajor(v.Shape)}
	}
	consumers := map[*ir.Var][]*ir.Eqn{}
	for _, e := range p.Eqns {
		for _, v := range e.In {
			consumers[v] = append(consumers[v], e)
		}
	}
	for _, v := range p.Out {
		consumers[v] = append(consumers[v], nil) // read by the caller
	}
	// Elementwise equations of one shape are gathered into a group while
	// nothing else needs a step; the group becomes one fused step.
	var g *group
	flush := func() {
		if g != nil {
			c.fuse(g, consumers)
			g = nil
		}
	}
	for _, e := range p.Eqns {
		in := make([]layout, len(e.In))
		for i, v := range e.In {
			in[i] = c.lay[v]
		}
		if k := rowKernels(e.Prim); k != nil {
			if g != nil && !g.accepts(e, in) {
				flush()
			}
			if g == nil {
				g = newGroup(e.Out.Shape)
			}
			g.add(c, e, k, in)
			continue
		}
		if !isView(e, in) {
			flush()
		}
		out, err := c.eqn(e, in)
		if err != nil {
			return nil, fmt.Errorf("exec: %s: %w", e.Prim.Name(), err)
		}
		c.lay[e.Out] = out
	}
	flush()
	for _, v := range p.Out {
		l := c.lay[v]
		if b := &c.bufs[l.buf]; b.kind == bufSlab {
			b.last = len(c.steps) + 1
		}
	}
	return c, nil
}

// isView reports whether e compiles to a layout over existing memory,
// adding no step.
func isView(e *ir.Eqn, in []layout) bool {
	switch e.Prim.(type) {
	case op.Broadcast, op.Transpose, op.Slice, op.Constant:
		return true
	case op.Reshape:
		return in[0].contiguous()
	}
	return false
}

func (c *compiler) eqn(e *ir.Eqn, in []layout) (layout, error) {
	shape := e.Out.Shape
	switch p := e.Prim.(type) {
	case op.Broadcast:
		x := in[0]
		st := make([]int, len(p.Shape))
		for i, d := range p.Dims {
			if x.shape[i] == p.Shape[d] {
				st[d] = x.strides[i]
			}
		}
		return layout{buf: x.buf, off: x.off, shape: shape, strides: st}, nil
	case op.Transpose:
		x := in[0]
		st := make([]int, len(p.Perm))
		for i, src := range p.Perm {
			st[i] = x.strides[src]
		}
		return layout{buf: x.buf, off: x.off, shape: shape, strides: st}, nil
	case op.Slice:
		x := in[0]
		off := x.off
		for d := range p.Start {
			off += p.Start[d] * x.strides[d]
		}
		return layout{buf: x.buf, off: off, shape: shape, strides: x.strides}, nil
	case op.Reshape:
		x := c.contiguousCopy(in[0])
		return layout{buf: x.buf, off: x.off, shape: shape, strides: rowMajor(shape)}, nil
	case op.Constant:
		c.bufs = append(c.bufs, bufInfo{kind: bufConst, data: p.Value.Data()})
		return layout{buf: len(c.bufs) - 1, shape: shape, strides: rowMajor(shape)}, nil
	case op.MatMul:
		return c.matmul(e, in[0], in[1])
	case op.ReduceSum:
		return c.reduceSum(e, p, in[0]), nil
	}
	// Fallback: the primitive's own evaluation on contiguous copies.
	ev, ok := e.Prim.(op.Evaluator)
	if !ok {
		return layout{}, fmt.Errorf("cannot be evaluated")
	}
	for i := range in {
		in[i] = c.contiguousCopy(in[i])
	}
	// Marked only now: a copy made above must live until the step below,
	// not just until the next copy's step (which could then reuse its
	// memory).
	for i := range in {
		c.use(in[i])
	}
	n := tensor.Size(shape)
	bi := c.newBuf(n)
	args := slices.Clone(in)
	c.steps = append(c.steps, func(s *state) {
		ts := make([]*tensor.Tensor, len(args))
		for i, l := range args {
			ts[i], _ = tensor.New(l.shape, s.bufs[l.buf][l.off:l.off+tensor.Size(l.shape)])
		}
		t, err := ev.Eval(ts)
		if err != nil {
			panic(err)
		}
		copy(s.bufs[bi][:n], t.Data())
	})
	return layout{buf: bi, shape: shape, strides: rowMajor(shape)}, nil
}

// gemmOperand describes a 2-D operand for Dgemm, or ok=false.
func gemmOperand(rows, cols, rs, cs int) (trans bool, ld int, ok bool) {
	switch {
	case cs == 1 || cols == 1:
		return false, max(rs, cols, 1), rows == 1 || rs >= cols
	case rs == 1 || rows == 1:
		return true, max(cs, rows, 1), cs >= rows
	}
	return false, 0, false
}

func (c *compiler) matmul(e *ir.Eqn, x, y layout) (layout, error) {
	shape := e.Out.Shape
	rx, ry := len(x.shape), len(y.shape)
	k, n := x.shape[rx-1], y.shape[ry-1]
	size := tensor.Size(shape)
	if ry == 2 {
		m := tensor.Size(x.shape[:rx-1])
		ty, ldy, oky := gemmOperand(k, n, y.strides[0], y.strides[1])
		if !oky {
			y = c.contiguousCopy(y)
			ty, ldy = false, n
		}
		ls, lst := collapse(x.shape[:rx-1], [][]int{x.strides[:rx-1]})
		xrs := -1
		switch len(ls) {
		case 0:
			xrs = k
		case 1:
			xrs = lst[0][0]
		}
		tx, ldx, okx := false, 0, false
		if xrs >= 0 {
			tx, ldx, okx = gemmOperand(m, k, xrs, x.strides[rx-1])
		}
		if !okx {
			x = c.contiguousCopy(x)
			tx, ldx = false, k
		}
		c.use(x)
		c.use(y)
		bi := c.newBuf(size)
		c.steps = append(c.steps, func(s *state) {
			op.GemmSerial(s.serial, tx, ty, m, n, k, 1, s.bufs[x.buf][x.off:], ldx, s.bufs[y.buf][y.off:], ldy, 0, s.bufs[bi][:size], n)
		})
		return layout{buf: bi, shape: shape, strides: rowMajor(shape)}, nil
	}
	x, y = c.contiguousCopy(x), c.contiguousCopy(y)
	c.use(x)
	c.use(y)
	m := x.shape[rx-2]
	batch := tensor.Size(x.shape[:rx-2])
	bi := c.newBuf(size)
	c.steps = append(c.steps, func(s *state) {
		xs, ys, out := s.bufs[x.buf][x.off:], s.bufs[y.buf][y.off:], s.bufs[bi]
		for i := 0; i < batch; i++ {
			op.GemmSerial(s.serial, false, false, m, n, k, 1, xs[i*m*k:], k, ys[i*k*n:], n, 0, out[i*m*n:], n)
		}
	})
	return layout{buf: bi, shape: shape, strides: rowMajor(shape)}, nil
}

func (c *compiler) reduceSum(e *ir.Eqn, p op.ReduceSum, x layout) layout {
	shape := e.Out.Shape
	size := tensor.Size(shape)
	ost := rowMajor(shape)
	st := make([]int, len(x.shape))
	j := 0
	for d := range x.shape {
		if !slices.Contains(p.Axes, d) {
			st[d] = ost[j]
			j++
		}
	}
	cs, cst := collapse(x.shape, [][]int{x.strides, st})
	c.use(x)
	bi := c.newBuf(size)
	total := tensor.Size(x.shape)
	xoff, xb := x.off, x.buf
	c.steps = append(c.steps, func(s *state) {
		dst := s.bufs[bi][:size]
		clear(dst)
		if total == 0 {
			return
		}
		src := s.bufs[xb]
		r := len(cs)
		if r == 0 {
			dst[0] = src[xoff]
			return
		}
		inner := cs[r-1]
		is, os := cst[0][r-1], cst[1][r-1]
		var idxArr [16]int
		idx := idxArr[:r-1]
		ib, ob := xoff, 0
		for o := 0; o < total; o += inner {
			if os == 0 {
				acc := dst[ob]
				for i := 0; i < inner; i++ {
					acc += src[ib+i*is]
				}
				dst[ob] = acc
			} else if is == 1 && os == 1 {
				d := dst[ob : ob+inner]
				kernels.Add(d, d, src[ib:ib+inner])
			} else {
				for i := 0; i < inner; i++ {
					dst[ob+i*os] += src[ib+i*is]
				}
			}
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				ib += cst[0][d]
				ob += cst[1][d]
				if idx[d] < cs[d] {
					break
				}
				ib -= cst[0][d] * cs[d]
				ob -= cst[1][d] * cs[d]
				idx[d] = 0
			}
		}
	})
	return layout{buf: bi, shape: shape, strides: rowMajor(shape)}
}

// Elementwise steps run over blocks of the trailing (collapsed) axes of at
// least minRow and, where an axis can be split, at most maxTile elements:
// rows long enough for the vector kernels, short enough that a fused
// group's intermediate rows stay in the first-level caches.
const (
	minRow  = 512
	maxTile = 2048
)

// scratchRows is one set of a fused step's scratch rows.
type scratchRows struct{ rows [][]float64 }

func newScratchRows(count, size int) *scratchRows {
	data := make([]float64, count*size)
	r := &scratchRows{rows: make([][]float64, count)}
	for i := range r.rows {
		r.rows[i] = data[i*size : (i+1)*size]
	}
	return r
}

// minParallelFuse is the size from which a fused step, in a run that may
// use every core, splits its blocks over the kernels' workers (as the
// kernels split their own maps from 2·16384 elements on).
const minParallelFuse = 1 << 15

// fusing enables fused groups; benchmarks turn it off for comparison.
var fusing = true

// group is a run of elementwise equations of one shape compiled into one
// step: per block, every equation runs on rows of its operands, and values
// that only the group reads live in block-sized scratch rows, never in
// memory of their own.
type group struct {
	shape   []int
	members []member
	index   map[*ir.Var]int // value -> member that makes it
	bufs    map[int]bool    // the members' buffers
	ext     []layout        // operands from outside the group
}

type member struct {
	eqn  *ir.Eqn
	k    rowKernel
	args []operandRef
	buf  int // where the value is kept when read outside the group
}

// operandRef is a member's operand: a value of the group or an outside one.
type operandRef struct {
	inGroup bool
	i       int
}

func newGroup(shape []int) *group {
	return &group{shape: shape, index: map[*ir.Var]int{}, bufs: map[int]bool{}}
}

// accepts reports whether e can join the group: same shape, and no operand
// that reads a member's value through a view (a view needs the value in
// memory before the step that would make it).
func (g *group) accepts(e *ir.Eqn, in []layout) bool {
	if !fusing || !slices.Equal(g.shape, e.Out.Shape) {
		return false
	}
	for i, v := range e.In {
		if _, ok := g.index[v]; !ok && g.bufs[in[i].buf] {
			return false
		}
	}
	return true
}

func (g *group) add(c *compiler, e *ir.Eqn, k rowKernel, in []layout) {
	m := member{eqn: e, k: k}
	for i, v := range e.In {
		if j, ok := g.index[v]; ok {
			m.args = append(m.args, operandRef{inGroup: true, i: j})
			continue
		}
		// An outside value read by several members is read (and, if
		// strided, gathered) once per block.
		k := slices.IndexFunc(g.ext, func(l layout) bool { return sameLayout(l, in[i]) })
		if k < 0 {
			g.ext = append(g.ext, in[i])
			k = len(g.ext) - 1
		}
		m.args = append(m.args, operandRef{i: k})
	}
	// A buffer for the value in case something outside reads it; fuse
	// empties it otherwise. No step is added until the group is fused, so
	// the buffer is written by the fused step.
	m.buf = c.newBuf(tensor.Size(g.shape))
	g.bufs[m.buf] = true
	g.index[e.Out] = len(g.members)
	g.members = append(g.members, m)
	c.lay[e.Out] = layout{buf: m.buf, shape: g.shape, strides: rowMajor(g.shape)}
}

// fuse adds the group's step.
func (c *compiler) fuse(g *group, consumers map[*ir.Var][]*ir.Eqn) {
	shape := g.shape
	n := tensor.Size(shape)
	inGroup := map[*ir.Eqn]bool{}
	for _, m := range g.members {
		inGroup[m.eqn] = true
	}
	kept := make([]bool, len(g.members)) // written to the member's buffer
	for j, m := range g.members {
		for _, e := range consumers[m.eqn.Out] {
			if e == nil || !inGroup[e] {
				kept[j] = true
			}
		}
		if !kept[j] {
			c.bufs[m.buf].size = 0
		}
	}
	strides := make([][]int, len(g.ext)+1)
	strides[0] = rowMajor(shape)
	for i, l := range g.ext {
		strides[i+1] = l.strides
		c.use(l)
	}
	cs, cst := collapse(shape, strides)
	cs, cst, blk := blockAxes(cs, cst)
	inner := tensor.Size(cs[blk:])
	outer := cs[:blk]
	type operand struct {
		buf, scratch int // scratch < 0: contiguous over the block
		off          int
		g            gather // gathers one block, offset added at run time
		st           []int  // strides over the outer axes
		// fixed: the gathered block is the same for every block (a bias,
		// a broadcast scalar), so it is gathered once per run of blocks.
		fixed bool
	}
	ops := make([]operand, len(g.ext))
	for i, l := range g.ext {
		bst := cst[i+1][blk:]
		ops[i] = operand{buf: l.buf, off: l.off, scratch: -1, st: cst[i+1][:blk]}
		if !isRowMajor(cs[blk:], bst) {
			ops[i].scratch = c.newBuf(inner)
			ops[i].g = gather{shape: cs[blk:], strides: bst}
			ops[i].fixed = !slices.ContainsFunc(ops[i].st, func(st int) bool { return st != 0 })
		}
	}
	// Where each member writes its rows: its buffer, or a scratch row.
	type target struct {
		buf  int
		kept bool
	}
	targets := make([]target, len(g.members))
	for j, m := range g.members {
		targets[j] = target{buf: m.buf, kept: kept[j]}
		if !kept[j] {
			targets[j].buf = c.newBuf(inner)
		}
	}
	// The scratch rows, numbered: a block range run beside others gets rows
	// of its own (see run below).
	var scratch []int
	for i := range ops {
		if ops[i].scratch >= 0 {
			scratch = append(scratch, ops[i].scratch)
			ops[i].scratch = len(scratch) - 1
		}
	}
	for j := range targets {
		if !targets[j].kept {
			scratch = append(scratch, targets[j].buf)
			targets[j].buf = len(scratch) - 1
		}
	}
	members := g.members
	nblocks := 0
	if inner > 0 {
		nblocks = n / inner
	}
	// blocks runs blocks [lo, hi) with the given scratch rows.
	blocks := func(bufs [][]float64, rowsOf [][]float64, lo, hi int) {
		var extArr [16][]float64
		var rowArr [32][]float64
		var baseArr [16]int
		extRows, rows, base := extArr[:0], rowArr[:0], baseArr[:0]
		if len(ops) > len(extArr) {
			extRows, base = make([][]float64, 0, len(ops)), make([]int, 0, len(ops))
		}
		if len(members) > len(rowArr) {
			rows = make([][]float64, 0, len(members))
		}
		extRows, rows, base = extRows[:len(ops)], rows[:len(members)], base[:len(ops)]
		var idxArr [16]int
		idx := idxArr[:len(outer)]
		// The odometer's position at block lo.
		for d, b := len(outer)-1, lo; d >= 0; d-- {
			idx[d] = b % outer[d]
			b /= outer[d]
		}
		for i, o := range ops {
			base[i] = o.off
			for d := range outer {
				base[i] += idx[d] * o.st[d]
			}
		}
		for i, op := range ops {
			if op.fixed {
				g := op.g
				g.off = base[i]
				g.run(rowsOf[op.scratch], bufs[op.buf])
				extRows[i] = rowsOf[op.scratch]
			}
		}
		var args [3][]float64
		for o := lo * inner; o < hi*inner; o += inner {
			for i, op := range ops {
				if op.fixed {
					continue
				}
				src := bufs[op.buf]
				if op.scratch < 0 {
					extRows[i] = src[base[i] : base[i]+inner]
					continue
				}
				sc := rowsOf[op.scratch]
				g := op.g
				g.off = base[i]
				g.run(sc, src)
				extRows[i] = sc
			}
			for j, m := range members {
				for a, r := range m.args {
					if r.inGroup {
						args[a] = rows[r.i]
					} else {
						args[a] = extRows[r.i]
					}
				}
				if t := targets[j]; t.kept {
					rows[j] = bufs[t.buf][o : o+inner]
				} else {
					rows[j] = rowsOf[t.buf]
				}
				m.k(rows[j], args[0], args[1], args[2])
			}
			for d := len(outer) - 1; d >= 0; d-- {
				idx[d]++
				for i := range ops {
					base[i] += ops[i].st[d]
				}
				if idx[d] < outer[d] {
					break
				}
				for i := range ops {
					base[i] -= ops[i].st[d] * outer[d]
				}
				idx[d] = 0
			}
		}
	}
	// Ranges of blocks run beside each other take their scratch rows from
	// this pool (the slab holds one set), so a parallel run allocates only
	// until the pool is warm.
	var spare sync.Pool
	c.steps = append(c.steps, func(s *state) {
		if n == 0 {
			return
		}
		var slabRowsArr [16][]float64
		slabRows := slabRowsArr[:0]
		for _, b := range scratch {
			slabRows = append(slabRows, s.bufs[b][:inner])
		}
		parts := 1
		if !s.serial && n >= minParallelFuse {
			parts = min(kernels.Workers(), nblocks)
		}
		if parts <= 1 {
			blocks(s.bufs, slabRows, 0, nblocks)
			return
		}
		kernels.ParallelFor(parts, func(t int) {
			lo, hi := t*nblocks/parts, (t+1)*nblocks/parts
			if t == 0 {
				blocks(s.bufs, slabRows, lo, hi)
				return
			}
			own, _ := spare.Get().(*scratchRows)
			if own == nil {
				own = newScratchRows(len(scratch), inner)
			}
			blocks(s.bufs, own.rows, lo, hi)
			spare.Put(own)
		})
	})
}

// blockAxes chooses the block of trailing axes that elementwise steps run
// over: at least minRow elements where the shape allows, splitting an axis
// so that the block stays within maxTile where it can. It returns the
// (possibly split) shape and strides and the first axis of the block.
func blockAxes(cs []int, cst [][]int) ([]int, [][]int, int) {
	blk, inner := len(cs), 1
	for blk > 0 && inner < minRow {
		next := cs[blk-1]
		if inner*next <= maxTile {
			blk--
			inner *= next
			continue
		}
		// Split the axis into (next/d, d), d its largest divisor that keeps
		// the block within maxTile.
		d := 1
		for f := maxTile / inner; f > 1; f-- {
			if next%f == 0 {
				d = f
				break
			}
		}
		if d == 1 || inner*d < minRow/2 {
			blk--
			inner *= next
			continue
		}
		a := blk - 1
		cs = slices.Concat(cs[:a], []int{next / d, d}, cs[a+1:])
		for i, st := range cst {
			cst[i] = slices.Concat(st[:a], []int{st[a] * d, st[a]}, st[a+1:])
		}
		return cs, cst, a + 1
	}
	return cs, cst, blk
}

// isRowMajor reports whether strides walk shape contiguously.
func isRowMajor(shape, strides []int) bool {
	acc := 1
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] != 1 && strides[d] != acc {
			return false
		}
		acc *= shape[d]
	}
	return true
}

// gather is a strided copy with its axes collapsed ahead of time.
type gather struct {
	shape, strides []int
	off            int
}

func newGather(l layout) gather {
	cs, cst := collapse(l.shape, [][]int{l.strides})
	return gather{shape: cs, strides: cst[0], off: l.off}
}

func (g gather) run(out, src []float64) {
	if len(out) == 0 {
		return
	}
	r := len(g.shape)
	switch r {
	case 0:
		out[0] = src[g.off]
		return
	case 1:
		copyRow(out, src, g.off, g.strides[0])
		return
	}
	// The two innermost axes are plain loops; the odometer moves once per
	// block of them (short rows, as in a transposed Jacobian, are common).
	n1, s1 := g.shape[r-2], g.strides[r-2]
	n0, s0 := g.shape[r-1], g.strides[r-1]
	blk := n1 * n0
	var idxArr [16]int
	idx := idxArr[:r-2]
	base := g.off
	for o := 0; o < len(out); o += blk {
		dst := out[o : o+blk]
		if s0 == 1 || s0 == 0 {
			for i1 := 0; i1 < n1; i1++ {
				copyRow(dst[i1*n0:(i1+1)*n0], src, base+i1*s1, s0)
			}
		} else {
			// A transposed block: read it in its own order, write scattered
			// (both stay in L1 for the small blocks of per-sample results).
			j := 0
			for i1 := 0; i1 < n1; i1++ {
				p := base + i1*s1
				for i0 := 0; i0 < n0; i0++ {
					dst[j] = src[p]
					j++
					p += s0
				}
			}
		}
		for d := r - 3; d >= 0; d-- {
			idx[d]++
			base += g.strides[d]
			if idx[d] < g.shape[d] {
				break
			}
			base -= g.strides[d] * g.shape[d]
			idx[d] = 0
		}
	}
}

// copyRow sets row[i] = src[base + i*stride].
func copyRow(row, src []float64, base, stride int) {
	switch stride {
	case 1:
		copy(row, src[base:base+len(row)])
	case 0:
		x := src[base]
		for i := range row {
			row[i] = x
		}
	default:
		for i := range row {
			row[i] = src[base+i*stride]
		}
	}
}

// placeSlab assigns slab offsets by liveness (first fit) and returns the
// slab size.
func placeSlab(bufs []bufInfo) int {
	type live struct{ off, size, last int }
	var act []live
	top := 0
	for i := range bufs {
		b := &bufs[i]
		if b.kind != bufSlab {
			continue
		}
		// Drop regions whose last reader ran before this buffer is written.
		kept := act[:0]
		for _, a := range act {
			if a.last >= b.def {
				kept = append(kept, a)
			}
		}
		act = kept
		slices.SortFunc(act, func(x, y live) int { return x.off - y.off })
		off := 0
		for _, a := range act {
			if a.off-off >= b.size {
				break
			}
			off = max(off, a.off+a.size)
		}
		b.off = off
		act = append(act, live{off, b.size, b.last})
		top = max(top, off+b.size)
	}
	return top
}

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
