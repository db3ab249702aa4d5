package tests

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// holder starts, as the account, a process in namespaces made by argv (an
// unshare command line, possibly behind nsenter) that sets the host name
// to the test's marker and waits; it returns its PID. The process is
// killed when the test ends.
func holder(t *testing.T, a *Account, argv ...string) int {
	t.Helper()
	argv = append(argv, "sh", "-c", "hostname urun-joined 2>/dev/null; echo ready; exec sleep infinity")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GID), Groups: []uint32{}},
		Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("%v: %q %v", argv, line, err)
	}
	return cmd.Process.Pid
}

func nsLink(t *testing.T, pid int, typ string) string {
	t.Helper()
	l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + typ)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func nsPath(pid int, typ string) string { return "/proc/" + strconv.Itoa(pid) + "/ns/" + typ }

// The container joins a network and a UTS namespace made by its caller,
// the way podman's default network and pods work: urun runs as root of the
// user namespace that owns them (the nested account, as podman calls it).
func TestJoinNetworkUTS(t *testing.T) {
	a := Nested
	h := holder(t, a, "nsenter", "-t", strconv.Itoa(nestedNS.Process.Pid), "-U", "--preserve-credentials", "--", "unshare", "-n", "-u")
	e := NewEnv(t, a, "sh", "-c", "hostname; readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /proc/sys/net/ipv4/ip_unprivileged_port_start")
	e.Spec.Linux.Namespaces = append(e.Spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: "network", Path: nsPath(h, "net")}, specs.LinuxNamespace{Type: "uts", Path: nsPath(h, "uts")},
		specs.LinuxNamespace{Type: "pid"}) // no path: ignored as before
	e.WriteSpec()
	// A fresh network namespace has only lo; ports below 1024 are bindable.
	runWant(e, "j1", "urun-joined\n"+nsLink(t, h, "net")+"\nlo\n0\n", "container did not join the holder's uts and net namespaces")
}

// runWant runs the container, wants exactly want on its stdout and nothing
// left behind.
func runWant(e *Env, id, want, what string) {
	e.T.Helper()
	if r := e.MustUrun("run", id); r.Stdout != want {
		e.T.Fatalf("%s: got\n%s\nwant\n%s", what, r.Stdout, want)
	}
	e.AssertClean()
}

// A user namespace given by path is joined instead of making one (the
// mount namespace is still new), by an account with no privilege at all:
// as its root, and as a non-root uid (the account mapped to 1000 inside,
// as podman's keep-id does), set up with ambient capabilities that the
// container's process no longer has.
func TestJoinUserNamespace(t *testing.T) {
	for _, a := range []*Account{Sub, NoSub} {
		t.Run(a.Name+"/root", func(t *testing.T) {
			h := holder(t, a, "unshare", "-U", "-r", "-u")
			e := NewEnv(t, a, "sh", "-c", "hostname; id -u; readlink /proc/self/ns/user; cat /proc/self/uid_map; grep -E 'Cap(Inh|Eff)' /proc/self/status")
			e.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: nsPath(h, "user")}, {Type: "mount"}, {Type: "uts", Path: nsPath(h, "uts")}}
			// Only what the config lists, though the joining child raised
			// every capability for the set-up.
			kill := []string{"CAP_KILL"}
			e.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill}
			e.WriteSpec()
			r := e.MustUrun("run", "u1")
			f := strings.Fields(r.Stdout)
			if len(f) != 10 || f[0] != "urun-joined" || f[1] != "0" || f[2] != nsLink(t, h, "user") || f[3] != "0" || f[4] != strconv.Itoa(a.UID) ||
				f[7] != "0000000000000000" || f[9] != "0000000000000020" {
				t.Fatalf("container not in the holder's user namespace %s as root:\n%s", nsLink(t, h, "user"), r.Stdout)
			}
			e.AssertClean()
		})
		t.Run(a.Name+"/keep-id", func(t *testing.T) {
			h := holder(t, a, "unshare", "-U", "--map-user=1000", "--map-group=1000")
			e := NewEnv(t, a, "sh", "-c", "id -u; id -g; readlink /proc/self/ns/user; grep -E 'Cap(Eff|Prm|Amb)' /proc/self/status; touch /tmp/f; stat -c %u /tmp/f")
			e.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
			e.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: nsPath(h, "user")}, {Type: "mount"}}
			e.WriteSpec()
			runWant(e, "u2", "1000\n1000\n"+nsLink(t, h, "user")+"\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n1000\n",
				"keep-id-like join")
		})
	}
}

