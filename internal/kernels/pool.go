package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool. A parallel loop is published as a job whose tasks are
// handed out through an atomic counter; the calling goroutine always takes
// part, and helper goroutines join when they see the job. Helpers spin for a
// short while after their last job before they park, because waking a
// parked goroutine costs tens of microseconds, as much as a small GEMM.
// Nested or concurrent parallel loops cannot deadlock: a caller never waits
// for a task that nobody has started.
// Which worker runs which task never changes a result: every task writes a
// disjoint part of the output and does its own reduction in a fixed order.

type job struct {
	fn       func(task int)
	n        int64
	ranges   []taskRange  // one per worker: worker i starts with ranges[i]
	left     atomic.Int64 // tasks not yet handed out
	finished atomic.Int64 // tasks done
	done     chan struct{}
}

// taskRange is a contiguous share of a job's tasks. Giving each worker the
// same share every time keeps the parts of C it writes in its own cache
// (migrating dirty lines between cores costs more than a small GEMM).
type taskRange struct {
	next atomic.Int64
	end  int64
	_    [48]byte // keep cursors on separate cache lines
}

// run does tasks of j, starting with worker id's own range, then stealing
// from the others, until none is left to hand out.
func (j *job) run(id int) {
	nr := len(j.ranges)
	for r := 0; r < nr; r++ {
		tr := &j.ranges[(id+r)%nr]
		for tr.next.Load() < tr.end {
			t := tr.next.Add(1) - 1
			if t >= tr.end {
				break
			}
			j.left.Add(-1)
			j.fn(int(t))
			if j.finished.Add(1) == j.n {
				close(j.done)
			}
		}
	}
}

type workerPool struct {
	mu      sync.Mutex
	workers atomic.Int32           // total workers, the caller included; written under mu
	queue   atomic.Pointer[[]*job] // copy on write, under mu; read without it
	wake    chan struct{}          // tokens for parked helpers
	quit    []chan bool            // one per helper, to stop it
}

// spinTime is how long an idle helper looks for work before it parks.
const spinTime = 200 * time.Microsecond

var pool = newPool(runtime.GOMAXPROCS(0))

func newPool(n int) *workerPool {
	p := &workerPool{wake: make(chan struct{}, 1024)}
	p.resize(n)
	return p
}

func (p *workerPool) resize(n int) {
	if n < 1 {
		n = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.quit) > n-1 {
		q := p.quit[len(p.quit)-1]
		p.quit = p.quit[:len(p.quit)-1]
		close(q)
	}
	for len(p.quit) < n-1 {
		q := make(chan bool)
		p.quit = append(p.quit, q)
		go p.helper(q, len(p.quit))
	}
	p.workers.Store(int32(n))
}

// take returns a queued job with tasks left, or nil. It takes no lock:
// idle helpers call it in a loop.
func (p *workerPool) take() *job {
	q := p.queue.Load()
	if q == nil {
		return nil
	}
	for _, j := range *q {
		if j.left.Load() > 0 {
			return j
		}
	}
	return nil
}

// setQueue replaces the queue (under p.mu).
func (p *workerPool) setQueue(q []*job) {
	if len(q) == 0 {
		p.queue.Store(nil)
		return
	}
	p.queue.Store(&q)
}

func (p *workerPool) helper(quit chan bool, id int) {
	for {
		deadline := time.Now().Add(spinTime)
		for spins := 0; ; spins++ {
			if j := p.take(); j != nil {
				j.run(id)
				deadline = time.Now().Add(spinTime)
				continue
			}
			if spins%64 == 63 {
				select {
				case <-quit:
					return
				default:
				}
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		select {
		case <-p.wake:
		case <-quit:
			return
		}
	}
}

func (p *workerPool) size() int { return int(p.workers.Load()) }

// parallelFor runs fn(0..n-1), each exactly once, on up to the pool's
// number of workers, and returns when all have finished.
func (p *workerPool) parallelFor(n int, fn func(task int)) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	w := p.size()
	if w <= 1 || n == 1 {
		p.mu.Unlock()
		for t := 0; t < n; t++ {
			fn(t)
		}
		return
	}
	j := &job{fn: fn, n: int64(n), done: make(chan struct{}), ranges: make([]taskRange, min(w, n))}
	for i := range j.ranges {
		j.ranges[i].next.Store(int64(i * n / len(j.ranges)))
		j.ranges[i].end = int64((i + 1) * n / len(j.ranges))
	}
	j.left.Store(int64(n))
	var q []*job
	if old := p.queue.Load(); old != nil {
		q = append(q, *old...)
	}
	p.setQueue(append(q, j))
	helpers := len(p.quit)
	p.mu.Unlock()
	for i := 0; i < min(w, n)-1 && len(p.wake) < helpers; i++ {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	j.run(0)
	p.mu.Lock()
	var rest []*job
	for _, q := range *p.queue.Load() {
		if q != j {
			rest = append(rest, q)
		}
	}
	p.setQueue(rest)
	p.mu.Unlock()
	for spins := 0; j.finished.Load() < j.n; spins++ {
		if spins > 1000 {
			<-j.done
			break
		}
		runtime.Gosched()
	}
}

// SetWorkers sets the number of workers (goroutines, the caller included)
// the kernels use; n < 1 means runtime.GOMAXPROCS(0). Results do not depend
// on it, bit for bit.
func SetWorkers(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	pool.resize(n)
}

// Workers returns the number of workers the kernels use.
func Workers() int { return pool.size() }

// ParallelFor runs fn(0..n-1) on the kernels' worker pool.
func ParallelFor(n int, fn func(task int)) { pool.parallelFor(n, fn) }
