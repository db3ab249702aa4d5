package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/internal/termtest"
)

// nsOf reads a process's namespace link (as root, from the host).
func nsOf(t *testing.T, pid int, kind string) string {
	t.Helper()
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestExec: urun exec's argv and --process forms, as runc has them, in a
// running container: the process is in the container's namespaces and
// root, gets the flags, and urun passes its status and stdin through.
func TestExec(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		if err := os.WriteFile(filepath.Join(e.Bundle, "rootfs/marker"), []byte("in the rootfs\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		main := startReady(t, e, "x1", `echo ready; exec sleep 100`)

		r := e.Urun("exec", "x1", "sh", "-c", `cat /marker; readlink /proc/self/ns/mnt; readlink /proc/self/ns/user; exit 3`)
		want := "in the rootfs\n" + nsOf(t, main, "mnt") + "\n" + nsOf(t, main, "user") + "\n"
		if r.Code != 3 || r.Stdout != want {
			t.Errorf("exec: %s\nwant stdout %q and exit 3", r, want)
		}
		uid := "0"
		if a.HasRange {
			uid = "1"
		}
		r = e.Urun("exec", "--user", uid+":"+uid, "--cwd", "/tmp", "-e", "FOO=bar,baz", "x1", "sh", "-c", `echo "$FOO $(id -u):$(id -g) $(pwd) $HOME"`)
		if want := "bar,baz " + uid + ":" + uid + " /tmp /root\n"; r.Code != 0 || r.Stdout != want {
			t.Errorf("exec --user --cwd --env: %s\nwant %q", r, want)
		}
		if a.HasRange {
			r := e.Urun("exec", "-u", "1:1", "--additional-gids", "2", "-g", "3", "x1", "id", "-G")
			if r.Code != 0 || r.Stdout != "1 2 3\n" {
				t.Errorf("exec --additional-gids: %s, want groups 1 2 3", r)
			}
		}
		r = e.Urun("exec", "--no-new-privs", "--cap", "CAP_SYS_ADMIN", "x1", "sh", "-c", "grep -E '^(NoNewPrivs|CapBnd)' /proc/self/status")
		// The config has no capabilities: --cap makes the sets just that one.
		if r.Code != 0 || !strings.Contains(r.Stdout, "NoNewPrivs:\t1") || !strings.Contains(r.Stdout, "CapBnd:\t0000000000200000") {
			t.Errorf("exec --no-new-privs --cap CAP_SYS_ADMIN: %s", r)
		}
		// --preserve-fds passes fd 3 on, and nothing else of urun's.
		extra, err := os.Open(filepath.Join(e.Bundle, "rootfs/marker"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := e.Command("exec", "--preserve-fds", "1", "x1", "sh", "-c", "cat <&3; ls /proc/self/fd | wc -l")
		cmd.ExtraFiles = []*os.File{extra}
		r = e.Exec(cmd)
		extra.Close()
		// 0, 1, 2, 3 and the one ls opens for /proc/self/fd.
		if r.Code != 0 || r.Stdout != "in the rootfs\n5\n" {
			t.Errorf("exec --preserve-fds 1: %s", r)
		}
		if r := e.Urun("exec", "--preserve-fds", "1", "x1", "true"); r.Code != 1 || !strings.Contains(r.Stderr, "--preserve-fds 1: fd 3 was not open in urun's caller") {
			t.Errorf("exec --preserve-fds of an fd the caller did not pass: %s", r)
		}
		if r := e.UrunIn(strings.NewReader("typed\n"), "exec", "x1", "cat"); r.Code != 0 || r.Stdout != "typed\n" {
			t.Errorf("stdin: %s", r)
		}
		if r := e.Urun("exec", "x1", "sh", "-c", `kill -KILL $$`); r.Code != 137 {
			t.Errorf("killed by SIGKILL: %s, want exit 137", r)
		}

		// RLIMIT_AS far below what a Go program maps: set last, as create does.
		proc := specs.Process{Args: []string{"sh", "-c", `echo "$A $(pwd) $(id -u) $(umask) $(ulimit -n)"`}, Cwd: "/etc",
			Env: []string{"A=from-process-json", "PATH=/bin"}, User: specs.User{UID: 0, GID: 0, Umask: ptr(uint32(0o027))},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 200, Soft: 100}, {Type: "RLIMIT_AS", Hard: 64 << 20, Soft: 64 << 20}}}
		data, _ := json.Marshal(proc)
		pj := filepath.Join(e.Bundle, "process.json")
		if err := os.WriteFile(pj, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := e.Urun("exec", "--process", pj, "x1"); r.Code != 0 || r.Stdout != "from-process-json /etc 0 0027 100\n" {
			t.Errorf("exec --process: %s", r)
		}

		// The rules of create apply.
		if r := e.Urun("exec", "--cap", "CAP_NOPE", "x1", "true"); r.Code != 1 || !strings.Contains(r.Stderr, `urun exec x1: process.capabilities.bounding[`) || !strings.Contains(r.Stderr, `unknown capability "CAP_NOPE"`) {
			t.Errorf("unknown capability: %s", r)
		}
		if r := e.Urun("exec", "--user", "70000", "x1", "true"); r.Code != 1 || !strings.Contains(r.Stderr, "urun exec x1: process.user.uid: 70000 is not mapped in the container") {
			t.Errorf("unmapped uid: %s", r)
		}
		if r := e.Urun("exec", "--cwd", "/nope", "x1", "true"); r.Code != 1 || !strings.Contains(r.Stderr, "urun exec x1: process.cwd: /nope: no such file or directory") {
			t.Errorf("missing cwd: %s", r)
		}
		if r := e.Urun("exec", "x1", "no-such-command"); r.Code != 1 || !strings.Contains(r.Stderr, `process.args[0]: "no-such-command": executable file not found`) {
			t.Errorf("missing command: %s", r)
		}

		// --detach --pid-file names the process itself; kill --all reaches it.
		pidFile := filepath.Join(e.Bundle, "exec.pid")
		e.MustUrun("exec", "--detach", "--pid-file", pidFile, "x1", "sleep", "101")
		pid := ReadPidFile(t, pidFile)
		if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); string(cmdline) != "sleep\x00101\x00" {
			t.Errorf("pid file names %d: %q, want the sleep itself", pid, cmdline)
		}
		e.MustUrun("kill", "--all", "x1", "TERM")
		if code := WaitPid(t, pid); code != 143 {
			t.Errorf("exec'd process after kill --all TERM: %d, want 143", code)
		}
		if code := WaitPid(t, main); code != 143 {
			t.Errorf("main process after kill --all TERM: %d, want 143", code)
		}

		// A stopped or missing container: an error, nothing started.
		if r := e.Urun("exec", "x1", "sh", "-c", "echo started"); r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "urun exec x1: cannot exec: container is stopped") {
			t.Errorf("exec into a stopped container: %s", r)
		}
		if r := e.Urun("exec", "nope", "true"); r.Code != 1 || !strings.Contains(r.Stderr, `urun exec nope: container "nope" does not exist`) {
			t.Errorf("exec into a missing container: %s", r)
		}
		e.MustUrun("delete", "x1")
		e.AssertClean()
	})
}

