package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/mount"
)

func base() *specs.Spec {
	return &specs.Spec{
		Version: "1.0.2-dev",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Linux:   &specs.Linux{},
	}
}

func ptrTo[T any](v T) *T { return &v }

// everything sets every honoured and ignored field at once.
func everything() *specs.Spec {
	s := base()
	p := s.Process
	p.Terminal = true
	p.ConsoleSize = &specs.Box{Height: 24, Width: 80}
	p.User = specs.User{UID: 0, GID: 0, Umask: ptrTo(uint32(0o22)), AdditionalGids: []uint32{1}, Username: "root"}
	p.CommandLine = "sh"
	hook := []specs.Hook{{Path: "/bin/true", Args: []string{"true"}, Env: []string{"A=1"}, Timeout: ptrTo(5)}}
	s.Hooks = &specs.Hooks{Prestart: hook, CreateRuntime: hook, CreateContainer: hook, StartContainer: hook, Poststart: hook, Poststop: hook}
	p.Env = []string{"PATH=/bin"}
	caps := []string{"CAP_CHOWN"}
	p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Inheritable: caps, Permitted: caps,
		Ambient: []string{"CAP_CHOWN", "CAP_KILL"}} // CAP_KILL: not inheritable, cannot be raised
	p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}}
	p.NoNewPrivileges = true
	p.ApparmorProfile = "x"
	p.OOMScoreAdj = ptrTo(100)
	p.SelinuxLabel = "x"
	p.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_BE"}
	p.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER"}
	p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0"}
	s.Root.Readonly = true
	s.Hostname, s.Domainname = "h", "d"
	s.Annotations = map[string]string{"a": "b"}
	s.Windows, s.Solaris, s.VM, s.ZOS, s.FreeBSD = &specs.Windows{}, &specs.Solaris{}, &specs.VM{}, &specs.ZOS{}, &specs.FreeBSD{}
	s.Mounts = []specs.Mount{
		{Destination: "/b", Type: "bind", Source: "/x", Options: []string{"rbind", "ro", "rprivate", "x-foo"}},
		{Destination: "/t", Type: "tmpfs", Options: []string{"mode=755"}},
		{Destination: "/proc", Type: "proc"}, {Destination: "/sys", Type: "sysfs"}, {Destination: "/dev/pts", Type: "devpts"},
		{Destination: "/q", Type: "mqueue"}, {Destination: "/c1", Type: "cgroup"}, {Destination: "/c2", Type: "cgroup2"},
		{Destination: "/o", Type: "overlay"}, {Destination: "/f", Type: "fuse"},
	}
	l := s.Linux
	for _, t := range []specs.LinuxNamespaceType{"user", "mount", "pid", "ipc", "uts", "network", "cgroup", "time"} {
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: t})
	}
	l.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
	l.GIDMappings = []specs.LinuxIDMapping{{Size: 1}}
	l.Devices = []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}
	l.CgroupsPath = "/x"
	l.Resources = &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{}}, Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{},
		BlockIO: &specs.LinuxBlockIO{}, HugepageLimits: []specs.LinuxHugepageLimit{{}}, Network: &specs.LinuxNetwork{},
		Rdma: map[string]specs.LinuxRdma{"x": {}}, Unified: map[string]string{"x": "y"},
	}
	l.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1"}
	l.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_ALLOW"}
	l.RootfsPropagation = "rprivate"
	l.MaskedPaths = []string{"/proc/kcore"}
	l.ReadonlyPaths = []string{"/proc/sys"}
	l.MountLabel = "x"
	return s
}

type refusal struct {
	key  string
	edit func(*specs.Spec)
	want string
}

