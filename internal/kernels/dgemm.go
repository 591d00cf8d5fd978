package kernels

import (
	"fmt"
	"sync"
)

// microKernel computes one MR×NR tile of C:
//
//	C[i][j] = alpha * sum_p A[i*ars+p*aks] * B[p*bks+j] + beta*C[i*ldc+j]
//
// for i < MR, j < NR, p < kc. A is a packed panel (ars=1, aks=MR) or read
// in place from op(A); B a packed panel (bks=NR) or rows of B in place.
// When beta == 0, C is not read (so NaN/Inf there do not propagate).
// The sum over p is done in increasing p, with one fused multiply-add per
// term, so that a tile's value depends only on the data.
type microKernel struct {
	name       string
	mr, nr     int
	mc, kc, nc int // cache blocking: mc rows of A (L2), kc depth, nc columns of B (L3)
	fn         kernelFunc
	// fnSmallK, if set, is used instead of fn for thin products (A read in
	// place): the same arithmetic without prefetching the C tile.
	fnSmallK kernelFunc
	// fnRow, if set, is fnSmallK over npan tiles side by side (B panel p
	// at b + p*bps, C tile p at c + p*NR): one call per row panel.
	fnRow func(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64, npan, bps int)
}

type kernelFunc func(kc int, a *float64, ars, aks int, b *float64, bks int, c *float64, ldc int, alpha, beta float64)

// kernel is the micro-kernel Dgemm uses; chosen at init from the CPU.
var kernel *microKernel

// parallelMinFlops: below this many multiply-adds a product runs on the
// calling goroutine only.
const parallelMinFlops = 96 * 96 * 96

// Dgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is m×k,
// op(B) is k×n, C is m×n. lda, ldb, ldc are row strides. transA/transB say
// whether A/B are stored transposed (A stored k×m, B stored n×k).
// When beta == 0, C is not read. The result does not depend on the number
// of workers, bit for bit.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	DgemmSerial(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// DgemmSerial is Dgemm run on the calling goroutine alone when serial is
// set, for callers that already keep every core busy with products of
// their own; the result is the same, bit for bit.
func DgemmSerial(serial, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	g := argsPool.Get().(*gemmArgs)
	*g = gemmArgs{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}
	workers := 1
	if !serial {
		workers = pool.size()
	}
	gemm(g, kernel, workers)
	*g = gemmArgs{}
	argsPool.Put(g)
}

// DgemmBatched computes count independent products
// C_i = alpha*op(A_i)*op(B_i) + beta*C_i where A_i = a[i*strideA:],
// B_i = b[i*strideB:], C_i = c[i*strideC:]. A stride of 0 shares the
// operand between all products (not allowed for C unless count <= 1).
func DgemmBatched(transA, transB bool, m, n, k int, alpha float64, a []float64, lda, strideA int, b []float64, ldb, strideB int, beta float64, c []float64, ldc, strideC int, count int) {
	if count < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic("kernels: DgemmBatched: negative count or stride")
	}
	if count == 0 || m == 0 || n == 0 {
		return
	}
	if count > 1 && strideC < (m-1)*ldc+n {
		panic("kernels: DgemmBatched: C matrices overlap")
	}
	sub := func(s []float64, off, size int) []float64 {
		if size == 0 {
			return s[:0]
		}
		return s[off : off+size]
	}
	aSize, bSize, cSize := gemmSizes(transA, transB, m, n, k, lda, ldb, ldc)
	if (count-1)*strideA+aSize > len(a) || (count-1)*strideB+bSize > len(b) || (count-1)*strideC+cSize > len(c) {
		panic("kernels: DgemmBatched: slice too short")
	}
	one := func(i int, workers int) {
		ai, bi, ci := sub(a, i*strideA, aSize), sub(b, i*strideB, bSize), sub(c, i*strideC, cSize)
		checkGemm(transA, transB, m, n, k, ai, lda, bi, ldb, ci, ldc)
		g := gemmArgs{transA, transB, m, n, k, alpha, ai, lda, bi, ldb, beta, ci, ldc}
		gemm(&g, kernel, workers)
	}
	w := pool.size()
	if w > 1 && count > 1 && m*n*k < 8*parallelMinFlops {
		// Small products: one product per task.
		pool.parallelFor(count, func(i int) { one(i, 1) })
		return
	}
	for i := 0; i < count; i++ {
		one(i, w)
	}
}

