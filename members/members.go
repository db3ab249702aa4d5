package members

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"urun/ulog"
)

// Container is what finding a container's processes needs to know of it,
// as the state store recorded it (store.State.Members builds it).
type Container struct {
	// Main is the main process (Pid 0: none).
	Main ProcRef
	// MntNS is the placeholder's mount namespace ("mnt:[4026532…]").
	MntNS string
	// Execs are the processes `urun exec` started in the container.
	Execs []ProcRef
	// Watcher is the exec watcher (enter/watch.go), if one was started.
	Watcher *ProcRef
	// Pin, if set, is the container's mount namespace held open by the
	// caller (the watcher), which makes MntNS certain (see pinNS).
	Pin *os.File
}

// ProcRef names a process that a reused PID cannot impersonate.
type ProcRef struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"` // /proc/PID/stat field 22
}

// With no PID namespace and no cgroup, the container's other processes
// (for kill --all and delete; urun run, their subreaper, has an easier
// way: see cmd/urun/reap.go) are found three ways:
//
//   - by the mount namespace the placeholder created (Container.MntNS): its
//     descendants keep it, even the ones that call setsid;
//   - by the session the placeholder leads (it calls setsid), while the
//     main process lives, for those that made a mount namespace of their
//     own;
//   - as children of a process found either way.
//
// A namespace's inode number can be reused once the namespace is gone. So
// the namespace counts alone only while urun holds it open: it opens the
// main process's namespace while that process lives (checked by start time
// after the open) and checks it is still the one recorded at create. Else
// a process must be in the container's session too: the kernel does not
// reuse a PID that names a live session, so a later container that got
// the same inode number is left alone. What that misses: a process that
// called setsid, outlived the main process and whose parent is gone.
//
// Reading another process's namespace link needs ptrace-read access:
// urun has it from the user namespace it created the container in (as
// buildah calls it), not from a sibling namespace.

// pinNS opens the container's mount namespace through the main process,
// if that process lives and is still in it, else through a process `urun
// exec` started in it (it entered the namespace while the main process
// held it, so while it is still in it the namespace is the same one).
func (s *Container) pinNS() *os.File {
	if s.MntNS == "" {
		return nil // state from an older urun, or a hanging create
	}
	if s.Pin != nil {
		if fd, err := unix.FcntlInt(s.Pin.Fd(), unix.F_DUPFD_CLOEXEC, 0); err == nil {
			return os.NewFile(uintptr(fd), "mntns")
		}
	}
	for _, p := range append([]ProcRef{s.Main}, s.Execs...) {
		if p.Pid <= 0 {
			continue
		}
		f, err := os.Open("/proc/" + strconv.Itoa(p.Pid) + "/ns/mnt")
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if !Alive(p.Pid, p.Start) || unix.Fstat(int(f.Fd()), &st) != nil ||
			s.MntNS != fmt.Sprintf("mnt:[%d]", st.Ino) {
			f.Close() // another process's PID at the open, or it moved
			continue
		}
		return f
	}
	return nil
}

// pidFree reports whether no process, process group or session has the
// number pid in urun's PID namespace. The kernel keeps a PID number
// allocated while any process uses it as its PID, process group ID or
// session ID, and fcntl(F_SETOWN, pid) looks the number up and fails with
// ESRCH when it is not allocated (fs/fcntl.c f_setown, Linux >= 5.0). One
// system call on a throwaway eventfd instead of reading every /proc/PID:
// it proves the container's session is empty once the main process is
// gone (delete after the command exited, buildah's case). Any doubt
// (the number is in use, reused, or the calls fail) answers false and
// the scan runs as before.
func pidFree(pid int) bool {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETOWN, pid)
	return err == unix.ESRCH
}

// candidate is a process a scan matched; parent is not 0 when it matched
// as that process's child (openProc checks it still is).
type candidate struct{ pid, parent int }

// scan looks through /proc once for the container's processes (see
// above), adding the children of the main process (held by mainFD, -1 if
// it is gone) and of those found so far. Each children list is used only
// if its process is still alive after the listing: else its PID may name
// another process now.
func (s *Container) scan(trustNS bool, mainFD int, known []Proc) []candidate {
	mainAlive := mainFD >= 0 && !Exited(mainFD, time.Time{})
	var out []candidate
	for _, pid := range allPids() {
		if pid == s.Main.Pid || pid == os.Getpid() {
			continue
		}
		p, ok := readProc(pid)
		if !ok {
			continue
		}
		inSession := s.Main.Pid > 0 && p.sid == s.Main.Pid
		switch {
		case mainAlive && inSession:
			out = append(out, candidate{pid: pid}) // certainly ours: no namespace read needed
		case trustNS || inSession:
			if ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt"); err == nil && ns == s.MntNS {
				out = append(out, candidate{pid: pid})
			}
		}
	}
	add := func(parent, fd int) {
		kids := Children(parent)
		if fd < 0 || Exited(fd, time.Time{}) {
			return
		}
		for _, c := range kids {
			out = append(out, candidate{pid: c, parent: parent})
		}
	}
	add(s.Main.Pid, mainFD)
	for _, m := range known {
		add(m.Pid, m.FD)
	}
	return out
}

