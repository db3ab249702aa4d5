package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLifecycle: create, start, state at each step, exit status through
// the pid-file PID, delete.
func TestLifecycle(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "read line; exit $line")
		pidFile := filepath.Join(e.Bundle, "pid")
		// stdin is a pipe we hold: the container reads the exit code from it,
		// which also keeps it "running" until we decide.
		cmd := e.Command("create", "--bundle", e.Bundle, "--pid-file", pidFile, "c1")
		pr, pw, _ := os.Pipe()
		cmd.Stdin = pr
		if r := e.Exec(cmd); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		pr.Close()
		pid := ReadPidFile(t, pidFile)
		if st := e.State("c1"); st.Status != "created" || st.Pid != pid || st.ID != "c1" || st.Bundle != e.Bundle {
			t.Fatalf("after create: %+v (pid file %d)", st, pid)
		}
		e.MustUrun("start", "c1")
		if st := e.State("c1"); st.Status != "running" || st.Pid != pid {
			t.Fatalf("after start: %+v", st)
		}
		if r := e.Urun("start", "c1"); r.Code == 0 || !strings.Contains(r.Stderr, "urun start c1: container is already running") {
			t.Errorf("second start: %s", r)
		}
		if r := e.Urun("delete", "c1"); r.Code == 0 || !strings.Contains(r.Stderr, "urun delete c1: container is running") {
			t.Errorf("delete of running: %s", r)
		}
		fmt.Fprintln(pw, "42")
		pw.Close()
		if code := WaitPid(t, pid); code != 42 {
			t.Errorf("pid-file process exit status %d, want 42", code)
		}
		if st := e.State("c1"); st.Status != "stopped" {
			t.Fatalf("after exit: %+v", st)
		}
		if r := e.Urun("kill", "c1", "TERM"); r.Code == 0 || !strings.Contains(r.Stderr, "urun kill c1: container not running") {
			t.Errorf("kill of stopped: %s", r)
		}
		if r := e.Urun("start", "c1"); r.Code == 0 || !strings.Contains(r.Stderr, "container is stopped") {
			t.Errorf("start of stopped: %s", r)
		}
		e.MustUrun("delete", "c1")
		if r := e.Urun("state", "c1"); r.Code == 0 || !strings.Contains(r.Stderr, `urun state c1: container "c1" does not exist`) {
			t.Errorf("state after delete: %s", r)
		}
		e.AssertClean()
	})
}

func TestRunExitCodes(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		for _, tc := range []struct {
			script string
			want   int
		}{{"exit 0", 0}, {"exit 1", 1}, {"exit 42", 42}, {"kill -KILL $$", 137}} {
			e.Spec.Process.Args = []string{"sh", "-c", tc.script}
			e.WriteSpec()
			if r := e.Urun("run", "r1"); r.Code != tc.want {
				t.Errorf("run %q: exit %d, want %d: %s", tc.script, r.Code, tc.want, r)
			}
			// Same through create/start and the pid-file PID.
			pidFile := filepath.Join(e.Bundle, "pid")
			e.MustUrun("create", "--pid-file", pidFile, "c2")
			pid := ReadPidFile(t, pidFile)
			e.MustUrun("start", "c2")
			if code := WaitPid(t, pid); code != tc.want {
				t.Errorf("create/start %q: pid-file status %d, want %d", tc.script, code, tc.want)
			}
			e.MustUrun("delete", "c2")
		}
		e.AssertClean()
	})
}

// startReady creates and starts a container whose stdout we read; it
// returns once the container printed "ready" (its trap is installed).
func startReady(t *testing.T, e *Env, id, script string) (pid int) {
	t.Helper()
	e.Spec.Process.Args = []string{"sh", "-c", script}
	e.WriteSpec()
	pidFile := filepath.Join(e.Bundle, id+".pid")
	cmd := e.Command("create", "--pid-file", pidFile, id)
	pr, pw, _ := os.Pipe()
	cmd.Stdout = pw
	// A file: the container inherits create's stderr and keeps it open.
	stderr := e.tempFile()
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v: %s", err, readAll(t, stderr))
	}
	pw.Close()
	pid = ReadPidFile(t, pidFile)
	e.MustUrun("start", id)
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("container said %q, %v", line, err)
	}
	t.Cleanup(func() { pr.Close() })
	return pid
}

