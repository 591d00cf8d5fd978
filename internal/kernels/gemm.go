package kernels

import (
	"sync"
	"unsafe"
)

// The blocked GEMM, shared by Dgemm and Sgemm (Go generics: float32 and
// float64 get separate instantiations, the arithmetic is the element
// type's own).

// float is the element type of a GEMM.
type float interface{ float32 | float64 }

// gemmKernel computes one MR×NR tile of C with its function fn (or
// fnSmallK, fnRow):
//
//	C[i][j] = alpha * sum_p A[i*ars+p*aks] * B[p*bks+j] + beta*C[i*ldc+j]
//
// for i < MR, j < NR, p < kc. A is a packed panel (ars=1, aks=MR) or, for
// fnSmallK and fnRow and kernels without them, read in place from op(A);
// B a packed panel (bks=NR) or rows of B in place.
// When beta == 0, C is not read (so NaN/Inf there do not propagate).
// The sum over p is done in increasing p, with one fused multiply-add per
// term, so that a tile's value depends only on the data.
type gemmKernel[T float] struct {
	name       string
	mr, nr     int
	mc, kc, nc int // cache blocking: mc rows of A (L2), kc depth, nc columns of B (L3)
	fn         kernelFunc[T]
	// fnSmallK, if set, is used instead of fn for thin products (A read in
	// place): the same arithmetic without prefetching the C tile.
	fnSmallK kernelFunc[T]
	// fnRow, if set, is fnSmallK over npan tiles side by side (B panel p
	// at b + p*bps, C tile p at c + p*NR): one call per row panel.
	fnRow func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T, npan, bps int)
	// fnCol, if set, is fn over npan packed A panels (panel p at a +
	// p*aps, C tile p at c + p*MR*ldc): a column of tiles in one call.
	fnCol func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T, npan, aps int)
	// vecPack: pack with vector code (pack_*.go) where there is some.
	vecPack bool
	// packedA: fn takes packed A panels only (ars = 1, aks = MR); the
	// driver calls fnSmallK or fnRow (which must be set) on A in place.
	packedA bool
}

type kernelFunc[T float] func(kc int, a *T, ars, aks int, b *T, bks int, c *T, ldc int, alpha, beta T)

// microKernel is a float64 micro-kernel; sgemmKernel a float32 one.
type (
	microKernel = gemmKernel[float64]
	sgemmKernel = gemmKernel[float32]
)

type gemmArgs[T float] struct {
	transA, transB bool
	m, n, k        int
	alpha          T
	a              []T
	lda            int
	b              []T
	ldb            int
	beta           T
	c              []T
	ldc            int
}

// scaleC sets C = beta*C (C = 0 when beta == 0).
func scaleC[T float](g *gemmArgs[T]) {
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		if g.beta == 0 {
			clear(row)
		} else if g.beta != 1 {
			for j := range row {
				row[j] *= g.beta
			}
		}
	}
}

type gemmScratch[T float] struct {
	ap  []T // packed A block, mc×kc
	tmp []T // one MR×NR edge tile
}

// Scratch memory, per element type: packed A blocks and edge tiles (one
// per task) and packed B blocks (one per product).
var (
	scratchPool   = sync.Pool{New: func() any { return new(gemmScratch[float64]) }}
	scratchPool32 = sync.Pool{New: func() any { return new(gemmScratch[float32]) }}
	packBPool     = sync.Pool{New: func() any { return new([]float64) }}
	packBPool32   = sync.Pool{New: func() any { return new([]float32) }}
	// The arguments and state of a product escape through the closures
	// handed to the worker pool: pooled, a product allocates nothing.
	argsPool   = sync.Pool{New: func() any { return new(gemmArgs[float64]) }}
	argsPool32 = sync.Pool{New: func() any { return new(gemmArgs[float32]) }}
	runPool    = sync.Pool{New: func() any { return new(gemmRun[float64]) }}
	runPool32  = sync.Pool{New: func() any { return new(gemmRun[float32]) }}
)

// newArgs returns pooled product arguments set to a; freeArgs clears and
// returns them.
func newArgs[T float](a gemmArgs[T]) *gemmArgs[T] {
	var g *gemmArgs[T]
	if is32[T]() {
		g = any(argsPool32.Get()).(*gemmArgs[T])
	} else {
		g = any(argsPool.Get()).(*gemmArgs[T])
	}
	*g = a
	return g
}

func freeArgs[T float](g *gemmArgs[T]) {
	*g = gemmArgs[T]{}
	if is32[T]() {
		argsPool32.Put(g)
	} else {
		argsPool.Put(g)
	}
}

func getRun[T float]() *gemmRun[T] {
	if is32[T]() {
		return any(runPool32.Get()).(*gemmRun[T])
	}
	return any(runPool.Get()).(*gemmRun[T])
}

