package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The GEMM tests run on every micro-kernel the CPU can run, in float64
// (Dgemm) and float32 (Sgemm), against a triple loop in float64 with a
// bound on the rounding error derived from the element type's unit
// roundoff and k.

// unitRoundoff is the element type's unit roundoff: 2^-53 or 2^-24.
func unitRoundoff[T float]() float64 {
	if is32[T]() {
		return 0x1p-24
	}
	return 0x1p-53
}

// naiveGemm is the reference: a triple loop over op(A), op(B) in float64.
// It also returns a bound on the rounding error of each element of a
// product computed in T: sums of k products with fused multiply-adds,
// scaled by alpha, plus beta*C (each with one rounding in T).
func naiveGemm[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) (want, bound []float64) {
	u := unitRoundoff[T]()
	want = make([]float64, m*n)
	bound = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			var cv float64
			if beta != 0 {
				cv = float64(beta) * float64(c[i*ldc+j])
				v += cv
			}
			want[i*n+j] = v
			bound[i*n+j] = 8*float64(k+2)*u*(math.Abs(float64(alpha))*sa+math.Abs(cv)) + 1e-300
		}
	}
	return
}

func randSlice(r *rand.Rand, n int) []float64 { return randT[float64](r, n) }

func randT[T float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.Float64()*2 - 1)
	}
	return s
}

func isNaN[T float](x T) bool { return x != x }

// gemmCase is a product with its operands (padded: ld > width) and the
// reference result.
type gemmCase[T float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c0       []T
	lda, ldb, ldc  int
	want, bound    []float64
}

func newGemmCase[T float](r *rand.Rand, transA, transB bool, m, n, k int, alpha, beta T) *gemmCase[T] {
	pad := r.IntN(3)
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g := &gemmCase[T]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	g.lda, g.ldb, g.ldc = max(1, ac)+pad, max(1, bc)+pad, max(1, n)+pad
	g.a = randT[T](r, ar*g.lda)
	g.b = randT[T](r, br*g.ldb)
	g.c0 = randT[T](r, m*g.ldc+1)
	if beta == 0 {
		// C must not be read: NaN there must not propagate.
		for i := range g.c0[:m*g.ldc] {
			g.c0[i] = T(math.NaN())
		}
	}
	g.want, g.bound = naiveGemm(transA, transB, m, n, k, alpha, g.a, g.lda, g.b, g.ldb, beta, g.c0, g.ldc)
	return g
}

// check runs the product with the given kernel and worker count and
// compares with the reference. Padding between rows and after C must be
// left untouched.
func (g *gemmCase[T]) check(t *testing.T, kn *gemmKernel[T], workers int) {
	t.Helper()
	m, n, k, ldc := g.m, g.n, g.k, g.ldc
	c := append([]T(nil), g.c0...)
	checkGemm(g.transA, g.transB, m, n, k, g.a, g.lda, g.b, g.ldb, c, ldc)
	args := gemmArgs[T]{g.transA, g.transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, ldc}
	gemm(&args, kn, workers)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if got != g.c0[i*ldc+j] && !(isNaN(got) && isNaN(g.c0[i*ldc+j])) {
					t.Fatalf("%s tA=%v tB=%v %dx%dx%d: padding C[%d][%d] changed", kn.name, g.transA, g.transB, m, n, k, i, j)
				}
				continue
			}
			if w := g.want[i*n+j]; !(math.Abs(float64(got)-w) <= g.bound[i*n+j]) {
				t.Fatalf("%s workers=%d tA=%v tB=%v %dx%dx%d alpha=%v beta=%v: C[%d][%d]=%v want %v (bound %v)",
					kn.name, workers, g.transA, g.transB, m, n, k, g.alpha, g.beta, i, j, got, w, g.bound[i*n+j])
			}
		}
	}
	if c[m*ldc] != g.c0[m*ldc] {
		t.Fatalf("element past C changed")
	}
}

// checkOne makes a product and checks one kernel on it.
func checkOne[T float](t *testing.T, r *rand.Rand, kn *gemmKernel[T], workers int, transA, transB bool, m, n, k int, alpha, beta T) {
	t.Helper()
	newGemmCase(r, transA, transB, m, n, k, alpha, beta).check(t, kn, workers)
}

var awkward = []int{0, 1, 3, 17, 20, 129}

