package tests

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planLines are the steps --debug printed, in order ("plan N STEP").
func planLines(t *testing.T, stderr string) []string {
	t.Helper()
	re := regexp.MustCompile(`plan +(\d+) (.*)`)
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n != len(out)+1 {
			t.Fatalf("plan line %q out of order after %d lines", l, len(out))
		}
		out = append(out, m[2])
	}
	return out
}

// inOrder reports the first of want not found, in order, in lines.
func inOrder(lines, want []string) string {
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		return want[i]
	}
	return ""
}

// create --debug prints the plan, one line per step, before running it;
// the plan follows the config (its mounts, masked and read-only paths).
func TestPlanPrinted(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "true")
		e.Spec.Mounts = append(e.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		e.Spec.Linux.MaskedPaths = []string{"/etc/hostname"}
		e.Spec.Linux.ReadonlyPaths = []string{"/etc"}
		e.Spec.Process.Cwd = "/tmp"
		e.WriteSpec()
		r := e.MustUrun("--debug", "create", "p1")
		lines := planLines(t, r.Stderr)
		n := len(e.Spec.Mounts) - 1
		want := []string{"make mounts slaves", "bind rootfs: " + e.Bundle + "/rootfs", "mounts[0] ",
			"mounts[" + strconv.Itoa(n) + "] /mnt: tmpfs tmpfs size=1m", "pivot_root",
			"linux.maskedPaths[0] /etc/hostname", "linux.readonlyPaths[0] /etc", "process.user: uid 0",
			"process.cwd: /tmp", "process.args[0]: true", "wait for start", "exec: true"}
		if inProcessWanted(a) {
			// No process.user step (the forked child takes it before its
			// exec) and no separate wait: the exec step says it parks.
			want = slices.DeleteFunc(want, func(s string) bool { return s == "process.user: uid 0" || s == "wait for start" })
			if last := lines[len(lines)-1]; !strings.Contains(last, "until urun start") {
				t.Errorf("in-process plan's last step %q does not say it waits for start", last)
			}
		}
		if miss := inOrder(lines, want); miss != "" {
			t.Errorf("plan lacks %q (in order); --debug printed:\n%s", miss, strings.Join(lines, "\n"))
		}
		// run has no start to wait for.
		r = e.MustUrun("--debug", "run", "p2")
		if lines := planLines(t, r.Stderr); len(lines) == 0 || slicesContain(lines, "wait for start") {
			t.Errorf("run's plan: %q", lines)
		}
		e.MustUrun("delete", "--force", "p1")
		e.AssertClean()
	})
}

func slicesContain(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// A step that fails in the container process is named in create's error,
// with the path and the errno, and leaves nothing behind.
func TestStepFailureNamed(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "true")
		e.Spec.Mounts = append(e.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=bogus"}})
		data, _ := json.Marshal(e.Spec)
		e.WriteConfig(data)
		n := strconv.Itoa(len(e.Spec.Mounts) - 1)
		r := e.Urun("--debug", "create", "f1")
		step := "mounts[" + n + "] /mnt"
		if r.Code == 0 || !strings.Contains(r.Stderr, "urun create f1: "+step+": ") || !strings.Contains(r.Stderr, "invalid argument") {
			t.Errorf("want the failing step %q and the errno named; got %s", step, r)
		}
		if !slicesContain(prefixes(planLines(t, r.Stderr)), step) {
			t.Errorf("the failing step %q is not a step of the printed plan: %s", step, r.Stderr)
		}
		if len(e.StateEntries()) != 0 {
			t.Errorf("a failed create left state: %v", e.StateEntries())
		}
		e.AssertClean()
	})
}

// prefixes are the steps' names (before ": detail").
func prefixes(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i], _, _ = strings.Cut(l, ": ")
	}
	return out
}

// run by the nested account (uid 0 with CAP_SYS_ADMIN in a user namespace,
// as buildah calls it) executes the plan in-process, unless the config
// needs what only the two-process executor does (here: a hook) or
// URUN_EXECUTOR=two-process says so; the other accounts, and create, use
// two processes.
func TestExecutorChosen(t *testing.T) {
	forced := os.Getenv("URUN_EXECUTOR") == "two-process"
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "readlink /proc/self/ns/user; echo nofile $(ulimit -Sn) $(ulimit -Hn)")
		e.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456}}
		e.WriteSpec()
		r := e.MustUrun("--debug", "run", "c1")
		if !strings.Contains(r.Stdout, "nofile 123 456") {
			t.Errorf("process.rlimits not applied: %s", r)
		}
		inproc := strings.Contains(r.Stderr, "executor: in-process")
		if want := a.Nested && !forced; inproc != want {
			t.Errorf("run: in-process %v, want %v: %s", inproc, want, r)
		}
		if inproc {
			if !slicesContain(prefixes(planLines(t, r.Stderr)), "exec") || slicesContain(prefixes(planLines(t, r.Stderr)), "report set up") {
				t.Errorf("in-process plan: %q", planLines(t, r.Stderr))
			}
			// The container process has a user namespace of its own.
			if own, _ := os.Readlink("/proc/" + strconv.Itoa(nestedNS.Process.Pid) + "/ns/user"); strings.Contains(r.Stdout, own) {
				t.Errorf("the container shares the caller's user namespace %s: %s", own, r.Stdout)
			}
		}
		e.MustUrun("--debug", "create", "c2")
		r = e.MustUrun("--debug", "delete", "--force", "c2")
		e.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
		e.WriteSpec()
		r = e.MustUrun("--debug", "run", "c3")
		if strings.Contains(r.Stderr, "executor: in-process") {
			t.Errorf("run with a hook executed in-process: %s", r)
		}
		if a.Nested && !forced && !strings.Contains(r.Stderr, "executor: two processes (the in-process one does not do hooks yet)") {
			t.Errorf("run with a hook: no debug line saying why two processes: %s", r)
		}
		e.AssertClean()
	})
}
