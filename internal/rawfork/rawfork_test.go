package rawfork

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// exitChild forks a child that exits with code at once; raw system calls
// only, as Clone's contract requires.
//
//go:noinline
//go:norace
func exitChild(flags uintptr, pidfd *int32, code uintptr) (int, syscall.Errno) {
	pid, err := Clone(flags, pidfd)
	if err != 0 || pid != 0 {
		return pid, err
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, code, 0, 0)
	}
}

// Clone returns in the parent with the child's PID; the child runs and
// its exit status comes back through wait4; CLONE_PIDFD fills the pidfd.
func TestClone(t *testing.T) {
	var pidfd int32 = -1
	syscall.ForkLock.Lock()
	pid, err := exitChild(unix.CLONE_PIDFD, &pidfd, 7)
	syscall.ForkLock.Unlock()
	if err != 0 || pid <= 0 {
		t.Fatalf("Clone: pid %d, %v", pid, err)
	}
	if pidfd < 0 {
		t.Errorf("CLONE_PIDFD gave no pidfd")
	} else {
		defer unix.Close(int(pidfd))
	}
	var ws unix.WaitStatus
	if _, werr := unix.Wait4(pid, &ws, 0, nil); werr != nil {
		t.Fatal(werr)
	}
	if !ws.Exited() || ws.ExitStatus() != 7 {
		t.Errorf("child status %v, want exit 7", ws)
	}
	// The parent's runtime is intact: it can still allocate and grow stacks.
	var grow func(n int) int
	grow = func(n int) int {
		var pad [256]byte
		if n == 0 {
			return int(pad[0])
		}
		return grow(n-1) + int(pad[n%256])
	}
	if grow(2000) != 0 {
		t.Error("stack after Clone")
	}
}
