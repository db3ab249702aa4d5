package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"urun/internal/rawfork"
	"urun/proc"
)

// A placeholder in a user namespace of its own (a subuid account's, whose
// maps newuidmap and newgidmap write, or one with a single ID) is forked by
// hand rather than with syscall.ForkExec, which returns only once the child
// has exec'd and, given maps, holds the child until it has written them:
// here the child execs at once, unmapped, and the parent, with the PID at
// once, writes the maps (or starts the helpers, run's critical path for a
// subuid account) while the child execs and its Go runtime starts. An exec
// failure comes back on the error pipe.

// spawnArgs is what the child needs, prepared by the parent: after the
// fork the child may not allocate.
type spawnArgs struct {
	fds       []int // the child's fds 0, 1, ... are dups of these
	nextfd    int   // above every fd in fds: room to move them (see forkSpawn)
	setsid    bool
	pdeathsig uintptr
	ppid      uintptr
	caps      *proc.RawSetupCaps // kept through the unmapped exec (ambient)
	path      *byte
	argv      []*byte // nil-terminated
	envv      []*byte
	errPipe   int // the child writes step+errno here on failure
	errBuf    rawfork.Report
}

// Steps the child reports on failure (errBuf[0]).
const (
	spawnSetsid byte = iota + 1
	spawnPdeathsig
	spawnFD
	spawnCaps
	spawnExec
)

var spawnSteps = map[byte]string{
	spawnSetsid: "setsid", spawnPdeathsig: "prctl(PR_SET_PDEATHSIG)", spawnFD: "pass file descriptors",
	spawnCaps: "keep the capabilities for the set-up (ambient)", spawnExec: "exec /proc/self/exe",
}

// rawSpawn starts cmd (a description, as for forkExec) in a new user and
// mount namespace, its capabilities raised into the ambient set, and sets
// cmd.Process. It returns the read end of the child's error pipe: EOF once
// the exec has succeeded, else a rawfork.Report (see spawnFailure).
func rawSpawn(cmd *exec.Cmd) (*os.File, error) {
	caps, err := proc.NewRawSetupCaps()
	if err != nil {
		return nil, err
	}
	a := &spawnArgs{caps: caps, setsid: cmd.SysProcAttr.Setsid, pdeathsig: uintptr(cmd.SysProcAttr.Pdeathsig),
		ppid: uintptr(os.Getpid())}
	a.fds = []int{int(os.Stdin.Fd()), int(os.Stdout.Fd()), int(os.Stderr.Fd())}
	for _, f := range cmd.ExtraFiles {
		a.fds = append(a.fds, int(f.Fd()))
	}
	a.nextfd = len(a.fds)
	for _, fd := range a.fds {
		a.nextfd = max(a.nextfd, fd+1)
	}
	if a.path, err = syscall.BytePtrFromString(cmd.Path); err != nil {
		return nil, err
	}
	if a.argv, err = syscall.SlicePtrFromStrings(cmd.Args); err != nil {
		return nil, err
	}
	if a.envv, err = syscall.SlicePtrFromStrings(cmd.Env); err != nil {
		return nil, err
	}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	a.errPipe = pipe[1]
	// The child gets the soft RLIMIT_NOFILE urun was given, not the one
	// the Go runtime raised for itself, as ForkExec's children do: this
	// process goes back to it (it needs no more), and the placeholder's
	// runtime then remembers it for the container's exec.
	proc.RestoreNofile()
	syscall.ForkLock.Lock()
	pid, e := forkSpawn(a)
	syscall.ForkLock.Unlock()
	unix.Close(pipe[1])
	errRd := os.NewFile(uintptr(pipe[0]), "spawn-err")
	if e != 0 {
		errRd.Close()
		return nil, &os.PathError{Op: "fork/exec", Path: cmd.Path, Err: e}
	}
	if cmd.Process, err = os.FindProcess(pid); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		errRd.Close()
		return nil, err
	}
	return errRd, nil
}

// spawnFailure is what a dead placeholder's error pipe says ("" if
// nothing: it exec'd, or it was not forked by rawSpawn).
func spawnFailure(r *os.File) string {
	if r == nil {
		return ""
	}
	var rep rawfork.Report
	if n, _ := r.Read(rep[:]); n != len(rep) {
		return ""
	}
	step, errno := rep.Decode()
	return fmt.Sprintf(": start placeholder: %s: %v", spawnSteps[step], errno)
}

// forkSpawn forks the placeholder; the child, running only raw system
// calls, starts its session, puts its descriptors in place as
// syscall.ForkExec does, raises its capabilities into the ambient set and
// execs. The caller holds syscall.ForkLock.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkSpawn(a *spawnArgs) (pid int, err syscall.Errno) {
	if pid, err = rawfork.Clone(unix.CLONE_NEWUSER|unix.CLONE_NEWNS, nil); err != 0 || pid != 0 {
		return pid, err
	}

	// The child. Only raw system calls from here on.
	var step byte
	var e syscall.Errno
	var i int
	var ppid uintptr
	if a.setsid {
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0); e != 0 {
			step = spawnSetsid
			goto fail
		}
	}
	if a.pdeathsig != 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_PDEATHSIG, a.pdeathsig, 0, 0, 0, 0); e != 0 {
			step = spawnPdeathsig
			goto fail
		}
		// The parent may have died before the prctl (as ForkExec checks).
		if ppid, _, _ = syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0); ppid != a.ppid {
			self, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
			syscall.RawSyscall(syscall.SYS_KILL, self, a.pdeathsig, 0)
		}
	}
	// Descriptors, as ForkExec places them: first move every fd that
	// pass two would overwrite before using it above all of them, then
	// dup each onto its place (a dup is not close-on-exec).
	if a.errPipe < a.nextfd {
		if _, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(a.errPipe), uintptr(a.nextfd), syscall.O_CLOEXEC); e != 0 {
			step = spawnFD
			goto fail
		}
		a.errPipe = a.nextfd
		a.nextfd++
	}
	for i = 0; i < len(a.fds); i++ {
		if a.fds[i] >= 0 && a.fds[i] < i {
			if a.nextfd == a.errPipe {
				a.nextfd++
			}
			if _, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(a.fds[i]), uintptr(a.nextfd), syscall.O_CLOEXEC); e != 0 {
				step = spawnFD
				goto fail
			}
			a.fds[i] = a.nextfd
			a.nextfd++
		}
	}
	for i = 0; i < len(a.fds); i++ {
		if a.fds[i] == i {
			_, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(i), syscall.F_SETFD, 0)
		} else {
			_, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(a.fds[i]), uintptr(i), 0)
		}
		if e != 0 {
			step = spawnFD
			goto fail
		}
	}
	// We exec unmapped (newuidmap runs meanwhile), as no uid of our
	// namespace: only ambient capabilities survive that exec.
	if _, e = a.caps.Raise(); e != 0 {
		step = spawnCaps
		goto fail
	}
	_, _, e = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)),
		uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])))
	step = spawnExec

fail:
	rawfork.Fail(a.errPipe, &a.errBuf, step, e)
	return 0, 0 // not reached
}