// refusals has at least one config per refused row, and the value checks of
// honoured rows, with the exact message.
var refusals = []refusal{
	{"process.user.umask", func(s *specs.Spec) { s.Process.User.Umask = ptrTo(uint32(0o1022)) },
		"process.user.umask: 01022 is not a umask (0 to 0777) (see unsupported.md)"},
	{"process.cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" },
		`process.cwd: "tmp" is not an absolute path (see unsupported.md)`},
	{"process.capabilities.bounding", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_TEST"}}
	}, `process.capabilities.bounding[1]: unknown capability "CAP_TEST" (see unsupported.md)`},
	{"process.capabilities.effective", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Effective: []string{"chown"}}
	}, `process.capabilities.effective[0]: unknown capability "chown" (see unsupported.md)`},
	{"process.capabilities.effective", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Effective: []string{"CAP_CHOWN", "CAP_KILL"}, Permitted: []string{"CAP_CHOWN"}}
	}, `process.capabilities.effective[1]: CAP_KILL is not in process.capabilities.permitted (the kernel refuses an effective capability that is not permitted) (see unsupported.md)`},
	{"process.capabilities.inheritable", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Inheritable: []string{"CAP_TEST"}}
	}, `process.capabilities.inheritable[0]: unknown capability "CAP_TEST" (see unsupported.md)`},
	{"process.capabilities.permitted", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Permitted: []string{"CAP_TEST"}}
	}, `process.capabilities.permitted[0]: unknown capability "CAP_TEST" (see unsupported.md)`},
	{"process.capabilities.ambient", func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Ambient: []string{"CAP_TEST"}}
	}, `process.capabilities.ambient[0]: unknown capability "CAP_TEST" (see unsupported.md)`},
	{"process.rlimits", func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_TEST", Soft: 1, Hard: 1}}
	}, `process.rlimits[1].type: unknown rlimit "RLIMIT_TEST" (see unsupported.md)`},
	{"process.rlimits", func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_NOFILE", Soft: 2, Hard: 2}}
	}, `process.rlimits[1].type: RLIMIT_NOFILE is listed twice (see unsupported.md)`},
	{"process.rlimits", func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 2, Hard: 1}} },
		`process.rlimits[0]: RLIMIT_CORE soft limit 2 exceeds hard limit 1 (see unsupported.md)`},
	{"process.oomScoreAdj", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptrTo(1001) },
		`process.oomScoreAdj: 1001 is outside -1000..1000 (see unsupported.md)`},
	{"mounts.destination", func(s *specs.Spec) { s.Mounts = []specs.Mount{{Destination: "tmp", Type: "tmpfs"}} },
		`mounts[0].destination: "tmp" is not an absolute path (see unsupported.md)`},
	{"mounts.destination", func(s *specs.Spec) { s.Mounts = []specs.Mount{{Destination: "/.", Type: "tmpfs"}} },
		`mounts[0].destination: "/" would cover the rootfs (and the mounts made before it): set root.path instead (see unsupported.md)`},
	{"mounts.options.idmap", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/t", Type: "tmpfs"}, {Destination: "/b", Type: "bind", Source: "/x", Options: []string{"rbind", "idmap"}}}
	}, `mounts[1].options[1]: "idmap": idmapped mounts need privileges urun does not have (see unsupported.md)`},
	{"mounts.options.idmap", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/b", Type: "bind", Source: "/x", UIDMappings: []specs.LinuxIDMapping{{Size: 1}}}}
	}, `mounts[0].uidMappings: idmapped mounts need privileges urun does not have; files would show other owners (see unsupported.md)`},
	{"mounts.options.idmap", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/b", Type: "bind", Source: "/x", GIDMappings: []specs.LinuxIDMapping{{Size: 1}}}}
	}, `mounts[0].gidMappings: idmapped mounts need privileges urun does not have; files would show other owners (see unsupported.md)`},
	{"mounts.options.tmpcopyup", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/t", Type: "tmpfs", Options: []string{"tmpcopyup"}}}
	},
		`mounts[0].options[0]: "tmpcopyup": copying the image content into a tmpfs is not implemented (see unsupported.md)`},
	{"mounts.options.unknown", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/t", Type: "tmpfs", Options: []string{"nosuid", "nosiud"}}}
	},
		`mounts[0].options[1]: unknown mount option "nosiud" (see unsupported.md)`},
	{"mounts.notype", func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/t", Source: "/x", Options: []string{"ro"}}}
	},
		`mounts[0].type: a mount with no type and no bind or rbind option says nothing to mount (see unsupported.md)`},
	{"mounts.bind", func(s *specs.Spec) { s.Mounts = []specs.Mount{{Destination: "/t", Options: []string{"bind"}}} },
		`mounts[0].source: a bind mount needs a source (see unsupported.md)`},
	{"hooks.prestart", func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true"}, {Path: "true"}}}
	}, `hooks.prestart[1].path: "true" is not an absolute path (see unsupported.md)`},
	{"hooks.poststop", func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: ptrTo(0)}}}
	}, "hooks.poststop[0].timeout: 0 is not a number of seconds above 0 (see unsupported.md)"},
	{"linux.namespaces.path.mount", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount", Path: "/run/other-mnt"}}
	}, "linux.namespaces[1].path: /run/other-mnt: joining a mount namespace is not supported (urun always makes its own mount namespace); only a path to urun's own mount namespace is accepted (see unsupported.md)"},
	{"linux.namespaces.path.pidWithUser", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: "/run/u"}, {Type: "pid", Path: "/run/p"}}
	}, "linux.namespaces[1].path: not implemented yet: the placeholder would have to fork once more inside the joined namespaces (see unsupported.md)"},
	{"linux.namespaces.unknown", func(s *specs.Spec) { s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "pids"}} },
		`linux.namespaces[0].type: unknown namespace type "pids" (see unsupported.md)`},
	{"linux.namespaces.unknown", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "pid"}, {Type: "uts"}, {Type: "pid"}}
	},
		`linux.namespaces[2].type: namespace type "pid" is listed twice (also linux.namespaces[0]) (see unsupported.md)`},
	{"linux.timeOffsets", func(s *specs.Spec) { s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}} },
		"linux.timeOffsets: needs a time namespace, which urun does not create; the clocks would silently differ (see unsupported.md)"},
	{"linux.intelRdt", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "x"} },
		"linux.intelRdt: Intel RDT needs privilege; cache and memory bandwidth allocation would silently differ (see unsupported.md)"},
	{"linux.personality", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX32"} },
		"linux.personality: not implemented; running under another execution domain would change the program's behaviour (see unsupported.md)"},
	{"linux.memoryPolicy", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND"} },
		"linux.memoryPolicy: not implemented; NUMA placement would silently differ (see unsupported.md)"},
	{"linux.netDevices", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}} },
		"linux.netDevices: moving network devices needs a network namespace and privilege (see unsupported.md)"},
	{"linux.rootfsPropagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rsharde" },
		`linux.rootfsPropagation: "rsharde" is not a propagation mode (see unsupported.md)`},
	{"linux.maskedPaths", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore", "proc/keys"} },
		`linux.maskedPaths[1]: "proc/keys" is not an absolute path (see unsupported.md)`},
	{"linux.readonlyPaths", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{""} },
		`linux.readonlyPaths[0]: "" is not an absolute path (see unsupported.md)`},
	// Docker's bridge and none networks. Refused before, and whatever, the
	// hooks step decides: it must hold once hooks are run.
	{"linux.namespaces.network.hooked", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "mount"}, {Type: "network"}}
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/proc/42/exe", Args: []string{"libnetwork-setkey", "-exec-root=/var/run/docker", "c1", "abc"}}}}
	}, "linux.namespaces[1]: a new network namespace, with hooks.prestart[0] (libnetwork-setkey) to set it up: urun creates no network namespace, so the hook would configure the host's network instead; with Docker, --network=host works (see unsupported.md)"},
	{"linux.namespaces.network.hooked", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "network"}}
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {Path: "/usr/bin/dockerd", Args: []string{"/usr/bin/libnetwork-setkey"}}}}
	}, "linux.namespaces[0]: a new network namespace, with hooks.createRuntime[1] (libnetwork-setkey) to set it up: urun creates no network namespace, so the hook would configure the host's network instead; with Docker, --network=host works (see unsupported.md)"},
	// buildah run's default network: slirp4netns' DNS first in the
	// resolv.conf it binds.
	{"linux.namespaces.network.slirp", func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "mount"}, {Type: "network"}}
		src, _ := filepath.Abs("testdata/slirp-resolv.conf")
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: src, Options: []string{"rbind"}})
	}, "linux.namespaces[1]: a new network namespace for slirp4netns (mounts[0], /etc/resolv.conf, names its DNS 10.0.2.3): urun creates no network namespace, so slirp4netns would have none to set up; use --network=host (buildah, podman) (see unsupported.md)"},
	// Values of honoured rows that are refused.
	{"process.env", func(s *specs.Spec) { s.Process.Env = []string{"PATH=/bin", "FOO", "A=1"} },
		`process.env[1]: "FOO" is not NAME=VALUE (see unsupported.md)`},
	{"annotations", func(s *specs.Spec) {
		s.Annotations = map[string]string{"small": "x", "big": strings.Repeat("y", MaxAnnotationBytes)}
	}, `annotations: 262153 bytes of keys and values, more than urun's limit of 262144 (they are kept in state.json, which every ` + "`urun state`" + ` reads) (see unsupported.md)`},
}

