package store

import (
	"os/exec"
	"testing"
	"time"

	"urun/members"
)

// RecordedWatcher looks for the watcher's key in the raw state before
// decoding it: the key it looks for must be the one Save writes, and a
// recorded watcher must still be found (and ended, as run ends it).
func TestRecordedWatcher(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if w := s.RecordedWatcher("c1"); w != nil { // no state at all
		t.Fatalf("watcher of a container without state: %+v", w)
	}
	c, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Save(&State{}); err != nil {
		t.Fatal(err)
	}
	if w := s.RecordedWatcher("c1"); w != nil {
		t.Fatalf("watcher of a state without one: %+v", w)
	}
	w := exec.Command("sleep", "60")
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	start, _, err := members.ProcStart(w.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	want := members.ProcRef{Pid: w.Process.Pid, Start: start}
	if err := c.Save(&State{Watcher: &want}); err != nil {
		t.Fatal(err)
	}
	got := s.RecordedWatcher("c1")
	if got == nil || *got != want {
		t.Fatalf("RecordedWatcher = %+v, want %+v", got, want)
	}
	if err := members.EndWatcher(got, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the recorded watcher was not ended")
	}
}