func ptr[T any](v T) *T { return &v }

// TestExecEndsWithMain: processes exec'd into the container, and their
// children, end when its main process does, as with a PID namespace's init
// (podman stop counts on it: it refuses to clean up while one lives).
func TestExecEndsWithMain(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		main := startReady(t, e, "x2", `echo ready; exec sleep 100`)
		pidFile := filepath.Join(e.Bundle, "exec.pid")
		e.MustUrun("exec", "-d", "--pid-file", pidFile, "x2", "sh", "-c", "sleep 103 & exec sleep 102")
		pid := ReadPidFile(t, pidFile)
		var kids []string
		for len(kids) == 0 { // sh has forked before it exec'd sleep 102
			data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
			kids = strings.Fields(string(data))
		}
		kid, _ := strconv.Atoi(kids[0])
		e.MustUrun("kill", "x2", "KILL")
		if code := WaitPid(t, main); code != 137 {
			t.Fatalf("main: %d", code)
		}
		if code := WaitPid(t, pid); code != 137 {
			t.Errorf("exec'd process after the main one exited: %d, want 137", code)
		}
		if code := WaitPid(t, kid); code != 137 {
			t.Errorf("its child after the main one exited: %d, want 137", code)
		}
		e.MustUrun("delete", "x2")
		e.AssertClean()
	})
}

// TestExecForwardsSignals: a signal sent to a foreground urun exec reaches
// the process, and its status is urun's.
func TestExecForwardsSignals(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		startReady(t, e, "x3", `echo ready; exec sleep 100`)
		cmd := e.Command("exec", "x3", "sh", "-c", `trap "exit 9" TERM; echo ready; while :; do sleep 1 & wait; done`)
		br := startPiped(t, cmd)
		if line, _ := br.ReadString('\n'); line != "ready\n" {
			t.Fatalf("exec'd process said %q", line)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 9 {
			t.Errorf("urun exec exit %d, want 9 from the process's TERM trap", code)
		}
		e.MustUrun("delete", "--force", "x3")
		e.AssertClean()
	})
}

var hangExecRE = regexp.MustCompile("`([^`]*) --root (\\S+) exec (\\S+) /bin/sh`")

