package members

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPidFree: a reaped process's number is free; a session whose leader
// exited is not while a member lives (delete then scans /proc as before);
// a live process's is not.
func TestPidFree(t *testing.T) {
	if pidFree(os.Getpid()) {
		t.Error("pidFree(own pid) = true")
	}
	c := exec.Command("/bin/true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if !pidFree(c.Process.Pid) {
		t.Errorf("pidFree(%d) = false for a reaped child", c.Process.Pid)
	}
	// A session leader that leaves a member behind and exits.
	c = exec.Command("/bin/sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $!")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	member, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(member, syscall.SIGKILL)
	if sid, err := unix.Getsid(member); err != nil || sid != c.Process.Pid {
		t.Fatalf("member %d: session %d (%v), want %d", member, sid, err, c.Process.Pid)
	}
	if pidFree(c.Process.Pid) {
		t.Errorf("pidFree(%d) = true while process %d is in its session", c.Process.Pid, member)
	}
}