// Annotations up to the limit pass.
func TestAnnotationsAtTheLimit(t *testing.T) {
	s := base()
	s.Annotations = map[string]string{"k": strings.Repeat("v", MaxAnnotationBytes-1)}
	if _, err := Check(s, Options{}); err != nil {
		t.Errorf("%d bytes of annotations: %v", MaxAnnotationBytes, err)
	}
}

func TestRefusals(t *testing.T) {
	for _, r := range refusals {
		t.Run(r.key, func(t *testing.T) {
			s := base()
			r.edit(s)
			_, err := Check(s, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", r.want)
			}
			if err.Error() != r.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), r.want)
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Key != r.key {
				t.Errorf("refusal row %+v, want key %s", re, r.key)
			}
			// The caller's prefix gives the shape the issue fixes.
			full := "urun create c1: config.json: " + err.Error()
			if !strings.HasPrefix(full, "urun create c1: config.json: "+re.Path+": ") {
				t.Errorf("%q does not start with the JSON path", full)
			}
		})
	}
}

func TestEveryRefusedRowHasACase(t *testing.T) {
	have := map[string]bool{}
	for _, r := range refusals {
		have[r.key] = true
	}
	for _, f := range Table {
		if f.Disp == Refused && !have[f.Key] {
			t.Errorf("refused row %s has no case in refusals", f.Key)
		}
	}
}

