// Package nsjoin joins namespaces that the caller made and named by path in
// linux.namespaces (podman's network namespace, a pod's ipc and uts, a user
// namespace to share). urun creates only a user and a mount namespace;
// joining one that exists is not creating it.
//
// Two ways in, because the kernel treats user namespaces apart:
//   - network, ipc, uts, cgroup and pid are joined by one locked OS thread of
//     urun, which then forks the placeholder (it inherits the thread's
//     namespaces) and dies with its goroutine, so no Go thread stays in a
//     namespace it joined (Fork);
//   - a user namespace can be joined only by a single-threaded process, which
//     a Go program never is: a re-executed helper forks a raw child that
//     does the setns calls and execs the placeholder (user.go).
package nsjoin

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"urun/failure"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// kinds maps the joinable types to their /proc/self/ns name and clone flag.
var kinds = map[specs.LinuxNamespaceType]struct {
	proc string
	flag int
}{
	specs.UserNamespace:    {"user", unix.CLONE_NEWUSER},
	specs.NetworkNamespace: {"net", unix.CLONE_NEWNET},
	specs.IPCNamespace:     {"ipc", unix.CLONE_NEWIPC},
	specs.UTSNamespace:     {"uts", unix.CLONE_NEWUTS},
	specs.CgroupNamespace:  {"cgroup", unix.CLONE_NEWCGROUP},
	specs.PIDNamespace:     {"pid", unix.CLONE_NEWPID},
	specs.MountNamespace:   {"mnt", unix.CLONE_NEWNS},
	specs.TimeNamespace:    {"time", unix.CLONE_NEWTIME},
}

// Joinable reports whether urun joins a namespace of type t given by path
// (mount and time are not: urun makes its own mount namespace, and a time
// namespace is not needed by any client).
func Joinable(t specs.LinuxNamespaceType) bool {
	return t != specs.MountNamespace && t != specs.TimeNamespace && kinds[t].proc != ""
}

// Here reports whether path names the namespace of type t that urun already
// runs in (same device and inode as /proc/self/ns/<t>): docker's
// --network=host and ctr --with-ns pass such paths, meaning "stay here".
// An unreadable path is not "here"; Open reports it.
func Here(t specs.LinuxNamespaceType, path string) bool {
	k, ok := kinds[t]
	if !ok {
		return false
	}
	var want, got unix.Stat_t
	if unix.Stat("/proc/self/ns/"+k.proc, &want) != nil || unix.Stat(path, &got) != nil {
		return false
	}
	return want.Dev == got.Dev && want.Ino == got.Ino
}

// StaysInUser reports whether the config names urun's own user namespace
// by path: the container stays in it (no user namespace is made).
func StaysInUser(s *specs.Spec) bool {
	if s.Linux == nil {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path != "" && Here(ns.Type, ns.Path) {
			return true
		}
	}
	return false
}

// Join is one namespace to enter.
type Join struct {
	Type  specs.LinuxNamespaceType
	Field string // JSON path, linux.namespaces[N].path
	Path  string
	File  *os.File
}

// Plan is every namespace a container joins.
type Plan struct {
	User   *Join  // nil: urun creates the container's user namespace
	Others []Join // network, ipc, uts, cgroup, pid, in the config's order
}

// Open opens every namespace path of nss that is not urun's own and checks
// its type. Errors name the JSON path, the file and the errno. A nil plan
// means nothing to join. The caller closes the plan.
func Open(nss []specs.LinuxNamespace) (*Plan, error) {
	var p Plan
	for i, ns := range nss {
		if ns.Path == "" || Here(ns.Type, ns.Path) {
			continue
		}
		j := Join{Type: ns.Type, Field: "linux.namespaces[" + strconv.Itoa(i) + "].path", Path: ns.Path}
		if !Joinable(ns.Type) {
			p.Close()
			return nil, fmt.Errorf("%s: %s: joining a %s namespace is not supported (urun always makes its own mount namespace; a path to urun's own %s namespace is accepted)", j.Field, ns.Path, ns.Type, ns.Type)
		}
		f, err := open(j)
		if err != nil {
			p.Close()
			return nil, err
		}
		j.File = f
		if ns.Type == specs.UserNamespace {
			p.User = &j
		} else {
			p.Others = append(p.Others, j)
		}
	}
	if p.User == nil && len(p.Others) == 0 {
		return nil, nil
	}
	if p.User != nil {
		for _, j := range p.Others {
			if j.Type == specs.PIDNamespace {
				p.Close()
				return nil, fmt.Errorf("%s: %s: joining a pid namespace together with a user namespace is not supported yet (the placeholder would have to fork once more inside them; see unsupported.md)", j.Field, j.Path)
			}
		}
	}
	return &p, nil
}

