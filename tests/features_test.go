package tests

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"urun/config"
)

// featureCase is one bundle of testdata/bundles/features and its documented
// outcome. Rows lists the feature table rows it exercises; TestFeatures
// checks that its runs showed them and that every row was shown.
type featureCase struct {
	name string
	rows []string
	// refused: exact error after "urun run ID: config.json: " (code 1).
	refused string
	// ignored: JSON paths that must each have a debug "ignored:" log line.
	ignored []string
	// stdout: lines the container must print, in order (code 0).
	stdout []string
	// only limits the accounts; perAccount overrides the outcome for some.
	only    func(a *Account) bool
	prepare func(e *Env, a *Account, raw string) string
	state   bool // run as create + state + delete, asserting annotations
}

var featureCases = []featureCase{
	// ---- refused: create fails naming the JSON path ----
	// Honoured, but run with stdin from /dev/null has no terminal to relay
	// (terminal_test.go covers the rest).
	{name: "terminal", rows: []string{"process.terminal"},
		refused: "process.terminal is true but urun run's standard input is not a terminal (run it from a terminal, give --console-socket PATH, or set process.terminal to false)"},
	{name: "mount-notype", rows: []string{"mounts.notype"},
		refused: "mounts[3].type: a mount with no type and no bind or rbind option says nothing to mount (see unsupported.md)"},
	{name: "mount-idmap", rows: []string{"mounts.options.idmap"},
		refused: `mounts[3].options[1]: "idmap": idmapped mounts need privileges urun does not have (see unsupported.md)`},
	{name: "mount-uidmappings", rows: []string{"mounts.options.idmap"},
		refused: "mounts[3].uidMappings: idmapped mounts need privileges urun does not have; files would show other owners (see unsupported.md)"},
	{name: "mount-tmpcopyup", rows: []string{"mounts.options.tmpcopyup"},
		refused: `mounts[3].options[0]: "tmpcopyup": copying the image content into a tmpfs is not implemented (see unsupported.md)`},
	{name: "mount-unknown-option", rows: []string{"mounts.options.unknown"},
		refused: `mounts[3].options[1]: unknown mount option "nosiud" (see unsupported.md)`},
	{name: "mount-relative", rows: []string{"mounts.destination"},
		refused: `mounts[3].destination: "mnt" is not an absolute path (see unsupported.md)`},
	{name: "hook-relative", rows: []string{"hooks.createRuntime"},
		refused: `hooks.createRuntime[0].path: "true" is not an absolute path (see unsupported.md)`},
	{name: "namespace-join", rows: []string{"linux.namespaces.path"},
		// A user and a UTS namespace the account made (HOLDER); the nested
		// account is root of another user namespace, which cannot join it.
		only: func(a *Account) bool { return !a.Nested },
		prepare: func(e *Env, a *Account, raw string) string {
			return strings.ReplaceAll(raw, "HOLDER", strconv.Itoa(holder(e.T, a, "unshare", "-U", "-r", "-u")))
		},
		stdout: []string{"urun-joined"}},
	{name: "namespace-join-missing",
		refused: "linux.namespaces[2].path: open /run/netns/urun-missing: no such file or directory (the namespace's holder may have exited: a /proc/PID/ns path lives as long as PID)"},
	{name: "namespace-join-mount", rows: []string{"linux.namespaces.path.mount"},
		refused: "linux.namespaces[1].path: /run/urun-missing/mnt: joining a mount namespace is not supported (urun always makes its own mount namespace); only a path to urun's own mount namespace is accepted (see unsupported.md)"},
	// podman's keep-id pods pass the namespace's own mappings with its path.
	{name: "namespace-join-mappings", rows: []string{"linux.namespaces.path", "linux.namespaces.path.mappings"},
		only: func(a *Account) bool { return !a.Nested },
		prepare: func(e *Env, a *Account, raw string) string {
			raw = strings.ReplaceAll(raw, "11111111", strconv.Itoa(a.UID))
			raw = strings.ReplaceAll(raw, "22222222", strconv.Itoa(a.GID))
			return strings.ReplaceAll(raw, "HOLDER", strconv.Itoa(holder(e.T, a, "unshare", "-U", "-r", "-u")))
		},
		stdout: []string{"urun-joined"}},
	{name: "namespace-join-pid-user", rows: []string{"linux.namespaces.path.pidWithUser"},
		refused: "linux.namespaces[2].path: not implemented yet: the placeholder would have to fork once more inside the joined namespaces (see unsupported.md)"},
	{name: "device-missing", rows: []string{"linux.devices"},
		refused: "linux.devices[1]: /dev/urun-no-such-device: the host has no such device (no such file or directory); urun binds devices from the host and cannot create them (see unsupported.md)"},
	{name: "namespace-unknown", rows: []string{"linux.namespaces.unknown"},
		refused: `linux.namespaces[2].type: unknown namespace type "pids" (see unsupported.md)`},
	{name: "namespace-twice", rows: []string{"linux.namespaces.unknown"},
		refused: `linux.namespaces[2].type: namespace type "mount" is listed twice (also linux.namespaces[1]) (see unsupported.md)`},
	{name: "time-offsets", rows: []string{"linux.timeOffsets"},
		refused: "linux.timeOffsets: needs a time namespace, which urun does not create; the clocks would silently differ (see unsupported.md)"},
	{name: "intel-rdt", rows: []string{"linux.intelRdt"},
		refused: "linux.intelRdt: Intel RDT needs privilege; cache and memory bandwidth allocation would silently differ (see unsupported.md)"},
	{name: "personality", rows: []string{"linux.personality"},
		refused: "linux.personality: not implemented; running under another execution domain would change the program's behaviour (see unsupported.md)"},
	{name: "memory-policy", rows: []string{"linux.memoryPolicy"},
		refused: "linux.memoryPolicy: not implemented; NUMA placement would silently differ (see unsupported.md)"},
	{name: "net-devices", rows: []string{"linux.netDevices"},
		refused: "linux.netDevices: moving network devices needs a network namespace and privilege (see unsupported.md)"},
	// Docker's bridge and none networks (libnetwork's hook); refused as
	// such whatever the hooks rows say.
	{name: "network-hook", rows: []string{"linux.namespaces.network.hooked"},
		refused: "linux.namespaces[3]: a new network namespace, with hooks.prestart[0] (libnetwork-setkey) to set it up: urun creates no network namespace, so the hook would configure the host's network instead; with Docker, --network=host works (see unsupported.md)"},
	// buildah run's default network: slirp4netns' DNS in the resolv.conf
	// it binds (an absolute source, as buildah's and podman's are).
	{name: "network-slirp", rows: []string{"linux.namespaces.network.slirp"},
		prepare: func(e *Env, a *Account, raw string) string {
			if err := os.WriteFile(filepath.Join(e.Bundle, "resolv.conf"), []byte("nameserver 10.0.2.3\nnameserver 192.0.2.1\n"), 0o644); err != nil {
				e.T.Fatal(err)
			}
			return strings.ReplaceAll(raw, "BUNDLE", e.Bundle)
		},
		refused: "linux.namespaces[3]: a new network namespace for slirp4netns (mounts[3], /etc/resolv.conf, names its DNS 10.0.2.3): urun creates no network namespace, so slirp4netns would have none to set up; use --network=host (buildah, podman) (see unsupported.md)"},
	{name: "cap-unknown", rows: []string{"process.capabilities.bounding"},
		refused: `process.capabilities.bounding[1]: unknown capability "CAP_TEST" (see unsupported.md)`},
	{name: "rlimit-unknown", rows: []string{"process.rlimits"},
		refused: `process.rlimits[0].type: unknown rlimit "RLIMIT_TEST" (see unsupported.md)`},
	{name: "rlimit-twice", rows: []string{"process.rlimits"},
		refused: `process.rlimits[1].type: RLIMIT_NOFILE is listed twice (see unsupported.md)`},
	{name: "umask-bad", rows: []string{"process.user.umask"},
		refused: `process.user.umask: 01777 is not a umask (0 to 0777) (see unsupported.md)`},
	{name: "cwd-relative", rows: []string{"process.cwd"},
		refused: `process.cwd: "tmp" is not an absolute path (see unsupported.md)`},
	{name: "oom-out-of-range", rows: []string{"process.oomScoreAdj"},
		refused: `process.oomScoreAdj: 1500 is outside -1000..1000 (see unsupported.md)`},
	{name: "propagation-shared", rows: []string{"linux.rootfsPropagation.shared"},
		// rshared: / is in a peer group of its own (TestRootfsPropagation
		// checks every mode and what propagates).
		stdout: []string{"1"}},
	{name: "propagation-bad", rows: []string{"linux.rootfsPropagation"},
		refused: `linux.rootfsPropagation: "rsharde" is not a propagation mode (see unsupported.md)`},

	// ---- ignored: runs, with a debug line naming each field ----
	// ---- honoured: paths to urun's own namespaces (joining: join_test.go) ----
	{name: "namespace-own", rows: []string{"linux.namespaces.path.own"}, stdout: []string{"ran"}},
	{name: "namespaces-ignored",
		rows: []string{"linux.namespaces.pid", "linux.namespaces.ipc", "linux.namespaces.uts", "linux.namespaces.network",
			"linux.namespaces.cgroup", "linux.namespaces.time", "linux.namespaces.user", "linux.namespaces.mount"},
		ignored: []string{"linux.namespaces[0]", "linux.namespaces[1]", "linux.namespaces[2]", "linux.namespaces[3]", "linux.namespaces[4]", "linux.namespaces[5]"},
		stdout:  []string{"ran"}},
	{name: "process-ignored",
		rows: []string{"process.consoleSize", "process.user.username", "process.commandLine", "process.apparmorProfile",
			"process.selinuxLabel", "process.ioPriority", "process.scheduler", "process.execCPUAffinity"},
		ignored: []string{"process.user.username", "process.commandLine", "process.apparmorProfile",
			"process.selinuxLabel", "process.ioPriority", "process.scheduler", "process.execCPUAffinity"},
		stdout: []string{"ran"}},
	{name: "linux-ignored",
		rows: []string{"hostname", "domainname", "platforms", "linux.cgroupsPath", "linux.resources.devices",
			"linux.resources.memory", "linux.resources.cpu", "linux.resources.pids", "linux.resources.blockIO",
			"linux.resources.hugepageLimits", "linux.resources.network", "linux.resources.rdma", "linux.resources.unified",
			"linux.sysctl", "linux.seccomp", "linux.mountLabel"},
		ignored: []string{"hostname", "domainname", "windows", "linux.cgroupsPath", "linux.resources.devices",
			"linux.resources.memory", "linux.resources.cpu", "linux.resources.pids", "linux.resources.blockIO",
			"linux.resources.hugepageLimits", "linux.resources.network", "linux.resources.rdma", "linux.resources.unified",
			"linux.sysctl.net.ipv4.ip_forward", "linux.seccomp", "linux.mountLabel"},
		// The host name is the host's: there is no UTS namespace.
		stdout: []string{"ran", "HOSTNAME"}},
	{name: "mounts-ignored",
		rows:    []string{"mounts.mqueue", "mounts.cgroup", "mounts.cgroup2", "mounts.options.userspace"},
		ignored: []string{"mounts[3]", "mounts[4]", "mounts[5]", "mounts[6].options[0]"},
		// Skipped: no mount point is made, and nothing is mounted.
		stdout: []string{"ran", "0"}},

	// ---- honoured: observable inside the container ----
	// (What each kind sees and when: hooks_test.go.)
	{name: "hooks", rows: []string{"hooks.prestart", "hooks.createRuntime", "hooks.createContainer", "hooks.startContainer",
		"hooks.poststart", "hooks.poststop"}, stdout: []string{"ran"}},
	{name: "process",
		rows: []string{"process.user.uid", "process.user.gid", "process.user.umask", "process.env", "process.cwd", "process.args",
			"process.rlimits", "process.noNewPrivileges", "process.capabilities.bounding", "process.capabilities.effective",
			"process.capabilities.permitted", "process.capabilities.inheritable", "process.capabilities.ambient", "process.oomScoreAdj"},
		stdout: []string{"0027", "FOO=bar", "/tmp", "512", "1024", "0", "0", "0",
			// uid 0 would exec with bounding | inheritable (CHOWN, KILL,
			// SETUID), but no_new_privs keeps exec from raising permitted
			// above the configured CHOWN and KILL (as under runc).
			"CapInh:\t0000000000000020", "CapPrm:\t0000000000000021", "CapEff:\t0000000000000021",
			"CapBnd:\t00000000000000a1", "CapAmb:\t0000000000000020", "NoNewPrivs:\t1",
			"500"}},
	// A non-root user keeps only the listed bounding set: it is dropped
	// before the uid switch, while CAP_SETPCAP is still effective. Across
	// exec a non-root process keeps only its ambient capabilities.
	{name: "caps-nonroot", rows: []string{"process.capabilities.bounding"},
		only:   func(a *Account) bool { return a.HasRange || a.Nested },
		stdout: []string{"1000", "CapPrm:\t0000000000000020", "CapEff:\t0000000000000020", "CapBnd:\t0000000020000420", "CapAmb:\t0000000000000020"}},
	{name: "additional-gids", rows: []string{"process.user.additionalGids"},
		only: func(a *Account) bool { return a.HasRange }, stdout: []string{"0 1 2"}},
	{name: "mounts",
		rows: []string{"mounts.destination", "mounts.bind", "mounts.rbind", "mounts.tmpfs", "mounts.proc", "mounts.sysfs",
			"mounts.devpts", "mounts.overlay", "mounts.other", "mounts.options.flags", "mounts.options.propagation", "mounts.options.data"},
		prepare: func(e *Env, a *Account, raw string) string { return strings.ReplaceAll(raw, "BUNDLE", e.Bundle) },
		stdout: []string{"/mnt/bind ro", "/mnt/bind nosuid", "/mnt/rbind ro", "/mnt/rbind nodev", "/mnt/tmp noexec", "/sys ro",
			"/dev/pts noexec", "-", "700", "bind-ro", "rbind-ok", "sysfs-ok", "devpts-ok", "proc-ok", "x", "overlay-ok"}},
	{name: "paths", rows: []string{"root.path", "root.readonly", "linux.maskedPaths", "linux.readonlyPaths", "linux.rootfsPropagation"},
		stdout: []string{"Read-only file system", "0", "0", "Read-only file system", "tmp-rw", "-"}},
	{name: "mappings", rows: []string{"linux.uidMappings", "linux.gidMappings"},
		prepare: func(e *Env, a *Account, raw string) string {
			host := a.UID
			if a.Nested {
				host = 0 // urun's own uid in the namespace it runs in
			}
			return strings.ReplaceAll(raw, "4294967295", strconv.Itoa(host))
		},
		stdout: []string{"0 1", "0 1"}},
	{name: "annotations", rows: []string{"annotations"}, state: true},
	// Bound from the host into the tmpfs /dev: the same node, 10:229.
	{name: "devices", rows: []string{"linux.devices"}, stdout: []string{"ran", "character special file:a:e5"}},
	{name: "../buildah-run", rows: []string{"ociVersion", "process.capabilities.ambient.unraisable"},
		prepare: prepareBuildah,
		ignored: []string{"hostname", "linux.namespaces[0]", "linux.namespaces[1]", "linux.namespaces[2]", "linux.resources.devices",
			"linux.seccomp", "mounts[9]", "process.capabilities.ambient[0]", "process.capabilities.ambient[10]"},
		stdout: []string{"0", "GREETING=hello-from-env", "CapEff:\t00000000800405fb", "CapBnd:\t00000000800405fb", "NoNewPrivs:\t0",
			"1024", "127.0.0.1 localhost urun-test"}},
}