func withFakeLastCap(t *testing.T) string {
	t.Helper()
	known := capability.ListKnown()
	top := known[len(known)-1]
	old := lastCap
	lastCap = func() (capability.Cap, error) { return top - 1, nil }
	t.Cleanup(func() { lastCap = old })
	return "CAP_" + strings.ToUpper(top.String())
}

// Every row of Table is reached by some config.
func TestEveryRowVisited(t *testing.T) {
	newest := withFakeLastCap(t)
	seen := map[string]bool{}
	add := func(s *specs.Spec) {
		v, _ := Visited(s, Options{})
		for k := range v {
			seen[k] = true
		}
	}
	s := everything()
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, newest)
	if _, err := Check(s, Options{}); err != nil {
		t.Fatalf("everything(): %v", err)
	}
	add(s)
	joins := base()
	joins.Linux.Namespaces = []specs.LinuxNamespace{{Type: "network", Path: "/run/netns/x"}, {Type: "uts", Path: "/proc/self/ns/uts"}}
	if n, err := Check(joins, Options{}); err != nil || len(n) != 0 {
		t.Fatalf("joins: %v, notes %v", err, n)
	}
	add(joins)
	userJoin := base() // a keep-id pod's: the namespace's mappings with its path
	userJoin.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user", Path: "/run/u"}, {Type: "mount"}}
	userJoin.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
	if _, err := Check(userJoin, Options{}); err != nil {
		t.Fatalf("user namespace path with mappings: %v", err)
	}
	add(userJoin)
	for _, r := range refusals {
		s := base()
		r.edit(s)
		add(s)
	}
	shared := base() // everything() has rprivate; shared is a row of its own
	shared.Linux.RootfsPropagation = "rshared"
	add(shared)
	for _, f := range Table {
		if !seen[f.Key] {
			t.Errorf("row %s (%s) is never visited by the walker", f.Key, f.Field)
		}
	}
	for k := range seen {
		if _, ok := tableIndex()[k]; !ok {
			t.Errorf("walker visited %q, which is not a row of Table", k)
		}
	}
}