func open(j Join) (*os.File, error) {
	f, err := os.OpenFile(j.Path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w%s", j.Field, j.Path, failure.Errno(err), hint(err))
	}
	typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %s is not a namespace file (NS_GET_NSTYPE: %w); give a /proc/PID/ns/%s path or a bind mount of one", j.Field, j.Path, err, kinds[j.Type].proc)
	}
	if typ != kinds[j.Type].flag {
		f.Close()
		return nil, fmt.Errorf("%s: %s is a %s namespace, not %s", j.Field, j.Path, typeName(typ), j.Type)
	}
	return f, nil
}

func typeName(flag int) string {
	for t, k := range kinds {
		if k.flag == flag {
			return string(t)
		}
	}
	return "0x" + strconv.FormatInt(int64(flag), 16)
}

func hint(err error) string {
	switch {
	case errors.Is(err, unix.ENOENT):
		return " (the namespace's holder may have exited: a /proc/PID/ns path lives as long as PID)"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return " (the namespace belongs to another user; run urun as its owner, as podman does)"
	}
	return ""
}

// Close closes the plan's files; a nil plan is fine.
func (p *Plan) Close() {
	if p == nil {
		return
	}
	if p.User != nil {
		p.User.File.Close()
	}
	for _, j := range p.Others {
		j.File.Close()
	}
}

// Fork runs start, which forks the placeholder, on an OS thread that has
// first joined p.Others (a nil plan: on the caller's thread). The thread is
// never unlocked: it exits with its goroutine, so no Go code ever runs in
// the joined namespaces. debug receives a line per lowered sysctl. With a
// user namespace to join, start forks the helper, whose child joins them
// all (ForkInUser), user first: it then has the capabilities to.
func (p *Plan) Fork(start func() error, debug func(string)) error {
	if p == nil || len(p.Others) == 0 || p.User != nil {
		return start()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // and no Unlock: the thread dies with us
		for _, j := range p.Others {
			if err := unix.Setns(int(j.File.Fd()), kinds[j.Type].flag); err != nil {
				done <- fmt.Errorf("%s: setns %s: %w%s", j.Field, j.Path, err, setnsHint(err))
				return
			}
			if j.Type == specs.NetworkNamespace {
				lowPorts(j, debug)
			}
		}
		done <- start()
	}()
	return <-done
}

func setnsHint(err error) string {
	if errors.Is(err, unix.EPERM) {
		return " (joining needs CAP_SYS_ADMIN over the namespace's owning user namespace and urun's own: run urun as root of the user namespace that made it, as podman does, or join that user namespace too)"
	}
	if errors.Is(err, unix.EINVAL) {
		return " (a pid namespace must be urun's own or one below it)"
	}
	return ""
}

// lowPorts lets the container bind ports below 1024 in a network namespace
// it joined. Its root is root of urun's nested user namespace, which has no
// CAP_NET_BIND_SERVICE over a namespace the caller's user namespace owns
// (runc's container, not nested, has it). While this thread still holds
// the caller's capabilities it sets net.ipv4.ip_unprivileged_port_start to
// 0 in that namespace, which the caller made for this container (or pod);
// it is left as it was when urun may not write it.
func lowPorts(j Join, debug func(string)) {
	const sysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
	cur, err := os.ReadFile(sysctl) // /proc/sys/net is this thread's namespace
	if err != nil || string(cur) == "0\n" {
		return
	}
	if err := os.WriteFile(sysctl, []byte("0"), 0); err != nil {
		debug(fmt.Sprintf("%s: %s: net.ipv4.ip_unprivileged_port_start stays %s: %v (ports below it cannot be bound in the container)", j.Field, j.Path, string(cur[:len(cur)-1]), err))
		return
	}
	debug(fmt.Sprintf("%s: %s: net.ipv4.ip_unprivileged_port_start set from %s to 0, so the container can bind ports below 1024", j.Field, j.Path, string(cur[:len(cur)-1])))
}
