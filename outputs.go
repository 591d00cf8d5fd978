package jacobi

import (
	"runtime"
	"sync"
	"unsafe"
)

// Run hands out a new output on every call. A large one is a span of
// fresh pages for the Go runtime: it is zeroed, and once the garbage
// collector has freed the last output the runtime often returns its pages
// to the operating system, so that the next one page-faults them back in.
// In a loop of Runs on a small heap that costs more than the run itself
// (a 400 KB Jacobian: 18 µs to compute, 40-150 µs to allocate).
//
// So outputs of at least recycleMin values are recycled: a finalizer on
// the output's array runs once the collector has proved that nothing
// refers to it any more (neither the tensor nor any slice of its data),
// and puts the array on a free list for the next Run of that size, which
// overwrites every value. As with sync.Pool, arrays that wait unused
// through two collections are let go, and the list holds at most
// recycleMaxBytes.
const (
	recycleMin      = 8 << 10
	recycleMaxBytes = 256 << 20
)

// freeOutputs is the free list: arrays by number of values, in two
// generations; each collection drops the older one.
var freeOutputs struct {
	sync.Mutex
	fresh, old map[int][][]float64
	bytes      int
}

func init() { onEachGC(ageFreeOutputs) }

// newOutput returns an array of n values for Run to fill completely.
func newOutput(n int) []float64 {
	if n < recycleMin {
		return make([]float64, n)
	}
	data := takeFree(n)
	if data == nil {
		data = make([]float64, n)
	}
	runtime.SetFinalizer(&data[0], func(first *float64) { putFree(unsafe.Slice(first, n)) })
	return data
}

func takeFree(n int) []float64 {
	f := &freeOutputs
	f.Lock()
	defer f.Unlock()
	for _, gen := range []map[int][][]float64{f.fresh, f.old} {
		if list := gen[n]; len(list) > 0 {
			data := list[len(list)-1]
			list[len(list)-1] = nil
			gen[n] = list[:len(list)-1]
			f.bytes -= 8 * n
			return data
		}
	}
	return nil
}

func putFree(data []float64) {
	f := &freeOutputs
	f.Lock()
	defer f.Unlock()
	if f.bytes+8*len(data) > recycleMaxBytes {
		return
	}
	if f.fresh == nil {
		f.fresh = map[int][][]float64{}
	}
	f.fresh[len(data)] = append(f.fresh[len(data)], data)
	f.bytes += 8 * len(data)
}

func ageFreeOutputs() {
	f := &freeOutputs
	f.Lock()
	defer f.Unlock()
	for n, list := range f.old {
		f.bytes -= 8 * n * len(list)
	}
	f.old, f.fresh = f.fresh, nil
}

// onEachGC calls fn after every garbage collection, from the finalizer
// goroutine: the finalizer of an unreachable sentinel re-arms itself.
func onEachGC(fn func()) {
	s := new(gcSentinel) // large enough not to share a tiny block
	runtime.SetFinalizer(s, func(*gcSentinel) {
		fn()
		onEachGC(fn)
	})
}

type gcSentinel [32]byte
