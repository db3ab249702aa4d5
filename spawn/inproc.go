package spawn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/config"
	"urun/initproc"
	"urun/members"
	"urun/mount"
	"urun/plan"
	"urun/proc"
	"urun/ulog"
	"urun/userns"
)

// ExecutorEnv, set to "two-process", makes urun use the two-process
// executor where it would run the plan in-process (CI runs the nested
// account's tests once each way).
const ExecutorEnv = "URUN_EXECUTOR"

// MayRunInProcess says, before the config is decoded, whether the
// in-process executor could be chosen: uid 0 with CAP_SYS_ADMIN in a user
// namespace that is not the host's, as buildah and podman call a runtime.
// create then starts no placeholder early.
func MayRunInProcess() bool {
	return os.Geteuid() == 0 && os.Getenv(ExecutorEnv) != "two-process" && !userns.RealRoot() && hasSysAdmin()
}

func hasSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// InProcessRefusal is why a config MayRunInProcess allowed still takes
// the two-process executor ("" if none): what the in-process one does not
// do yet.
func InProcessRefusal(s *specs.Spec, o Opts, terminal bool) string {
	p := s.Process
	switch {
	case o.Mapping == nil || o.Mapping.Mode != userns.Inherit:
		return "the config maps IDs"
	case o.Join != nil:
		return "namespaces are joined"
	case terminal:
		return "process.terminal"
	case s.Hooks != nil:
		return "hooks"
	case o.PreserveFDs+o.ActivationFDs > 0:
		return "descriptors are passed"
	case p.OOMScoreAdj != nil:
		return "process.oomScoreAdj (process-wide)"
	case p.Capabilities != nil && len(p.Capabilities.Ambient)+len(p.Capabilities.Inheritable) > 0:
		return "ambient or inheritable capabilities"
	case s.Linux != nil && (strings.Contains(s.Linux.RootfsPropagation, "shared") || strings.Contains(s.Linux.RootfsPropagation, "unbindable")):
		// The container process's mount namespace is its own user
		// namespace's copy, where shared mounts become slaves and /
		// loses unbindable.
		return "linux.rootfsPropagation " + s.Linux.RootfsPropagation
	}
	return ""
}

// RunInProcess executes the plan in this process, on a locked OS thread
// of its own: it unshares the mount namespace there (which gives that
// thread its own root and cwd; the other threads keep the host's view),
// mounts and pivots, sets the thread's bounding set, no_new_privs, umask
// and cwd, and forks the container process from it. The process gets a
// user namespace of its own with an identity map (and its own copy of the
// mount namespace, owned by it), as the two-process placeholder has, so
// that exec, kill --all and delete find it the same way. It waits, raw
// system calls only (no second Go runtime): run's until Release; create's
// (listen, the start socket) until Detach commits it, then for `urun
// start` on listen.
func RunInProcess(pl *plan.Plan, b *config.Bundle, m *userns.Mapping, listen *os.File) (*Placeholder, error) {
	lfd := -1
	if listen != nil {
		lfd = int(listen.Fd())
	}
	// Only a parked child (create) gives back the heap pages it inherited:
	// run's execs at once, which frees them anyway. The host's maps: after
	// pivot_root /proc is the container's, if any.
	var maps *os.File
	if listen != nil {
		var err error
		if maps, err = os.Open("/proc/self/maps"); err != nil {
			return nil, fmt.Errorf("in-process executor: %w", err)
		}
		defer maps.Close()
	}
	type result struct {
		pid         int
		hold, errRd *os.File
		notes       []string
		err         error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with this goroutine,
		// so its namespace and attributes reach no other goroutine.
		runtime.LockOSThread()
		var r result
		r.pid, r.hold, r.errRd, r.err = executeHere(pl, b, m, lfd, maps, &r.notes)
		ch <- r
	}()
	r := <-ch
	runtime.KeepAlive(listen)
	ulog.Trace("in-process: forked")
	if r.err != nil {
		return nil, r.err
	}
	proc, err := os.FindProcess(r.pid)
	if err != nil {
		unix.Kill(r.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(r.pid, &ws, 0, nil)
		return nil, err
	}
	p := &Placeholder{Cmd: &exec.Cmd{Process: proc}, Pid: r.pid, Notes: r.notes, sync: r.hold, errRd: r.errRd, inProcess: true, parked: listen != nil}
	// From this thread: the host's /proc (the container may have none).
	if err := writeMaps(r.pid, m); err != nil {
		p.Kill()
		return nil, err
	}
	ulog.Trace("in-process: ID maps written")
	if p.StartTime, _, err = members.ProcStart(r.pid); err != nil {
		p.Kill()
		return nil, fmt.Errorf("container process %d: %w", r.pid, err)
	}
	return p, nil
}

// writeMaps gives the held child its identity maps.
func writeMaps(pid int, m *userns.Mapping) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if !m.Setgroups {
		if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("container process: setgroups: %w", err)
		}
	}
	for _, f := range []struct {
		name string
		maps []specs.LinuxIDMapping
	}{{"uid_map", m.UID}, {"gid_map", m.GID}} {
		var sb strings.Builder
		for _, r := range f.maps {
			fmt.Fprintf(&sb, "%d %d %d\n", r.ContainerID, r.HostID, r.Size)
		}
		if err := os.WriteFile(dir+f.name, []byte(sb.String()), 0); err != nil {
			return fmt.Errorf("container process: %s: %w", f.name, err)
		}
	}
	return nil
}

