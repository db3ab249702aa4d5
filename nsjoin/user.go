package nsjoin

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"urun/internal/rawfork"
	"urun/proc"
)

// Joining a user namespace (setns CLONE_NEWUSER) is refused to a process
// with more than one thread, and every Go program has several. So the
// placeholder of a container that joins one is made in two steps:
//
//  1. urun re-executes itself as a helper in its own namespaces, with the
//     namespace files at known descriptors (spawn does this);
//  2. the helper forks a raw child: a plain fork (no shared memory) has one
//     thread, and it runs only nosplit code and raw system calls, with
//     every signal blocked, so the Go runtime copied into it never runs.
//     The child joins the user namespace, then the others (it has every
//     capability in the user namespace it joined, which owns them), makes
//     its mount namespace, raises its capabilities into the ambient set
//     (so that they survive exec when its uid is not root there; the
//     placeholder clears them before the container's exec) and execs the
//     placeholder. It is forked with CLONE_PARENT: it is urun's own child,
//     as a placeholder made directly is, and the helper exits.
//
// The helper learns the outcome over a close-on-exec pipe: end of file
// means the exec happened, else the child wrote which step failed.

// forkArgs is everything the raw child uses, built before the fork: the
// child must not allocate.
type forkArgs struct {
	fds    []uintptr // namespace files, the user namespace first
	errw   uintptr   // close-on-exec pipe to the helper
	path   *byte
	argv   []*byte // nil-terminated
	envv   []*byte
	caps   *proc.RawSetupCaps
	report [2]uint32 // step, errno
}

// Steps the child reports, after the namespace indexes.
const (
	stepUnshare = 1000 + iota
	stepSetsid
	stepCapset
	stepAmbient
	stepExec
)

// ForkInUser forks the raw child described above and returns its PID; fds
// are the namespace descriptors (user first), path and argv what it execs
// (env empty). On error the child, if any, has exited and the returned PID
// (non-zero) is still to be reaped by the caller's parent.
func ForkInUser(fds []int, path string, argv []string) (int, error) {
	a := &forkArgs{}
	for _, fd := range fds {
		a.fds = append(a.fds, uintptr(fd))
	}
	var err error
	if a.path, err = syscall.BytePtrFromString(path); err != nil {
		return 0, err
	}
	if a.argv, err = syscall.SlicePtrFromStrings(argv); err != nil {
		return 0, err
	}
	a.envv = []*byte{nil}
	if a.caps, err = proc.NewRawSetupCaps(); err != nil {
		return 0, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("pipe: %w", err)
	}
	a.errw = uintptr(p[1])

	syscall.ForkLock.Lock()
	pid, errno := forkChild(a)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(a)
	unix.Close(p[1])
	defer unix.Close(p[0])
	if errno != 0 {
		return 0, fmt.Errorf("fork: %w", errno)
	}
	var buf [8]byte
	n, _ := readFull(p[0], buf[:])
	if n == 0 {
		return int(pid), nil // exec'd
	}
	step, e := binary.NativeEndian.Uint32(buf[:4]), syscall.Errno(binary.NativeEndian.Uint32(buf[4:]))
	return int(pid), stepError(int(step), e)
}

func readFull(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Read(fd, b[n:])
		if err == unix.EINTR {
			continue
		}
		if m <= 0 {
			return n, err
		}
		n += m
	}
	return n, nil
}

// stepError names what the raw child reported failing.
func stepError(step int, e syscall.Errno) error {
	switch step {
	case stepUnshare:
		return fmt.Errorf("unshare mount namespace: %w", e)
	case stepSetsid:
		return fmt.Errorf("setsid: %w", e)
	case stepCapset:
		return fmt.Errorf("capset: %w", e)
	case stepAmbient:
		return fmt.Errorf("raise ambient capabilities: %w", e)
	case stepExec:
		return fmt.Errorf("exec placeholder: %w", e)
	}
	return &SetnsError{Index: step, Errno: e}
}

// SetnsError is a failed setns of the raw child: Index is the position in
// the descriptors given to ForkInUser.
type SetnsError struct {
	Index int
	Errno syscall.Errno
}

func (e *SetnsError) Error() string {
	return "setns: " + e.Errno.Error() + setnsHint(e.Errno)
}

// forkChild forks; the child never returns from it. Only raw system calls
// on data made before the fork: no allocation, no stack growth, no Go
// scheduler.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkChild(a *forkArgs) (int, syscall.Errno) {
	pid, e := rawfork.Clone(unix.CLONE_PARENT, nil)
	if e != 0 || pid != 0 {
		return pid, e
	}
	// The child: rawfork.Clone reset its signal handlers and mask.
	step := uintptr(0)
	var ambient bool
	for i := 0; i < len(a.fds); i++ {
		step = uintptr(i)
		if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, a.fds[i], 0, 0, 0, 0, 0); e != 0 {
			goto fail
		}
	}
	step = stepUnshare
	if _, _, e = syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0, 0, 0, 0); e != 0 {
		goto fail
	}
	// Its own session, as a placeholder made directly has (Setsid).
	step = stepSetsid
	if _, _, e = syscall.RawSyscall6(syscall.SYS_SETSID, 0, 0, 0, 0, 0, 0); e != 0 {
		goto fail
	}
	step = stepCapset
	if ambient, e = a.caps.Raise(); e != 0 {
		if ambient {
			step = stepAmbient
		}
		goto fail
	}
	step = stepExec
	_, _, e = syscall.RawSyscall6(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)), uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])), 0, 0, 0)
fail:
	a.report[0], a.report[1] = uint32(step), uint32(e)
	syscall.RawSyscall6(syscall.SYS_WRITE, a.errw, uintptr(unsafe.Pointer(&a.report[0])), 8, 0, 0, 0)
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 1, 0, 0, 0, 0, 0)
	}
}
