package scaffold

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// EndWatcherIn looks for the watcher's key in the raw state before
// decoding it: the key it looks for must be the one Save writes, and a
// recorded watcher must still be ended.
func TestEndWatcherIn(t *testing.T) {
	dir := t.TempDir()
	if err := EndWatcherIn(dir, time.Second); err != nil { // no state at all
		t.Fatal(err)
	}
	w := exec.Command("sleep", "60")
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	start, _, err := ProcStart(w.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(&State{Watcher: &ProcRef{Pid: w.Process.Pid, Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := EndWatcherIn(dir, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("the watcher recorded in %s was not ended", data)
	}
}