// members finds the container's processes other than the main one. With
// kill set it sends each SIGKILL as soon as it is found and scans again
// until nothing new turns up (a process killed mid-fork may still add a
// child until it is gone: settle waits for that); otherwise it takes one
// snapshot, children included, as runc signals a cgroup's snapshot once.
// afterFirst runs after the first pass and says whether it killed
// something (KillAll kills the main process there, so it forks no more).
func (s *Container) members(kill bool, afterFirst func() bool, settle func([]Proc) error) ([]Proc, error) {
	pin := s.pinNS()
	if pin != nil {
		defer pin.Close()
	}
	if pin == nil && s.Main.Pid > 0 && pidFree(s.Main.Pid) {
		// Without the namespace pinned, a scan counts only processes in
		// the main process's session (see scan); none has its session ID
		// once that PID is free, and none can join that session later.
		ulog.L.Debug().Int("pid", s.Main.Pid).Msg("no process of the container is left: its PID and session are free (no /proc scan)")
		return nil, nil
	}
	type key struct {
		pid   int
		start uint64
	}
	seen := map[key]bool{}
	var out []Proc
	// A pidfd on the main process, if it lives: its session and children
	// count only while it does.
	mainFD := -1
	if s.Main.Pid > 0 {
		p, _, err := openProc(s.Main.Pid, 0, s.Main.Start)
		switch {
		case err == nil:
			mainFD = p.FD
			defer unix.Close(mainFD)
		case err != errNotIt:
			return nil, err
		}
	}
	settled := false
	for pass := 0; pass < 100; pass++ {
		found := 0
		for _, c := range s.scan(pin != nil, mainFD, out) {
			p, info, err := openProc(c.pid, c.parent, 0)
			if err == errNotIt {
				continue
			}
			if err != nil {
				return out, err // one left unfound: do not say all were
			}
			if seen[key{p.Pid, info.start}] {
				unix.Close(p.FD)
				continue
			}
			seen[key{p.Pid, info.start}] = true
			out = append(out, p)
			found++
			if kill {
				unix.PidfdSendSignal(p.FD, unix.SIGKILL, nil, 0) //nolint:errcheck // it may have exited
			}
		}
		if pass == 0 && afterFirst != nil && afterFirst() {
			found++
		}
		if found > 0 && (kill || pass < 2) {
			// Without kill, a second and third pass only pick up children
			// of what was found: one snapshot, give or take a fork.
			settled = false
			continue
		}
		if !kill || settled || len(out) == 0 && pass == 0 {
			ulog.L.Debug().Int("processes", len(out)).Int("passes", pass+1).Bool("namespacePinned", pin != nil).
				Msg("found the container's other processes")
			return out, nil
		}
		if err := settle(out); err != nil {
			return out, err
		}
		settled = true
	}
	return out, fmt.Errorf("processes kept appearing after 100 scans; %d killed", len(out))
}

// Close closes the pidfds.
func closeProcs(ps []Proc) {
	for _, p := range ps {
		unix.Close(p.FD)
	}
}

// ErrNoProcess is SignalAll's error when no process got the signal.
var ErrNoProcess = errors.New("no process of the container is left")

// SignalAll sends sig to every process of the container (kill --all): a
// snapshot of the others, then the main process if it lives.
func SignalAll(s Container, sig unix.Signal) error {
	ps, _ := s.members(false, nil, nil)
	defer closeProcs(ps)
	sent := 0
	for _, p := range ps {
		if unix.PidfdSendSignal(p.FD, sig, nil, 0) == nil {
			sent++
		}
	}
	if s.Main.Pid > 0 && Alive(s.Main.Pid, s.Main.Start) {
		if err := Signal(s.Main, sig); err != nil && sent == 0 {
			return err
		}
		return nil
	}
	if sent == 0 {
		return ErrNoProcess
	}
	return nil
}

// Pids lists the container's processes (urun ps): the main process if it
// lives and a snapshot of the others, found as kill --all finds them.
func Pids(s Container) []int {
	ps, _ := s.members(false, nil, nil)
	defer closeProcs(ps)
	out := make([]int, 0, len(ps)+1)
	if s.Main.Pid > 0 && Alive(s.Main.Pid, s.Main.Start) {
		out = append(out, s.Main.Pid)
	}
	for _, p := range ps {
		out = append(out, p.Pid)
	}
	sort.Ints(out)
	return out
}

// KillAll ends the container's main process and every other process in
// it with SIGKILL, and waits (up to timeout) until all have exited: what
// delete does, as runc does by destroying the cgroup.
func KillAll(s Container, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	ps, err := s.members(true, func() bool {
		return Signal(s.Main, unix.SIGKILL) == nil // an error: gone already
	}, func(ps []Proc) error {
		if err := KillWait(s.Main, time.Until(deadline)); err != nil {
			return err
		}
		for _, p := range ps {
			if err := waitPidfd(p.FD, p.Pid, deadline); err != nil {
				return err
			}
		}
		return nil
	})
	closeProcs(ps)
	if err != nil {
		return err
	}
	if err := KillWait(s.Main, time.Until(deadline)); err != nil {
		return err
	}
	return endWatcher(s.Watcher, deadline)
}

// EndWatcher ends the exec watcher w, if any, waiting up to timeout: for
// run, whose container exited and which removes its state without delete
// (an exec meanwhile started one, which must not outlive run either).
func EndWatcher(w *ProcRef, timeout time.Duration) error {
	return endWatcher(w, time.Now().Add(timeout))
}

// endWatcher ends the exec watcher (enter/watch.go): once the container's
// processes are gone it has nothing left to do, and nothing of the
// container may outlive delete.
func endWatcher(w *ProcRef, deadline time.Time) error {
	if w == nil {
		return nil
	}
	fd, err := unix.PidfdOpen(w.Pid, 0)
	if err != nil {
		return nil // gone
	}
	defer unix.Close(fd)
	if !Alive(w.Pid, w.Start) {
		return nil
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) //nolint:errcheck // it may have exited
	return waitPidfd(fd, w.Pid, deadline)
}
