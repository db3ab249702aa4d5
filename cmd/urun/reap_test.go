package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// killDescendants kills a child in the container's user namespace, but
// with that namespace unknown (its lookup failed: 0) it spares every
// child: run's caller may have had children of its own before it exec'd
// urun, and those are not the container's.
func TestKillDescendantsNeedsTheNamespace(t *testing.T) {
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	alive := func(cmd *exec.Cmd) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err == nil && info.Signo == 0 // no status to collect: still running
	}

	other := start()
	if n := killDescendants(0, time.Second); n != 0 || !alive(other) {
		t.Fatalf("with the namespace unknown, killDescendants killed %d, the caller's child alive: %v", n, alive(other))
	}
	// The test's children are in its own user namespace: that one, known,
	// makes them the "container's".
	ns := userNS(os.Getpid())
	if ns == 0 {
		t.Fatal("no user namespace for this process")
	}
	if n := killDescendants(ns, 5*time.Second); n < 1 || alive(other) {
		t.Fatalf("with the namespace known, killDescendants killed %d, child alive: %v", n, alive(other))
	}
}
