package enter

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"urun/internal/rawfork"
	"urun/proc"
)

// nsFD is one namespace to enter: an open /proc/PID/ns/<type> file.
type nsFD struct {
	fd    int
	kind  uintptr // CLONE_NEW*
	later bool    // set by the child: EPERM before the user namespace, retried after it
}

// forkArgs is everything the child needs, prepared by the parent: after
// the fork the child may not allocate, so no Go value is built there.
type forkArgs struct {
	others   []nsFD // net, ipc, uts, cgroup: before the user namespace if possible
	user     int    // -1: the container shares ours
	mnt      int
	root     int                // /proc/PID/root: chroot there once in the mount namespace
	forkPID  bool               // others has a pid namespace: fork once more to be in it
	caps     *proc.RawSetupCaps // raised when root is not mapped (see below)
	keep     []int              // fds that must survive execve (sync, preserved ones)
	exe      int                // urun itself, opened before the mount namespace changes
	argv     []*byte            // nil-terminated
	envv     []*byte
	empty    *byte // ""
	dot      *byte // "."
	errPipe  int   // the child writes step+errno here on failure
	errBuf   rawfork.Report
	pidfdOut int32 // CLONE_PIDFD's result
}

// Steps the child reports on failure (errBuf[0]).
const (
	stepOther byte = iota + 1
	stepUser
	stepMnt
	stepRoot
	stepFD
	stepExec
	stepForkPID
	stepCaps
	stepForked // not a failure: the process is the child's child, PID in the errno bytes
)

var stepNames = map[byte]string{
	stepOther: "enter the container's namespace", stepUser: "enter the container's user namespace",
	stepMnt: "enter the container's mount namespace", stepRoot: "chroot to the container's root",
	stepFD: "pass file descriptors", stepExec: "execute urun inside the container",
	stepForkPID: "fork into the container's pid namespace", stepCaps: "keep the capabilities for the set-up (ambient)",
}

// forkEnter forks; the child enters the namespaces in a's order, chroots to
// the container's root and execs urun (which then applies process.* with
// the Go runtime; see child.go). A plain fork, not Go's ForkExec, because
// setns into a user namespace needs a single-threaded caller: the forked
// child is, and it runs only raw system calls until execve. It returns the
// child's PID and a pidfd for it.
//
// The child runs in this function's frame and calls only nosplit
// functions (syscall.RawSyscall*): after BeforeFork any stack growth
// throws. The caller holds syscall.ForkLock.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkEnter(a *forkArgs) (pid int, err syscall.Errno) {
	if pid, err = rawfork.Clone(unix.CLONE_PIDFD, &a.pidfdOut); err != 0 || pid != 0 {
		return pid, err
	}

	// The child. Only raw system calls from here on.
	var step byte
	var e syscall.Errno
	var r1 uintptr
	var i int
	// A namespace owned by an outer user namespace (podman's network) is
	// entered while we still have that namespace's capabilities; one the
	// container's user namespace owns needs them there: retry after it.
	for i = 0; i < len(a.others); i++ {
		if _, _, e = syscall.RawSyscall(unix.SYS_SETNS, uintptr(a.others[i].fd), a.others[i].kind, 0); e == syscall.EPERM {
			a.others[i].later = true
		} else if e != 0 {
			step = stepOther
			goto fail
		}
	}
	if a.user >= 0 {
		if _, _, e = syscall.RawSyscall(unix.SYS_SETNS, uintptr(a.user), syscall.CLONE_NEWUSER, 0); e != 0 {
			step = stepUser
			goto fail
		}
		// Become the namespace's root, if it is mapped, so that urun keeps
		// its capabilities across the execve below (an unmapped uid would
		// lose them).
		syscall.RawSyscall(syscall.SYS_SETRESGID, 0, 0, 0)
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETRESUID, 0, 0, 0); e != 0 {
			// Root is not mapped (a joined keep-id namespace): keep the
			// capabilities setns gave across the execve in the ambient set,
			// as create's set-up does; the child drops them
			// (proc.EndSetupCaps) before the command's exec.
			if _, e = a.caps.Raise(); e != 0 {
				step = stepCaps
				goto fail
			}
		}
	}
	for i = 0; i < len(a.others); i++ {
		if a.others[i].later {
			if _, _, e = syscall.RawSyscall(unix.SYS_SETNS, uintptr(a.others[i].fd), a.others[i].kind, 0); e != 0 {
				step = stepOther
				goto fail
			}
		}
	}
	if _, _, e = syscall.RawSyscall(unix.SYS_SETNS, uintptr(a.mnt), syscall.CLONE_NEWNS, 0); e != 0 {
		step = stepMnt
		goto fail
	}
	// setns already made the namespace's root ours; the container
	// process's own root is the one that counts.
	if _, _, e = syscall.RawSyscall(syscall.SYS_FCHDIR, uintptr(a.root), 0, 0); e != 0 {
		step = stepRoot
		goto fail
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_CHROOT, uintptr(unsafe.Pointer(a.dot)), 0, 0); e != 0 {
		step = stepRoot
		goto fail
	}
	for i = 0; i < len(a.keep); i++ {
		if _, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(a.keep[i]), syscall.F_SETFD, 0); e != 0 {
			step = stepFD
			goto fail
		}
	}
	// setns into a pid namespace places only later children in it: the
	// process is a child of this one, made our parent's (CLONE_PARENT);
	// this one reports its PID and exits.
	if a.forkPID {
		r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD|unix.CLONE_PARENT), 0, 0, 0, 0, 0)
		if e != 0 {
			step = stepForkPID
			goto fail
		}
		if r1 != 0 {
			step, e = stepForked, syscall.Errno(r1)
			goto fail // reports the PID, exits
		}
	}
	_, _, e = syscall.RawSyscall6(unix.SYS_EXECVEAT, uintptr(a.exe), uintptr(unsafe.Pointer(a.empty)),
		uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])), unix.AT_EMPTY_PATH, 0)
	step = stepExec

fail:
	rawfork.Fail(a.errPipe, &a.errBuf, step, e)
	return 0, 0 // not reached
}