// TestChecksUseTable: every row name written in check.go exists in Table,
// and the table's keys are unique.
func TestChecksUseTable(t *testing.T) {
	keys := map[string]bool{}
	for _, f := range Table {
		if keys[f.Key] {
			t.Errorf("duplicate row %s", f.Key)
		}
		keys[f.Key] = true
		if f.Reason == "" || f.Field == "" {
			t.Errorf("row %s lacks a field or reason", f.Key)
		}
		switch f.Disp {
		case Honoured, Ignored, Refused:
		default:
			t.Errorf("row %s: disposition %q", f.Key, f.Disp)
		}
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "check.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	keyLike := regexp.MustCompile(`^[a-z][A-Za-z]*(\.[A-Za-z0-9]+)*$`)
	prefixes := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "honour" && sel.Sel.Name != "ignore" && sel.Sel.Name != "refuse") || len(call.Args) == 0 {
			return true
		}
		switch a := call.Args[0].(type) {
		case *ast.BasicLit:
			k, _ := strconv.Unquote(a.Value)
			if !keys[k] {
				t.Errorf("%s: %s(%q): no such row", fset.Position(a.Pos()), sel.Sel.Name, k)
			}
		case *ast.BinaryExpr: // "mounts." + typ
			if lit, ok := a.X.(*ast.BasicLit); ok {
				p, _ := strconv.Unquote(lit.Value)
				prefixes[p] = true
			}
		}
		return true
	})
	// Keys held in tables (namespaceKeys, hook and resource lists): every
	// key-like literal with a known section prefix must be a row.
	ast.Inspect(file, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, _ := strconv.Unquote(lit.Value)
		if !keyLike.MatchString(s) || !strings.Contains(s, ".") {
			return true
		}
		for _, sec := range []string{"process.", "mounts.", "hooks.", "linux.", "root."} {
			if strings.HasPrefix(s, sec) && !keys[s] {
				t.Errorf("%s: %q looks like a row name but is not in Table", fset.Position(lit.Pos()), s)
			}
		}
		return true
	})
	for p := range prefixes {
		found := false
		for k := range keys {
			found = found || strings.HasPrefix(k, p)
		}
		if !found {
			t.Errorf("no row starts with %q", p)
		}
	}
	for _, k := range namespaceKeys {
		if !keys[k] {
			t.Errorf("namespaceKeys: %s is not a row", k)
		}
	}
}

func TestIgnoresHaveNotes(t *testing.T) {
	newest := withFakeLastCap(t)
	s := everything()
	s.Process.Capabilities.Ambient = append(s.Process.Capabilities.Ambient, newest)
	notes, err := Check(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // path -> key
	for _, n := range notes {
		if n.Reason != Lookup(n.Key).Reason || Lookup(n.Key).Disp != Ignored {
			t.Errorf("note %+v: reason or row disposition wrong", n)
		}
		got[n.Path] = n.Key
	}
	want := map[string]string{
		"process.user.username":            "process.user.username",
		"process.commandLine":              "process.commandLine",
		"process.capabilities.ambient[1]":  "process.capabilities.ambient.unraisable",
		"process.capabilities.ambient[2]":  "process.capabilities.kernel",
		"process.apparmorProfile":          "process.apparmorProfile",
		"process.selinuxLabel":             "process.selinuxLabel",
		"process.ioPriority":               "process.ioPriority",
		"process.scheduler":                "process.scheduler",
		"process.execCPUAffinity":          "process.execCPUAffinity",
		"mounts[0].options[3]":             "mounts.options.userspace",
		"mounts[5]":                        "mounts.mqueue",
		"mounts[6]":                        "mounts.cgroup",
		"mounts[7]":                        "mounts.cgroup2",
		"hostname":                         "hostname",
		"domainname":                       "domainname",
		"windows":                          "platforms",
		"linux.namespaces[2]":              "linux.namespaces.pid",
		"linux.namespaces[3]":              "linux.namespaces.ipc",
		"linux.namespaces[4]":              "linux.namespaces.uts",
		"linux.namespaces[5]":              "linux.namespaces.network",
		"linux.namespaces[6]":              "linux.namespaces.cgroup",
		"linux.namespaces[7]":              "linux.namespaces.time",
		"linux.cgroupsPath":                "linux.cgroupsPath",
		"linux.resources.devices":          "linux.resources.devices",
		"linux.resources.unified":          "linux.resources.unified",
		"linux.resources.memory":           "linux.resources.memory",
		"linux.sysctl.kernel.shmmax":       "linux.sysctl",
		"linux.sysctl.net.ipv4.ip_forward": "linux.sysctl",
		"linux.seccomp":                    "linux.seccomp",
		"linux.mountLabel":                 "linux.mountLabel",
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("no note for %s (row %s); notes: %v", p, k, got)
		}
	}
	// Every ignored row shows up as a note.
	rows := map[string]bool{}
	for _, k := range got {
		rows[k] = true
	}
	for _, f := range Table {
		if f.Disp == Ignored && !rows[f.Key] {
			t.Errorf("ignored row %s produced no note", f.Key)
		}
	}
}

