package members

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Only ESRCH from pidfd_open means the process is gone: out of
// descriptors (EMFILE), Signal and KillWait say so instead of reporting a
// live process gone (delete would then remove the state of a running
// container and leave its process behind).
func TestPidfdErrorIsNotGone(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	start, _, err := ProcStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	s := ProcRef{Pid: cmd.Process.Pid, Start: start}

	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	// No new descriptor can be opened: pidfd_open fails with EMFILE.
	noFDs := syscall.Rlimit{Cur: 0, Max: saved.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &noFDs); err != nil {
		t.Fatal(err)
	}
	sigErr := Signal(s, syscall.Signal(0))
	killErr := KillWait(s, time.Second)
	_, _, openErr := openProc(s.Pid, 0, start)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"Signal": sigErr, "KillWait": killErr, "openProc": openErr} {
		if err == nil || err == errNotIt || !strings.Contains(err.Error(), "too many open files") {
			t.Errorf("%s with pidfd_open failing on EMFILE: %v; want the EMFILE error", name, err)
		}
	}
	if !Alive(s.Pid, start) {
		t.Fatal("the process died")
	}
	// ESRCH is gone.
	cmd.Process.Kill()
	cmd.Wait()
	if err := KillWait(s, time.Second); err != nil {
		t.Errorf("KillWait of an exited process: %v", err)
	}
	if err := Signal(s, syscall.Signal(0)); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("Signal to an exited process: %v", err)
	}
}