func putRun[T float](r *gemmRun[T]) {
	*r = gemmRun[T]{}
	if is32[T]() {
		runPool32.Put(r)
	} else {
		runPool.Put(r)
	}
}

func is32[T float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

func getScratch[T float]() *gemmScratch[T] {
	if is32[T]() {
		return any(scratchPool32.Get()).(*gemmScratch[T])
	}
	return any(scratchPool.Get()).(*gemmScratch[T])
}

func putScratch[T float](s *gemmScratch[T]) {
	if is32[T]() {
		scratchPool32.Put(s)
	} else {
		scratchPool.Put(s)
	}
}

func getPackB[T float]() *[]T {
	if is32[T]() {
		return any(packBPool32.Get()).(*[]T)
	}
	return any(packBPool.Get()).(*[]T)
}

func putPackB[T float](p *[]T) {
	if is32[T]() {
		packBPool32.Put(p)
	} else {
		packBPool.Put(p)
	}
}

func grow[T float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/8)
	}
	return s[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemm runs the blocked algorithm (Goto/BLIS loop order: jc, pc, ic, jr, ir)
// with the given micro-kernel on up to workers workers. Work is split over
// blocks of C only; every element of C gets its K sum in the same order
// whatever the number of workers.
func gemm[T float](g *gemmArgs[T], kn *gemmKernel[T], workers int) {
	m, n, k := g.m, g.n, g.k
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || g.alpha == 0 {
		scaleC(g)
		return
	}
	if m*n*k < parallelMinFlops {
		workers = 1
	}
	if n == 1 && !is32[T]() {
		gemvN1(any(g).(*gemmArgs[float64]), workers)
		return
	}
	mr, nr := kn.mr, kn.nr
	kc, nc := kn.kc, kn.nc
	// Split K evenly into blocks of at most kn.kc.
	kc = ceilDiv(k, ceilDiv(k, kc))
	nc = min(nc, ceilDiv(n, nr)*nr)
	// Row blocks of at most kn.mc rows, of whole MR-row panels, as even
	// as can be; on several workers at least 3 per worker (for stealing
	// when a core is busy with something else) and a multiple of their
	// number. Block edges are at multiples of MR whatever the split, so
	// every element of C is computed by the same kind of tile.
	mpan := ceilDiv(m, mr)
	mblocks := ceilDiv(mpan, max(1, kn.mc/mr))
	if workers > 1 {
		mblocks = ceilDiv(max(mblocks, 3*workers), workers) * workers
	}
	mblocks = min(mblocks, mpan)

	r := getRun[T]()
	defer putRun(r)
	*r = gemmRun[T]{g: g, kn: kn, fn: kn.fn, mpan: mpan, mblocks: mblocks}
	// Packing A costs about as much as a few micro-kernel calls per panel;
	// with few B panels to amortise it over, read A in place — unless A is
	// transposed with rows of more than 256 bytes: each k step of a panel
	// then reads a line of its own, at a stride that maps the panel's
	// lines onto few cache sets, and the panel is read once per B panel
	// (float32 16384×64×64 with Aᵀ: 47 GFLOP/s in place, 62 packed). So
	// too when A is small enough to be in L2 and the B block fits a
	// quarter of it: a row panel of A then stays in L1 while the row
	// kernel sweeps the B block (but a large A is streamed faster by
	// packing).
	es := int(unsafe.Sizeof(g.alpha))
	r.directA = ceilDiv(n, nr) <= 6 && !(g.transA && g.lda*es > 256) || k <= 8 ||
		kc*min(n, nc)*es <= caches.l2.size/4 && m*k*es <= caches.l2.size/2
	// Packing B is amortised over the row panels of A; with few of them
	// read B in place (unless its stride invites cache-set conflicts, which
	// matter only when B is read more than once).
	r.directB = !g.transB && (ceilDiv(m, mr) == 1 || ceilDiv(m, mr) <= 8 && g.ldb%512 != 0)
	if r.directA && kn.fnSmallK != nil {
		r.fn = kn.fnSmallK
	}

	bpp := getPackB[T]()
	defer putPackB(bpp)
	*bpp = grow(*bpp, kc*nc)
	r.bp = *bpp

	for jc := 0; jc < n; jc += nc {
		r.jc, r.nb = jc, min(nc, n-jc)
		r.npan = ceilDiv(r.nb, nr)
		for pc := 0; pc < k; pc += kc {
			r.pc, r.kb = pc, min(kc, k-pc)
			r.beta = g.beta
			if pc > 0 {
				r.beta = 1
			}
			r.ngroups = 1
			if workers > 1 && r.mblocks < 2*workers {
				r.ngroups = min(r.npan, ceilDiv(2*workers, r.mblocks))
			}
			// A block whose width is not a multiple of NR ends with a panel
			// shifted left to end at its last column, overlapping the one
			// before, rather than with a narrow panel padded with zeros:
			// written straight into C, with B read in place, where a narrow
			// one is computed into a scratch tile, then copied. The columns
			// computed twice get the same values (a tile's elements depend
			// only on the data), but only when C is written, not updated
			// (beta = 0), and only within one task's columns.
			lastLo := (r.ngroups - 1) * r.npan / r.ngroups // the last column group's first panel
			r.shiftN = r.beta == 0 && r.nb%nr != 0 && r.nb-nr >= lastLo*nr
			// Pack B[pc:pc+kb, jc:jc+nb] into panels of NR columns.
			switch {
			case r.directB:
				if r.nb%nr != 0 && !r.shiftN {
					packB(g, r.bp, pc, r.kb, jc, r.nb, nr, r.npan-1, r.npan, kn.vecPack)
				}
			case workers > 1 && r.npan >= 2*workers && r.kb*r.nb >= 64*256:
				groups := 2 * workers
				pool.parallelFor(groups, func(t int) {
					lo, hi := t*r.npan/groups, (t+1)*r.npan/groups
					packB(g, r.bp, r.pc, r.kb, r.jc, r.nb, nr, lo, hi, kn.vecPack)
				})
			default:
				packB(g, r.bp, pc, r.kb, jc, r.nb, nr, 0, r.npan, kn.vecPack)
			}
			if r.shiftN && !r.directB {
				// The last panel again, shifted.
				last := (r.npan - 1) * nr * r.kb
				packB(g, r.bp[last:], pc, r.kb, jc+r.nb-nr, nr, nr, 0, 1, kn.vecPack)
			}
			if workers > 1 {
				pool.parallelFor(r.mblocks*r.ngroups, r.task)
			} else {
				for t := 0; t < r.mblocks*r.ngroups; t++ {
					r.task(t)
				}
			}
		}
	}
}

// gemmRun holds the state of one blocked product.
type gemmRun[T float] struct {
	g                *gemmArgs[T]
	kn               *gemmKernel[T]
	fn               kernelFunc[T]
	bp               []T
	directA, directB bool
	mpan, mblocks    int // row panels, row blocks
	jc, nb, npan     int
	pc, kb           int
	ngroups          int
	beta             T
	shiftN           bool // the block's last column panel is shifted (see gemm)
}

// task computes row block t/ngroups of C against column group t%ngroups of
// the current B block.
func (r *gemmRun[T]) task(t int) {
	g, kn := r.g, r.kn
	mr, nr, kb := kn.mr, kn.nr, r.kb
	ib, jg := t/r.ngroups, t%r.ngroups
	ic := ib * r.mpan / r.mblocks * mr
	mb := min((ib+1)*r.mpan/r.mblocks*mr, g.m) - ic
	s := getScratch[T]()
	defer putScratch(s)
	s.tmp = grow(s.tmp, mr*nr)
	full := mb / mr * mr // rows in full panels
	// As for columns (see gemm), the block's last rows, when they do not
	// fill a panel, are a panel shifted up to end at its last row.
	shiftM := r.beta == 0 && mb > mr && full < mb
	switch {
	case r.directA && shiftM:
	case r.directA:
		s.ap = grow(s.ap, mr*kb)
		if full < mb {
			packA(g, s.ap, ic+full, mb-full, r.pc, kb, mr, kn.vecPack)
		}
	case shiftM:
		s.ap = grow(s.ap, (full+mr)*kb)
		packA(g, s.ap, ic, full, r.pc, kb, mr, kn.vecPack)
		packA(g, s.ap[full*kb:], ic+mb-mr, mr, r.pc, kb, mr, kn.vecPack)
	default:
		s.ap = grow(s.ap, ceilDiv(mb, mr)*mr*kb)
		packA(g, s.ap, ic, mb, r.pc, kb, mr, kn.vecPack)
	}
	// rowAt and colAt place the panels that start at row i and column j.
	rowAt := func(i int) int {
		if shiftM && i == full {
			return mb - mr
		}
		return i
	}

	plo, phi := jg*r.npan/r.ngroups, (jg+1)*r.npan/r.ngroups
	j0, j1 := r.jc+plo*nr, r.jc+min(r.nb, phi*nr)
	colAt := func(j int) int {
		if r.shiftN && j+nr > j1 {
			return j1 - nr
		}
		return j
	}

	if r.directA {
		// Few, narrow B panels (they stay in L1): sweep C row panel by row
		// panel so that its writes are sequential.
		full := (j1 - j0) / nr // full-width tiles in a row
		for i0 := 0; i0 < mb; i0 += mr {
			i := rowAt(i0)
			j, p := j0, plo
			if kn.fnRow != nil && mb-i >= mr && full > 1 {
				r.rowTiles(ic, i, j0, plo, full)
				j, p = j0+full*nr, plo+full
			}
			for ; j < j1; j, p = j+nr, p+1 {
				r.tile(s, ic, mb, i, colAt(j), j1, p)
			}
		}
		return
	}
	for j0, p := j0, plo; j0 < j1; j0, p = j0+nr, p+1 {
		j := colAt(j0)
		i := 0
		if kn.fnCol != nil && j+nr <= j1 && full >= 2*mr {
			r.colTiles(s, ic, full/mr, j, p)
			i = full
		}
		for ; i < mb; i += mr {
			r.tile(s, ic, mb, rowAt(i), j, j1, p)
		}
	}
}

// colTiles computes npan full MR×NR tiles of C one below the other, from
// row ic, at column j (panel p of B), with one call of the column kernel;
// A is packed.
func (r *gemmRun[T]) colTiles(s *gemmScratch[T], ic, npan, j, p int) {
	g, kn := r.g, r.kn
	nr, kb := kn.nr, r.kb
	bpan, bks := &r.bp[p*nr*kb], nr
	if r.directB {
		bpan, bks = &g.b[r.pc*g.ldb+j], g.ldb
	}
	kn.fnCol(kb, &s.ap[0], 1, kn.mr, bpan, bks, &g.c[ic*g.ldc+j], g.ldc, g.alpha, r.beta, npan, kn.mr*kb)
}

// rowTiles computes npan full MR×NR tiles of C side by side, at row ic+i
// from column j0 (panels p0.. of B), with one call of the row kernel; A is
// read in place (directA).
func (r *gemmRun[T]) rowTiles(ic, i, j0, p0, npan int) {
	g, kn := r.g, r.kn
	nr, kb := kn.nr, r.kb
	bpan, bks, bps := &r.bp[p0*nr*kb], nr, nr*kb
	if r.directB {
		bpan, bks, bps = &g.b[r.pc*g.ldb+j0], g.ldb, nr
	}
	var apan *T
	var ars, aks int
	if g.transA {
		apan, ars, aks = &g.a[r.pc*g.lda+ic+i], 1, g.lda
	} else {
		apan, ars, aks = &g.a[(ic+i)*g.lda+r.pc], g.lda, 1
	}
	row := ic + i
	kn.fnRow(kb, apan, ars, aks, bpan, bks, &g.c[row*g.ldc+j0], g.ldc, g.alpha, r.beta, npan, bps)
}

// tile computes the MR×NR tile of C at row ic+i, column j (panel p of B).
// A packed A panel is the one of row i rounded up to a multiple of MR: a
// shifted last panel is packed after the full ones.
func (r *gemmRun[T]) tile(s *gemmScratch[T], ic, mb, i, j, j1, p int) {
	g, kn := r.g, r.kn
	mr, nr, kb := kn.mr, kn.nr, r.kb
	c, ldc, alpha, beta := g.c, g.ldc, g.alpha, r.beta
	nw := min(nr, j1-j)
	bpan, bks := &r.bp[p*nr*kb], nr
	if r.directB && nw == nr {
		bpan, bks = &g.b[r.pc*g.ldb+j], g.ldb
	}
	mh := min(mr, mb-i)
	var apan *T
	ars, aks := 1, mr
	switch {
	case !r.directA:
		apan = &s.ap[ceilDiv(i, mr)*mr*kb]
	case mh < mr:
		apan = &s.ap[0]
	case g.transA:
		apan, ars, aks = &g.a[r.pc*g.lda+ic+i], 1, g.lda
	default:
		apan, ars, aks = &g.a[(ic+i)*g.lda+r.pc], g.lda, 1
	}
	row := ic + i
	if mh == mr && nw == nr {
		r.fn(kb, apan, ars, aks, bpan, bks, &c[row*ldc+j], ldc, alpha, beta)
		return
	}
	tmp := s.tmp
	r.fn(kb, apan, ars, aks, bpan, bks, &tmp[0], nr, 1, 0)
	for ii := 0; ii < mh; ii++ {
		crow := c[(row+ii)*ldc+j : (row+ii)*ldc+j+nw]
		trow := tmp[ii*nr : ii*nr+nw]
		if beta == 0 {
			for jj := range crow {
				crow[jj] = alpha * trow[jj]
			}
		} else {
			for jj := range crow {
				crow[jj] = T(alpha*trow[jj]) + T(beta*crow[jj])
			}
		}
	}
}
