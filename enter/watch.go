package enter

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"urun/members"
	"urun/store"
)

// With no PID namespace nothing ends a container's other processes when
// its main process exits, as the death of a PID namespace's init does
// with runc: podman stop counts on it, and refuses to clean up while an
// exec'd process lives. So the first exec into a container starts a
// watcher, outside the container: it holds the container's mount
// namespace open (its number cannot be reused meanwhile, so every process
// in it is the container's) and, when the main process exits, kills every
// process of the container as delete does, then exits.

// StartWatcher starts the watcher of the container whose main process is
// st.Pid (alive; st.MntNS its mount namespace), whose state directory is
// dir, and returns it.
func StartWatcher(st *store.State, dir string) (*members.ProcRef, error) {
	pidfd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		return nil, fmt.Errorf("watch the container's process: %w", err)
	}
	pf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pf.Close()
	ns, err := os.Open("/proc/" + strconv.Itoa(st.Pid) + "/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("watch the container's process: %w", err)
	}
	defer ns.Close()
	var fi unix.Stat_t
	if unix.Fstat(int(ns.Fd()), &fi) != nil || fmt.Sprintf("mnt:[%d]", fi.Ino) != st.MntNS || !members.Alive(st.Pid, st.StartTime) {
		return nil, fmt.Errorf("watch the container's process: it exited")
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{Arg0, "watch", strconv.Itoa(st.Pid), st.MntNS, dir},
		Env:         []string{},
		ExtraFiles:  []*os.File{pf, ns}, // fds 3 and 4
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the watcher: %w", err)
	}
	pid := cmd.Process.Pid
	start, _, err := members.ProcStart(pid)
	cmd.Process.Release() // it outlives us, re-parented
	if err != nil {
		return nil, fmt.Errorf("start the watcher: %w", err)
	}
	return &members.ProcRef{Pid: pid, Start: start}, nil
}

// watchMain is the watcher: urun-exec watch PID MNTNS DIR, with the main
// process's pidfd as fd 3 and its mount namespace as fd 4.
func watchMain(args []string) {
	if len(args) != 3 {
		os.Exit(2)
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		os.Exit(2)
	}
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: 3, Events: unix.POLLIN}}, -1)
		if n > 0 || (err != nil && err != unix.EINTR) {
			break
		}
	}
	// The exec'd processes first, as they are recorded: podman checks
	// them right after the main process's exit (a PID namespace would have
	// killed them before). Then the whole container, as delete does.
	killRecorded(args[2], args[1])
	ct := members.Container{Main: members.ProcRef{Pid: pid}, MntNS: args[1], Pin: os.NewFile(4, "mntns")}
	if err := members.KillAll(ct, 10*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "urun: the container of process %d: %v\n", pid, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// killRecorded sends SIGKILL to the exec'd processes the state in dir
// lists that still run and are still in the container's mount namespace.
func killRecorded(dir, mntNS string) {
	st, err := store.ReadState(dir)
	if err != nil {
		return // deleted meanwhile (KillAll still finds them), or unreadable
	}
	for _, e := range st.Execs {
		fd, err := unix.PidfdOpen(e.Pid, 0)
		if err != nil {
			continue
		}
		ns, _ := os.Readlink("/proc/" + strconv.Itoa(e.Pid) + "/ns/mnt")
		if ns == mntNS && members.Alive(e.Pid, e.Start) {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) //nolint:errcheck // it may have exited
		}
		unix.Close(fd)
	}
}