// TestExecHungCreate: URUN_HANG's messages name the exec command line that
// enters the container hung in create, and it does.
func TestExecHungCreate(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		for _, hang := range []string{"create", "create-setup"} {
			cmd := e.Command("create", "h-"+hang)
			cmd.Env = append(cmd.Env, "URUN_HANG="+hang)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(stderr).ReadString('\n')
			m := hangExecRE.FindStringSubmatch(line)
			if m == nil || m[1] != urunBin || m[2] != e.Root || m[3] != "h-"+hang {
				t.Fatalf("URUN_HANG=%s message names no exec command for this container: %q", hang, line)
			}
			if hang == "create" {
				if !strings.Contains(line, "the container has no process yet: with URUN_HANG=create-setup, `") {
					t.Errorf("URUN_HANG=create message: %q", line)
				}
				r := e.Urun("exec", "h-create", "true")
				if r.Code != 1 || !strings.Contains(r.Stderr, "cannot exec: container is still being created by urun create (pid "+strconv.Itoa(cmd.Process.Pid)+") and has no process yet") {
					t.Errorf("exec into a create hung before its process: %s", r)
				}
			} else {
				r := e.UrunIn(strings.NewReader("cat /proc/self/mountinfo | head -1; exit 4\n"), "exec", "h-"+hang, "/bin/sh")
				if r.Code != 4 || !strings.Contains(r.Stdout, "/bundle/rootfs / ") {
					t.Errorf("the hint's command in the hung container: %s", r)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		e.AssertClean()
	})
}

// TestExecTerminal: exec --tty, as podman exec -it and runc exec -t do it:
// with --console-socket the master goes to the caller (conmon's way); in
// the foreground from a terminal urun relays it. The pty is on the
// container's devpts and is the process's controlling terminal.
func TestExecTerminal(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		e.Spec.Mounts = append(e.Spec.Mounts, specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}})
		e.Spec.Process.Env = append(e.Spec.Process.Env, "PS1=ctr$ ", "TERM=dumb")
		startReady(t, e, "xt", `echo ready; exec sleep 100`)

		l, sock := consoleListener(t, e)
		pidFile := filepath.Join(e.Bundle, "exec.pid")
		if r := e.Urun("exec", "--detach", "--tty", "--console-socket", sock, "--pid-file", pidFile, "xt",
			"sh", "-c", `tty; [ -t 0 ] && [ -t 1 ] && echo stdio-tty; read x; echo got:$x; exit 6`); r.Code != 0 {
			t.Fatalf("exec -d -t --console-socket: %s", r)
		}
		pid := ReadPidFile(t, pidFile)
		master := receiveMaster(t, l)
		defer master.Close()
		scr := termtest.Watch(master)
		scr.Expect(t, "/dev/pts/")
		scr.Expect(t, "stdio-tty")
		master.Write([]byte("typed\r"))
		scr.Expect(t, "got:typed")
		if code := WaitPid(t, pid); code != 6 {
			t.Errorf("exec'd process on the console socket's pty: status %d, want 6", code)
		}

		tm := termtest.Start(t, e.Command("exec", "-t", "xt", "sh"), 30, 100)
		tm.Expect(t, "ctr$ ")
		tm.Type("tty; stty size\r")
		tm.Expect(t, "/dev/pts/")
		tm.Expect(t, "30 100")
		tm.Type("exit 3\r")
		if code := tm.Wait(t); code != 3 {
			t.Errorf("exec -t from a terminal: status %d, want 3; terminal:\n%q", code, tm.String())
		}
		if r := e.Urun("exec", "-t", "xt", "true"); r.Code != 1 || !strings.Contains(r.Stderr, "--tty (process.terminal) is set but urun exec's standard input is not a terminal") {
			t.Errorf("exec -t without a terminal: %s", r)
		}
		e.MustUrun("delete", "--force", "xt")
		e.AssertClean()
	})
}

// exec into a container made by urun launch (a person debugging an MPI
// rank): its config was built in memory, so exec takes the process from
// the copy kept in the container's directory (it looked for a config.json
// in the image and failed).
func TestExecLaunch(t *testing.T) {
	for _, a := range []*Account{Sub, NoSub} {
		t.Run(a.Name, func(t *testing.T) {
			e := NewEnv(t, a)
			cmd := e.Command("launch", filepath.Join(e.Bundle, "rootfs"), "--", "sh", "-c", "echo ready; exec sleep 100")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Signal(syscall.SIGTERM)
			if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("launch said %q, %v", line, err)
			}
			id := "launch-" + strconv.Itoa(cmd.Process.Pid)
			if r := e.Urun("exec", id, "sh", "-c", "id -u; pwd"); r.Code != 0 || r.Stdout != strconv.Itoa(a.UID)+"\n"+e.Bundle+"\n" {
				t.Errorf("exec into %s: %s\nwant uid %d and cwd %s", id, r, a.UID, e.Bundle)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			e.AssertClean()
		})
	}
}