func TestKillDeliversSignal(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		pid := startReady(t, e, "k1", `trap "exit 7" USR1; echo ready; while :; do sleep 1 & wait; done`)
		e.MustUrun("kill", "k1", "usr1")
		if code := WaitPid(t, pid); code != 7 {
			t.Errorf("status %d after kill USR1, want 7 (the trap's)", code)
		}
		pid = startReady(t, e, "k2", `echo ready; exec sleep 100`)
		e.MustUrun("kill", "k2", "9")
		if code := WaitPid(t, pid); code != 137 {
			t.Errorf("status %d after kill 9, want 137", code)
		}
		if r := e.Urun("kill", "k2", "SIGNOPE"); r.Code == 0 || !strings.Contains(r.Stderr, `signal "SIGNOPE": unknown signal name`) {
			t.Errorf("bad signal: %s", r)
		}
		e.MustUrun("delete", "k1")
		e.MustUrun("delete", "k2")
		e.AssertClean()
	})
}

func TestDeleteForce(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		pid := startReady(t, e, "f1", `echo ready; exec sleep 100`)
		e.MustUrun("delete", "--force", "f1")
		if code := WaitPid(t, pid); code != 137 {
			t.Errorf("status %d after delete --force, want 137", code)
		}
		// A created (never started) container is deleted with its placeholder.
		pidFile := filepath.Join(e.Bundle, "pid")
		e.MustUrun("create", "--pid-file", pidFile, "f2")
		pid = ReadPidFile(t, pidFile)
		e.MustUrun("delete", "f2")
		if code := WaitPid(t, pid); code != 137 {
			t.Errorf("created container's placeholder: status %d, want 137", code)
		}
		e.MustUrun("delete", "--force", "never-existed")
		e.AssertClean()
	})
}

func TestRunForwardsSignals(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `trap "exit 9" TERM; echo ready; while :; do sleep 1 & wait; done`)
		cmd := e.Command("run", "s1")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			t.Fatalf("container said %q", line)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 9 {
			t.Errorf("urun run exit %d (%v), want 9 from the container's TERM trap", code, err)
		}
		e.AssertClean()
	})
}

// TestProcessConfig: args, env, cwd and user reach the process.
func TestProcessConfig(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(id -G)|$0|$1"`, "arg0", "arg1")
		e.Spec.Process.Env = append(e.Spec.Process.Env, "GREETING=hello world")
		e.Spec.Process.Cwd = "/tmp"
		e.WriteSpec()
		r := e.MustUrun("run", "p1")
		if got, want := r.Stdout, "hello world|/tmp|0:0|0|arg0|arg1\n"; got != want {
			t.Errorf("as root: got %q, want %q", got, want)
		}
		e.Spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 5}}
		e.WriteSpec()
		r = e.Urun("run", "p2")
		if a.HasRange {
			if got, want := r.Stdout, "hello world|/tmp|1000:1000|1000 5|arg0|arg1\n"; got != want || r.Code != 0 {
				t.Errorf("as 1000: got %q, want %q: %s", got, want, r)
			}
		} else {
			want := "urun run p2: config.json: process.user.uid: 1000 is not mapped in the container (mapped uids: 0); only your own ID is available: add ranges for your account to /etc/subuid and /etc/subgid and install newuidmap/newgidmap (Debian: uidmap)\n"
			if r.Code != 1 || r.Stderr != want {
				t.Errorf("unmapped user: %s\nwant stderr %q", r, want)
			}
		}
		e.AssertClean()
	})
}

func TestChown(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `touch /f && chown 1000:1000 /f && stat -c %u:%g /f`)
		r := e.Urun("run", "ch")
		if a.HasRange {
			if r.Code != 0 || r.Stdout != "1000:1000\n" {
				t.Errorf("chown with ranges: %s", r)
			}
			// And the file really belongs to the mapped host ID.
			var st syscall.Stat_t
			syscall.Stat(filepath.Join(e.Bundle, "rootfs/f"), &st)
			if st.Uid == uint32(a.UID) || st.Uid == 0 {
				t.Errorf("host owner of /f is %d: not a subordinate ID", st.Uid)
			}
		} else if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "chown: /f: Invalid argument") {
			t.Errorf("chown without ranges should fail with EINVAL: %s", r)
		}
	})
}

