package exec

import (
	"container/heap"

	"github.com/jacobi-ad/jacobi/internal/workcount"
	"github.com/jacobi-ad/jacobi/tensor"
)

type bufKind int

const (
	bufInput bufKind = iota
	bufConst
	bufSlab
)

type bufInfo struct {
	kind      bufKind
	dtype     tensor.DType
	input     int    // bufInput: which input
	data      Values // bufConst
	size      int    // bufSlab: elements
	def, last int    // bufSlab: steps that write it first and read it last
	off       int    // bufSlab: offset in its dtype's slab
}

// placeSlab assigns slab offsets to the slab buffers of dtype dt by
// liveness (first fit: the lowest gap between the buffers live when a
// buffer is written that holds it, or the end of the last) and returns the
// slab size. The live buffers are kept in
// a tree ordered by offset that knows the largest gap under every node,
// and retired from a heap ordered by last reader: O(n log n) for n
// buffers, where scanning the live ones for each buffer was O(n²) on
// programs that keep many values alive (a reverse pass).
func placeSlab(bufs []bufInfo, dt tensor.DType) int {
	var live slabTree
	var retire retireHeap
	top := 0
	for i := range bufs {
		b := &bufs[i]
		if b.kind != bufSlab || b.dtype != dt {
			continue
		}
		// Drop regions whose last reader ran before this buffer is written.
		for len(retire) > 0 && retire[0].last < b.def {
			live.remove(heap.Pop(&retire).(retiring).off)
		}
		if b.size == 0 {
			b.off = 0 // takes no room
			continue
		}
		b.off = live.firstFit(b.size)
		live.insert(b.off, b.size)
		heap.Push(&retire, retiring{last: b.last, off: b.off})
		top = max(top, b.off+b.size)
	}
	return top
}

// retiring is a live region and the last step that reads it.
type retiring struct{ last, off int }

// retireHeap orders live regions by their last reader (then offset, so
// that the order is deterministic).
type retireHeap []retiring

func (h retireHeap) Len() int { return len(h) }
func (h retireHeap) Less(i, j int) bool {
	return h[i].last < h[j].last || h[i].last == h[j].last && h[i].off < h[j].off
}
func (h retireHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *retireHeap) Push(x any)   { *h = append(*h, x.(retiring)) }
func (h *retireHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// slabTree is a treap of disjoint regions ordered by offset; every node
// knows its subtree's first offset, last end and largest gap between two
// of its regions.
type slabTree struct {
	root *slabNode
	seq  uint64 // for the nodes' priorities
}

type slabNode struct {
	off, end    int
	prio        uint64
	left, right *slabNode
	lo, hi, gap int // the subtree's first offset, last end, largest inner gap
}

func (n *slabNode) update() {
	n.lo, n.hi, n.gap = n.off, n.end, 0
	if l := n.left; l != nil {
		n.lo = l.lo
		n.gap = max(n.gap, l.gap, n.off-l.hi)
	}
	if r := n.right; r != nil {
		n.hi = r.hi
		n.gap = max(n.gap, r.gap, r.lo-n.end)
	}
}

// firstFit returns the lowest offset from 0 at which size fits between the
// regions, or the end of the last one.
func (t *slabTree) firstFit(size int) int {
	if t.root == nil {
		return 0
	}
	if off, ok := t.root.find(0, size); ok {
		return off
	}
	return t.root.hi
}

// find looks for the first gap of at least size in n's subtree, the gap
// before its first region starting at prev.
func (n *slabNode) find(prev, size int) (int, bool) {
	workcount.Add(1)
	if n.lo-prev >= size {
		return prev, true
	}
	before := prev
	if l := n.left; l != nil {
		if l.gap >= size {
			return l.find(prev, size)
		}
		before = l.hi
	}
	if n.off-before >= size {
		return before, true
	}
	if r := n.right; r != nil && (r.lo-n.end >= size || r.gap >= size) {
		return r.find(n.end, size)
	}
	return 0, false
}

func (t *slabTree) insert(off, size int) {
	t.seq++
	// splitmix64 of a counter: priorities that balance the treap, the same
	// on every run.
	z := t.seq * 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	n := &slabNode{off: off, end: off + size, prio: z ^ z>>31}
	n.update()
	l, r := split(t.root, off)
	t.root = merge(merge(l, n), r)
}

func (t *slabTree) remove(off int) {
	l, r := split(t.root, off) // l: offsets < off
	_, r = split(r, off+1)     // drop the region at off
	t.root = merge(l, r)
}

// split cuts n into the regions at offsets below off and the others.
func split(n *slabNode, off int) (*slabNode, *slabNode) {
	workcount.Add(1)
	if n == nil {
		return nil, nil
	}
	if n.off < off {
		l, r := split(n.right, off)
		n.right = l
		n.update()
		return n, r
	}
	l, r := split(n.left, off)
	n.left = r
	n.update()
	return l, n
}

// merge joins two treaps, every offset of a below every offset of b.
func merge(a, b *slabNode) *slabNode {
	workcount.Add(1)
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = merge(a.right, b)
		a.update()
		return a
	}
	b.left = merge(a, b.left)
	b.update()
	return b
}
