//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A named pipe given as --output is written in place, never replaced by a
// regular file: the reader at its other end gets the array.
func TestOutputFIFO(t *testing.T) {
	want := seedResult(t)
	fifo := filepath.Join(t.TempDir(), "pipe.npy")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo) // blocks until the writer opens its end
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	code, _, stderr := runBin(t, "jacobian", "--batch", "7", "--quiet", "--output", fifo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Errorf("the pipe's reader got %d bytes, not the result's %d", len(b), len(want))
		}
	case <-time.After(time.Minute):
		t.Fatal("nothing came through the pipe")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe was replaced: %v", err)
	}
}

// Ctrl-C stops a long run promptly, while it computes or writes: the exit
// status is 130 and no partial file is left. The random batch of 10⁹
// samples is drawn a piece at a time (drawn whole it would take 40 GB:
// the peak memory is checked while it runs).
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"while writing", []string{"jacobian", "--batch", "20000000", "--output", filepath.Join(dir, "j.npy"), "--quiet"}},
		{"while computing", []string{"hessian", "--batch", "1000000000", "--quiet"}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Wait for the run to be under way: the temporary file holds
			// data, or the process has run for half a second.
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				if len(c.args) > 3 && c.args[3] == "--output" {
					if tmpWithData(dir) {
						break
					}
				} else if time.Since(deadline.Add(-time.Minute)) > 500*time.Millisecond {
					break
				}
			}
			if rss := peakRSS(cmd.Process.Pid); rss > 1<<30 {
				t.Errorf("peak memory %d MB while running", rss>>20)
			}
			cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatal("still running a minute after the interrupt")
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit %d, want 130: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say it was interrupted: %q", stderr.String())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("the interrupted run left %s", ents[0].Name())
			}
		})
	}
}

// tmpWithData reports whether dir holds a temporary file with data.
func tmpWithData(dir string) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && strings.Contains(e.Name(), ".tmp") && info.Size() > 0 {
			return true
		}
	}
	return false
}

// peakRSS returns the peak resident memory of process pid in bytes (0 where
// /proc does not say).
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(rest, &kb)
			return kb << 10
		}
	}
	return 0
}
