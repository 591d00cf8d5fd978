package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naiveGemm is the reference: a triple loop over op(A), op(B).
// It also returns a bound on the rounding error of each element.
func naiveGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (want, bound []float64) {
	want = make([]float64, m*n)
	bound = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			v := alpha * s
			var cv float64
			if beta != 0 {
				cv = beta * c[i*ldc+j]
				v += cv
			}
			want[i*n+j] = v
			bound[i*n+j] = 4*float64(k+2)*0x1p-52*(math.Abs(alpha)*sa+math.Abs(cv)) + 1e-300
		}
	}
	return
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()*2 - 1
	}
	return s
}

// checkOne runs one product with the given kernel and worker count and
// compares with the naive loop. Padding between rows (ld > width) and
// after C must be left untouched.
func checkOne(t *testing.T, r *rand.Rand, kn *microKernel, workers int, transA, transB bool, m, n, k int, alpha, beta float64) {
	t.Helper()
	pad := r.IntN(3)
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := max(1, ac)+pad, max(1, bc)+pad, max(1, n)+pad
	a := randSlice(r, ar*lda)
	b := randSlice(r, br*ldb)
	c := randSlice(r, m*ldc+1)
	if beta == 0 {
		// C must not be read: NaN there must not propagate.
		for i := range c[:m*ldc] {
			c[i] = math.NaN()
		}
	}
	c0 := append([]float64(nil), c...)
	want, bound := naiveGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc)
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	g := gemmArgs{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}
	gemm(&g, kn, workers)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if math.Float64bits(got) != math.Float64bits(c0[i*ldc+j]) {
					t.Fatalf("%s tA=%v tB=%v %dx%dx%d: padding C[%d][%d] changed", kn.name, transA, transB, m, n, k, i, j)
				}
				continue
			}
			if w := want[i*n+j]; !(math.Abs(got-w) <= bound[i*n+j]) {
				t.Fatalf("%s workers=%d tA=%v tB=%v %dx%dx%d alpha=%v beta=%v: C[%d][%d]=%v want %v (bound %v)",
					kn.name, workers, transA, transB, m, n, k, alpha, beta, i, j, got, w, bound[i*n+j])
			}
		}
	}
	if c[m*ldc] != c0[m*ldc] {
		t.Fatalf("element past C changed")
	}
}

var awkward = []int{0, 1, 3, 17, 129}

func TestDgemmShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := awkward
	for _, kn := range availableKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, m := range sizes {
						for _, n := range sizes {
							for _, k := range sizes {
								ab := [][2]float64{{1, 0}, {-0.5, 1}, {2, -1.5}, {0, 2}}[r.IntN(4)]
								checkOne(t, r, kn, 1+r.IntN(3), tA, tB, m, n, k, ab[0], ab[1])
							}
						}
					}
				}
			}
		})
	}
}

func TestDgemmLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][3]int{{1000, 17, 129}, {129, 1000, 3}, {3000, 1, 200}, {300, 300, 600}, {33, 1000, 1000}}
	if testing.Short() {
		shapes = shapes[:3]
	}
	for _, kn := range availableKernels() {
		for _, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}, {true, false}} {
				checkOne(t, r, kn, 2, tr[0], tr[1], s[0], s[1], s[2], 1.5, 0.5)
			}
		}
	}
}

// Results must not depend on the number of workers, bit for bit.
func TestDgemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kn := range availableKernels() {
		for _, s := range [][4]int{{517, 263, 700, 0}, {64, 1000, 300, 0}, {2000, 40, 50, 0}, {3000, 1, 300, 0}, {3000, 1, 300, 1}} {
			m, n, k, tA := s[0], s[1], s[2], s[3] == 1
			a, b, c0 := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			lda := k
			if tA {
				lda = m
			}
			var ref []float64
			for _, w := range []int{1, 2, 3, 5, 8} {
				c := append([]float64(nil), c0...)
				g := gemmArgs{tA, false, m, n, k, 1, a, lda, b, n, 0.75, c, n}
				gemm(&g, kn, w)
				if ref == nil {
					ref = c
					continue
				}
				for i := range c {
					if math.Float64bits(c[i]) != math.Float64bits(ref[i]) {
						t.Fatalf("%s %v: workers=%d differs from workers=1 at %d: %v vs %v", kn.name, s, w, i, c[i], ref[i])
					}
				}
			}
		}
	}
}

