package exec

import (
	"slices"
	"sync"

	"github.com/jacobi-ad/jacobi/internal/kernels"
	"github.com/jacobi-ad/jacobi/internal/workcount"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Elementwise steps run over blocks of the trailing (collapsed) axes of at
// least minRow and, where an axis can be split, at most maxTile elements:
// rows long enough for the vector kernels, short enough that a fused
// group's intermediate rows stay in the first-level caches.
const (
	minRow  = 512
	maxTile = 2048
)

// scratchRows is one set of a fused step's scratch rows.
type scratchRows[T tensor.Float] struct{ rows [][]T }

func newScratchRows[T tensor.Float](count, size int) *scratchRows[T] {
	data := make([]T, count*size)
	r := &scratchRows[T]{rows: make([][]T, count)}
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
// memory of their own. Shapes that differ only by axes of size 1 — (b, 1, w)
// and (b, w), as a per-sample gradient and the values around it have — are
// one shape here: the group runs over the shape without them.
type group struct {
	shape   []int // without axes of size 1
	dtype   tensor.DType
	members []member
	index   map[*ir.Var]int  // value -> member that makes it
	bufs    map[int]int      // a member's buffer -> the member
	ext     []layout         // operands from outside the group, without axes of size 1
	extAt   map[[2]int][]int // ext's indices by buffer and offset
}

type member struct {
	eqn  *ir.Eqn
	k64  op.RowKernel   // float64 groups
	k32  op.RowKernel32 // float32 groups
	args []operandRef
	buf  int // where the value is kept when read outside the group
}

// operandRef is a member's operand: a value of the group or an outside one.
type operandRef struct {
	inGroup bool
	i       int
}

func newGroup(shape []int, dt tensor.DType) *group {
	return &group{shape: squeezed(shape), dtype: dt, index: map[*ir.Var]int{}, bufs: map[int]int{}, extAt: map[[2]int][]int{}}
}

// squeezed returns shape without its axes of size 1.
func squeezed(shape []int) []int {
	s := make([]int, 0, len(shape))
	for _, n := range shape {
		if n != 1 {
			s = append(s, n)
		}
	}
	return s
}

// squeezedLayout is l without its axes of size 1: the same elements in
// the same order.
func squeezedLayout(l layout) layout {
	out := layout{buf: l.buf, off: l.off, shape: []int{}, strides: []int{}}
	for d, n := range l.shape {
		if n != 1 {
			out.shape = append(out.shape, n)
			out.strides = append(out.strides, l.strides[d])
		}
	}
	return out
}

// alias returns the member whose value l is, all of it in the order the
// group runs (a view of the member's buffer as a reshape or a sum over
// axes of size 1 leaves it), or -1.
func (g *group) alias(l layout) int {
	j, ok := g.bufs[l.buf]
	if !ok || l.off != 0 || !l.contiguous() || tensor.Size(l.shape) != tensor.Size(g.shape) {
		return -1
	}
	return j
}

// accepts reports whether e can join the group: same shape and dtype, and
// no operand that reads a member's value through a view (a view needs the
// value in memory before the step that would make it).
func (g *group) accepts(e *ir.Eqn, in []layout) bool {
	if !fusing || !slices.Equal(g.shape, squeezed(e.Out.Shape)) || g.dtype != e.Out.DType {
		return false
	}
	for i, v := range e.In {
		if _, ok := g.index[v]; !ok && g.alias(in[i]) < 0 {
			if _, member := g.bufs[in[i].buf]; member {
				return false
			}
		}
	}
	return true
}

func (g *group) add(c *compiler, e *ir.Eqn, in []layout) {
	m := member{eqn: e}
	if g.dtype == tensor.Float32 {
		m.k32 = e.Prim.(op.Elementwise).Kernel32()
	} else {
		m.k64 = e.Prim.(op.Elementwise).Kernel()
	}
	for i, v := range e.In {
		j, ok := g.index[v]
		if !ok {
			j = g.alias(in[i])
		}
		if j >= 0 {
			m.args = append(m.args, operandRef{inGroup: true, i: j})
			continue
		}
		// An outside value read by several members is read (and, if
		// strided, gathered) once per block.
		// (Looked up by buffer and offset: a group of thousands of members
		// must not scan its operands for each.)
		l := squeezedLayout(in[i])
		at := [2]int{l.buf, l.off}
		k := -1
		for _, j := range g.extAt[at] {
			workcount.Add(1)
			if sameLayout(g.ext[j], l) {
				k = j
				break
			}
		}
		if k < 0 {
			g.ext = append(g.ext, l)
			k = len(g.ext) - 1
			g.extAt[at] = append(g.extAt[at], k)
		}
		m.args = append(m.args, operandRef{i: k})
	}
	// A buffer for the value in case something outside reads it; fuse
	// empties it otherwise. No step is added until the group is fused, so
	// the buffer is written by the fused step.
	m.buf = c.newBuf(tensor.Size(g.shape), g.dtype)
	g.bufs[m.buf] = len(g.members)
	g.index[e.Out] = len(g.members)
	g.members = append(g.members, m)
	c.lay[e.Out] = layout{buf: m.buf, shape: e.Out.Shape, strides: tensor.Strides(e.Out.Shape)}
}

// fuse adds the group's step, in the group's dtype.
func (c *compiler) fuse(g *group, consumers map[*ir.Var][]*ir.Eqn) {
	if g.dtype == tensor.Float32 {
		ks := make([]func(d, a, b, c []float32), len(g.members))
		for j, m := range g.members {
			ks[j] = m.k32
		}
		fuseAs(c, g, consumers, ks)
		return
	}
	ks := make([]func(d, a, b, c []float64), len(g.members))
	for j, m := range g.members {
		ks[j] = m.k64
	}
	fuseAs(c, g, consumers, ks)
}

// fuseAs adds the step of group g of T values whose members run the
// kernels ks.
func fuseAs[T tensor.Float](c *compiler, g *group, consumers map[*ir.Var][]*ir.Eqn, ks []func(d, a, b, c []T)) {
	shape := g.shape
	n := tensor.Size(shape)
	inGroup := map[*ir.Eqn]bool{}
	for _, m := range g.members {
		inGroup[m.eqn] = true
	}
	// readOutside reports whether v, a member's value or a view of its
	// buffer, is read by anything but the group's members. (Equations
	// after the group are not compiled yet: they read it.)
	var readOutside func(v *ir.Var) bool
	readOutside = func(v *ir.Var) bool {
		for _, e := range consumers[v] {
			if e == nil {
				return true
			}
			if inGroup[e] {
				continue
			}
			if l, ok := c.lay[e.Out]; !ok || l.buf != c.lay[v].buf || readOutside(e.Out) {
				return true
			}
		}
		return false
	}
	kept := make([]bool, len(g.members)) // written to the member's buffer
	for j, m := range g.members {
		kept[j] = readOutside(m.eqn.Out)
		if !kept[j] {
			c.bufs[m.buf].size = 0
		}
	}
	members, ks, skip := combine(c, g, kept, ks)
	strides := make([][]int, len(g.ext)+1)
	strides[0] = tensor.Strides(shape)
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
			ops[i].scratch = c.newBuf(inner, g.dtype)
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
			targets[j].buf = c.newBuf(inner, g.dtype)
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
	nblocks := 0
	if inner > 0 {
		nblocks = n / inner
	}
	// blocks runs blocks [lo, hi) with the given scratch rows.
	blocks := func(bufs [][]T, rowsOf [][]T, lo, hi int) {
		var extArr [16][]T
		var rowArr [32][]T
		var baseArr [16]int
		extRows, rows, base := extArr[:0], rowArr[:0], baseArr[:0]
		if len(ops) > len(extArr) {
			extRows, base = make([][]T, 0, len(ops)), make([]int, 0, len(ops))
		}
		if len(members) > len(rowArr) {
			rows = make([][]T, 0, len(members))
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
				gatherRun(g, rowsOf[op.scratch], bufs[op.buf])
				extRows[i] = rowsOf[op.scratch]
			}
		}
		var args [3][]T
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
				gatherRun(g, sc, src)
				extRows[i] = sc
			}
			for j, m := range members {
				if skip[j] {
					continue
				}
				k := ks[j]
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
				k(rows[j], args[0], args[1], args[2])
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
		tb := tableOf[T](s)
		// The rows live in s, reused from run to run: a slice made here
		// would escape into the blocks function and be allocated every run.
		slabRows := tb.rows[:0]
		for _, b := range scratch {
			slabRows = append(slabRows, tb.bufs[b][:inner])
		}
		tb.rows = slabRows
		parts := 1
		if !s.serial && n >= minParallelFuse {
			parts = min(kernels.Workers(), nblocks)
		}
		if parts <= 1 {
			blocks(tb.bufs, slabRows, 0, nblocks)
			return
		}
		rows, bufs := slabRows, tb.bufs // captured by value: slabRows itself stays off the heap
		kernels.ParallelFor(parts, func(t int) {
			lo, hi := t*nblocks/parts, (t+1)*nblocks/parts
			if t == 0 {
				blocks(bufs, rows, lo, hi)
				return
			}
			own, _ := spare.Get().(*scratchRows[T])
			if own == nil {
				own = newScratchRows[T](len(scratch), inner)
			}
			blocks(bufs, own.rows, lo, hi)
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

// combine returns the group's members and kernels with chains that one
// kernel computes in one pass over the rows folded into their last
// member, and which members are left with nothing to do (values only the
// combined chain read):
//
//	sub(1, mul(x, x))     → 1 − x²   (tanh's derivative: TanhDeriv)
//	neg(add(q, q))        → −2·q     (Scale)
//
// The combined kernels round as the chains do (x² then 1 − x²; doubling
// and negation are exact), so the values are the same, bit for bit.
func combine[T tensor.Float](c *compiler, g *group, kept []bool, ks []func(d, a, b, c []T)) ([]member, []func(d, a, b, c []T), []bool) {
	members := slices.Clone(g.members)
	ks = slices.Clone(ks)
	skip := make([]bool, len(members))
	readers := make([]int, len(members)) // members reading each member's value
	for _, m := range members {
		for _, r := range m.args {
			if r.inGroup {
				readers[r.i]++
			}
		}
	}
	// only returns the member r refers to when nothing but one member
	// reads it, or -1.
	only := func(r operandRef) int {
		if !r.inGroup || kept[r.i] || readers[r.i] != 1 {
			return -1
		}
		return r.i
	}
	square := func(m member) bool { return len(m.args) == 2 && m.args[0] == m.args[1] }
	for j, m := range members {
		switch m.eqn.Prim.(type) {
		case op.Sub:
			if len(m.args) != 2 || m.args[0].inGroup || !isConstOne(c, g.ext[m.args[0].i]) {
				continue
			}
			k := only(m.args[1])
			if k < 0 || !square(members[k]) || !isPrim[op.Mul](members[k]) {
				continue
			}
			members[j].args = []operandRef{members[k].args[0]}
			ks[j] = oneMinusSquare[T]()
			skip[k] = true
			c.combined++
		case op.Neg:
			k := only(m.args[0])
			if k < 0 || !square(members[k]) || !isPrim[op.Add](members[k]) {
				continue
			}
			members[j].args = []operandRef{members[k].args[0]}
			ks[j] = scaleBy[T](-2)
			skip[k] = true
			c.combined++
		}
	}
	return members, ks, skip
}

func isPrim[P any](m member) bool {
	_, ok := m.eqn.Prim.(P)
	return ok
}

// isConstOne reports whether l is a constant whose every element is 1 (a
// broadcast scalar).
func isConstOne(c *compiler, l layout) bool {
	b := c.bufs[l.buf]
	if b.kind != bufConst || slices.ContainsFunc(l.strides, func(s int) bool { return s != 0 }) {
		return false
	}
	if b.dtype == tensor.Float32 {
		return l.off < len(b.data.f32) && b.data.f32[l.off] == 1
	}
	return l.off < len(b.data.f64) && b.data.f64[l.off] == 1
}

// oneMinusSquare is the row kernel d = 1 − a² (a² rounded first).
func oneMinusSquare[T tensor.Float]() func(d, a, b, c []T) {
	if f, ok := any(func(d, a, _, _ []float64) { kernels.TanhDeriv(d, a) }).(func(d, a, b, c []T)); ok {
		return f
	}
	return any(func(d, a, _, _ []float32) { kernels.TanhDeriv32(d, a) }).(func(d, a, b, c []T))
}

// scaleBy is the row kernel d = alpha·a.
func scaleBy[T tensor.Float](alpha T) func(d, a, b, c []T) {
	if f, ok := any(func(d, a, _, _ []float64) { kernels.Scale(d, float64(alpha), a) }).(func(d, a, b, c []T)); ok {
		return f
	}
	return any(func(d, a, _, _ []float32) { kernels.Scale32(d, float32(alpha), a) }).(func(d, a, b, c []T))
}
