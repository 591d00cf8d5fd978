package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The worker pool. A parallel loop hands its tasks out through an atomic
// counter; the calling goroutine always takes part, and helper goroutines
// join only when they are idle at the moment the loop starts (a non-blocking
// hand-off), so nested or concurrent parallel loops can never deadlock.
// Which worker runs which task never changes a result: every task writes a
// disjoint part of the output and does its own reduction in a fixed order.

type job struct {
	fn   func(task int)
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func (j *job) run() {
	for {
		t := j.next.Add(1) - 1
		if t >= j.n {
			return
		}
		j.fn(int(t))
	}
}

type workerPool struct {
	mu      sync.Mutex
	workers int         // total workers, the caller included
	jobs    chan *job   // unbuffered: a send succeeds only to an idle helper
	quit    []chan bool // one per helper, to stop it
}

var pool = newPool(runtime.GOMAXPROCS(0))

func newPool(n int) *workerPool {
	p := &workerPool{jobs: make(chan *job)}
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
		go p.helper(q)
	}
	p.workers = n
}

func (p *workerPool) helper(quit chan bool) {
	for {
		select {
		case j := <-p.jobs:
			j.run()
			j.wg.Done()
		case <-quit:
			return
		}
	}
}

func (p *workerPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}

// parallelFor runs fn(0..n-1), each exactly once, on up to the pool's
// number of workers, and returns when all have finished.
func (p *workerPool) parallelFor(n int, fn func(task int)) {
	if n <= 0 {
		return
	}
	w := p.size()
	if w > n {
		w = n
	}
	if w <= 1 {
		for t := 0; t < n; t++ {
			fn(t)
		}
		return
	}
	j := &job{fn: fn, n: int64(n)}
	for i := 0; i < w-1; i++ {
		j.wg.Add(1)
		select {
		case p.jobs <- j:
		default:
			j.wg.Done()
		}
	}
	j.run()
	j.wg.Wait()
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