// unitOnly are rows no bundle can reach on a normal host; config's unit
// tests cover them.
var unitOnly = map[string]string{
	"process.capabilities.kernel": "needs a capability the library knows and the running kernel does not",
}

func prepareBuildah(e *Env, a *Account, raw string) string {
	for name, content := range map[string]string{
		"hosts": "127.0.0.1 localhost urun-test\n", "hostname": "092a4a048b9f\n",
		"resolv.conf": "nameserver 127.0.0.1\n", "run/.containerenv": "engine=\"buildah-1.28\"\n",
	} {
		p := filepath.Join(e.Bundle, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			e.T.Fatal(err)
		}
		os.Chown(filepath.Dir(p), e.A.UID, e.A.GID)
		os.Chown(p, e.A.UID, e.A.GID)
	}
	return raw
}

// TestFeatures runs every case as every account and then checks, from
// what the runs showed, that every table row was exercised: a row counts
// when a passing run's config reached it (config.Visited on the bytes the
// run used) with its outcome observed: the refusal the run printed, the
// debug line of an ignored field in the run's log, or a successful run
// whose output was checked. The rows a case lists must be among the rows
// its runs showed.
func TestFeatures(t *testing.T) {
	observed := map[string]bool{}
	for _, fc := range featureCases {
		fc := fc
		t.Run(strings.TrimPrefix(fc.name, "../"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(repoDir, "testdata/bundles/features", fc.name, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			shown := map[string]bool{}
			ForEach(t, func(t *testing.T, a *Account) {
				if fc.only != nil && !fc.only(a) {
					t.Logf("this case is not for %s (its outcome differs there by design)", a.Name)
					return
				}
				for r := range runFeature(t, a, fc, string(raw)) {
					shown[r] = true
				}
			})
			for _, r := range fc.rows {
				if !shown[r] && !t.Failed() && !accountsFiltered {
					t.Errorf("the case lists row %s, which none of its runs showed (rows shown: %v)", r, keys(shown))
				}
			}
			for r := range shown {
				observed[r] = true
			}
		})
	}
	t.Run("coverage", func(t *testing.T) {
		for _, f := range config.Table {
			if accountsFiltered {
				break // some accounts' runs were left out
			}
			if !observed[f.Key] && unitOnly[f.Key] == "" {
				t.Errorf("row %s (%s): no passing run of featureCases showed it", f.Key, f.Field)
			}
		}
		// Every bundle directory has a case.
		dirs, _ := filepath.Glob(filepath.Join(repoDir, "testdata/bundles/features/*/config.json"))
		names := map[string]bool{}
		for _, c := range featureCases {
			names[c.name] = true
		}
		for _, d := range dirs {
			if n := filepath.Base(filepath.Dir(d)); !names[n] {
				t.Errorf("bundle %s has no case", n)
			}
		}
	})
}

// shownRows are the table rows a passing run showed (see TestFeatures):
// raw is the config it ran, logged the debug lines in its log.
func shownRows(t *testing.T, fc featureCase, raw string, lines []map[string]any) map[string]bool {
	spec, err := config.Parse([]byte(raw))
	if err != nil {
		t.Errorf("config.Parse of the case's config: %v", err)
		return nil
	}
	visited, verr := config.Visited(spec, config.Options{})
	var re *config.RefusedError
	if fc.refused != "" {
		// Only the refusing row: the run stopped there.
		if errors.As(verr, &re) {
			return map[string]bool{re.Key: true}
		}
		// Refused later than the check (a terminal with no terminal to
		// relay): the rows the printed refusal names.
		out := map[string]bool{}
		for k := range visited {
			if strings.HasPrefix(fc.refused, config.Lookup(k).Field+" ") {
				out[k] = true
			}
		}
		return out
	}
	logged := map[string]bool{}
	for _, l := range lines {
		if f, ok := l["field"].(string); ok && l["level"] == "debug" && strings.HasPrefix(l["msg"].(string), "ignored: ") {
			logged[f] = true
		}
	}
	out := map[string]bool{}
	for k := range visited {
		if config.Lookup(k).Disp != config.Ignored {
			out[k] = true
		}
	}
	notes, _ := config.Check(spec, config.Options{})
	for _, n := range notes {
		if logged[n.Path] {
			out[n.Key] = true
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runFeature runs one case as one account and returns the rows it
// showed (nil if it failed).
func runFeature(t *testing.T, a *Account, fc featureCase, raw string) (shown map[string]bool) {
	e := NewEnv(t, a)
	if fc.prepare != nil {
		raw = fc.prepare(e, a, raw)
	}
	e.WriteConfig([]byte(raw))
	logFile := filepath.Join(e.Bundle, "urun-log.json")
	var lines []map[string]any
	defer func() {
		if !t.Failed() {
			shown = shownRows(t, fc, raw, lines)
		}
	}()
	if fc.state {
		// The parked process keeps create's stdout and stderr: leave them
		// at /dev/null so create's caller does not wait on them.
		if err := e.Command("create", "fx").Run(); err != nil {
			t.Fatalf("create: %v", err)
		}
		st := e.State("fx")
		if st.Annotations["org.example.urun-test"] != "kept" {
			t.Errorf("state annotations %v", st.Annotations)
		}
		e.MustUrun("delete", "--force", "fx")
		return shown
	}
	r := e.Urun("--debug", "--log", logFile, "--log-format", "json", "run", "fx")
	lines = logLines(t, logFile)
	if fc.refused != "" {
		want := "urun run fx: config.json: " + fc.refused
		if r.Code != 1 {
			t.Fatalf("exit %d, want 1 (refused): %s", r.Code, r)
		}
		if !hasLine(r.Stderr, want) {
			t.Errorf("stderr lacks the line\n%s\ngot:\n%s", want, r.Stderr)
		}
		found := false
		for _, l := range lines {
			found = found || (l["level"] == "error" && l["msg"] == want)
		}
		if !found {
			t.Errorf("log file lacks the error line %q", want)
		}
		assertNoState(e)
		return shown
	}
	if r.Code != 0 {
		t.Fatalf("exit %d, want 0: %s", r.Code, r)
	}
	for _, path := range fc.ignored {
		found := false
		for _, l := range lines {
			if l["level"] == "debug" && l["field"] == path && strings.HasPrefix(l["msg"].(string), "ignored: ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no debug line {\"field\":%q,\"msg\":\"ignored: ...\"} in the log", path)
		}
	}
	host, _ := os.Hostname()
	want := strings.ReplaceAll(strings.Join(fc.stdout, "\n"), "HOSTNAME", host)
	if got := strings.TrimRight(r.Stdout, "\n"); fc.stdout != nil && got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", got, want, r.Stderr)
	}
	assertNoState(e)
	return shown
}

// assertNoState: run and a refused create leave no state behind. (Leftover
// processes are checked by the core tests; other test runs on the host make
// a per-uid process scan unreliable here.)
func assertNoState(e *Env) {
	e.T.Helper()
	if left := e.StateEntries(); len(left) > 0 {
		e.T.Errorf("state left behind in %s: %v", e.Root, left)
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func logLines(t *testing.T, path string) []map[string]any {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if _, ok := m["msg"].(string); !ok {
			m["msg"] = ""
		}
		out = append(out, m)
	}
	return out
}
