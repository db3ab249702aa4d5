package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/members"
)

// waitPlaceholder waits until pid has started the placeholder (a child
// whose argv[0] is urun-init) and returns it. The deadline only turns a
// hang into a failure; the loop waits on an observed condition.
func waitPlaceholder(t *testing.T, e *Env, id string, pid int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if inProcessWanted(e.A) {
			// The in-process executor forks the container process after
			// its first log lines: there is none yet. Signals are caught
			// from urun's start; once the container is reserved, create's
			// guard handles them.
			if _, err := os.Stat(filepath.Join(e.Root, id)); err == nil {
				return 0
			}
		}
		for _, ch := range members.Children(pid) {
			if cl, _ := os.ReadFile("/proc/" + strconv.Itoa(ch) + "/cmdline"); strings.HasPrefix(string(cl), "urun-init\x00") {
				return ch
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("pid %d never started the placeholder", pid)
	return 0
}

// fullPipe makes a FIFO the account can open, with its buffer full, so the
// first log line urun writes to it blocks until the test reads.
func fullPipe(t *testing.T, e *Env) (string, *os.File) {
	path := filepath.Join(e.Bundle, "log.fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(path, e.A.UID, e.A.GID)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, 4096)
	unix.SetNonblock(fd, true)
	junk := make([]byte, 512)
	for {
		if _, err := unix.Write(fd, junk); err != nil {
			break
		}
	}
	unix.SetNonblock(fd, false)
	return path, f
}

// waitGuardTook waits until create's guard has taken an interrupting
// signal: it removes the container's directory before it logs, and its log
// line waits behind the full pipe, as urun's own does. A test drains the
// pipe only then: else urun could finish its create before its signal
// goroutine ran (seen once in CI, on a loaded machine).
func waitGuardTook(t *testing.T, e *Env, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(e.Root, id)); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("urun's guard never took the signal: %s is still there", filepath.Join(e.Root, id))
		}
		time.Sleep(time.Millisecond)
	}
}

// A create interrupted by SIGTERM before it has saved the container kills
// its container process, removes its state and exits 128+15; the ID is
// free again.
func TestInterruptedCreate(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		fifo, pipe := fullPipe(t, e)
		defer pipe.Close()
		cmd := e.Command("--debug", "--log", fifo, "--log-format", "json", "create", "i1")
		errb := e.tempFile()
		cmd.Stderr = errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// create catches signals before it starts the container process,
		// and cannot commit it: its first (debug) log line blocks on the
		// full pipe.
		ph := waitPlaceholder(t, e, "i1", cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGTERM)
		waitGuardTook(t, e, "i1")
		go io.Copy(io.Discard, pipe) // let the error line through
		cmd.Wait()
		stderr := readAll(t, errb)
		if code := cmd.ProcessState.ExitCode(); code != 143 || !strings.Contains(stderr, "urun create i1: interrupted by terminated: nothing was created") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		// The orphaned container process is re-parented to this test (a
		// subreaper): reap it, proving it is gone. create kills it, or
		// (signalled before create could track it) it exits on its own
		// when create goes.
		// (create may have reaped it itself: then it is simply gone.)
		var ws unix.WaitStatus
		if ph == 0 {
		} else if _, err := unix.Wait4(ph, &ws, 0, nil); err == nil {
			if !(ws.Signaled() && ws.Signal() == syscall.SIGKILL) && ws.ExitStatus() != 1 {
				t.Errorf("container process %d ended with %v, want killed or 1", ph, ws)
			}
		} else if cl, _ := os.ReadFile("/proc/" + strconv.Itoa(ph) + "/cmdline"); strings.HasPrefix(string(cl), "urun-init") {
			t.Errorf("container process %d still runs: %v", ph, err)
		}
		e.AssertClean()
		e.MustUrun("run", "i1")
	})
}

var hangPidRE = regexp.MustCompile(`set up in process (\d+)`)

