package exec

import (
	"sync"
	"sync/atomic"
)

// A team runs the n tasks of one run on up to w goroutines, the caller's
// included. Its task and its goroutines' function are made once, with the
// team, so that a run allocates nothing: a runner keeps one team per run
// in flight (in a sync.Pool) and the task reads that run's state.
type team struct {
	task func(i int) error
	work func() // loop, then Done: what each extra goroutine runs
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup

	mu  sync.Mutex
	err error
}

func newTeam(task func(i int) error) *team {
	t := &team{task: task}
	t.work = func() {
		t.loop()
		t.wg.Done()
	}
	return t
}

// loop runs tasks until none is left or one has failed.
func (t *team) loop() {
	for {
		i := t.next.Add(1) - 1
		if i >= t.n {
			return
		}
		if err := t.task(int(i)); err != nil {
			t.mu.Lock()
			if t.err == nil {
				t.err = err
			}
			t.mu.Unlock()
			t.next.Store(t.n) // hand out no more
			return
		}
	}
}

// run runs tasks 0..n-1 on up to workers goroutines and returns the first
// error. Which goroutine runs which task never changes a result: tasks
// write disjoint memory.
func (t *team) run(workers, n int) error {
	t.n, t.err = int64(n), nil
	t.next.Store(0)
	for range min(workers, n) - 1 {
		t.wg.Add(1)
		go t.work()
	}
	t.loop()
	t.wg.Wait()
	return t.err
}

// A stash keeps the states of runs in flight for reuse: a run takes one
// (or makes one) and puts it back. Unlike a sync.Pool it never drops them
// and has no per-processor caches, so that once as many runs have been in
// flight at once as ever will be, a run allocates nothing. It holds at
// most as many states as runs were ever in flight at once.
type stash[T any] struct {
	mu    sync.Mutex
	items []*T
	make  func() *T
}

func (s *stash[T]) get() *T {
	if it := s.tryGet(); it != nil {
		return it
	}
	return s.make()
}

// tryGet takes a stashed item, or returns nil when there is none.
func (s *stash[T]) tryGet() *T {
	s.mu.Lock()
	if n := len(s.items); n > 0 {
		it := s.items[n-1]
		s.items[n-1] = nil
		s.items = s.items[:n-1]
		s.mu.Unlock()
		return it
	}
	s.mu.Unlock()
	return nil
}

func (s *stash[T]) put(it *T) {
	s.mu.Lock()
	s.items = append(s.items, it)
	s.mu.Unlock()
}
