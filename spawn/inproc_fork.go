package spawn

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"urun/initproc"
	"urun/internal/rawfork"
)

// holdArgs is what the held child needs, prepared by the parent: after the
// fork the child may not allocate.
type holdArgs struct {
	// hold is the read end of the hold pipe. run: one byte releases the
	// child. create (listen >= 0): CommitByte commits it, and it then
	// waits for `urun start` on listen. EOF before that ends it: create
	// died.
	hold      int
	listen    int           // create: the start socket; -1 for run
	errPipe   int           // run: where the failed step and errno go; create: initproc.ReadyByte (then the start connection)
	closeFrom [4][2]uintptr // fd ranges the child closes: none of them is its own
	setgroups bool
	groups    []uint32
	uid, gid  uintptr
	rlimits   []rlimit // process.rlimits
	// path, argv and envv point into exec, one allocation (packExec).
	path, argv, envv uintptr
	pathLen          uintptr // len of the string at path, for an exec failure's report
	exec             []byte
	// heap is the Go heap mapping a lies in; keep are the ranges in it the
	// child reads (a, exec, groups, rlimits); drop is the rest, less the
	// child's stack, which the child gives up (see dropRanges).
	heap   [2]uintptr
	keep   [4][2]uintptr
	drop   [8][2]uintptr
	mark   [1]byte // initproc.HeldMark, written before the report
	ready  [1]byte // initproc.ReadyByte
	errBuf rawfork.Report
	b      [1]byte
	// rcvTimeout is initproc.StartReadTimeout; pause is how long a failed
	// accept waits before the next (ENOMEM, a full descriptor table).
	rcvTimeout unix.Timeval
	pause      unix.Timespec
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
// and no_new_privs come along). The child runs only raw system calls: it
// starts a session of its own (a signal to create's process group is not
// for it), closes every descriptor but its own, and waits on the hold
// pipe until the parent has written its ID maps and the state. run's
// child is released by one byte there; create's gets CommitByte, then
// accepts connections on the start socket until one brings StartByte (one
// that closes without it changes nothing). Then it takes process.user and
// execs the command. The caller holds syscall.ForkLock.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkHeld(a *holdArgs) (pid int, err syscall.Errno) {
	a.dropRanges(uintptr(unsafe.Pointer(&a)))
	if pid, err = rawfork.Clone(unix.CLONE_NEWUSER|unix.CLONE_NEWNS, nil); err != 0 || pid != 0 {
		return pid, err
	}

	// The child. Only raw system calls from here on.
	var step byte
	var e syscall.Errno
	var n, conn uintptr
	var gp uintptr
	var i int
	if _, _, e = syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0); e != 0 {
		step = holdSetsid
		goto fail
	}
	for i = 0; i < len(a.closeFrom); i++ {
		if a.closeFrom[i][0] <= a.closeFrom[i][1] {
			syscall.RawSyscall(unix.SYS_CLOSE_RANGE, a.closeFrom[i][0], a.closeFrom[i][1], 0)
		}
	}
	// The Go heap pages the parent had, copied by the fork, are resident
	// in the child too: give up all but the few it reads.
	for i = 0; i < len(a.drop); i++ {
		if a.drop[i][0] < a.drop[i][1] {
			syscall.RawSyscall(syscall.SYS_MADVISE, a.drop[i][0], a.drop[i][1]-a.drop[i][0], unix.MADV_DONTNEED)
		}
	}
	if a.listen >= 0 {
		syscall.RawSyscall(syscall.SYS_WRITE, uintptr(a.errPipe), uintptr(unsafe.Pointer(&a.ready[0])), 1)
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(a.errPipe), 0, 0)
	}
	n, _, e = syscall.RawSyscall(syscall.SYS_READ, uintptr(a.hold), uintptr(unsafe.Pointer(&a.b[0])), 1)
	if a.listen >= 0 {
		// create: nobody is told; the process just ends.
		if e != 0 || n != 1 || a.b[0] != initproc.CommitByte {
			goto exit // create died before committing
		}
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(a.hold), 0, 0)
		for {
			conn, _, e = syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(a.listen), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			switch e {
			case 0:
			case syscall.EINTR, syscall.ECONNABORTED:
				continue
			case syscall.EBADF, syscall.EINVAL, syscall.ENOTSOCK, syscall.EOPNOTSUPP:
				goto exit // no start socket any more: nothing can start it
			default: // ENOMEM, ENOBUFS, EMFILE, EPROTO...: try again shortly
				syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&a.pause)), 0, 0)
				continue
			}
			// A client that connects and says nothing is dropped after
			// rcvTimeout (the read fails with EAGAIN).
			syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, conn, unix.SOL_SOCKET, unix.SO_RCVTIMEO,
				uintptr(unsafe.Pointer(&a.rcvTimeout)), unsafe.Sizeof(a.rcvTimeout), 0)
			n, _, e = syscall.RawSyscall(syscall.SYS_READ, conn, uintptr(unsafe.Pointer(&a.b[0])), 1)
			if e == 0 && n == 1 && a.b[0] == initproc.StartByte {
				break
			}
			syscall.RawSyscall(syscall.SYS_CLOSE, conn, 0, 0)
		}
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(a.listen), 0, 0)
		a.errPipe = int(conn)
	} else if e != 0 || n != 1 {
		step = holdWait
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
	_, _, e = syscall.RawSyscall(syscall.SYS_EXECVE, a.path, a.argv, a.envv)
	step = holdExec

fail:
	// The mark tells the releaser's execResult that a report follows.
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(a.errPipe), uintptr(unsafe.Pointer(&a.mark[0])), 1)
	if step == holdExec { // the path, so the message names it as the placeholder's does
		syscall.RawSyscall(syscall.SYS_WRITE, uintptr(a.errPipe), a.path, a.pathLen)
	}
	rawfork.Fail(a.errPipe, &a.errBuf, step, e)
exit:
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 1, 0, 0)
	}
}

// dropRanges fills a.drop: a.heap without a.keep and the stack around sp
// (the child's frames, this one and the nosplit calls below it). Called
// on the forking goroutine's final stack, before the fork: no allocation.
// nosplit: a stack growth (or a GC shrink) at this call's prologue would
// move the stack sp points into, and the child would give up its own
// frames.
//
//go:nosplit
func (a *holdArgs) dropRanges(sp uintptr) {
	const page = 4096
	var keep [len(a.keep) + 1][2]uintptr
	copy(keep[:], a.keep[:])
	keep[0] = [2]uintptr{uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(a)) + unsafe.Sizeof(*a)}
	keep[len(a.keep)] = [2]uintptr{sp - 16<<10, sp + 16<<10}
	for i := range keep { // page-aligned, then sorted by start
		keep[i][0] &^= page - 1
		keep[i][1] = (keep[i][1] + page - 1) &^ (page - 1)
		for j := i; j > 0 && keep[j][0] < keep[j-1][0]; j-- {
			keep[j], keep[j-1] = keep[j-1], keep[j]
		}
	}
	lo, n := a.heap[0], 0
	for _, k := range keep {
		if k[1] <= lo || k[0] >= a.heap[1] {
			continue
		}
		if k[0] > lo && n < len(a.drop) {
			a.drop[n] = [2]uintptr{lo, k[0]}
			n++
		}
		lo = max(lo, k[1])
	}
	if lo < a.heap[1] && n < len(a.drop) {
		a.drop[n] = [2]uintptr{lo, a.heap[1]}
	}
}