// Mappings where container root is not urun's own uid (podman's
// --userns=keep-id: the account mapped to itself, its subordinate range
// around it): the process runs as process.user, urun sets up as the
// namespace's creator.
func TestKeepIDMapping(t *testing.T) {
	a := Sub
	sub, _ := strconv.Atoi(subStart(a.User))
	e := NewEnv(t, a, "sh", "-c", "id -u; grep -E 'Cap(Eff|Amb)' /proc/self/status; stat -c %u /; touch /tmp/f; stat -c %u /tmp/f")
	own := uint32(a.UID)
	e.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(sub), Size: own}, {ContainerID: own, HostID: own, Size: 1}, {ContainerID: own + 1, HostID: uint32(sub) + own, Size: 1000}}
	e.Spec.Linux.GIDMappings = e.Spec.Linux.UIDMappings
	e.Spec.Process.User = specs.User{UID: own, GID: own}
	e.WriteSpec()
	// The rootfs belongs to the account: container uid own, as with podman.
	u := strconv.Itoa(a.UID)
	runWant(e, "k1", u+"\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"+u+"\n"+u+"\n", "keep-id mapping")
}

// A path to the namespace urun already runs in means "stay here", for
// every type (docker --network=host, ctr --with-ns network:/proc/self/ns/net).
func TestJoinStayHere(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "readlink", "/proc/self/ns/net")
		e.Spec.Linux.Namespaces[1].Path = "/proc/self/ns/mnt"
		for _, typ := range []struct{ spec, proc string }{{"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"}, {"cgroup", "cgroup"}, {"pid", "pid"}, {"time", "time"}} {
			e.Spec.Linux.Namespaces = append(e.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(typ.spec), Path: "/proc/self/ns/" + typ.proc})
		}
		// /proc/self is urun; the user namespace entry stays path-less
		// (a path to urun's own is for a urun that is root there: below).
		e.WriteSpec()
		r := e.MustUrun("run", "s1")
		if strings.TrimSpace(r.Stdout) != nsLink(t, os.Getpid(), "net") {
			t.Errorf("container left urun's network namespace %s: %s", nsLink(t, os.Getpid(), "net"), r.Stdout)
		}
		e.AssertClean()
	})
	t.Run("user", func(t *testing.T) {
		e := NewEnv(t, Nested, "readlink", "/proc/self/ns/user")
		e.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: "/proc/self/ns/user"}, {Type: "mount"}}
		e.WriteSpec()
		r := e.MustUrun("run", "s2")
		if strings.TrimSpace(r.Stdout) != nsLink(t, nestedNS.Process.Pid, "user") {
			t.Errorf("container is not in urun's own user namespace %s: %s", nsLink(t, nestedNS.Process.Pid, "user"), r.Stdout)
		}
		e.AssertClean()
	})
}

// Bad paths are refused at create, naming the JSON path, the file and the
// errno, and nothing is left behind.
func TestJoinRefusals(t *testing.T) {
	a := Sub
	own := holder(t, a, "unshare", "-U", "-r", "-n", "-m") // the account's, but its user namespace is not joined
	other := holder(t, NoSub, "unshare", "-U", "-r", "-u") // another account's
	for _, tt := range []struct {
		name string
		ns   specs.LinuxNamespace
		want string
	}{
		{"missing", specs.LinuxNamespace{Type: "network", Path: "/run/netns/urun-none"},
			"config.json: linux.namespaces[2].path: open /run/netns/urun-none: no such file or directory"},
		{"not a namespace", specs.LinuxNamespace{Type: "network", Path: "/etc/hostname"},
			"config.json: linux.namespaces[2].path: /etc/hostname is not a namespace file (NS_GET_NSTYPE: inappropriate ioctl for device)"},
		{"other type", specs.LinuxNamespace{Type: "uts", Path: nsPath(own, "net")},
			"config.json: linux.namespaces[2].path: " + nsPath(own, "net") + " is a network namespace, not uts"},
		{"no right", specs.LinuxNamespace{Type: "network", Path: nsPath(own, "net")},
			"linux.namespaces[2].path: setns " + nsPath(own, "net") + ": operation not permitted (joining needs CAP_SYS_ADMIN"},
		{"another account's", specs.LinuxNamespace{Type: "uts", Path: nsPath(other, "uts")},
			"config.json: linux.namespaces[2].path: open " + nsPath(other, "uts") + ": permission denied"},
		{"mount", specs.LinuxNamespace{Type: "mount", Path: nsPath(own, "mnt")},
			"config.json: linux.namespaces[1].path: " + nsPath(own, "mnt") + ": joining a mount namespace is not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEnv(t, a, "true")
			if tt.ns.Type == "mount" {
				e.Spec.Linux.Namespaces[1] = tt.ns
			} else {
				e.Spec.Linux.Namespaces = append(e.Spec.Linux.Namespaces, tt.ns)
			}
			e.WriteSpec()
			pidFile := e.Bundle + "/pid"
			r := e.Urun("create", "--pid-file", pidFile, "bad1")
			if r.Code == 0 || !strings.Contains(r.Stderr, "urun create bad1: "+tt.want) {
				t.Errorf("got %s\nwant an error containing %q", r, tt.want)
			}
			if _, err := os.Stat(pidFile); err == nil {
				t.Errorf("pid file left behind")
			}
			e.AssertClean()
		})
	}
}

