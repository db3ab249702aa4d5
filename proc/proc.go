// Package proc prepares the container process's credentials, limits and
// capabilities on the placeholder's locked OS thread, then execs it.
//
// Capabilities, no_new_privs and raw set*id calls are per-thread in Linux;
// the caller must hold runtime.LockOSThread so the thread that is set up
// is the one that calls execve.
package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"urun/failure"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CapByName maps "CAP_CHOWN" to its number, for every capability this
// library knows.
func CapByName(name string) (capability.Cap, bool) {
	for _, c := range capability.ListKnown() {
		if "CAP_"+strings.ToUpper(c.String()) == name {
			return c, true
		}
	}
	return 0, false
}

// Rlimits maps RLIMIT_* names to resources.
var Rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// OOMScoreAdj raises the process's OOM score adjustment (lowering it needs
// privilege on the host, and the kernel says EACCES).
func OOMScoreAdj(p *specs.Process) error {
	if p.OOMScoreAdj == nil {
		return nil
	}
	err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0)
	if err != nil {
		return fmt.Errorf("process.oomScoreAdj: %d: %w (only raising it is possible without privilege)", *p.OOMScoreAdj, failure.Errno(err))
	}
	return nil
}

// CheckRlimits checks process.rlimits where the placeholder is set up, so
// that create fails on a bad one, though Exec applies them only at the
// last moment: an unknown type, or a hard limit above the current one
// (raising it needs CAP_SYS_RESOURCE in the host's user namespace, which
// no process in the container has). config.Check refused soft > hard.
func CheckRlimits(p *specs.Process) error {
	for i, r := range p.Rlimits {
		res, ok := Rlimits[r.Type]
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, r.Type)
		}
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(res, &cur); err != nil {
			return fmt.Errorf("process.rlimits[%d] %s: getrlimit: %w", i, r.Type, err)
		}
		if r.Hard > cur.Max {
			return fmt.Errorf("process.rlimits[%d] %s soft=%d hard=%d: the current hard limit is %d; raising it needs privilege", i, r.Type, r.Soft, r.Hard, cur.Max)
		}
	}
	return nil
}