// URUN_HANG=create-setup: the container is set up and waits for create to
// commit it. start and delete say it is still being created; a SIGKILLed
// create leaves no process (the container process sees create go and
// exits) and a state that delete removes.
func TestHangCreateSetup(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		for _, how := range []string{"sigkill", "delete-force"} {
			id := "hs-" + how
			cmd := e.Command("create", id)
			cmd.Env = append(cmd.Env, "URUN_HANG=create-setup")
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(stderr)
			line, _ := br.ReadString('\n')
			m := hangPidRE.FindStringSubmatch(line)
			if !strings.Contains(line, "URUN_HANG=create-setup: urun create is hanging with the container set up in process") || m == nil {
				t.Fatalf("hang message: %q", line)
			}
			ph, _ := strconv.Atoi(m[1])
			if mi, err := os.ReadFile("/proc/" + m[1] + "/mountinfo"); err != nil || !strings.Contains(string(mi), "/bundle/rootfs / ") || !strings.Contains(string(mi), " /proc ") {
				t.Errorf("container mountinfo: %v %.200q", err, mi)
			}
			if st := e.State(id); st.Status != "creating" || st.Pid != cmd.Process.Pid {
				t.Errorf("state while hanging: %+v", st)
			}
			want := "container is still being created by urun create (pid " + strconv.Itoa(cmd.Process.Pid)
			if r := e.Urun("start", id); r.Code != 1 || !strings.Contains(r.Stderr, "urun start "+id+": cannot start: "+want) {
				t.Errorf("start while creating: %s", r)
			}
			if r := e.Urun("delete", id); r.Code != 1 || !strings.Contains(r.Stderr, "urun delete "+id+": "+want) {
				t.Errorf("delete while creating: %s", r)
			}
			if how == "sigkill" {
				cmd.Process.Signal(syscall.SIGKILL)
			} else {
				e.MustUrun("delete", "--force", id)
			}
			io.Copy(io.Discard, br)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != -1 {
				t.Errorf("%s: create exit %d, want killed", how, code)
			}
			// Uncommitted, the container process exits on its own.
			if st := WaitPid(t, ph); st != 1 {
				t.Errorf("%s: container process ended with %d, want 1", how, st)
			}
			if how == "sigkill" {
				if st := e.State(id); st.Status != "stopped" {
					t.Errorf("state after SIGKILL: %+v", st)
				}
				e.MustUrun("delete", id)
			}
			e.AssertClean()
		}
	})
}

// A create SIGKILLed before it saved any state leaves a directory that
// state names as half-created and delete --force removes.
func TestHalfCreated(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		e.MustUrun("list") // makes the state directory
		dir := filepath.Join(e.Root, "half")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(dir, a.UID, a.GID)
		r := e.Urun("state", "half")
		if r.Code != 1 || !strings.Contains(r.Stderr, `urun state half: container "half" is half-created (its create was killed before saving it): remove it with delete --force`) {
			t.Errorf("state: %s", r)
		}
		e.MustUrun("delete", "--force", "half")
		e.AssertClean()
	})
}

// startPiped starts cmd with its stdout on a pipe of our own, returned for
// reading: the container keeps writing to it after create exits (Wait
// would close a StdoutPipe).
func startPiped(t *testing.T, cmd *exec.Cmd) *bufio.Reader {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return bufio.NewReader(r)
}

// createStarted creates and starts container id, whose command prints
// the line first when it runs, and returns its output and main PID.
func createStarted(t *testing.T, e *Env, id, first string) (*bufio.Reader, int) {
	t.Helper()
	cmd := e.Command("create", id)
	br := startPiped(t, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("create: %v", err)
	}
	main := e.State(id).Pid
	e.MustUrun("start", id)
	if line, _ := br.ReadString('\n'); line != first+"\n" {
		t.Fatalf("container: %q, want %q", line, first)
	}
	return br, main
}

// pidsFrom parses the PIDs a container printed, one a line.
func pidsFrom(t *testing.T, br *bufio.Reader, n int) []int {
	var out []int
	for len(out) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("container output: %v", err)
		}
		if p, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// exited reports whether pid has exited, waiting for it (up to 10 s) when
// it should; whatever was to kill it has returned when it should not.
func exited(pid int, wait bool) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	ms := 0
	if wait {
		ms = 10000
	}
	n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
	return n > 0
}