// TestOnlyStdioReachesContainer: an fd open in urun's caller does not leak;
// --preserve-fds passes exactly the ones asked.
func TestOnlyStdioReachesContainer(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `cd /proc/self/fd && echo *`)
		for _, tc := range []struct {
			preserve string
			want     string
		}{{"0", "0 1 2 3\n"}, {"2", "0 1 2 3 4 5\n"}} {
			// The shell's glob opens one directory fd itself (the last one).
			cmd := e.Command("run", "--preserve-fds", tc.preserve, "fd1")
			f1, _ := os.Open("/dev/null")
			f2, _ := os.Open("/dev/null")
			cmd.ExtraFiles = []*os.File{f1, f2}
			out, err := cmd.Output()
			f1.Close()
			f2.Close()
			if err != nil || string(out) != tc.want {
				t.Errorf("--preserve-fds %s: fds %q (%v), want %q", tc.preserve, out, err, tc.want)
			}
		}
	})
}

// TestSocketActivation: LISTEN_FDS/LISTEN_PID naming urun pass that many
// fds (before --preserve-fds ones) and point LISTEN_PID at the container
// process; with LISTEN_PID naming another process nothing passes.
func TestSocketActivation(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `echo "$LISTEN_FDS $(test "$LISTEN_PID" = "$$" && echo pid-ok) $(cd /proc/self/fd && echo *)"`)
		for _, tc := range []struct {
			pid, want string
		}{{"$$", "2 pid-ok 0 1 2 3 4 5 6\n"}, {"1", "  0 1 2 3 4\n"}} {
			cmd := e.Command("run", "--preserve-fds", "1", "sa1")
			// sh execs urun (unshare too, for nested), so $$ is urun's PID.
			cmd.Args = append([]string{"sh", "-c", `LISTEN_FDS=2 LISTEN_PID=` + tc.pid + ` exec "$0" "$@"`}, cmd.Args...)
			cmd.Path = "/bin/sh"
			var files []*os.File
			for i := 0; i < 3; i++ {
				f, _ := os.Open("/dev/null")
				defer f.Close()
				files = append(files, f)
			}
			cmd.ExtraFiles = files
			r := e.Exec(cmd)
			// LISTEN_PID=1 is not urun: only --preserve-fds 1 passes fd 3
			// (4 is the shell's glob).
			if r.Code != 0 || r.Stdout != tc.want {
				t.Errorf("LISTEN_PID=%s: got %q, want %q: %s", tc.pid, r.Stdout, tc.want, r)
			}
		}
	})
}

