// Package members finds and ends a container's processes without a PID
// namespace or a cgroup: a process named by PID and start time (ProcRef,
// Alive), pidfds that a reused PID cannot fool, children and descendants
// from /proc, and the container's other processes by its mount namespace
// and session (members.go).
package members

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// statFields reads /proc/PID/stat from field 3 (state) on: comm may hold
// spaces and parentheses, so fields start after the last ')'. f[0] is the
// state, f[1] the parent PID, f[3] the session ID, f[19] the start time.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, errors.New("malformed stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return nil, errors.New("malformed stat")
	}
	return f, nil
}

// procInfo is what the process scans need from /proc/PID/stat.
type procInfo struct {
	ppid, sid int
	start     uint64
	zombie    bool
}

func readProc(pid int) (procInfo, bool) {
	f, err := statFields(pid)
	if err != nil {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	sid, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	return procInfo{ppid: ppid, sid: sid, start: start, zombie: f[0] == "Z"},
		err1 == nil && err2 == nil && err3 == nil
}

// Children lists pid's children: from /proc/PID/task/*/children, or by a
// scan of /proc for the parent PID on kernels built without
// CONFIG_PROC_CHILDREN. A PID can be reused: callers that hold a pidfd on
// pid check it has not exited after the listing.
func Children(pid int) []int {
	if !haveChildrenFiles() {
		return childrenByScan(pid)
	}
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
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

var childrenFiles = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/thread-self/children")
	return err == nil
})

func haveChildrenFiles() bool { return childrenFiles() }

func childrenByScan(pid int) []int {
	return parentMap()[pid]
}

// parentMap scans /proc once: parent PID -> children.
func parentMap() map[int][]int {
	m := map[int][]int{}
	for _, c := range allPids() {
		if p, ok := readProc(c); ok {
			m[p.ppid] = append(m[p.ppid], c)
		}
	}
	return m
}

func allPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	out := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Proc is a process held by a pidfd: signals through it never reach a
// process that reused its PID.
type Proc struct {
	Pid   int
	FD    int
	Start uint64
}

// errNotIt is openProc's answer for a process that is gone or is not the
// one the caller looked at.
var errNotIt = errors.New("process is gone")

// pidfdOpen opens a pidfd on pid. Only ESRCH means the process is gone
// (errNotIt); any other error (EMFILE, ENOMEM, ENOSYS) says nothing about
// the process and is returned as it is.
func pidfdOpen(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return -1, errNotIt
	}
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return fd, nil
}

// openProc opens a pidfd on pid and checks, after the open, that it is
// still the process the caller looked at: same start time (when start is
// not 0) and, when parent is not 0, still parent's child (a grandchild's
// PID can be reaped by its own parent and reused between lookup and open).
// errNotIt: it is not (or gone).
func openProc(pid, parent int, start uint64) (Proc, procInfo, error) {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return Proc{}, procInfo{}, err
	}
	p, ok := readProc(pid)
	if !ok || (start != 0 && p.start != start) || (parent != 0 && p.ppid != parent) {
		unix.Close(fd)
		return Proc{}, procInfo{}, errNotIt
	}
	return Proc{Pid: pid, FD: fd, Start: p.start}, p, nil
}

// Descendants opens every process below pid, found through the children
// lists, leaving out (with what is below them) those spare says to. The
// caller closes them. An error (no pidfd could be opened on one) comes
// with the ones opened so far.
func Descendants(pid int, spare func(pid int) bool) ([]Proc, error) {
	kidsOf := Children
	if !haveChildrenFiles() {
		m := parentMap() // one scan for the whole tree
		kidsOf = func(p int) []int { return m[p] }
	}
	var out []Proc
	var firstErr error
	var walk func(parent, parentFD int)
	walk = func(parent, parentFD int) {
		kids := kidsOf(parent)
		if parentFD >= 0 && Exited(parentFD, time.Time{}) {
			return // the list may be of a process that reused its PID
		}
		for _, c := range kids {
			p, _, err := openProc(c, parent, 0)
			if err != nil {
				if err != errNotIt && firstErr == nil {
					firstErr = err
				}
				continue
			}
			if spare != nil && spare(c) {
				unix.Close(p.FD)
				continue
			}
			out = append(out, p)
			walk(c, p.FD)
		}
	}
	walk(pid, -1)
	return out, firstErr
}

// Exited reports whether the process behind pidfd has exited, waiting
// until deadline (the zero time: not at all).
func Exited(pidfd int, deadline time.Time) bool {
	for {
		ms := 0
		if !deadline.IsZero() {
			if ms = int(time.Until(deadline).Milliseconds()); ms < 0 {
				ms = 0
			}
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// Alive reports whether pid runs and started at startTime (clock ticks).
func Alive(pid int, startTime uint64) bool {
	st, state, err := ProcStart(pid)
	return err == nil && st == startTime && state != 'Z' && state != 'X'
}

// ProcStart reads a process's start time and state letter.
func ProcStart(pid int) (uint64, byte, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, 0, err
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, f[0][0], err
}

// Signal sends sig to the container's main process s through a pidfd,
// after checking it is still that process (not a reused PID).
func Signal(s ProcRef, sig unix.Signal) error {
	pidfd, err := pidfdOpen(s.Pid)
	if err == errNotIt {
		return fmt.Errorf("container process %d is gone", s.Pid)
	}
	if err != nil {
		return fmt.Errorf("signal %s to pid %d: %w", unix.SignalName(sig), s.Pid, err)
	}
	defer unix.Close(pidfd)
	if !Alive(s.Pid, s.Start) {
		return fmt.Errorf("container process %d is gone", s.Pid)
	}
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %s to pid %d: %w", unix.SignalName(sig), s.Pid, err)
	}
	return nil
}

// KillWait sends SIGKILL to s and waits (up to timeout) until it has
// exited. It works for processes that are not our children.
func KillWait(s ProcRef, timeout time.Duration) error {
	pidfd, err := pidfdOpen(s.Pid)
	if err == errNotIt {
		return nil // already gone
	}
	if err != nil {
		return fmt.Errorf("kill pid %d: %w", s.Pid, err)
	}
	defer unix.Close(pidfd)
	if !Alive(s.Pid, s.Start) {
		return nil
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("kill pid %d: %w", s.Pid, err)
	}
	return waitPidfd(pidfd, s.Pid, time.Now().Add(timeout))
}

// waitPidfd waits until the process behind pidfd has exited. It works for
// processes that are not our children.
func waitPidfd(pidfd, pid int, deadline time.Time) error {
	if !Exited(pidfd, deadline) {
		return fmt.Errorf("pid %d did not exit in time after SIGKILL", pid)
	}
	return nil
}