// SetRlimits applies process.rlimits (CheckRlimits has checked them).
func SetRlimits(p *specs.Process) error {
	for i, r := range p.Rlimits {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := syscall.Setrlimit(Rlimits[r.Type], &lim); err != nil {
			return fmt.Errorf("process.rlimits[%d] %s soft=%d hard=%d: %w", i, r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// Exec applies process.rlimits and execs path: the limits come last
// because the Go runtime maps more address space as it goes (allocation
// metadata, GC bitmaps), and a limit such as RLIMIT_AS set below what it
// has mapped makes that fail ("runtime: cannot allocate memory"). So
// everything execve needs is allocated first, and nothing after the
// limits: no syscall.Exec, which copies argv and env after they are set.
func Exec(path string, p *specs.Process) error {
	argv0, err := syscall.BytePtrFromString(path)
	if err != nil {
		return fmt.Errorf("process.args[0]: %w", err)
	}
	argv, err := syscall.SlicePtrFromStrings(p.Args)
	if err != nil {
		return fmt.Errorf("process.args: %w", err)
	}
	envv, err := syscall.SlicePtrFromStrings(p.Env)
	if err != nil {
		return fmt.Errorf("process.env: %w", err)
	}
	restoreNofile()
	if limitsMemory(p) {
		// A GC cycle, and the background sweep after one, map
		// bookkeeping: finish both now (runtime.GC returns with every span
		// swept) and start no other.
		runtime.GC()
		debug.SetGCPercent(-1)
	}
	if err := SetRlimits(p); err != nil {
		return err
	}
	return execve(argv0, argv, envv)
}

// limitsMemory says whether process.rlimits limit address space.
func limitsMemory(p *specs.Process) bool {
	for _, r := range p.Rlimits {
		if r.Type == "RLIMIT_AS" || r.Type == "RLIMIT_DATA" {
			return true
		}
	}
	return false
}

// restoreNofile puts back the soft RLIMIT_NOFILE this process started
// with, which the Go runtime raised for itself (go.dev/issue/46279) and
// syscall.Exec restores before its execve; the container gets the limit
// urun was given, as it would through syscall.Exec. syscall keeps the
// original to itself, so this is an Exec that cannot succeed (an empty
// path: ENOENT), for its restore alone.
func restoreNofile() {
	_ = syscall.Exec("", []string{""}, nil)
}

// RestoreNofile is restoreNofile for a process forked without syscall's
// help (spawn's in-process executor): its child gets the limit too.
func RestoreNofile() { restoreNofile() }

// SetUser switches to process.user, keeping capabilities across the uid
// change so the configured set can be applied afterwards.
func SetUser(u specs.User, setgroups bool) error {
	if u.Umask != nil {
		unix.Umask(int(*u.Umask))
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
	}
	if setgroups {
		groups := make([]uint32, 0, len(u.AdditionalGids))
		groups = append(groups, u.AdditionalGids...)
		if err := rawSetgroups(groups); err != nil {
			return fmt.Errorf("process.user.additionalGids %v: setgroups: %w", u.AdditionalGids, err)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("process.user.gid %d: setresgid: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("process.user.uid %d: setresuid: %w", u.UID, e)
	}
	return nil
}

func rawSetgroups(g []uint32) error {
	var p uintptr
	if len(g) > 0 {
		p = uintptr(unsafePointer(&g[0]))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(g)), p, 0); e != 0 {
		return e
	}
	return nil
}

// DropBounding removes from the bounding set every capability that
// process.capabilities.bounding does not list. It must run before SetUser:
// PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, which a switch to
// a non-zero uid clears.
func DropBounding(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	keep := map[capability.Cap]bool{}
	for _, n := range c.Bounding {
		if cp, ok := CapByName(n); ok {
			keep[cp] = true
		}
	}
	last, err := capability.LastCap()
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	for cp := capability.Cap(0); cp <= last; cp++ {
		if keep[cp] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(cp), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("process.capabilities.bounding: drop CAP_%s: %w", strings.ToUpper(cp.String()), err)
		}
	}
	return nil
}

// SetCapabilities applies process.capabilities to this thread. A nil set
// keeps what the user namespace gave (full for uid 0, none otherwise). The
// bounding set was already narrowed by DropBounding.
func SetCapabilities(c *specs.LinuxCapabilities) error {
	defer unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0) //nolint:errcheck // best effort
	if c == nil {
		return nil
	}
	caps, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if err := caps.Load(); err != nil {
		return fmt.Errorf("capabilities: load: %w", err)
	}
	last, _ := capability.LastCap()
	sets := []struct {
		which capability.CapType
		names []string
	}{
		{capability.EFFECTIVE, c.Effective},
		{capability.PERMITTED, c.Permitted}, {capability.INHERITABLE, c.Inheritable},
		{capability.AMBIENT, c.Ambient},
	}
	// Clear takes groups (CAPS, AMBS), not single sets: Clear(EFFECTIVE)
	// is a no-op, and the loaded sets would stay under the config's.
	caps.Clear(capability.CAPS | capability.AMBS)
	for _, s := range sets {
		for _, n := range s.names {
			cp, ok := CapByName(n)
			if !ok || cp > last {
				continue
			}
			// The kernel raises an ambient capability only when it is both
			// permitted and inheritable; skip the others as runc does
			// (config.Check logs them). sets lists ambient last.
			if s.which == capability.AMBIENT && !(caps.Get(capability.PERMITTED, cp) && caps.Get(capability.INHERITABLE, cp)) {
				continue
			}
			caps.Set(s.which, cp)
		}
	}
	if err := caps.Apply(capability.CAPS | capability.AMBIENT); err != nil {
		return fmt.Errorf("capabilities: apply: %w", err)
	}
	return nil
}

// NoNewPrivs sets PR_SET_NO_NEW_PRIVS when asked.
func NoNewPrivs(p *specs.Process) error {
	if !p.NoNewPrivileges {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("process.noNewPrivileges: prctl: %w", err)
	}
	return nil
}

// Chdir enters process.cwd, which must exist in the container, and checks
// it is inside the container's root: a path through a descriptor of a host
// directory (/proc/self/fd/N, the CVE-2024-21626 escape) or a mount
// outside the root leads out of it, and getcwd then has no path from / to
// give (the kernel says "(unreachable)", Getwd ENOENT).
func Chdir(p *specs.Process) error {
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd: %s: %w", cwd, err)
	}
	wd, err := unix.Getwd()
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("process.cwd: %s: getcwd: %w", cwd, err)
	}
	if err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd: %s: is outside the container's root filesystem (a descriptor or mount of a host directory?)", cwd)
	}
	return nil
}

// LookPath resolves process.args[0] with the container's PATH, as execvp
// would, and checks it is executable by the container user.
func LookPath(p *specs.Process) (string, error) {
	name := p.Args[0]
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("process.args[0]: %s: %w", name, err)
		}
		return name, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range p.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, name)
		err := executable(cand)
		if err == nil {
			return cand, nil
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", cand, err)
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("process.args[0]: %q: %w", name, firstErr)
	}
	return "", fmt.Errorf("process.args[0]: %q: executable file not found in $PATH (%s)", name, path)
}

func executable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	return unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS)
}

// CloseExtraFDs marks every descriptor from first upwards close-on-exec so
// only 0, 1, 2 and the preserved ones reach the container process.
func CloseExtraFDs(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	return nil
}
