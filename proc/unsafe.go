package proc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func unsafePointer(p *uint32) unsafe.Pointer { return unsafe.Pointer(p) }

// execve is syscall.Exec's system call without its allocations (see Exec).
func execve(argv0 *byte, argv, envv []*byte) error {
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	return e
}