// kill --all, delete and run reach the container's other processes, also
// one that called setsid, as runc does through the cgroup.
func TestOtherProcesses(t *testing.T) {
	// Three background sleeps: one plain, one in its own session, one in
	// its own session and mount namespace. Their PIDs are host PIDs (no
	// PID namespace).
	const script = "sleep 1001 & echo $!; setsid sleep 1002 & echo $!; unshare -m setsid sleep 1003 & echo $!; "
	names := []string{"sleep", "setsid sleep", "unshare -m setsid sleep"}
	ForEach(t, func(t *testing.T, a *Account) {
		for _, tc := range []struct{ name, tail string }{
			{"kill-all", "wait"},           // running: kill --all KILL
			{"delete-force", "wait"},       // running: delete --force
			{"delete-stopped", "exit 0"},   // stopped: delete (same session and namespace only)
			{"kill-all-stopped", "exit 0"}, // stopped: kill --all still reaches them
			{"run", "exit 0"},              // run: leftovers killed at exit
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := NewEnv(t, a, "sh", "-c", script+tc.tail)
				verb := []string{"create", "o1"}
				if tc.name == "run" {
					verb = []string{"run", "o1"}
				}
				pidFile := filepath.Join(e.Bundle, "pid")
				verb = append(verb[:1], "--pid-file", pidFile, "o1")
				cmd := e.Command(verb...)
				br := startPiped(t, cmd)
				if tc.name != "run" {
					if err := cmd.Wait(); err != nil {
						t.Fatalf("create: %v", err)
					}
					e.MustUrun("start", "o1")
				}
				pids := pidsFrom(t, br, 3)
				main := ReadPidFile(t, pidFile)
				switch tc.name {
				case "kill-all":
					e.MustUrun("kill", "--all", "o1", "KILL")
					WaitPid(t, main)
					e.MustUrun("delete", "o1")
				case "delete-force":
					e.MustUrun("delete", "--force", "o1")
				case "delete-stopped":
					WaitPid(t, main)
					e.MustUrun("delete", "o1")
				case "kill-all-stopped":
					WaitPid(t, main)
					if r := e.Urun("kill", "o1", "KILL"); r.Code != 1 || !strings.Contains(r.Stderr, "urun kill o1: container not running") {
						t.Errorf("kill of a stopped container: %s", r)
					}
					e.MustUrun("kill", "--all", "o1", "KILL")
					e.MustUrun("delete", "o1")
				case "run":
					if err := cmd.Wait(); err != nil {
						t.Fatalf("run: %v", err)
					}
				}
				for i, p := range pids {
					if i > 0 && strings.HasSuffix(tc.name, "-stopped") {
						// Once the main process is gone the namespace's
						// inode number may name a newer container: only
						// processes in the container's session and
						// namespace are sure to be found (README: the one
						// gap), so these two may stay.
						unix.Kill(p, unix.SIGKILL)
						exited(p, true) // before AssertClean looks
						continue
					}
					if !exited(p, true) {
						t.Errorf("pid %d (%s) was left running", p, names[i])
						unix.Kill(p, unix.SIGKILL)
						exited(p, true)
					}
				}
				e.AssertClean()
			})
		}
	})
}

// A bind whose source and mount point differ in kind fails naming both.
func TestBindKindMismatch(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "true")
		file := filepath.Join(e.Bundle, "afile")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ src, dest, want string }{
			{file, "/etc", "urun run k1: mounts[3] /etc: mount point /etc is a directory, but the source is not: a file binds only onto a file (name the file inside it, e.g. /etc/NAME)"},
			{e.Bundle, "/etc/passwd", "urun run k1: mounts[3] /etc/passwd: mount point /etc/passwd exists and is not a directory (the source is a directory)"},
		} {
			e.Spec.Mounts = append(e.Spec.Mounts[:3:3], specs.Mount{Destination: tc.dest, Type: "bind", Source: tc.src, Options: []string{"bind", "ro"}})
			e.WriteSpec()
			if r := e.Urun("run", "k1"); r.Code != 1 || strings.TrimSpace(r.Stderr) != tc.want {
				t.Errorf("%s onto %s: %s\nwant %s", tc.src, tc.dest, r, tc.want)
			}
			e.AssertClean()
		}
	})
}

// run forwards signals beyond the classic six (runc forwards all).
func TestRunForwardsMoreSignals(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "trap 'echo got WINCH' WINCH; trap 'echo got 40; exit 7' 40; echo ready; while :; do sleep 0.01; done")
		cmd := e.Command("run", "f1")
		br := startPiped(t, cmd)
		if line, _ := br.ReadString('\n'); line != "ready\n" {
			t.Fatalf("container: %q", line)
		}
		cmd.Process.Signal(syscall.SIGWINCH)
		if line, _ := br.ReadString('\n'); line != "got WINCH\n" {
			t.Errorf("after SIGWINCH: %q", line)
		}
		cmd.Process.Signal(syscall.Signal(40))
		if line, _ := br.ReadString('\n'); line != "got 40\n" {
			t.Errorf("after signal 40: %q", line)
		}
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 7 {
			t.Errorf("run exit %d, want 7", code)
		}
		e.AssertClean()
	})
}

// processesOf counts the account's processes whose command line is argv.
func processesOf(uid int, argv ...string) int {
	want := strings.Join(argv, "\x00") + "\x00"
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		var st syscall.Stat_t
		if syscall.Stat(d, &st) != nil || int(st.Uid) != uid {
			continue
		}
		if cl, _ := os.ReadFile(d + "/cmdline"); string(cl) == want {
			n++
		}
	}
	return n
}

// zombieChildren counts pid's children that are zombies.
func zombieChildren(pid int) int {
	n := 0
	for _, c := range members.Children(pid) {
		if data, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat"); err == nil {
			if i := strings.LastIndexByte(string(data), ')'); i > 0 && len(data) > i+2 && data[i+2] == 'Z' {
				n++
			}
		}
	}
	return n
}