// waitParked waits for create's held child to say it is set up (closed
// what is not its own, given up the heap pages it inherited), so that it
// is parked, small, once create returns.
func (p *Placeholder) waitParked() error {
	if !p.parked {
		return nil
	}
	var b [1]byte
	n, _ := p.errRd.Read(b[:])
	var report error
	if n == 1 && b[0] == initproc.HeldMark {
		// A step before the wait failed (setsid): the report follows.
		report = execResult(io.MultiReader(bytes.NewReader(b[:]), p.errRd))
	}
	p.errRd.Close()
	p.errRd = nil
	switch {
	case report != nil:
		p.Kill()
		return report
	case n != 1 || b[0] != initproc.ReadyByte:
		err := fmt.Errorf("container process exited during setup%s", p.exitDetail())
		p.Kill()
		return err
	}
	return nil
}

// releaseHeld lets run's held child exec: EOF on the error pipe means the
// execve succeeded (the pipe is close-on-exec), else it says what failed.
func (p *Placeholder) releaseHeld() error {
	defer p.errRd.Close()
	_, err := p.sync.Write([]byte{initproc.StartByte})
	p.sync.Close()
	if err != nil {
		return fmt.Errorf("release container process: %w", err)
	}
	return execResult(p.errRd)
}

// executeHere is RunInProcess's loop, on the locked thread.
func executeHere(pl *plan.Plan, b *config.Bundle, m *userns.Mapping, listen int, maps *os.File, notes *[]string) (int, *os.File, *os.File, error) {
	spec := pl.Spec
	p := spec.Process
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return 0, nil, nil, fmt.Errorf("unshare the mount namespace: %w", err)
	}
	tree := mount.NewTree(spec, mount.Env{
		Rootfs: b.Rootfs, BundleDir: b.Dir,
		GidMapped: m.GIDMapped,
		Debug:     func(msg string) { *notes = append(*notes, msg) },
	})
	defer tree.Close()
	path := ""
	for _, s := range pl.Steps {
		done, err := initproc.CommonStep(tree, p, s)
		switch {
		case done:
		case s.Op == plan.Umask:
			unix.Umask(int(*p.User.Umask)) // this thread's: CLONE_FS was unshared
		case s.Op == plan.LookPath:
			path, err = proc.LookPath(p)
		case s.Op == plan.ForkExec:
			tree.Close()
			pid, hold, errRd, err := fork(path, p, m, listen, maps)
			if err == nil {
				return pid, hold, errRd, nil
			}
			return 0, nil, nil, s.Fail(err)
		default:
			err = fmt.Errorf("step %q: not one the in-process executor runs", s.Op)
		}
		if err != nil {
			return 0, nil, nil, s.Fail(err)
		}
		ulog.Trace("in-process: " + s.Name)
	}
	return 0, nil, nil, fmt.Errorf("the plan has no exec step")
}