// The buildah RUN config: no refusal, and pid/ipc/uts, mqueue, seccomp,
// resources.devices noted.
func TestBuildahRunConfig(t *testing.T) {
	raw, err := os.ReadFile("../testdata/bundles/buildah-run/config.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	notes, err := Check(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, n := range notes {
		paths = append(paths, n.Path)
	}
	sort.Strings(paths)
	want := []string{"hostname", "linux.namespaces[0]", "linux.namespaces[1]", "linux.namespaces[2]", "linux.resources.devices", "linux.seccomp", "mounts[9]"}
	// buildah sends ambient capabilities without inheritable: none can be raised.
	for i := range s.Process.Capabilities.Ambient {
		want = append(want, "process.capabilities.ambient["+strconv.Itoa(i)+"]")
	}
	sort.Strings(want)
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("notes %v, want %v", paths, want)
	}
}

// ClassifyOption, which the walker uses, agrees with ParseOptions, which
// the mount setup uses.
func TestOptionClassesMatchParse(t *testing.T) {
	opts := append(mount.KnownOptions(), mount.RefusedOptions()...)
	for _, k := range mount.DataOptionKeys() {
		opts = append(opts, k+"=1")
	}
	opts = append(opts, "x-systemd.automount", "nosiud", "", "RO")
	for _, o := range opts {
		kind, _ := mount.ClassifyOption(o)
		_, err := mount.ParseOptions([]string{o})
		refused := kind == mount.OptUnknown || kind == mount.OptRefused
		if refused != (err != nil) {
			t.Errorf("option %q: class %d but ParseOptions error %v", o, kind, err)
		}
	}
}