// A container that keeps forking: run reaps its orphans as they come (no
// zombies pile up under it) and kills what is left when the command ends;
// delete --force leaves no process behind however fast the forks come.
func TestForkingContainer(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		t.Run("run", func(t *testing.T) {
			e := NewEnv(t, a, "sh", "-c", "i=0; while [ $i -lt 200 ]; do (true &); i=$((i+1)); done; (sleep 1005 &); echo forked; sleep 1006")
			cmd := e.Command("run", "z1")
			br := startPiped(t, cmd)
			if line, _ := br.ReadString('\n'); line != "forked\n" {
				t.Fatalf("container: %q", line)
			}
			// 200 orphans have exited or will: all must be reaped.
			deadline := time.Now().Add(10 * time.Second)
			for zombieChildren(cmd.Process.Pid) > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if z := zombieChildren(cmd.Process.Pid); z > 0 {
				t.Errorf("%d zombies under urun run", z)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 143 {
				t.Errorf("run exit %d, want 143", code)
			}
			for _, s := range []string{"1005", "1006"} {
				if n := processesOf(a.UID, "sleep", s); n != 0 {
					t.Errorf("%d sleep %s left after run", n, s)
				}
			}
			e.AssertClean()
		})
		t.Run("delete-force", func(t *testing.T) {
			e := NewEnv(t, a, "sh", "-c", "echo looping; while :; do (sleep 1007 &); done")
			_, main := createStarted(t, e, "z2", "looping")
			e.MustUrun("delete", "--force", "z2")
			WaitPid(t, main)
			if n := processesOf(a.UID, "sleep", "1007"); n != 0 {
				t.Errorf("%d sleep 1007 left after delete --force", n)
			}
			e.AssertClean()
		})
	})
}

// A mount over "/" is refused (it would cover the rootfs and the mounts
// before it), and a config whose uidMappings key is spelt with a JSON
// escape is still refused cleanly.
func TestMountOverRootAndEscapedKey(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "true")
		root := specs.Mount{Destination: "/", Type: "bind", Source: filepath.Join(e.Bundle, "rootfs"), Options: []string{"rbind"}}
		e.Spec.Mounts = append(e.Spec.Mounts, root)
		e.WriteSpec()
		want := `urun run r1: config.json: mounts[3].destination: "/" would cover the rootfs (and the mounts made before it): set root.path instead (see unsupported.md)`
		if r := e.Urun("run", "r1"); r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
			t.Errorf("mount over /: %s\nwant %s", r, want)
		}
		e.Spec.Mounts = e.Spec.Mounts[:3]
		// MayMapIDs (the fast path's check) does not decode escapes; the
		// full decode does, and the refusal must not crash.
		e.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 4242, Size: 1}}
		data, _ := json.Marshal(e.Spec)
		data = []byte(strings.Replace(string(data), `"uidMappings"`, `"uid\u004dappings"`, 1))
		e.WriteConfig(data)
		own := a.UID
		if a.Nested {
			own = 0
		}
		want = fmt.Sprintf("urun run r2: config.json: linux.uidMappings: urun's own uid %d is not mapped; map it (to 0, or to itself as podman's --userns=keep-id does): urun sets the container up as that uid", own)
		if r := e.Urun("run", "r2"); r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
			t.Errorf("escaped key: %s\nwant %s", r, want)
		}
		e.AssertClean()
	})
}

// Processes urun run had as children before it started (a shell that ran
// `cmd & exec urun run`) are not the container's: run leaves them alone.
func TestRunKeepsEarlierChildren(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "true")
		cmd := e.Command("run", "k1")
		cmd.Args = append([]string{"sh", "-c", `sleep 1012 & echo $!; exec "$@"`, "sh"}, cmd.Args...)
		cmd.Path = "/bin/sh"
		br := startPiped(t, cmd)
		pids := pidsFrom(t, br, 1)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run: %v", err)
		}
		if exited(pids[0], false) {
			t.Errorf("urun run killed its caller's earlier child %d", pids[0])
		}
		unix.Kill(pids[0], unix.SIGKILL)
		exited(pids[0], true) // before AssertClean looks
		e.AssertClean()
	})
}

// kill --all with a signal other than KILL signals one snapshot, as runc
// does: what the container starts in response is not signalled too.
func TestKillAllSnapshot(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `trap 'sleep 0.2; echo rc=$?' TERM; echo ready; while :; do sleep 0.01; done`)
		br, main := createStarted(t, e, "s1", "ready")
		e.MustUrun("kill", "--all", "s1", "TERM")
		if line, _ := br.ReadString('\n'); line != "rc=0\n" {
			t.Errorf("the trap's sleep ended with %q, want rc=0", line)
		}
		e.MustUrun("delete", "--force", "s1")
		WaitPid(t, main)
		e.AssertClean()
	})
}