// TestMountSymlinkStaysInRootfs: a destination through a symlink that
// points at /etc lands in the rootfs's /etc, never the host's.
func TestMountSymlinkStaysInRootfs(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "cat", "/etc/urun-escape-test")
		os.Symlink("/etc", filepath.Join(e.Bundle, "rootfs/evil"))
		os.Symlink("../../../../../../../../etc", filepath.Join(e.Bundle, "rootfs/evil2"))
		src := filepath.Join(e.Bundle, "marker")
		os.WriteFile(src, []byte("inside\n"), 0o644)
		e.chownAll(e.Bundle)
		for _, dest := range []string{"/evil/urun-escape-test", "/evil2/urun-escape-test"} {
			e.Spec.Mounts = append(DefaultSpec().Mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"bind", "ro"}})
			e.WriteSpec()
			r := e.Urun("run", "m1")
			if r.Code != 0 || r.Stdout != "inside\n" {
				t.Errorf("dest %s: %s", dest, r)
			}
			if _, err := os.Stat("/etc/urun-escape-test"); err == nil {
				os.Remove("/etc/urun-escape-test")
				t.Fatalf("dest %s escaped to the host's /etc", dest)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		// A healthy container that every failure must leave alone.
		e.MustUrun("create", "keep")
		cases := []struct {
			name   string
			config string // raw config.json; "" keeps the default
			args   []string
			want   string
		}{
			{"malformed", "{\n \"ociVersion\": \"1.0.2\",\n \"process\": {,}\n}", []string{"create", "x1"}, "config.json: invalid JSON at line 3 column 14"},
			{"bad version", `{"ociVersion":"2.0.0","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"}}`, []string{"create", "x2"}, `urun create x2: ` + e.Bundle + `/config.json: ociVersion: "2.0.0" is not supported (urun supports 1.0.0 to 1.3.x)`},
			{"missing rootfs", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"nope"}}`, []string{"create", "x3"}, "root.path: " + e.Bundle + "/nope: no such file or directory"},
			{"no args", `{"ociVersion":"1.0.2","process":{"cwd":"/"},"root":{"path":"rootfs"}}`, []string{"create", "x4"}, "process.args: empty (nothing to run)"},
			{"missing program", "", []string{"create", "x5"}, `urun create x5: process.args[0]: "no-such-program": executable file not found in $PATH (/usr/sbin:/usr/bin:/sbin:/bin)`},
			{"bad cwd", "cwd", []string{"create", "x6"}, "urun create x6: process.cwd: /no/such/dir: no such file or directory"},
			{"empty id", "", []string{"create", ""}, "urun create: container ID: empty"},
			{"dotdot id", "", []string{"create", "../x"}, `urun create "../x": container ID "../x": must not contain ".."`},
			{"slash id", "", []string{"create", "a/b"}, `urun create "a/b": container ID "a/b": only letters, digits and _.+@:- are allowed`},
			// Escape sequences and newlines in an ID are quoted, never echoed.
			{"escape id", "", []string{"create", "a\x1b[2Jb\nc"}, `urun create "a\x1b[2Jb\nc": container ID "a\x1b[2Jb\nc": only letters`},
			{"escape id state", "", []string{"state", "\x1b]0;owned\x07"}, `urun state "\x1b]0;owned\a": container ID`},
			{"long id", "", []string{"create", strings.Repeat("a", 256)}, "urun create \"" + strings.Repeat("a", 256) + "\": container ID: 256 bytes, longer than the limit of 255"},
			{"trailing data", "trailing", []string{"create", "x10"}, `config.json: invalid JSON at line 2 column 1 (offset `},
			{"env without =", "env", []string{"create", "x11"}, `urun create x11: config.json: process.env[2]: "NOEQUALS" is not NAME=VALUE (see unsupported.md)`},
			{"huge annotations", "annotations", []string{"create", "x12"}, `urun create x12: config.json: annotations: 300001 bytes of keys and values, more than urun's limit of 262144`},
			{"duplicate", "", []string{"create", "keep"}, `urun create keep: container "keep" already exists`},
			{"start unknown", "", []string{"start", "nope"}, `urun start nope: container "nope" does not exist`},
			{"delete unknown", "", []string{"delete", "nope"}, `urun delete nope: container "nope" does not exist`},
			{"kill unknown", "", []string{"kill", "nope"}, `urun kill nope: container "nope" does not exist`},
			{"terminal", "terminal", []string{"create", "x7"}, "urun create x7: config.json: process.terminal is true but --console-socket was not given: create has nowhere to send the terminal"},
			{"namespace path", "nspath", []string{"create", "x8"}, "urun create x8: config.json: linux.namespaces[2].path: open /run/netns/urun-missing: no such file or directory"},
		}
		for _, tc := range cases {
			spec := DefaultSpec()
			switch tc.config {
			case "":
				if tc.name == "missing program" {
					spec.Process.Args = []string{"no-such-program"}
				}
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			case "cwd":
				spec.Process.Cwd = "/no/such/dir"
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			case "terminal":
				spec.Process.Terminal = true
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			case "trailing":
				data, _ := json.Marshal(spec)
				e.WriteConfig(append(data, "\n}"...))
			case "env":
				spec.Process.Env = append(spec.Process.Env, "NOEQUALS")
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			case "annotations":
				spec.Annotations = map[string]string{"a": strings.Repeat("x", 300000)}
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			case "nspath":
				spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: "network", Path: "/run/netns/urun-missing"})
				data, _ := json.Marshal(spec)
				e.WriteConfig(data)
			default:
				e.WriteConfig([]byte(tc.config))
			}
			before := e.StateEntries()
			r := e.Urun(tc.args...)
			if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%s: want non-zero exit and stderr containing %q; got %s", tc.name, tc.want, r)
			}
			if strings.ContainsAny(strings.TrimSuffix(r.Stderr, "\n"), "\x1b\x07\n") {
				t.Errorf("%s: a raw control character reached stderr: %q", tc.name, r.Stderr)
			}
			if after := e.StateEntries(); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("%s: state directory changed: %v -> %v", tc.name, before, after)
			}
		}
		if st := e.State("keep"); st.Status != "created" {
			t.Errorf("the healthy container was disturbed: %+v", st)
		}
		e.MustUrun("delete", "keep")
		e.AssertClean()
	})
}

