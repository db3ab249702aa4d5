package scaffold

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"urun/ulog"
)

// With no PID namespace and no cgroup, the container's other processes
// (for kill --all and delete; urun run, their subreaper, has an easier
// way: see cmd/urun/reap.go) are found three ways:
//
//   - by the mount namespace the placeholder created (State.MntNS): its
//     descendants keep it, even the ones that call setsid;
//   - by the session the placeholder leads (it calls setsid), for those
//     that made a mount namespace of their own;
//   - as children of a process found either way.
//
// A namespace's inode number can be reused once the namespace is gone. So
// the namespace counts only while urun holds it open, which it does by
// opening the main process's namespace while that process lives (checked
// by start time after the open). Once the main process has exited, a
// process must be in the container's session too: the kernel does not
// reuse a PID that names a live session, so a later container that got
// the same inode number is left alone. What that misses: a process that
// called setsid, outlived the main process and whose parent is gone.
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

// pinNS opens the main process's mount namespace if that process lives.
func (s *State) pinNS() *os.File {
	if s.MntNS == "" || s.Pid <= 0 {
		return nil // state from an older urun, or a hanging create
	}
	f, err := os.Open("/proc/" + strconv.Itoa(s.Pid) + "/ns/mnt")
	if err != nil {
		return nil
	}
	if !Alive(s.Pid, s.StartTime) {
		f.Close() // the PID may have named another process at the open
		return nil
	}
	return f
}

// signalMembers sends sig to every process of the container but the main
// one and returns them, held by pidfds (the caller closes them). It scans
// until a pass finds no process it had not found, so one forked during a
// scan is found by the next.
// afterFirst, if not nil, runs after the first pass and says whether it
// signalled anything (KillAll kills the main process there: once it can
// fork no more, the passes end). settle, if not nil, runs when a pass
// finds nothing new and anything was signalled, with what was found; then
// one more pass must find nothing either. KillAll waits there for every
// process killed to be gone: one killed while forking may still bring a
// child into the world until it is.
func (s *State) signalMembers(sig unix.Signal, afterFirst func() bool, settle func([]member) error) ([]member, error) {
	pin := s.pinNS()
	if pin != nil {
		defer pin.Close()
	}
	type key struct {
		pid   int
		start uint64
	}
	seen := map[key]bool{}
	var out []member
	settled := false
	for pass := 0; pass < 100; pass++ {
		found := 0
		mainAlive := pin != nil && Alive(s.Pid, s.StartTime)
		for _, pid := range s.candidates(pin != nil, mainAlive, out) {
			_, start, ok := procSession(pid)
			if !ok || seen[key{pid, start}] {
				continue
			}
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue
			}
			// The pidfd pins this exact process only if it is still the
			// one the scan found.
			if _, again, ok := procSession(pid); !ok || again != start {
				unix.Close(fd)
				continue
			}
			seen[key{pid, start}] = true
			out = append(out, member{pid: pid, pidfd: fd})
			unix.PidfdSendSignal(fd, sig, nil, 0) //nolint:errcheck // it may have exited
			found++
		}
		if pass == 0 && afterFirst != nil && afterFirst() {
			found++
		}
		if found > 0 {
			settled = false
			continue
		}
		if settle == nil || settled || len(out) == 0 && pass == 0 {
			ulog.L.Debug().Int("processes", len(out)).Int("passes", pass+1).Bool("namespacePinned", pin != nil).
				Msgf("signalled the container's other processes with %s", unix.SignalName(sig))
			return out, nil
		}
		if err := settle(out); err != nil {
			return out, err
		}
		settled = true
	}
	return out, nil
}

// candidates scans /proc once for the container's processes (see above),
// adding the children of the members found so far.
// trustNS: the namespace is pinned; mainAlive: the main process lives
// (then its session and children are certainly the container's).
func (s *State) candidates(trustNS, mainAlive bool, known []member) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == s.Pid || pid == os.Getpid() {
			continue
		}
		sid, _, ok := procSession(pid)
		if !ok {
			continue
		}
		inSession := s.Pid > 0 && sid == s.Pid
		switch {
		case mainAlive && inSession:
			out = append(out, pid) // certainly ours: no namespace read needed
		case trustNS || inSession:
			if ns, err := os.Readlink("/proc/" + n + "/ns/mnt"); err == nil && ns == s.MntNS {
				out = append(out, pid)
			}
		}
	}
	if mainAlive {
		out = append(out, children(s.Pid)...)
	}
	for _, m := range known {
		out = append(out, children(m.pid)...)
	}
	return out
}

// children lists a process's child PIDs (every thread's).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
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

// SignalAll sends sig to the main process, if it lives, and every other
// process of the container (kill --all). It fails only when no process
// got the signal.
func (s *State) SignalAll(sig unix.Signal) error {
	ms, _ := s.signalMembers(sig, nil, nil)
	closeMembers(ms)
	err := s.Signal(sig)
	if err != nil && len(ms) > 0 {
		return nil
	}
	return err
}

// KillAll ends the container's main process and every other process in
// it with SIGKILL, and waits (up to timeout) until all have exited: what
// delete does, as runc does by destroying the cgroup.
func (s *State) KillAll(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	ms, err := s.signalMembers(unix.SIGKILL, func() bool {
		return s.Signal(unix.SIGKILL) == nil // an error: gone already
	}, func(ms []member) error {
		if err := s.KillWait(time.Until(deadline)); err != nil {
			return err
		}
		for _, m := range ms {
			if err := waitPidfd(m.pidfd, m.pid, deadline); err != nil {
				return err
			}
		}
		return nil
	})
	closeMembers(ms)
	if err != nil {
		return err
	}
	return s.KillWait(time.Until(deadline))
}
