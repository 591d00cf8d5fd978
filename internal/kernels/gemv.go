package kernels

import "math"

// Products with a single column (n == 1), the last layer of a network with
// a scalar output: the register-tile kernel would compute 16 columns to
// keep one, so these go through dot products (op(A) = A) or row updates
// (op(A) = Aᵀ) instead. Each element of C is reduced in an order fixed by
// k alone, whatever the number of workers.

// dotGo is the reference dot product: 32 interleaved partial sums of fused
// multiply-adds, combined pairwise, then the tail in order.
func dotGo(a, b []float64) float64 {
	b = b[:len(a)]
	var l [32]float64
	n := len(a) &^ 31
	for i := 0; i < n; i += 32 {
		aa, bb := a[i:i+32:i+32], b[i:i+32:i+32]
		for j := range l {
			l[j] = math.FMA(aa[j], bb[j], l[j])
		}
	}
	var m [8]float64
	for i := range m {
		m[i] = (l[i] + l[i+8]) + (l[i+16] + l[i+24])
	}
	s := ((m[0] + m[1]) + (m[2] + m[3])) + ((m[4] + m[5]) + (m[6] + m[7]))
	for i := n; i < len(a); i++ {
		s = math.FMA(a[i], b[i], s)
	}
	return s
}

// gemvN1 computes C[:,0] = alpha*op(A)*op(B)[:,0] + beta*C[:,0] for n == 1,
// k > 0, alpha != 0.
func gemvN1(g *gemmArgs[float64], workers int) {
	m, k := g.m, g.k
	var x []float64
	if g.transB {
		x = g.b[:k]
	} else {
		s := scratchPool.Get().(*gemmScratch[float64])
		defer scratchPool.Put(s)
		s.ap = grow(s.ap, k)
		x = s.ap
		for p := range x {
			x[p] = g.b[p*g.ldb]
		}
	}
	if !g.transA {
		ntasks := ceilDiv(m, gemvRows)
		if workers > 1 && m*k >= parallelMinFlops/4 {
			pool.parallelFor(ntasks, func(t int) { gemvRowTask(g, x, t) })
		} else {
			for t := 0; t < ntasks; t++ {
				gemvRowTask(g, x, t)
			}
		}
		return
	}
	// op(A) = Aᵀ, A stored k×m: y = Σ_p x[p]·A[p,:] in increasing p, by
	// column chunks.
	ntasks := ceilDiv(m, gemvCols)
	if workers > 1 && m*k >= parallelMinFlops/4 {
		pool.parallelFor(ntasks, func(t int) { gemvColTask(g, x, t) })
	} else {
		for t := 0; t < ntasks; t++ {
			gemvColTask(g, x, t)
		}
	}
}

// Rows and columns per task of gemvN1. The tasks are plain functions, not
// closures, so that a product run on one goroutine allocates nothing.
const (
	gemvRows = 64
	gemvCols = 1024
)

func gemvStore(g *gemmArgs[float64], i int, v float64) {
	c := &g.c[i*g.ldc]
	if g.beta == 0 {
		*c = g.alpha * v
	} else {
		*c = float64(g.alpha*v) + float64(g.beta**c) // never fused: same bits on every path
	}
}

func gemvRowTask(g *gemmArgs[float64], x []float64, t int) {
	lo, hi := t*gemvRows, min(g.m, (t+1)*gemvRows)
	var buf [gemvRows]float64
	d := buf[:hi-lo]
	dotRows(d, g.a[lo*g.lda:], g.lda, x, g.k)
	for i, v := range d {
		gemvStore(g, lo+i, v)
	}
}

func gemvColTask(g *gemmArgs[float64], x []float64, t int) {
	lo, hi := t*gemvCols, min(g.m, (t+1)*gemvCols)
	var buf [gemvCols]float64
	y := buf[:hi-lo]
	for p := 0; p < g.k; p++ {
		axpySlice(y, x[p], g.a[p*g.lda+lo:p*g.lda+hi])
	}
	for i, v := range y {
		gemvStore(g, lo+i, v)
	}
}
