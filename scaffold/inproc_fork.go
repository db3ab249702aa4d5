package scaffold

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"urun/internal/rawfork"
)

// holdArgs is what the held child needs, prepared by the parent: after the
// fork the child may not allocate.
type holdArgs struct {
	hold      int // read end: one byte releases the child, EOF ends it
	errPipe   int // write end: the failed step and errno
	setgroups bool
	groups    []uint32
	uid, gid  uintptr
	rlimits   []rlimit // process.rlimits
	path      *byte
	argv      []*byte // nil-terminated
	envv      []*byte
	errBuf    rawfork.Report
	b         [1]byte
}

type rlimit struct {
	res uintptr
	lim unix.Rlimit
}

// Steps the held child reports on failure (errBuf[0]).
const (
	holdWait byte = iota + 1
	holdSetsid
	holdGroups
	holdGID
	holdUID
	holdRlimit
	holdExec
)

var holdSteps = map[byte]string{
	holdWait: "wait for the release", holdSetsid: "setsid", holdGroups: "process.user.additionalGids: setgroups",
	holdGID: "process.user.gid: setresgid", holdUID: "process.user.uid: setresuid", holdRlimit: "process.rlimits: prlimit", holdExec: "exec",
}

// forkHeld forks the container process into a new user and mount
// namespace (copies of this thread's: its root, cwd, umask, bounding set
// and no_new_privs come along). The child waits, running only raw system
// calls, until the parent has written its ID maps and the state and sends
// one byte on the hold pipe; then it takes process.user and execs the
// command. The caller holds syscall.ForkLock.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkHeld(a *holdArgs) (pid int, err syscall.Errno) {
	rawfork.BeforeFork()
	r1, _, e1 := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD|unix.CLONE_NEWUSER|unix.CLONE_NEWNS), 0, 0, 0, 0, 0)
	if e1 != 0 || r1 != 0 {
		rawfork.AfterFork()
		return int(r1), e1
	}

	// The child. Only raw system calls from here on.
	rawfork.AfterForkInChild()
	var step byte
	var e syscall.Errno
	var n uintptr
	var gp uintptr
	var i int
	n, _, e = syscall.RawSyscall(syscall.SYS_READ, uintptr(a.hold), uintptr(unsafe.Pointer(&a.b[0])), 1)
	if e != 0 || n != 1 {
		step = holdWait
		goto fail
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0); e != 0 {
		step = holdSetsid
		goto fail
	}
	// Before the uid change, which takes the capability to raise a hard
	// limit.
	for i = 0; i < len(a.rlimits); i++ {
		if _, _, e = syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, a.rlimits[i].res, uintptr(unsafe.Pointer(&a.rlimits[i].lim)), 0, 0, 0); e != 0 {
			step = holdRlimit
			goto fail
		}
	}
	if a.setgroups {
		if len(a.groups) > 0 {
			gp = uintptr(unsafe.Pointer(&a.groups[0]))
		}
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(a.groups)), gp, 0); e != 0 {
			step = holdGroups
			goto fail
		}
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_SETRESGID, a.gid, a.gid, a.gid); e != 0 {
		step = holdGID
		goto fail
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_SETRESUID, a.uid, a.uid, a.uid); e != 0 {
		step = holdUID
		goto fail
	}
	_, _, e = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)),
		uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])))
	step = holdExec

fail:
	rawfork.Fail(a.errPipe, &a.errBuf, step, e)
	return 0, 0 // not reached
}