// fork forks the held container process from this thread. Only 0-2 (and
// its own pipe ends and start socket) reach it: the caller's other
// descriptors are made close-on-exec first, and the child closes them
// (create's container lock among them) at once. errRd: run's child's
// exec report; create's child's ReadyByte (it answers `urun start` on the
// start connection).
func fork(path string, p *specs.Process, m *userns.Mapping, listen int, maps *os.File) (pid int, hold, errRd *os.File, err error) {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, nil, nil, fmt.Errorf("close-on-exec: %w", err)
	}
	proc.RestoreNofile()
	a := &holdArgs{listen: listen, errPipe: -1, mark: [1]byte{initproc.HeldMark}, ready: [1]byte{initproc.ReadyByte},
		setgroups: m.Setgroups, groups: p.User.AdditionalGids, uid: uintptr(p.User.UID), gid: uintptr(p.User.GID)}
	for _, r := range p.Rlimits { // checked: the plan's CheckRlimits step
		a.rlimits = append(a.rlimits, rlimit{res: uintptr(proc.Rlimits[r.Type]), lim: unix.Rlimit{Cur: r.Soft, Max: r.Hard}})
	}
	if err := a.packExec(path, p.Args, p.Env); err != nil {
		return 0, nil, nil, err
	}
	if maps != nil {
		a.heap = heapMapping(maps, uintptr(unsafe.Pointer(a)))
	}
	// a itself may live on this goroutine's stack, which can still move
	// before the fork: dropRanges adds its span, from forkHeld's stack.
	// The rest are heap objects, which do not move.
	a.keep = [4][2]uintptr{{}, span(unsafe.Pointer(&a.exec[0]), uintptr(len(a.exec))),
		sliceSpan(a.groups), sliceSpan(a.rlimits)}
	a.rcvTimeout = initproc.StartReadTimeout
	a.pause = unix.Timespec{Nsec: 10e6}
	var hp, ep [2]int
	if err := unix.Pipe2(hp[:], unix.O_CLOEXEC); err != nil {
		return 0, nil, nil, err
	}
	if err := unix.Pipe2(ep[:], unix.O_CLOEXEC); err != nil {
		unix.Close(hp[0])
		unix.Close(hp[1])
		return 0, nil, nil, err
	}
	a.hold, a.errPipe = hp[0], ep[1]
	a.closeFrom = closeRanges(a.hold, a.errPipe, listen)
	syscall.ForkLock.Lock()
	pid, e := forkHeld(a)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(a)
	unix.Close(hp[0]) // the child's copies are the ones that count
	unix.Close(ep[1])
	hold, errRd = os.NewFile(uintptr(hp[1]), "hold"), os.NewFile(uintptr(ep[0]), "exec-error")
	if e != 0 {
		hold.Close()
		errRd.Close()
		return 0, nil, nil, fmt.Errorf("fork: %w", e)
	}
	return pid, hold, errRd, nil
}

// closeRanges are the descriptor ranges from 3 on without the child's own
// (keep; -1: none), for close_range in the child.
func closeRanges(keep ...int) (r [4][2]uintptr) {
	slices.Sort(keep)
	lo, i := 3, 0
	for _, k := range keep {
		if k < lo {
			continue
		}
		r[i] = [2]uintptr{uintptr(lo), uintptr(k - 1)}
		lo, i = k+1, i+1
	}
	r[i] = [2]uintptr{uintptr(lo), ^uintptr(0)}
	for i++; i < len(r); i++ {
		r[i] = [2]uintptr{1, 0} // empty
	}
	return r
}

// packExec lays execve's path, argv and envv out in one allocation, so
// that the held child keeps one range of the heap (see dropRanges): the
// two nil-terminated pointer arrays, then the strings.
func (a *holdArgs) packExec(path string, args, env []string) error {
	size := (len(args) + len(env) + 2) * 8
	for _, s := range append(append([]string{path}, args...), env...) {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("process.args or process.env: %q holds a NUL byte", s)
		}
		size += len(s) + 1
	}
	b := make([]byte, size)
	base := uintptr(unsafe.Pointer(&b[0]))
	at := (len(args) + len(env) + 2) * 8
	put := func(s string) uintptr {
		p := base + uintptr(at)
		at += copy(b[at:], s) + 1
		return p
	}
	a.exec, a.path, a.pathLen = b, put(path), uintptr(len(path))
	a.argv, a.envv = base, base+uintptr(len(args)+1)*8
	for i, s := range args {
		*(*uintptr)(unsafe.Pointer(&b[i*8])) = put(s)
	}
	for i, s := range env {
		*(*uintptr)(unsafe.Pointer(&b[(len(args)+1+i)*8])) = put(s)
	}
	return nil
}

func span(p unsafe.Pointer, n uintptr) [2]uintptr { return [2]uintptr{uintptr(p), uintptr(p) + n} }

func sliceSpan[T any](s []T) [2]uintptr {
	if len(s) == 0 {
		return [2]uintptr{}
	}
	return span(unsafe.Pointer(&s[0]), uintptr(len(s))*unsafe.Sizeof(s[0]))
}

// heapMapping is the writable anonymous mapping holding addr (the Go
// heap's current arena), from /proc/self/maps (opened, unread); none if
// not found.
func heapMapping(f *os.File, addr uintptr) [2]uintptr {
	maps, err := io.ReadAll(f)
	if err != nil {
		return [2]uintptr{}
	}
	for _, l := range strings.Split(string(maps), "\n") {
		f := strings.Fields(l)
		// No path: anonymous; a kernel with CONFIG_ANON_VMA_NAME shows
		// the name Go 1.25+ gives its mappings ("[anon: Go: heap]").
		anon := len(f) == 5 || (len(f) > 5 && strings.HasPrefix(f[5], "[anon:"))
		if !anon || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uintptr(l) <= addr && addr < uintptr(h) {
			return [2]uintptr{uintptr(l), uintptr(h)}
		}
	}
	return [2]uintptr{}
}
