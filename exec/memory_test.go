package exec

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/jacobi-ad/jacobi/tensor"
)

// placeSlabScan is the first-fit placement by scanning the live buffers
// for every buffer (O(n²)): the reference placeSlab must agree with.
func placeSlabScan(bufs []bufInfo) int { // all of one dtype
	type live struct{ off, size, last int }
	var act []live
	top := 0
	for i := range bufs {
		b := &bufs[i]
		if b.kind != bufSlab {
			continue
		}
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

// placeSlab places buffers exactly as first fit by scanning does, on
// random programs: buffers written in order, read last at random later
// steps, of random sizes (some empty), among inputs and constants.
func TestPlaceSlab(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 1 + rng.IntN(60)
		bufs := make([]bufInfo, n)
		for i := range bufs {
			switch rng.IntN(8) {
			case 0:
				bufs[i] = bufInfo{kind: bufInput}
			case 1:
				bufs[i] = bufInfo{kind: bufConst}
			default:
				size := rng.IntN(100)
				if rng.IntN(10) == 0 {
					size = 0
				}
				bufs[i] = bufInfo{kind: bufSlab, dtype: tensor.Float64, size: size, def: i, last: i + rng.IntN(n-i+1)}
			}
		}
		want := slices.Clone(bufs)
		wantTop := placeSlabScan(want)
		gotTop := placeSlab(bufs, tensor.Float64)
		if gotTop != wantTop {
			t.Fatalf("trial %d: slab of %d, first fit by scanning gives %d", trial, gotTop, wantTop)
		}
		for i := range bufs {
			if bufs[i].off != want[i].off {
				t.Fatalf("trial %d: buffer %d at %d, first fit by scanning puts it at %d", trial, i, bufs[i].off, want[i].off)
			}
		}
		// No two buffers live at once overlap.
		for i, a := range bufs {
			for _, b := range bufs[i+1:] {
				if a.kind != bufSlab || b.kind != bufSlab || a.size == 0 || b.size == 0 || a.last < b.def {
					continue
				}
				if a.off < b.off+b.size && b.off < a.off+a.size {
					t.Fatalf("trial %d: live buffers [%d,%d) and [%d,%d) overlap", trial, a.off, a.off+a.size, b.off, b.off+b.size)
				}
			}
		}
	}
}

// BenchmarkPlaceSlab places the buffers of a reverse pass: n values that
// all stay live until the end, then n read once each.
func BenchmarkPlaceSlab(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			bufs := make([]bufInfo, 2*n)
			for i := range n {
				bufs[i] = bufInfo{kind: bufSlab, dtype: tensor.Float64, size: 4, def: i, last: 2*n - i}
				bufs[n+i] = bufInfo{kind: bufSlab, dtype: tensor.Float64, size: 16, def: n + i, last: n + i + 1}
			}
			for range b.N {
				placeSlab(bufs, tensor.Float64)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/buffer")
		})
	}
}
