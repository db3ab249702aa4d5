package proc

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// Inherited lists the descriptors from 3 up that are open without
// FD_CLOEXEC. Right after execve those are exactly the ones the caller
// passed: a close-on-exec descriptor of the caller's was closed by the
// exec, and the Go runtime and standard library open every descriptor of
// their own (the cgroup files read for GOMAXPROCS, this directory listing)
// close-on-exec. So it tells the caller's descriptors from the runtime's
// however late it runs, as long as nothing opened one without O_CLOEXEC.
// (They come sorted: /proc lists descriptors in order.)
func Inherited() ([]int, error) {
	// Raw getdents: half the cost of os.ReadDir, and urun runs this on
	// every call (twice per container).
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("list open descriptors: open /proc/self/fd: %w", err)
	}
	defer unix.Close(dir)
	var buf [2048]byte
	var names []string
	for {
		n, err := unix.Getdents(dir, buf[:])
		if err != nil {
			return nil, fmt.Errorf("list open descriptors: %w", err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var out []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 3 || fd == dir {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			out = append(out, fd)
		}
	}
	return out, nil
}

// SetCloexec marks fds close-on-exec, so that no child urun starts (the
// placeholder, newuidmap) gets them unless they are handed to it
// explicitly (os/exec's ExtraFiles clears the flag on the child's copy).
func SetCloexec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}

// CloseStrays closes every inherited descriptor (see Inherited) that keep
// does not claim: no descriptor of the host the placeholder was not meant
// to get stays open while the container is set up, so none can be reached
// through /proc/self/fd (process.cwd = /proc/self/fd/N is the
// CVE-2024-21626 escape). The runtime's own close-on-exec ones stay: they
// close at execve, and the cwd check in Chdir covers them until then.
func CloseStrays(keep func(fd int) bool) error {
	fds, err := Inherited()
	if err != nil {
		return err
	}
	for _, fd := range fds {
		if !keep(fd) {
			unix.Close(fd)
		}
	}
	return nil
}
