// Package rawfork holds what urun's two hand-made forks share (enter's,
// into a running container, and spawn's in-process executor's): the
// Go runtime's fork hooks and the child's failure report.
package rawfork

import (
	"syscall"
	"unsafe"
)

// The Go runtime's fork hooks, as package syscall uses them around its own
// fork. They are linkname-able on purpose (go.dev/issue/67401: gVisor
// uses them): BeforeFork blocks signals and stops the stack from growing,
// AfterForkInChild resets signal handlers and the mask. Between
// BeforeFork and execve the child may call only nosplit functions
// (syscall.RawSyscall*) and must not allocate.
//
//go:linkname BeforeFork syscall.runtime_BeforeFork
func BeforeFork()

//go:linkname AfterFork syscall.runtime_AfterFork
func AfterFork()

//go:linkname AfterForkInChild syscall.runtime_AfterForkInChild
func AfterForkInChild()

// Clone forks (clone(2) with flags and SIGCHLD) between the Go runtime's
// fork hooks, the one way urun's hand-made forks start. It returns twice:
// in the parent with the child's PID, or the errno; in the child with 0,
// its signal handlers reset and its mask restored, where from then on only
// nosplit functions (syscall.RawSyscall*) on memory prepared before the
// call may run, up to execve or Fail. pidfd, if not nil, receives the
// child's pidfd (flags then include CLONE_PIDFD).
//
//go:nosplit
//go:norace
//go:nocheckptr
func Clone(flags uintptr, pidfd *int32) (pid int, err syscall.Errno) {
	BeforeFork()
	r1, _, e1 := syscall.RawSyscall6(syscall.SYS_CLONE, flags|uintptr(syscall.SIGCHLD), 0, uintptr(unsafe.Pointer(pidfd)), 0, 0, 0)
	if e1 != 0 || r1 != 0 {
		AfterFork()
		return int(r1), e1
	}
	AfterForkInChild()
	return 0, 0
}

// Report is what a forked child writes on its error pipe when a step
// fails: the step's number, then the errno, little-endian. The child fills
// it in place (no call); the parent reads it with Decode.
type Report [5]byte

// Decode gives the failed step and errno of a report read whole.
func (r *Report) Decode() (step byte, errno syscall.Errno) {
	return r[0], syscall.Errno(uint32(r[1]) | uint32(r[2])<<8 | uint32(r[3])<<16 | uint32(r[4])<<24)
}

// Fail is a forked child's end after a failed step: it writes the report
// to fd and exits 127. Raw system calls only, as the child must.
//
//go:nosplit
//go:norace
func Fail(fd int, r *Report, step byte, e syscall.Errno) {
	r[0] = step
	r[1] = byte(e)
	r[2] = byte(e >> 8)
	r[3] = byte(e >> 16)
	r[4] = byte(e >> 24)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&r[0])), uintptr(len(r)))
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
