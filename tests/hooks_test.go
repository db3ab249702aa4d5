package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookEnv is a bundle whose hooks record what they saw. Every hook is
// busybox run as `sh -c SCRIPT NAME` (args[0] "sh" picks the applet, so a
// wrong args[0] would not run at all): it appends NAME to $OUT/order and
// writes its stdin, mount namespace, argv, environment and descriptors to
// $OUT/NAME.*. Host-side hooks run the busybox copy at Dir/bb (a path the
// container lacks), container-side ones /hookbin/bb (a path the host lacks).
type hookEnv struct {
	*Env
	Dir string // host: bb, out/ (bound at /out in the container)
	Out string
}

const recordScript = `cat > "$OUT/$0.state"; readlink /proc/self/ns/mnt > "$OUT/$0.mnt"; ` +
	`tr '\0' '\n' < /proc/$$/cmdline > "$OUT/$0.args"; tr '\0' '\n' < /proc/$$/environ > "$OUT/$0.env"; ` +
	`(cd /proc/$$/fd && echo *) > "$OUT/$0.fds"; echo "$0" >> "$OUT/order"`

func newHookEnv(t *testing.T, a *Account, args ...string) *hookEnv {
	t.Helper()
	e := NewEnv(t, a, args...)
	h := &hookEnv{Env: e, Dir: filepath.Join(filepath.Dir(e.Bundle), "hooks")}
	h.Out = filepath.Join(h.Dir, "out")
	for _, dir := range []string{h.Out, filepath.Join(e.Bundle, "rootfs/hookbin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []string{filepath.Join(h.Dir, "bb"), filepath.Join(e.Bundle, "rootfs/hookbin/bb")} {
		if out, err := exec.Command("cp", "/bin/busybox", dst).CombinedOutput(); err != nil {
			t.Fatalf("cp busybox: %v: %s", err, out)
		}
	}
	e.chownAll(filepath.Dir(e.Bundle))
	e.Spec.Mounts = append(e.Spec.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: h.Out, Options: []string{"rbind"}})
	e.Spec.Annotations = map[string]string{"org.example.hooks": "seen"}
	e.Spec.Hooks = &specs.Hooks{}
	return h
}

// hook is a recording hook named name for kind, run with script (the
// record script when empty) and env OUT plus HOOK=name.
func (h *hookEnv) hook(kind, name, script string) specs.Hook {
	path, out := filepath.Join(h.Dir, "bb"), h.Out
	if kind == "startContainer" {
		path, out = "/hookbin/bb", "/out"
	}
	if script == "" {
		script = recordScript
	}
	return specs.Hook{Path: path, Args: []string{"sh", "-c", script, name}, Env: []string{"OUT=" + out, "HOOK=" + name}}
}

// add appends hooks to kind's list.
func (h *hookEnv) add(kind string, hooks ...specs.Hook) {
	lists := map[string]*[]specs.Hook{
		"prestart": &h.Spec.Hooks.Prestart, "createRuntime": &h.Spec.Hooks.CreateRuntime,
		"createContainer": &h.Spec.Hooks.CreateContainer, "startContainer": &h.Spec.Hooks.StartContainer,
		"poststart": &h.Spec.Hooks.Poststart, "poststop": &h.Spec.Hooks.Poststop,
	}
	*lists[kind] = append(*lists[kind], hooks...)
}

func (h *hookEnv) read(name string) string {
	data, _ := os.ReadFile(filepath.Join(h.Out, name))
	return string(data)
}

func (h *hookEnv) order() []string {
	return strings.Fields(h.read("order"))
}

var hookKinds = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

var hookStatus = map[string]string{"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
	"startContainer": "created", "poststart": "running", "poststop": "stopped"}

