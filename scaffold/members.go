package scaffold

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// With no PID namespace and no cgroup, the container's processes are
// found by the mount namespace the placeholder created (State.MntNS): its
// children and their children keep it, even the ones that call setsid.
//
// A namespace's inode number can be reused once the namespace is gone.
// While the container's main process lives the namespace is certainly
// its own; once it has exited, a process must also still be in the
// container's session (the placeholder is a session leader and the
// kernel does not reuse a PID that names a live session), so a later
// container that got the same inode number is left alone. That leaves a
// process that called setsid and outlived the main process unfound by
// delete (urun run, which holds the namespace open, does find it).
//
// Reading another process's namespace link needs ptrace-read access:
// urun has it from the user namespace it created the container in (as
// buildah calls it), not from a sibling namespace.

// member is one process of the container, held by a pidfd so a reused
// PID is never signalled.
type member struct {
	pid   int
	pidfd int
}

// members returns the container's processes other than its main one.
// pinned says the caller holds the namespace open (so its inode number is
// not reused). The caller closes them (closeMembers).
func (s *State) members(pinned bool) []member {
	if s.MntNS == "" {
		return nil // state from an older urun
	}
	mainAlive := s.Pid > 0 && Alive(s.Pid, s.StartTime)
	trustNS := pinned || mainAlive
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []member
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == s.Pid || pid == os.Getpid() {
			continue
		}
		sid, start, ok := procSession(pid)
		if !ok || (!trustNS && sid != s.Pid) {
			continue
		}
		// In the session of a live main process: certainly ours (its PID
		// cannot be reused while it lives). Else the namespace decides,
		// read only when needed (a readlink is most of the cost here).
		if !(mainAlive && sid == s.Pid) {
			if ns, err := os.Readlink("/proc/" + n + "/ns/mnt"); err != nil || ns != s.MntNS {
				continue
			}
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		// The pidfd pins this exact process only if it is still the one
		// we checked.
		if _, again, ok := procSession(pid); !ok || again != start {
			unix.Close(fd)
			continue
		}
		out = append(out, member{pid: pid, pidfd: fd})
	}
	return out
}

// procSession reads a process's session ID and start time.
func procSession(pid int) (sid int, start uint64, ok bool) {
	f, err := statFields(pid)
	if err != nil {
		return 0, 0, false
	}
	sid, err1 := strconv.Atoi(f[3])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	return sid, start, err1 == nil && err2 == nil
}

func closeMembers(ms []member) {
	for _, m := range ms {
		unix.Close(m.pidfd)
	}
}

// SignalAll sends sig to the main process and every other process of the
// container (kill --all). It fails only when no process got the signal.
func (s *State) SignalAll(sig unix.Signal) error {
	ms := s.members(false)
	defer closeMembers(ms)
	err := s.Signal(sig)
	sent := 0
	for _, m := range ms {
		if unix.PidfdSendSignal(m.pidfd, sig, nil, 0) == nil {
			sent++
		}
	}
	if err != nil && sent > 0 {
		return nil
	}
	return err
}

// KillAll ends the container's main process and every other process in
// it with SIGKILL, and waits (up to timeout) until all have exited: what
// delete does, as runc does by destroying the cgroup.
func (s *State) KillAll(timeout time.Duration) error {
	ms := s.members(false) // before the main process dies: see above
	defer closeMembers(ms)
	for _, m := range ms {
		unix.PidfdSendSignal(m.pidfd, unix.SIGKILL, nil, 0) //nolint:errcheck // may have exited
	}
	if err := s.KillWait(timeout); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for _, m := range ms {
		if err := waitPidfd(m.pidfd, m.pid, deadline); err != nil {
			return err
		}
	}
	return nil
}

// KillLeftovers ends, with SIGKILL, the processes a run container's command
// left in its mount namespace, which the caller (urun run) holds open.
// It does not wait for them.
func (s *State) KillLeftovers() int {
	ms := s.members(true)
	for _, m := range ms {
		unix.PidfdSendSignal(m.pidfd, unix.SIGKILL, nil, 0) //nolint:errcheck // may have exited
	}
	closeMembers(ms)
	return len(ms)
}
