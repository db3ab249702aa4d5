package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
// CONFIG_PROC_CHILDREN.
func Children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	readable := false
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		readable = true
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	if readable || len(tasks) > 0 {
		return out
	}
	return childrenByScan(pid)
}

func childrenByScan(pid int) []int {
	var out []int
	for _, c := range allPids() {
		if p, ok := readProc(c); ok && p.ppid == pid {
			out = append(out, c)
		}
	}
	return out
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

// openProc opens a pidfd on pid and checks, after the open, that it is
// still the process the caller looked at: same start time (when start is
// not 0) and, when parent is not 0, still parent's child (a grandchild's
// PID can be reaped by its own parent and reused between lookup and open).
func openProc(pid, parent int, start uint64) (Proc, procInfo, bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return Proc{}, procInfo{}, false
	}
	p, ok := readProc(pid)
	if !ok || (start != 0 && p.start != start) || (parent != 0 && p.ppid != parent) {
		unix.Close(fd)
		return Proc{}, procInfo{}, false
	}
	return Proc{Pid: pid, FD: fd, Start: p.start}, p, true
}

// Descendants opens every process below pid, found through the children
// lists, leaving out (with what is below them) those skip names by PID
// and start time. The caller closes them.
func Descendants(pid int, skip map[int]uint64) []Proc {
	var out []Proc
	for _, c := range Children(pid) {
		p, info, ok := openProc(c, pid, 0)
		if !ok {
			continue
		}
		if st, ok := skip[c]; ok && st == info.start {
			unix.Close(p.FD)
			continue
		}
		out = append(out, p)
		out = append(out, Descendants(c, nil)...)
	}
	return out
}

// ChildrenNow records this process's current children (PID and start
// time), for Descendants to skip.
func ChildrenNow() map[int]uint64 {
	out := map[int]uint64{}
	for _, c := range Children(os.Getpid()) {
		if p, ok := readProc(c); ok {
			out[c] = p.start
		}
	}
	return out
}

// Exited reports whether the process behind pidfd has exited, waiting up
// to ms milliseconds.
func Exited(pidfd, ms int) bool {
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}