func TestGemmShapes(t *testing.T) {
	for _, kn := range availableKernels() {
		t.Run(kn.name, func(t *testing.T) { testShapes(t, kn) })
	}
	for _, kn := range availableKernels32() {
		t.Run(kn.name, func(t *testing.T) { testShapes(t, kn) })
	}
}

func testShapes[T float](t *testing.T, kn *gemmKernel[T]) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := awkward
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, k := range sizes {
						ab := [][2]T{{1, 0}, {-0.5, 1}, {2, -1.5}, {0, 2}}[r.IntN(4)]
						checkOne(t, r, kn, 1+r.IntN(3), tA, tB, m, n, k, ab[0], ab[1])
					}
				}
			}
		}
	}
}

func TestGemmLarge(t *testing.T) {
	shapes := [][3]int{{1000, 17, 129}, {129, 1000, 3}, {3000, 1, 200}, {300, 300, 600}, {33, 1000, 1000}}
	if testing.Short() {
		shapes = shapes[:3]
	}
	testLarge(t, availableKernels(), shapes)
	testLarge(t, availableKernels32(), shapes)
}

func testLarge[T float](t *testing.T, kns []*gemmKernel[T], shapes [][3]int) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}, {true, false}} {
			g := newGemmCase[T](r, tr[0], tr[1], s[0], s[1], s[2], 1.5, 0.5)
			for _, kn := range kns {
				g.check(t, kn, 2)
			}
		}
	}
}

// Results must not depend on the number of workers, bit for bit.
func TestGemmDeterministic(t *testing.T) {
	for _, kn := range availableKernels() {
		testDeterministic(t, kn)
	}
	for _, kn := range availableKernels32() {
		testDeterministic(t, kn)
	}
}

func testDeterministic[T float](t *testing.T, kn *gemmKernel[T]) {
	r := rand.New(rand.NewPCG(5, 6))
	// beta = 0: the last panels of blocks whose size is not a multiple of
	// the tile's are shifted (see gemm), where the blocks split by workers.
	for _, s := range [][5]int{{517, 263, 700, 0, 0}, {64, 1000, 300, 0, 0}, {2000, 40, 50, 0, 0}, {3000, 1, 300, 0, 0}, {3000, 1, 300, 1, 0}, {8192, 64, 64, 0, 0},
		{517, 263, 700, 0, 1}, {2000, 20, 20, 0, 1}, {20, 20, 2000, 1, 1}, {1000, 52, 17, 1, 1}} {
		m, n, k, tA := s[0], s[1], s[2], s[3] == 1
		beta := T(0.75)
		if s[4] == 1 {
			beta = 0
		}
		a, b, c0 := randT[T](r, m*k), randT[T](r, k*n), randT[T](r, m*n)
		lda := k
		if tA {
			lda = m
		}
		var ref []T
		for _, w := range []int{1, 2, 3, 5, 8} {
			c := append([]T(nil), c0...)
			g := gemmArgs[T]{tA, false, m, n, k, 1, a, lda, b, n, beta, c, n}
			gemm(&g, kn, w)
			if ref == nil {
				ref = c
				continue
			}
			for i := range c {
				if c[i] != ref[i] {
					t.Fatalf("%s %v: workers=%d differs from workers=1 at %d: %v vs %v", kn.name, s, w, i, c[i], ref[i])
				}
			}
		}
	}
}

func TestGemmPublic(t *testing.T) {
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(7, 8))
	for _, w := range []int{1, 2, 4} {
		SetWorkers(w)
		if Workers() != w {
			t.Fatalf("Workers()=%d want %d", Workers(), w)
		}
		m, n, k := 150, 70, 90
		a, b, c := randSlice(r, k*m), randSlice(r, n*k), randSlice(r, m*n)
		a32, b32, c32 := to32(a), to32(b), to32(c)
		want, bound := naiveGemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n)
		want32, bound32 := naiveGemm(true, true, m, n, k, 1, a32, m, b32, k, 1, c32, n)
		serial, serial32 := append([]float64(nil), c...), append([]float32(nil), c32...)
		Dgemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n)
		DgemmSerial(true, true, true, m, n, k, 1, a, m, b, k, 1, serial, n)
		Sgemm(true, true, m, n, k, 1, a32, m, b32, k, 1, c32, n)
		SgemmSerial(true, true, true, m, n, k, 1, a32, m, b32, k, 1, serial32, n)
		for i := range c {
			if !(math.Abs(c[i]-want[i]) <= bound[i]) {
				t.Fatalf("workers=%d: C[%d]=%v want %v", w, i, c[i], want[i])
			}
			if !(math.Abs(float64(c32[i])-want32[i]) <= bound32[i]) {
				t.Fatalf("workers=%d: Sgemm C[%d]=%v want %v", w, i, c32[i], want32[i])
			}
			if math.Float64bits(serial[i]) != math.Float64bits(c[i]) || serial32[i] != c32[i] {
				t.Fatalf("workers=%d: DgemmSerial C[%d]=%v, Dgemm %v; SgemmSerial %v, Sgemm %v", w, i, serial[i], c[i], serial32[i], c32[i])
			}
		}
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestGemmBatched(t *testing.T) {
	testBatched(t, DgemmBatched)
	testBatched(t, SgemmBatched)
}