// exec into a container that joined a pid namespace (podman's
// --pid=container:, a pod sharing pid) puts the process in that namespace
// too, as the container's own process is (it used to stay in urun's), and
// delete still reaches it.
func TestExecJoinedPID(t *testing.T) {
	a := Nested
	h := holder(t, a, "nsenter", "-t", strconv.Itoa(nestedNS.Process.Pid), "-U", "--preserve-credentials", "--", "unshare", "-p", "-f", "--kill-child")
	e := NewEnv(t, a)
	e.Spec.Linux.Namespaces = append(e.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "pid", Path: nsPath(h, "pid_for_children")})
	main := startReady(t, e, "xp", "echo ready; exec sleep 100")
	want := nsLink(t, h, "pid_for_children")
	if got := nsLink(t, main, "pid"); got != want {
		t.Fatalf("container process in pid namespace %s, want the holder's %s", got, want)
	}
	r := e.Urun("exec", "xp", "readlink", "/proc/self/ns/pid")
	if r.Code != 0 || r.Stdout != want+"\n" {
		t.Fatalf("exec in a container that joined pid namespace %s: %s", want, r)
	}
	e.MustUrun("exec", "-d", "xp", "sleep", "101")
	e.MustUrun("delete", "--force", "xp")
	e.AssertClean()
}

// exec into a container in a joined user namespace whose root is not
// mapped (a pod made with podman's --userns=keep-id) sets the process up
// as create does, holding the joiner's capabilities in the ambient set and
// dropping them: it used to lose them at its exec of urun and fail to
// drop the bounding set.
func TestExecJoinedKeepID(t *testing.T) {
	for _, a := range []*Account{Sub, NoSub} {
		t.Run(a.Name, func(t *testing.T) {
			h := holder(t, a, "unshare", "-U", "--map-user=1000", "--map-group=1000")
			e := NewEnv(t, a)
			e.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
			// A bounding set to drop, as podman's configs have.
			kill := []string{"CAP_KILL"}
			e.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill}
			e.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: nsPath(h, "user")}, {Type: "mount"}}
			startReady(t, e, "xk", "echo ready; exec sleep 100")
			r := e.Urun("exec", "xk", "sh", "-c", "id -u; readlink /proc/self/ns/user; grep -E 'Cap(Eff|Amb)' /proc/self/status")
			if want := "1000\n" + nsLink(t, h, "user") + "\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"; r.Code != 0 || r.Stdout != want {
				t.Fatalf("exec in a joined keep-id user namespace: %s\nwant %q", r, want)
			}
			e.MustUrun("delete", "--force", "xk")
			e.AssertClean()
		})
	}
}

// Mappings given with a user namespace path (podman's keep-id pods pass
// the pod's) must be that namespace's: different ones fail create naming
// the path and both, with nothing left.
func TestJoinUserMappingsMismatch(t *testing.T) {
	a := NoSub
	h := holder(t, a, "unshare", "-U", "-r")
	e := NewEnv(t, a)
	e.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: nsPath(h, "user")}, {Type: "mount"}}
	e.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(a.UID), Size: 1}}
	e.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 5, HostID: uint32(a.GID), Size: 1}}
	e.WriteSpec()
	want := "urun run m1: linux.namespaces[0].path: " + nsPath(h, "user") + ": linux.gidMappings [5:" + strconv.Itoa(a.GID) + ":1] differ from the joined user namespace's [0:" + strconv.Itoa(a.GID) + ":1] (container:host:size)"
	if r := e.Urun("run", "m1"); r.Code != 1 || !strings.Contains(r.Stderr, want) {
		t.Fatalf("mismatched mappings: %s\nwant %q", r, want)
	}
	e.AssertClean()
}
