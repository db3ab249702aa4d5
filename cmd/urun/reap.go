package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"urun/scaffold"
	"urun/ulog"
)

// run is the container's subreaper (PR_SET_CHILD_SUBREAPER): every process
// the command leaves behind, in whatever namespaces it made, ends up as
// run's child. So run reaps them as they come (no zombies pile up in a
// long run) and, when the command exits, kills what is left: what runc
// does by removing the container's cgroup. Children urun already had when
// it started (a shell may exec urun after starting others) are not the
// container's: they are left alone.

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

// killDescendants sends SIGKILL to every process below this one but those
// in keep (and below them), waits for them to go and reaps them, round
// after round, as a process forked meanwhile becomes ours when its parent
// dies. It gives up after timeout (a process stuck in the kernel). It
// returns how many it killed.
func killDescendants(keep map[int]uint64, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	killed := 0
	for {
		ps := scaffold.Descendants(os.Getpid(), keep)
		if len(ps) == 0 {
			reapExited()
			return killed
		}
		for _, p := range ps {
			if unix.PidfdSendSignal(p.FD, unix.SIGKILL, nil, 0) == nil {
				killed++
			}
		}
		for _, p := range ps {
			ms := int(time.Until(deadline).Milliseconds())
			if ms < 0 {
				ms = 0
			}
			scaffold.Exited(p.FD, ms)
			unix.Close(p.FD)
		}
		reapExited()
		if time.Now().After(deadline) {
			ulog.L.Warn().Msgf("processes the container left behind did not exit within %s of SIGKILL", timeout)
			return killed
		}
	}
}