func testBatched[T float](t *testing.T, batched func(transA, transB bool, m, n, k int, alpha T, a []T, lda, strideA int, b []T, ldb, strideB int, beta T, c []T, ldc, strideC int, count int)) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][4]int{{3, 5, 7, 4}, {40, 30, 20, 9}, {100, 100, 100, 3}, {0, 4, 4, 2}, {4, 4, 0, 2}} {
		m, n, k, count := s[0], s[1], s[2], s[3]
		sa, sb, sc := m*k+3, 0, m*n+1 // B shared
		a, b, c := randT[T](r, count*sa), randT[T](r, n*k), randT[T](r, count*sc)
		c0 := append([]T(nil), c...)
		batched(false, true, m, n, k, 2, a, max(1, k), sa, b, max(1, k), sb, -1, c, max(1, n), sc, count)
		for i := 0; i < count; i++ {
			want, bound := naiveGemm(false, true, m, n, k, 2, a[i*sa:], max(1, k), b, max(1, k), -1, c0[i*sc:], max(1, n))
			for e := range want {
				got := c[i*sc+e]
				if !(math.Abs(float64(got)-want[e]) <= bound[e]) {
					t.Fatalf("%T %v item %d elem %d: %v want %v", got, s, i, e, got, want[e])
				}
			}
			if m*n > 0 && c[i*sc+m*n] != c0[i*sc+m*n] {
				t.Fatalf("%v: gap between C matrices written", s)
			}
		}
	}
}

func TestGemmPanics(t *testing.T) {
	for i, f := range []func(){
		func() {
			Dgemm(false, false, 2, 2, 2, 1, make([]float64, 3), 2, make([]float64, 4), 2, 0, make([]float64, 4), 2)
		},
		func() {
			Dgemm(false, false, 2, 2, 2, 1, make([]float64, 4), 1, make([]float64, 4), 2, 0, make([]float64, 4), 2)
		},
		func() { Dgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
		func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 3), 2, 0, make([]float32, 4), 2)
		},
		func() {
			Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: no panic", i)
				}
			}()
			f()
		}()
	}
}

func FuzzDgemm(f *testing.F) {
	addSeeds(f)
	kns := availableKernels()
	f.Fuzz(func(t *testing.T, m, n, k, trans, sel uint8) {
		r := rand.New(rand.NewPCG(uint64(m)<<16|uint64(n)<<8|uint64(k), uint64(trans)))
		kn := kns[int(sel)%len(kns)]
		checkOne(t, r, kn, 1+int(sel)%3, trans&1 != 0, trans&2 != 0, int(m), int(n), int(k), 1.25, float64(int(trans>>2)%3)-1)
	})
}

func FuzzSgemm(f *testing.F) {
	addSeeds(f)
	kns := availableKernels32()
	f.Fuzz(func(t *testing.T, m, n, k, trans, sel uint8) {
		r := rand.New(rand.NewPCG(uint64(m)<<16|uint64(n)<<8|uint64(k), uint64(trans)))
		kn := kns[int(sel)%len(kns)]
		checkOne(t, r, kn, 1+int(sel)%3, trans&1 != 0, trans&2 != 0, int(m), int(n), int(k), 1.25, float32(int(trans>>2)%3)-1)
	})
}

func addSeeds(f *testing.F) {
	f.Add(uint8(3), uint8(17), uint8(5), uint8(0), uint8(1))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(3), uint8(0))
	f.Add(uint8(129), uint8(33), uint8(64), uint8(1), uint8(2))
	f.Add(uint8(0), uint8(7), uint8(9), uint8(2), uint8(3))
	f.Add(uint8(200), uint8(255), uint8(0), uint8(2), uint8(1))
	f.Add(uint8(64), uint8(96), uint8(200), uint8(1), uint8(4))
}
