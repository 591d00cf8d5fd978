package exec

import (
	"errors"
	"sync/atomic"
	"testing"
)

// A team runs every task once, returns a task's error, and allocates
// nothing per run once made.
func TestTeam(t *testing.T) {
	var counts [100]atomic.Int32
	fail := -1
	tm := newTeam(func(i int) error {
		counts[i].Add(1)
		if i == fail {
			return errors.New("task failed")
		}
		return nil
	})
	for _, workers := range []int{1, 2, 4, 200} {
		for i := range counts {
			counts[i].Store(0)
		}
		if err := tm.run(workers, len(counts)); err != nil {
			t.Fatal(err)
		}
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("%d workers: task %d ran %d times", workers, i, c)
			}
		}
	}
	fail = 37
	if err := tm.run(3, len(counts)); err == nil || err.Error() != "task failed" {
		t.Fatalf("error %v, want the task's", err)
	}
	fail = -1
	if n := testing.AllocsPerRun(20, func() { _ = tm.run(3, len(counts)) }); n != 0 {
		t.Errorf("a run allocates %v times", n)
	}
}