func gemmSizes(transA, transB bool, m, n, k, lda, ldb, ldc int) (aSize, bSize, cSize int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if ar > 0 && ac > 0 {
		aSize = (ar-1)*lda + ac
	}
	if br > 0 && bc > 0 {
		bSize = (br-1)*ldb + bc
	}
	if m > 0 && n > 0 {
		cSize = (m-1)*ldc + n
	}
	return
}

func checkGemm(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Dgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ac, bc := k, n
	if transA {
		ac = m
	}
	if transB {
		bc = k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic(fmt.Sprintf("kernels: Dgemm: bad leading dimension lda=%d ldb=%d ldc=%d", lda, ldb, ldc))
	}
	aSize, bSize, cSize := gemmSizes(transA, transB, m, n, k, lda, ldb, ldc)
	if len(a) < aSize || len(b) < bSize || len(c) < cSize {
		panic(fmt.Sprintf("kernels: Dgemm: slice too short: len(a)=%d need %d, len(b)=%d need %d, len(c)=%d need %d",
			len(a), aSize, len(b), bSize, len(c), cSize))
	}
}

type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha          float64
	a              []float64
	lda            int
	b              []float64
	ldb            int
	beta           float64
	c              []float64
	ldc            int
}

// scaleC sets C = beta*C (C = 0 when beta == 0).
func scaleC(g *gemmArgs) {
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

type gemmScratch struct {
	ap  []float64 // packed A block, mc×kc
	tmp []float64 // one MR×NR edge tile
}

var scratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}
var argsPool = sync.Pool{New: func() any { return new(gemmArgs) }}
var runPool = sync.Pool{New: func() any { return new(gemmRun) }}
var packBPool = sync.Pool{New: func() any { return new([]float64) }}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n, n+n/8)
	}
	return s[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemm runs the blocked algorithm (Goto/BLIS loop order: jc, pc, ic, jr, ir)
// with the given micro-kernel on up to workers workers. Work is split over
// blocks of C only; every element of C gets its K sum in the same order
// whatever the number of workers.
func gemm(g *gemmArgs, kn *microKernel, workers int) {
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
	if n == 1 {
		gemvN1(g, workers)
		return
	}
	mr, nr := kn.mr, kn.nr
	kc, nc := kn.kc, kn.nc
	// Split K evenly into blocks of at most kn.kc.
	kc = ceilDiv(k, ceilDiv(k, kc))
	nc = min(nc, ceilDiv(n, nr)*nr)
	mc := kn.mc
	if workers > 1 {
		// Enough row blocks to keep every worker busy.
		want := 3 * workers
		if ceilDiv(m, mc) < want {
			mc = max(mr, ceilDiv(ceilDiv(m, want), mr)*mr)
		}
	}
	mc = min(mc, ceilDiv(m, mr)*mr)

	r := runPool.Get().(*gemmRun)
	defer runPool.Put(r)
	*r = gemmRun{g: g, kn: kn, fn: kn.fn, mc: mc, mblocks: ceilDiv(m, mc)}
	// Packing A costs about as much as a few micro-kernel calls per panel;
	// with few B panels to amortise it over, read A in place.
	r.directA = ceilDiv(n, nr) <= 6 || k <= 8
	// Packing B is amortised over the row panels of A; with few of them
	// read B in place (unless its stride invites cache-set conflicts, which
	// matter only when B is read more than once).
	r.directB = !g.transB && (ceilDiv(m, mr) == 1 || ceilDiv(m, mr) <= 8 && g.ldb%512 != 0)
	if r.directA && kn.fnSmallK != nil {
		r.fn = kn.fnSmallK
	}

	bpp := packBPool.Get().(*[]float64)
	defer packBPool.Put(bpp)
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
			// Pack B[pc:pc+kb, jc:jc+nb] into panels of NR columns.
			switch {
			case r.directB:
				if r.nb%nr != 0 {
					packB(g, r.bp, pc, r.kb, jc, r.nb, nr, r.npan-1, r.npan)
				}
			case workers > 1 && r.npan >= 2*workers && r.kb*r.nb >= 64*256:
				groups := 2 * workers
				pool.parallelFor(groups, func(t int) {
					lo, hi := t*r.npan/groups, (t+1)*r.npan/groups
					packB(g, r.bp, r.pc, r.kb, r.jc, r.nb, nr, lo, hi)
				})
			default:
				packB(g, r.bp, pc, r.kb, jc, r.nb, nr, 0, r.npan)
			}
			r.ngroups = 1
			if workers > 1 && r.mblocks < 2*workers {
				r.ngroups = min(r.npan, ceilDiv(2*workers, r.mblocks))
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
type gemmRun struct {
	g                *gemmArgs
	kn               *microKernel
	fn               kernelFunc
	bp               []float64
	directA, directB bool
	mc, mblocks      int
	jc, nb, npan     int
	pc, kb           int
	ngroups          int
	beta             float64
}

// task computes row block t/ngroups of C against column group t%ngroups of
// the current B block.
func (r *gemmRun) task(t int) {
	g, kn := r.g, r.kn
	mr, nr, kb := kn.mr, kn.nr, r.kb
	ib, jg := t/r.ngroups, t%r.ngroups
	ic := ib * r.mc
	mb := min(r.mc, g.m-ic)
	s := scratchPool.Get().(*gemmScratch)
	defer scratchPool.Put(s)
	s.tmp = grow(s.tmp, mr*nr)
	full := mb / mr * mr // rows in full panels
	if r.directA {
		s.ap = grow(s.ap, mr*kb)
		if full < mb {
			packA(g, s.ap, ic+full, mb-full, r.pc, kb, mr)
		}
	} else {
		s.ap = grow(s.ap, ceilDiv(mb, mr)*mr*kb)
		packA(g, s.ap, ic, mb, r.pc, kb, mr)
	}
	plo, phi := jg*r.npan/r.ngroups, (jg+1)*r.npan/r.ngroups
	j0, j1 := r.jc+plo*nr, r.jc+min(r.nb, phi*nr)

	if r.directA {
		// Few, narrow B panels (they stay in L1): sweep C row panel by row
		// panel so that its writes are sequential.
		full := (j1 - j0) / nr // full-width tiles in a row
		for i := 0; i < mb; i += mr {
			j, p := j0, plo
			if kn.fnRow != nil && mb-i >= mr && full > 1 {
				r.rowTiles(ic, i, j0, plo, full)
				j, p = j0+full*nr, plo+full
			}
			for ; j < j1; j, p = j+nr, p+1 {
				r.tile(s, ic, mb, i, j, j1, p)
			}
		}
		return
	}
	for j, p := j0, plo; j < j1; j, p = j+nr, p+1 {
		for i := 0; i < mb; i += mr {
			r.tile(s, ic, mb, i, j, j1, p)
		}
	}
}

// rowTiles computes npan full MR×NR tiles of C side by side, at row ic+i
// from column j0 (panels p0.. of B), with one call of the row kernel; A is
// read in place (directA).
func (r *gemmRun) rowTiles(ic, i, j0, p0, npan int) {
	g, kn := r.g, r.kn
	nr, kb := kn.nr, r.kb
	bpan, bks, bps := &r.bp[p0*nr*kb], nr, nr*kb
	if r.directB {
		bpan, bks, bps = &g.b[r.pc*g.ldb+j0], g.ldb, nr
	}
	var apan *float64
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
func (r *gemmRun) tile(s *gemmScratch, ic, mb, i, j, j1, p int) {
	g, kn := r.g, r.kn
	mr, nr, kb := kn.mr, kn.nr, r.kb
	c, ldc, alpha, beta := g.c, g.ldc, g.alpha, r.beta
	nw := min(nr, j1-j)
	bpan, bks := &r.bp[p*nr*kb], nr
	if r.directB && nw == nr {
		bpan, bks = &g.b[r.pc*g.ldb+j], g.ldb
	}
	mh := min(mr, mb-i)
	var apan *float64
	ars, aks := 1, mr
	switch {
	case !r.directA:
		apan = &s.ap[i*kb]
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
				crow[jj] = float64(alpha*trow[jj]) + float64(beta*crow[jj])
			}
		}
	}
}

// packA packs op(A)[ic:ic+mb, pc:pc+kb] into panels of mr rows: within a
// panel, element (i, p) is at p*mr+i. Rows past mb are zero.
func packA(g *gemmArgs, ap []float64, ic, mb, pc, kb, mr int) {
	a, lda := g.a, g.lda
	for i0 := 0; i0 < mb; i0 += mr {
		dst := ap[i0*kb : i0*kb+mr*kb]
		mh := min(mr, mb-i0)
		if !g.transA {
			if mh == 8 && mr == 8 {
				packA8(dst, a, (ic+i0)*lda+pc, lda, kb)
				continue
			}
			for i := 0; i < mh; i++ {
				src := a[(ic+i0+i)*lda+pc : (ic+i0+i)*lda+pc+kb]
				for p, v := range src {
					dst[p*mr+i] = v
				}
			}
		} else {
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+i0 : (pc+p)*lda+ic+i0+mh]
				copy(dst[p*mr:p*mr+mh], src)
			}
		}
		if mh < mr {
			for p := 0; p < kb; p++ {
				clear(dst[p*mr+mh : p*mr+mr])
			}
		}
	}
}

