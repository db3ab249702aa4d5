package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// run is the container's subreaper (PR_SET_CHILD_SUBREAPER): every process
// the command leaves behind, in whatever namespaces it made, ends up as
// run's child. So run reaps them as they come (no zombies pile up in a
// long run) and, when the command exits, kills what is left: what runc
// does by removing the container's cgroup.

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

// haveChildren reports whether this process has children left: waitid
// says ECHILD when there are none, and WNOWAIT leaves any it finds
// unreaped. Unsure means yes.
func haveChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != unix.ECHILD
}

// killDescendants sends SIGKILL to every process below this one and reaps
// until none is left; a process forked meanwhile is found on the next
// round, as its parent's death makes it ours. It returns how many it
// killed.
func killDescendants() int {
	killed := 0
	for haveChildren() {
		for _, pid := range descendants(os.Getpid()) {
			// Through a pidfd: the process cannot be reaped (and its PID
			// reused) between the lookup and the kill, except by us.
			if fd, err := unix.PidfdOpen(pid, 0); err == nil {
				if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
					killed++
				}
				unix.Close(fd)
			}
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); err == unix.ECHILD {
			break
		}
	}
	return killed
}

// descendants lists the processes below pid, children first.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}
