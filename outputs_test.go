package jacobi

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// An output array that nothing refers to any more comes back, unzeroed, for
// the next output of its size, and the free list lets go of arrays left
// unused through two collections.
func TestNewOutputRecycles(t *testing.T) {
	const n = recycleMin + 3
	data := newOutput(n)
	addr := uintptr(unsafe.Pointer(&data[0]))
	data[n-1] = 42
	data = nil
	for range 100 {
		runtime.GC()
		if free := takeFree(n); free != nil {
			if got := uintptr(unsafe.Pointer(&free[0])); got != addr || free[n-1] != 42 {
				t.Fatalf("recycled array at %#x ending in %v, want %#x ending in 42", got, free[n-1], addr)
			}
			putFree(free)
			for range 100 {
				runtime.GC()
				time.Sleep(time.Millisecond)
				freeOutputs.Lock()
				left := freeOutputs.bytes
				freeOutputs.Unlock()
				if left == 0 {
					return
				}
			}
			t.Fatal("the free list kept an unused array through 100 collections")
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the array was never recycled")
}
