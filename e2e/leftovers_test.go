package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procInfo is what the leftover checks need to know about a process.
type procInfo struct {
	pid     int
	uid     int
	comm    string
	argv    []string
	environ string
	userns  string
	mntns   string
}

func (p procInfo) String() string {
	return fmt.Sprintf("pid %d uid %d (%s) %q", p.pid, p.uid, p.comm, strings.Join(p.argv, " "))
}

func (p procInfo) mountinfo() string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", p.pid))
	return string(data)
}

func listProcs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		status, err := os.ReadFile(dir + "/status")
		if err != nil {
			continue
		}
		p := procInfo{pid: pid, uid: -1}
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "Uid:") {
				if f := strings.Fields(line); len(f) > 1 {
					p.uid, _ = strconv.Atoi(f[1])
				}
			}
			if strings.HasPrefix(line, "Name:") {
				p.comm = strings.TrimSpace(strings.TrimPrefix(line, "Name:"))
			}
			if strings.HasPrefix(line, "State:") && strings.Contains(line, "Z (zombie)") {
				p.comm += " <zombie>"
			}
		}
		if cl, err := os.ReadFile(dir + "/cmdline"); err == nil {
			p.argv = strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
		}
		env, _ := os.ReadFile(dir + "/environ")
		p.environ = string(env)
		p.userns, _ = os.Readlink(dir + "/ns/user")
		p.mntns, _ = os.Readlink(dir + "/ns/mnt")
		out = append(out, p)
	}
	return out
}

// owns says whether a host uid is the account's or one of its subordinate IDs
// (a container process running as USER 1000 shows up as subuid start+1000).
func (a *account) owns(uid int) bool {
	return uid == a.uid || (a.subCount > 0 && uid >= a.subStart && uid < a.subStart+a.subCount)
}

// ourProcs splits the account's processes into those this run started
// (buildah and the runtime carry URUN_E2E_TOKEN in their environment;
// container processes see our storage in their mount table; anything else
// lives in a user namespace of one of those) and the others.
func (a *account) ourProcs() (ours, foreign []procInfo) {
	all := listProcs()
	initUserNS, _ := os.Readlink("/proc/1/ns/user")
	var mine []procInfo
	for _, p := range all {
		if p.pid != os.Getpid() && a.owns(p.uid) {
			mine = append(mine, p)
		}
	}
	direct := map[int]bool{}
	ns := map[string]bool{}
	for _, p := range mine {
		if strings.Contains(p.environ, "URUN_E2E_TOKEN="+suite.token) ||
			(a.work != "" && strings.Contains(p.mountinfo(), a.work)) {
			direct[p.pid] = true
			if p.userns != "" && p.userns != initUserNS {
				ns[p.userns] = true
			}
		}
	}
	for _, p := range mine {
		if direct[p.pid] || ns[p.userns] {
			ours = append(ours, p)
		} else {
			foreign = append(foreign, p)
		}
	}
	return ours, foreign
}

func foreignProcs(a *account) []string {
	_, foreign := a.ourProcs()
	var out []string
	for _, p := range foreign {
		out = append(out, p.String())
	}
	return out
}

// stateDir is where the runtime keeps container state: buildah hands the
// runtime our private XDG_RUNTIME_DIR, so urun uses $XDG_RUNTIME_DIR/urun
// (runc: $XDG_RUNTIME_DIR/runc).
func (a *account) stateDir() string { return filepath.Join(a.xdg, suite.rtName) }

// buildahRuntimeDirs are buildah's own directories in XDG_RUNTIME_DIR.
var buildahRuntimeDirs = map[string]bool{"containers": true, "libpod": true}

// stateEntries lists container state under every runtime's state directory
// in our XDG_RUNTIME_DIR (a wrapper's runtime may not be named after it),
// as "runtime/id".
func (a *account) stateEntries() []string {
	roots, _ := os.ReadDir(a.xdg)
	var out []string
	for _, r := range roots {
		if buildahRuntimeDirs[r.Name()] || !r.IsDir() {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(a.xdg, r.Name()))
		for _, e := range ents {
			out = append(out, r.Name()+"/"+e.Name())
		}
	}
	return out
}

// leftovers lists every trace a finished build may have left: processes,
// runtime state, mounts referring to the account's storage/bundles/state,
// and bundle directories.
func (a *account) leftovers() []string {
	var out []string
	ours, _ := a.ourProcs()
	for _, p := range ours {
		out = append(out, "process: "+p.String())
	}
	for _, e := range a.stateEntries() {
		out = append(out, "state: "+filepath.Join(a.xdg, e))
	}
	seen := map[string]bool{}
	for _, p := range listProcs() {
		if p.mntns == "" || seen[p.mntns] {
			continue
		}
		seen[p.mntns] = true
		for _, line := range strings.Split(p.mountinfo(), "\n") {
			if strings.Contains(line, a.work) || strings.Contains(line, a.xdg) {
				out = append(out, fmt.Sprintf("mount (mount ns of pid %d %s): %s", p.pid, p.comm, line))
			}
		}
	}
	ents, _ := os.ReadDir(a.tmpdir)
	for _, e := range ents {
		out = append(out, "bundle/temp dir: "+filepath.Join(a.tmpdir, e.Name()))
	}
	sort.Strings(out)
	return out
}

// waitClean polls until nothing is left or the deadline passes; processes
// may take a moment to be reaped after buildah exits.
func (a *account) waitClean(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		l := a.leftovers()
		if len(l) == 0 || time.Now().After(deadline) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertClean fails the test if anything was left, then removes it so the
// next case starts clean.
func (a *account) assertClean(t *testing.T, when string) {
	t.Helper()
	if a.work == "" || suite == nil {
		return
	}
	if l := a.waitClean(10 * time.Second); len(l) > 0 {
		t.Errorf("%s: %s left behind %d item(s) (%s):\n  %s", a.name, suite.rtName, len(l), when, strings.Join(l, "\n  "))
		a.scrub(t)
	}
}

func (a *account) scrubQuiet() { a.scrub(nil) }

// scrub kills this run's leftover processes of the account (one by one, by
// PID) and removes leftover state and bundles.
func (a *account) scrub(t *testing.T) {
	logf := func(format string, args ...any) {
		if t != nil {
			t.Logf(format, args...)
		}
	}
	for i := 0; i < 50; i++ {
		ours, _ := a.ourProcs()
		if len(ours) == 0 {
			break
		}
		for _, p := range ours {
			if i == 0 {
				logf("scrub: killing %s", p)
			}
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, e := range a.stateEntries() {
		logf("scrub: removing state %s", e)
		os.RemoveAll(filepath.Join(a.xdg, e))
	}
	ents, _ := os.ReadDir(a.tmpdir)
	for _, e := range ents {
		p := filepath.Join(a.tmpdir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			logf("scrub: %v", err)
		}
	}
}