// TestConcurrentCreateOneID: of several creates of one ID exactly one wins;
// distinct IDs never interfere.
func TestConcurrentCreate(t *testing.T) {
	e := NewEnv(t, Sub)
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := "same"
			if i >= 3 {
				id = fmt.Sprintf("distinct%d", i)
			}
			results[i] = e.Urun("create", id)
		}(i)
	}
	wg.Wait()
	wins := 0
	for i, r := range results[:3] {
		if r.Code == 0 {
			wins++
		} else if !strings.Contains(r.Stderr, `container "same" already exists`) {
			t.Errorf("create %d: %s", i, r)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates of one ID won, want exactly 1", wins)
	}
	for i, r := range results[3:] {
		if r.Code != 0 {
			t.Errorf("distinct create %d: %s", i, r)
		}
	}
	for _, id := range []string{"same", "distinct3", "distinct4", "distinct5"} {
		if st := e.State(id); st.Status != "created" {
			t.Errorf("%s: %+v", id, st)
		}
		e.MustUrun("delete", id)
	}
	e.AssertClean()
}

func TestJSONLog(t *testing.T) {
	e := NewEnv(t, NoSub)
	logFile := filepath.Join(e.Bundle, "log.json")
	r := e.Urun("--log", logFile, "--log-format", "json", "start", "ghost")
	if r.Code == 0 {
		t.Fatalf("start ghost succeeded: %s", r)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("last log line %q: %v", lines[len(lines)-1], err)
	}
	if last["level"] != "error" || last["msg"] != `urun start ghost: container "ghost" does not exist` || last["time"] == nil {
		t.Errorf("last log line: %v", last)
	}
	if !strings.Contains(r.Stderr, `urun start ghost: container "ghost" does not exist`) {
		t.Errorf("stderr: %q", r.Stderr)
	}
}

func TestHang(t *testing.T) {
	e := NewEnv(t, NoSub)
	cmd := e.Command("state", "x")
	cmd.Env = append(cmd.Env, "URUN_HANG=state")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	if !strings.Contains(line, "URUN_HANG=state: urun state is hanging") {
		t.Errorf("hang message: %q", line)
	}
	// Still there after saying so: it hangs until killed.
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("hanging urun exited: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() {
		t.Errorf("urun ended by itself: %v", cmd.ProcessState)
	}
}

// TestHangCreate: URUN_HANG=create reserves the container and hangs with
// its state inspectable; SIGTERM ends it and leaves nothing behind.
func TestHangCreate(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		cmd := e.Command("create", "h1")
		cmd.Env = append(cmd.Env, "URUN_HANG=create")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(stderr)
		line, _ := br.ReadString('\n')
		if !strings.Contains(line, "URUN_HANG=create: urun create is hanging after validating the bundle") {
			t.Fatalf("hang message: %q", line)
		}
		st := e.State("h1")
		if st.Status != "creating" || st.Bundle != e.Bundle {
			t.Errorf("state while hanging: %+v", st)
		}
		if r := e.Urun("create", "h1"); r.Code == 0 || !strings.Contains(r.Stderr, `urun create h1: container "h1" already exists`) {
			t.Errorf("second create while hanging: %s", r)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		rest, _ := io.ReadAll(br)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) || !strings.Contains(string(rest), "urun create h1: URUN_HANG=create: stopped by SIGTERM while hanging") {
			t.Errorf("after SIGTERM: exit %d, stderr %q", code, rest)
		}
		e.AssertClean()
	})
}

func TestSpecRunsAsIs(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		os.Remove(filepath.Join(e.Bundle, "config.json"))
		e.MustUrun("spec", "--rootless")
		data, _ := os.ReadFile(filepath.Join(e.Bundle, "config.json"))
		var s specs.Spec
		json.Unmarshal(data, &s)
		s.Process.Args = []string{"sh", "-c", "cat /proc/self/status | grep NoNewPrivs; touch /x 2>&1; echo ok > /tmp/y && cat /tmp/y"}
		d2, _ := json.Marshal(s)
		e.WriteConfig(d2)
		r := e.MustUrun("run", "spec1")
		want := "NoNewPrivs:\t1\ntouch: /x: Read-only file system\nok\n"
		if r.Stdout != want {
			t.Errorf("got %q want %q", r.Stdout, want)
		}
	})
}

var _ = exec.Command
