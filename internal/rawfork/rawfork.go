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