// TestHooks: every kind, two hooks each, through create/start/delete and
// through run: order, the state on stdin (status, pid, bundle,
// annotations), the mount namespace each ran in, argv and environment
// exactly as configured, and no descriptor of urun's (nor a preserved one,
// which the container still gets).
func TestHooks(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		for _, mode := range []string{"create", "run"} {
			t.Run(mode, func(t *testing.T) {
				h := newHookEnv(t, a, "sh", "-c", `(cd /proc/self/fd && echo *) > /out/main.fds`)
				var want []string
				for _, k := range hookKinds {
					for i := 0; i < 2; i++ {
						name := fmt.Sprintf("%s-%d", k, i)
						h.add(k, h.hook(k, name, ""))
						want = append(want, name)
					}
				}
				h.WriteSpec()
				extra, _ := os.Open("/dev/null")
				defer extra.Close()
				pidFile := filepath.Join(h.Bundle, "pid")
				var pid int
				var ctrNS string
				if mode == "create" {
					cmd := h.Command("create", "--preserve-fds", "1", "--pid-file", pidFile, "h1")
					cmd.ExtraFiles = []*os.File{extra}
					if r := h.Exec(cmd); r.Code != 0 {
						t.Fatalf("create: %s", r)
					}
					pid = ReadPidFile(t, pidFile)
					ctrNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
					h.MustUrun("start", "h1")
					if code := WaitPid(t, pid); code != 0 {
						t.Fatalf("container exit %d", code)
					}
					if got := h.order(); strings.Contains(strings.Join(got, " "), "poststop") {
						t.Errorf("poststop ran before delete: %v", got)
					}
					h.MustUrun("delete", "h1")
				} else {
					cmd := h.Command("run", "--preserve-fds", "1", "--pid-file", pidFile, "h1")
					cmd.ExtraFiles = []*os.File{extra}
					if r := h.Exec(cmd); r.Code != 0 {
						t.Fatalf("run: %s", r)
					}
					pid = ReadPidFile(t, pidFile)
				}
				if got := h.order(); !reflect.DeepEqual(got, want) {
					t.Fatalf("hooks ran in order %v, want %v", got, want)
				}
				hostNS, _ := os.Readlink("/proc/self/ns/mnt")
				for _, name := range want {
					kind := strings.Split(name, "-")[0]
					var st specs.State
					if err := json.Unmarshal([]byte(h.read(name+".state")), &st); err != nil {
						t.Fatalf("%s: state %q: %v", name, h.read(name+".state"), err)
					}
					wantPid := pid
					if kind == "poststop" {
						wantPid = 0
					}
					if st.Version != specs.Version || st.ID != "h1" || string(st.Status) != hookStatus[kind] || st.Pid != wantPid ||
						st.Bundle != h.Bundle || st.Annotations["org.example.hooks"] != "seen" {
						t.Errorf("%s: state %+v, want status %s pid %d bundle %s", name, st, hookStatus[kind], wantPid, h.Bundle)
					}
					ns := strings.TrimSpace(h.read(name + ".mnt"))
					inCtr := kind == "createContainer" || kind == "startContainer"
					if inCtr && (mode == "create" && ns != ctrNS || ns == hostNS) || !inCtr && ns != hostNS {
						t.Errorf("%s ran in mount namespace %s (urun's %s, the container's %s)", name, ns, hostNS, ctrNS)
					}
					hk := h.hook(kind, name, "")
					if got := strings.Split(strings.TrimSuffix(h.read(name+".args"), "\n"), "\n"); !reflect.DeepEqual(got, hk.Args) {
						t.Errorf("%s: argv %q, want %q", name, got, hk.Args)
					}
					if got := strings.Fields(h.read(name + ".env")); !reflect.DeepEqual(got, hk.Env) {
						t.Errorf("%s: environment %q, want exactly %q", name, got, hk.Env)
					}
					// The subshell's glob lists the hook's fds, not its own.
					if got := h.read(name + ".fds"); got != "0 1 2\n" {
						t.Errorf("%s: descriptors %q, want only stdio", name, got)
					}
				}
				if got := h.read("main.fds"); got != "0 1 2 3 4\n" {
					t.Errorf("container's descriptors %q, want stdio and the preserved one", got)
				}
				h.AssertClean()
			})
		}
	})
}

// TestHookFailures: a failing prestart, createRuntime, createContainer or
// startContainer hook fails its operation naming the kind, index, path,
// exit status and end of stderr; no later hook nor the container's
// process runs, nothing is left, and the poststop hooks still run. A
// failing poststart or poststop hook is a warning and the next one runs.
func TestHookFailures(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		for _, kind := range []string{"prestart", "createRuntime", "createContainer", "startContainer"} {
			t.Run(kind, func(t *testing.T) {
				h := newHookEnv(t, a, "sh", "-c", "echo ran > /out/main")
				for _, k := range hookKinds {
					h.add(k, h.hook(k, k+"-0", ""))
				}
				bad := h.hook(kind, "bad", `echo starting >&2; echo "it broke: `+kind+`" >&2; exit 3`)
				h.add(kind, bad)
				h.WriteSpec()
				op, r := "create", h.Urun("create", "f1")
				if kind == "startContainer" && r.Code == 0 {
					op, r = "start", h.Urun("start", "f1")
				}
				want := fmt.Sprintf(`urun %s f1: hooks.%s[1] (%s): exit status 3; stderr: "starting\nit broke: %s"`, op, kind, bad.Path, kind)
				if r.Code == 0 || !strings.Contains(r.Stderr, want) {
					t.Errorf("%s: %s\nwant error %s", op, r, want)
				}
				var wantOrder []string
				for _, k := range hookKinds {
					if k == "poststart" {
						break
					}
					wantOrder = append(wantOrder, k+"-0")
					if k == kind {
						break
					}
				}
				wantOrder = append(wantOrder, "poststop-0")
				if got := h.order(); !reflect.DeepEqual(got, wantOrder) {
					t.Errorf("hooks ran: %v, want %v", got, wantOrder)
				}
				if h.read("main") != "" {
					t.Errorf("the container's process ran")
				}
				h.AssertClean()
			})
		}
		for _, kind := range []string{"poststart", "poststop"} {
			t.Run(kind, func(t *testing.T) {
				h := newHookEnv(t, a, "true")
				h.add(kind, h.hook(kind, "bad", `echo "it broke" >&2; exit 5`), h.hook(kind, kind+"-1", ""))
				h.WriteSpec()
				h.MustUrun("create", "w1")
				want := fmt.Sprintf(`hooks.%s[0] (%s): exit status 5; stderr: "it broke"`, kind, filepath.Join(h.Dir, "bb"))
				op := "start"
				r := h.MustUrun("start", "w1")
				if kind == "poststop" {
					op, r = "delete", h.MustUrun("delete", "--force", "w1")
				} else {
					h.MustUrun("delete", "--force", "w1")
				}
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("%s: %s\nwant a warning with %s", op, r, want)
				}
				if got := h.order(); !reflect.DeepEqual(got, []string{kind + "-1"}) {
					t.Errorf("hooks ran: %v, want the one after the failing one", got)
				}
				h.AssertClean()
			})
		}
	})
}