// packA8 packs 8 rows of a row-major A starting at off, kb columns.
func packA8(dst, a []float64, off, lda, kb int) {
	r0 := a[off : off+kb]
	r1 := a[off+lda : off+lda+kb]
	r2 := a[off+2*lda : off+2*lda+kb]
	r3 := a[off+3*lda : off+3*lda+kb]
	r4 := a[off+4*lda : off+4*lda+kb]
	r5 := a[off+5*lda : off+5*lda+kb]
	r6 := a[off+6*lda : off+6*lda+kb]
	r7 := a[off+7*lda : off+7*lda+kb]
	dst = dst[:8*kb]
	for p := 0; p < kb; p++ {
		d := dst[p*8 : p*8+8 : p*8+8]
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
	}
}

// packB packs panels lo..hi-1 of op(B)[pc:pc+kb, jc:jc+nb], NR columns
// each: within a panel, element (p, j) is at p*nr+j. Columns past nb are
// zero.
func packB(g *gemmArgs, bp []float64, pc, kb, jc, nb, nr, lo, hi int) {
	b, ldb := g.b, g.ldb
	for pan := lo; pan < hi; pan++ {
		j0 := pan * nr
		dst := bp[pan*nr*kb : (pan+1)*nr*kb]
		nw := min(nr, nb-j0)
		if !g.transB {
			for p := 0; p < kb; p++ {
				off := (pc+p)*ldb + jc + j0
				copy(dst[p*nr:p*nr+nw], b[off:off+nw])
			}
		} else if nw == 16 && nr == 16 {
			packBT16(dst, b, (jc+j0)*ldb+pc, ldb, kb)
		} else {
			for j := 0; j < nw; j++ {
				off := (jc+j0+j)*ldb + pc
				src := b[off : off+kb]
				for p, v := range src {
					dst[p*nr+j] = v
				}
			}
		}
		if nw < nr {
			for p := 0; p < kb; p++ {
				clear(dst[p*nr+nw : p*nr+nr])
			}
		}
	}
}

// packBT16 packs a 16-column panel of op(B) = Bᵀ: 16 rows of B from off
// (row stride ldb), kb elements each, interleaved so that dst[p*16+j] =
// B[j][p]; writes are sequential.
func packBT16(dst, b []float64, off, ldb, kb int) {
	var rows [16][]float64
	for j := range rows {
		rows[j] = b[off+j*ldb : off+j*ldb+kb]
	}
	dst = dst[:16*kb]
	for p := 0; p < kb; p++ {
		d := dst[p*16 : p*16+16 : p*16+16]
		d[0], d[1], d[2], d[3] = rows[0][p], rows[1][p], rows[2][p], rows[3][p]
		d[4], d[5], d[6], d[7] = rows[4][p], rows[5][p], rows[6][p], rows[7][p]
		d[8], d[9], d[10], d[11] = rows[8][p], rows[9][p], rows[10][p], rows[11][p]
		d[12], d[13], d[14], d[15] = rows[12][p], rows[13][p], rows[14][p], rows[15][p]
	}
}
