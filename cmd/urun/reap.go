package main

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"urun/members"
	"urun/ulog"
)

// run is the container's subreaper (PR_SET_CHILD_SUBREAPER): every process
// the command leaves behind, in whatever namespaces it made, ends up as
// run's child. So run reaps them as they come (no zombies pile up in a
// long run) and, when the command exits, kills what is left: what runc
// does by removing the container's cgroup. Only processes in the user
// namespace urun created for the container, or one below it, are the
// container's (none can leave it): a shell's earlier children (`cmd &
// exec urun run`) and what they leave are spared.

// waitMain reaps children until pid exits and returns its status.
func waitMain(pid int) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || p == pid {
			return ws, err
		}
	}
}

// haveChildren reports whether this process has children: waitid says
// ECHILD when there are none, and WNOWAIT leaves any it finds unreaped.
// Unsure means yes.
func haveChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != unix.ECHILD
}

// reapExited reaps every child that has exited, without waiting.
func reapExited() {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || p <= 0 {
			return
		}
	}
}

// userNS is the inode of a process's user namespace (0 if unknown).
func userNS(pid int) uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/user", &st) != nil {
		return 0
	}
	return st.Ino
}

// inUserNS reports whether pid's user namespace is ns or below it,
// walking up with NS_GET_PARENT (which stops at urun's own namespace).
func inUserNS(pid int, ns uint64) bool {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // not even readable: not a namespace urun made
	}
	for depth := 0; depth < 33; depth++ { // the kernel nests 32 at most
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Ino == ns {
			unix.Close(fd)
			return true
		}
		parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if err != nil {
			return false
		}
		fd = parent
	}
	unix.Close(fd)
	return false
}

// killDescendants sends SIGKILL to every process below this one that is
// in the container's user namespace ns (or below it), waits for them to
// go and reaps them, round after round, as a process forked meanwhile
// becomes ours when its parent dies. It gives up after timeout (a process
// stuck in the kernel, or traced from outside). It returns how many it
// killed. With ns unknown (0: its lookup failed) it kills nothing: the
// caller's other children cannot be told from the container's.
func killDescendants(ns uint64, timeout time.Duration) int {
	if ns == 0 {
		ulog.L.Warn().Msg("the container's user namespace is unknown: what it left behind is not killed")
		reapExited()
		return 0
	}
	deadline := time.Now().Add(timeout)
	spare := func(pid int) bool { return !inUserNS(pid, ns) }
	killed := 0
	for {
		ps, err := members.Descendants(os.Getpid(), spare)
		if err != nil {
			ulog.L.Warn().Msgf("processes the container left behind: %v", err)
		}
		if len(ps) == 0 {
			reapExited()
			return killed
		}
		live := 0
		for _, p := range ps {
			if !members.Exited(p.FD, time.Time{}) && unix.PidfdSendSignal(p.FD, unix.SIGKILL, nil, 0) == nil {
				live++
			}
		}
		killed += live
		for _, p := range ps {
			members.Exited(p.FD, deadline)
			unix.Close(p.FD)
		}
		reapExited()
		if time.Now().After(deadline) {
			ulog.L.Warn().Msgf("processes the container left behind did not go within %s of SIGKILL", timeout)
			return killed
		}
		if live == 0 {
			// Only exited ones that are not ours to reap yet (say, traced
			// from outside): wait a little rather than spin.
			time.Sleep(10 * time.Millisecond)
		}
	}
}