func TestDgemmPublic(t *testing.T) {
	defer SetWorkers(0)
	r := rand.New(rand.NewPCG(7, 8))
	for _, w := range []int{1, 2, 4} {
		SetWorkers(w)
		if Workers() != w {
			t.Fatalf("Workers()=%d want %d", Workers(), w)
		}
		m, n, k := 150, 70, 90
		a, b, c := randSlice(r, k*m), randSlice(r, n*k), randSlice(r, m*n)
		want, bound := naiveGemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n)
		serial := append([]float64(nil), c...)
		Dgemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n)
		DgemmSerial(true, true, true, m, n, k, 1, a, m, b, k, 1, serial, n)
		for i := range c {
			if !(math.Abs(c[i]-want[i]) <= bound[i]) {
				t.Fatalf("workers=%d: C[%d]=%v want %v", w, i, c[i], want[i])
			}
			if math.Float64bits(serial[i]) != math.Float64bits(c[i]) {
				t.Fatalf("workers=%d: DgemmSerial C[%d]=%v, Dgemm %v", w, i, serial[i], c[i])
			}
		}
	}
}

func TestDgemmBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][4]int{{3, 5, 7, 4}, {40, 30, 20, 9}, {100, 100, 100, 3}, {0, 4, 4, 2}, {4, 4, 0, 2}} {
		m, n, k, count := s[0], s[1], s[2], s[3]
		sa, sb, sc := m*k+3, 0, m*n+1 // B shared
		a, b, c := randSlice(r, count*sa), randSlice(r, n*k), randSlice(r, count*sc)
		c0 := append([]float64(nil), c...)
		DgemmBatched(false, true, m, n, k, 2, a, max(1, k), sa, b, max(1, k), sb, -1, c, max(1, n), sc, count)
		for i := 0; i < count; i++ {
			want, bound := naiveGemm(false, true, m, n, k, 2, a[i*sa:], max(1, k), b, max(1, k), -1, c0[i*sc:], max(1, n))
			for e := range want {
				got := c[i*sc+e]
				if !(math.Abs(got-want[e]) <= bound[e]) {
					t.Fatalf("%v item %d elem %d: %v want %v", s, i, e, got, want[e])
				}
			}
			if m*n > 0 && c[i*sc+m*n] != c0[i*sc+m*n] {
				t.Fatalf("%v: gap between C matrices written", s)
			}
		}
	}
}

func TestDgemmPanics(t *testing.T) {
	for i, f := range []func(){
		func() {
			Dgemm(false, false, 2, 2, 2, 1, make([]float64, 3), 2, make([]float64, 4), 2, 0, make([]float64, 4), 2)
		},
		func() {
			Dgemm(false, false, 2, 2, 2, 1, make([]float64, 4), 1, make([]float64, 4), 2, 0, make([]float64, 4), 2)
		},
		func() { Dgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
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
	f.Add(uint8(3), uint8(17), uint8(5), uint8(0), uint8(1))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(3), uint8(0))
	f.Add(uint8(129), uint8(33), uint8(64), uint8(1), uint8(2))
	f.Add(uint8(0), uint8(7), uint8(9), uint8(2), uint8(3))
	f.Add(uint8(200), uint8(255), uint8(0), uint8(2), uint8(1))
	kns := availableKernels()
	f.Fuzz(func(t *testing.T, m, n, k, trans, sel uint8) {
		r := rand.New(rand.NewPCG(uint64(m)<<16|uint64(n)<<8|uint64(k), uint64(trans)))
		kn := kns[int(sel)%len(kns)]
		checkOne(t, r, kn, 1+int(sel)%3, trans&1 != 0, trans&2 != 0, int(m), int(n), int(k), 1.25, float64(int(trans>>2)%3)-1)
	})
}

var benchShapes = [][3]int{
	{1024, 1024, 1024}, {256, 256, 256}, {64, 64, 64}, {8192, 64, 64},
	{4096, 64, 2}, {8192, 256, 256}, {2560, 784, 256},
}

func BenchmarkDgemm(b *testing.B) {
	SetWorkers(runtime.GOMAXPROCS(0))
	defer SetWorkers(0)
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			b.SetBytes(int64(8 * (m*k + k*n + m*n)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Dgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