func TestFeatures(t *testing.T) {
	raw, err := FeaturesJSON(map[string]string{"x.test": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["ociVersionMin"] != "1.0.0" || doc["ociVersionMax"] != MaxVersion {
		t.Errorf("versions %v %v", doc["ociVersionMin"], doc["ociVersionMax"])
	}
	if h, ok := doc["hooks"].([]any); !ok || fmt.Sprint(h) != "[prestart createRuntime createContainer startContainer poststart poststop]" {
		t.Errorf("hooks = %#v, want the six kinds", doc["hooks"])
	}
	f := Features()
	if strings.Join(f.MountOptions, ",") != strings.Join(mount.KnownOptions(), ",") {
		t.Errorf("mountOptions not from mount.KnownOptions")
	}
	for _, o := range []string{"bind", "rbind", "ro", "nosuid", "nodev", "noexec", "relatime", "rprivate", "rslave"} {
		if !contains(f.MountOptions, o) {
			t.Errorf("mountOptions lacks %s", o)
		}
	}
	for _, o := range []string{"idmap", "ridmap", "tmpcopyup"} {
		if contains(f.MountOptions, o) {
			t.Errorf("mountOptions lists refused %s", o)
		}
	}
	l := f.Linux
	if strings.Join(l.Namespaces, ",") != "user,mount" {
		t.Errorf("namespaces %v", l.Namespaces)
	}
	if !contains(l.Capabilities, "CAP_SYS_ADMIN") || contains(l.Capabilities, "CAP_TEST") {
		t.Errorf("capabilities %v", l.Capabilities)
	}
	for name, b := range map[string]*bool{
		"cgroup.v1": l.Cgroup.V1, "cgroup.v2": l.Cgroup.V2, "cgroup.systemd": l.Cgroup.Systemd,
		"seccomp": l.Seccomp.Enabled, "apparmor": l.Apparmor.Enabled, "selinux": l.Selinux.Enabled,
		"intelRdt": l.IntelRdt.Enabled, "idmap": l.MountExtensions.IDMap.Enabled, "netDevices": l.NetDevices.Enabled,
	} {
		if b == nil || *b {
			t.Errorf("%s: want enabled false, got %v", name, b)
		}
	}
	if !strings.Contains(f.Annotations[AnnotationDoc], "unsupported.md") {
		t.Errorf("annotations %v", f.Annotations)
	}
	if !strings.Contains(f.Annotations[AnnotationRefused], "linux.namespaces.path") ||
		!strings.Contains(f.Annotations[AnnotationIgnored], "linux.namespaces.pid") {
		t.Errorf("annotations do not list the table: %v", f.Annotations)
	}
	if strings.Contains(f.Annotations[AnnotationRefused], "process.terminal") ||
		!strings.Contains(f.Annotations[AnnotationTerminal], "--console-socket") {
		t.Errorf("annotations: terminals are supported through --console-socket: %v", f.Annotations)
	}
	if a, _ := doc["annotations"].(map[string]any); a["x.test"] != "kept" {
		t.Errorf("the caller's annotation is missing: %v", doc["annotations"])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestUnsupportedMDIsCurrent fails when ../unsupported.md is not what the
// table generates: run `go generate ./config`.
func TestUnsupportedMDIsCurrent(t *testing.T) {
	have, err := os.ReadFile("../unsupported.md")
	if err != nil {
		t.Fatalf("%v (generate it: go generate ./config)", err)
	}
	if !bytes.Equal(have, Markdown()) {
		t.Fatal("unsupported.md is stale: run `go generate ./config` (make docs) and commit it")
	}
	for _, f := range Table {
		if !bytes.Contains(have, []byte("`"+f.Field+"`")) {
			t.Errorf("unsupported.md lacks row %s", f.Key)
		}
	}
}

func BenchmarkCheckBuildah(b *testing.B) {
	raw, err := os.ReadFile("../testdata/bundles/buildah-run/config.json")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(s, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNetworkHooksOnlyWhenNew: the network refusal needs both a new
// network namespace and libnetwork's hook, run before start in urun's
// namespace. (What else refuses the other cases is the hooks and
// namespace rows' business, which other work changes.)
func TestNetworkHooksOnlyWhenNew(t *testing.T) {
	libnetwork := []specs.Hook{{Path: "/proc/42/exe", Args: []string{"libnetwork-setkey", "-exec-root=/run/docker", "c1", "n1"}}}
	gpu := []specs.Hook{{Path: "/usr/bin/nvidia-container-runtime-hook", Args: []string{"nvidia-container-runtime-hook", "prestart"}}}
	for _, tc := range []struct {
		name string
		ns   []specs.LinuxNamespace
		h    *specs.Hooks
		want bool // refused by linux.namespaces.network.hooked
	}{
		{"ctr run: new netns, no hook", []specs.LinuxNamespace{{Type: "network"}}, nil, false},
		{"podman --network=none and a GPU hook", []specs.LinuxNamespace{{Type: "network"}}, &specs.Hooks{Prestart: gpu}, false},
		{"no netns, libnetwork", []specs.LinuxNamespace{{Type: "mount"}}, &specs.Hooks{Prestart: libnetwork}, false},
		{"netns by path (docker --network=host), libnetwork", []specs.LinuxNamespace{{Type: "network", Path: "/run/docker/netns/default"}}, &specs.Hooks{Prestart: libnetwork}, false},
		{"new netns, libnetwork as poststop", []specs.LinuxNamespace{{Type: "network"}}, &specs.Hooks{Poststop: libnetwork}, false},
		{"new netns, libnetwork after a GPU hook", []specs.LinuxNamespace{{Type: "uts"}, {Type: "network"}}, &specs.Hooks{Prestart: append(gpu, libnetwork...)}, true},
		{"new netns, libnetwork as createRuntime", []specs.LinuxNamespace{{Type: "network"}}, &specs.Hooks{CreateRuntime: libnetwork}, true},
	} {
		s := base()
		s.Linux.Namespaces, s.Hooks = tc.ns, tc.h
		_, err := Check(s, Options{})
		var re *RefusedError
		if got := errors.As(err, &re) && re.Key == "linux.namespaces.network.hooked"; got != tc.want {
			t.Errorf("%s: error %v; refused as Docker's network: %v, want %v", tc.name, err, got, tc.want)
		}
	}
}

// TestSlirpOnlyFirst: the refusal needs slirp4netns' DNS as the first
// nameserver (what buildah and podman write for it), a new network
// namespace, and nothing else: --network=none and a path are left alone.
func TestSlirpOnlyFirst(t *testing.T) {
	slirp, _ := filepath.Abs("testdata/slirp-resolv.conf")
	host, _ := filepath.Abs("testdata/host-resolv.conf")
	for _, tc := range []struct {
		src, path string
		want      bool
	}{{slirp, "", true}, {host, "", false}, {slirp, "/proc/self/ns/net", false}, {"/nonexistent/resolv.conf", "", false}} {
		s := base()
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "mount"}, {Type: "network", Path: tc.path}}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: tc.src})
		_, err := Check(s, Options{})
		var re *RefusedError
		if got := errors.As(err, &re) && re.Key == "linux.namespaces.network.slirp"; got != tc.want {
			t.Errorf("%+v: refused %v, want %v (err %v)", tc, got, tc.want, err)
		}
	}
}