// TestHookTimeout: a hook still running at its timeout is killed, with
// the child it left, and create fails saying so; a poststop hook leaving
// a child that holds its stdout and stderr does not hold delete up.
func TestHookTimeout(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		h := newHookEnv(t, a, "true")
		one := 1
		slow := h.hook("prestart", "slow", `sleep 1000 & echo $! > "$OUT/child"; echo $$ > "$OUT/hook"; wait`)
		slow.Timeout = &one
		h.add("prestart", slow)
		h.WriteSpec()
		r := h.Urun("create", "t1")
		want := fmt.Sprintf("urun create t1: hooks.prestart[0] (%s): killed at its timeout of 1s", slow.Path)
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("create: %s\nwant %s", r, want)
		}
		for _, f := range []string{"hook", "child"} {
			pid, err := strconv.Atoi(strings.TrimSpace(h.read(f)))
			if err != nil {
				t.Fatalf("%s pid: %q", f, h.read(f))
			}
			if processLives(pid) {
				t.Errorf("the timed-out %s (pid %d) still runs", f, pid)
			}
		}
		h.AssertClean()

		h.Spec.Hooks = &specs.Hooks{}
		h.add("poststop", h.hook("poststop", "leaves", `sleep 1000 & echo $! > "$OUT/left"; echo gone`))
		h.WriteSpec()
		h.MustUrun("create", "t2")
		cmd := h.Command("delete", "t2")
		done := make(chan Result, 1)
		go func() { done <- h.Exec(cmd) }()
		select {
		case r := <-done:
			if r.Code != 0 {
				t.Errorf("delete: %s", r)
			}
		case <-time.After(60 * time.Second): // a guard, not a wait: delete takes milliseconds
			cmd.Process.Kill()
			t.Errorf("delete is held up by a poststop hook's child holding the hook's stdout and stderr")
			<-done
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(h.read("left"))); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
			exited(pid, true) // before AssertClean looks
		} else {
			t.Errorf("the poststop hook did not run: %q", h.read("left"))
		}
		h.AssertClean()
	})
}

// TestHookInterrupted: SIGTERM to a create running a prestart hook ends
// the hook too, and leaves nothing.
func TestHookInterrupted(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		h := newHookEnv(t, a, "true")
		h.add("prestart", h.hook("prestart", "slow", `echo $$ > "$OUT/hook.tmp"; mv "$OUT/hook.tmp" "$OUT/hook"; exec sleep 1000`))
		h.WriteSpec()
		cmd := h.Command("create", "i1")
		done := make(chan Result, 1)
		go func() { done <- h.Exec(cmd) }()
		var pid int
		for deadline := time.Now().Add(30 * time.Second); pid == 0; time.Sleep(10 * time.Millisecond) {
			pid, _ = strconv.Atoi(strings.TrimSpace(h.read("hook")))
			if time.Now().After(deadline) {
				t.Fatalf("the prestart hook did not start")
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if r := <-done; r.Code != 128+int(syscall.SIGTERM) {
			t.Errorf("interrupted create: %s", r)
		}
		if processLives(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the prestart hook (pid %d) outlived its interrupted create", pid)
		}
		h.AssertClean()
	})
}

// processLives: pid still runs, and is not a zombie (the test binary, a
// subreaper, inherits orphans and has not reaped them), 10 s after a
// SIGKILL was sent to it (it may take a moment to act on it).
func processLives(pid int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !runs(pid) {
			return false
		}
	}
	return true
}

func runs(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
