package exec

import (
	"runtime"
	"testing"
	"unsafe"
)

// The free list behind NewOutput, step by step and without the garbage
// collector (a list of the test's own, which no collection ages): the
// finalizer an output gets puts its array on the list; the next output of
// that size is that array, unzeroed; an array left unused through two
// collections is let go; the list holds at most recycleMaxBytes; small
// outputs are not recycled.
func TestOutputFreeList(t *testing.T) {
	var f freeList[float64]
	const n = recycleMin + 3
	data := make([]float64, n)
	data[n-1] = 42
	f.recycle(n)(&data[0]) // what the collector does once nothing refers to data
	got := f.output(n)
	if &got[0] != &data[0] || got[n-1] != 42 {
		t.Fatalf("output returned a new array, not the recycled one")
	}
	again := f.output(n)
	if &again[0] == &data[0] {
		t.Fatal("one array handed out twice")
	}
	// Outputs handed out stay alive to the end: their finalizers would add
	// to the list.
	defer runtime.KeepAlive(again)
	defer runtime.KeepAlive(got)

	f.put(got)
	f.age() // one collection: still there
	if free := f.take(n); free == nil || &free[0] != &data[0] {
		t.Fatal("an array was let go after one collection")
	}
	f.put(got)
	f.age()
	f.age() // two collections unused: gone
	if free := f.take(n); free != nil {
		t.Fatal("an array was kept through two collections")
	}
	if f.bytes != 0 {
		t.Fatalf("the list counts %d bytes when empty", f.bytes)
	}

	big := make([]float64, recycleMaxBytes/8)
	f.put(big)
	f.put(make([]float64, n))
	if free := f.take(n); free != nil {
		t.Fatalf("the free list holds more than %d bytes", recycleMaxBytes)
	}
	if free := f.take(len(big)); free == nil || unsafe.SliceData(free) != unsafe.SliceData(big) {
		t.Fatal("an array within the limit was refused")
	}

	if small := f.output(8); len(small) != 8 || f.bytes != 0 {
		t.Fatalf("a small output: %d values, list of %d bytes", len(small), f.bytes)
	}
}
