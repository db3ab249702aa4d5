package tests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A delete that cannot remove the container fails, names what is left and
// why, and keeps the container visible; so does every later delete --force
// until the obstacle is gone, and then it removes it.
func TestDeleteThatFails(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sleep", "100")
		obstacles := []struct {
			name, left string
			make, undo func(dir string)
		}{
			{"undeletable file", "junk/file is left: permission denied", func(dir string) {
				// root's directory inside the account's: the account cannot empty it.
				os.Mkdir(filepath.Join(dir, "junk"), 0o755)
				os.WriteFile(filepath.Join(dir, "junk", "file"), nil, 0o644)
			}, func(dir string) { os.RemoveAll(filepath.Join(dir, "junk")) }},
			{"read-only root", "is left: cannot remove entries of " + e.Root + ": read-only file system", func(string) {
				if err := unix.Mount(e.Root, e.Root, "", unix.MS_BIND, ""); err != nil {
					t.Fatal(err)
				}
				if err := unix.Mount("", e.Root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
					t.Fatal(err)
				}
			}, func(string) { unix.Unmount(e.Root, unix.MNT_DETACH) }},
			{"busy mount", "mnt is left: device or resource busy", func(dir string) {
				os.Mkdir(filepath.Join(dir, "mnt"), 0o755)
				if err := unix.Mount("tmpfs", filepath.Join(dir, "mnt"), "tmpfs", 0, ""); err != nil {
					t.Fatal(err)
				}
			}, func(dir string) { unix.Unmount(filepath.Join(dir, "mnt"), unix.MNT_DETACH) }},
		}
		for _, o := range obstacles {
			id := "d-" + strings.ReplaceAll(o.name, " ", "-")
			dir := filepath.Join(e.Root, id)
			e.MustUrun("create", id)
			o.make(dir)
			for try := 1; try <= 2; try++ {
				r := e.Urun("delete", "--force", id)
				if r.Code == 0 || !strings.Contains(r.Stderr, "urun delete "+id+": container not removed: ") || !strings.Contains(r.Stderr, o.left) {
					t.Errorf("%s: delete --force #%d: want a failure naming %q; got %s", o.name, try, o.left, r)
				}
				// Still there, and said so: not hidden, not "half-created".
				if st := e.State(id); st.Status != "stopped" {
					t.Errorf("%s: after failed delete #%d: status %q, want stopped", o.name, try, st.Status)
				}
				if r := e.MustUrun("list", "-q"); !strings.Contains(r.Stdout, id+"\n") {
					t.Errorf("%s: list hides the container: %q", o.name, r.Stdout)
				}
			}
			o.undo(dir)
			e.MustUrun("delete", "--force", id)
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("%s: %s still there after the delete succeeded", o.name, dir)
			}
			e.MustUrun("create", id) // the ID is free again
			e.MustUrun("delete", id)
		}
		e.AssertClean()
	})
}

// waitExit waits for cmd, killing it (and failing) if it has not ended
// within d: a hang the test means to end must not hang the suite.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("%v did not end within %s", cmd.Args, d)
		cmd.Process.Kill()
		<-done
	}
	return cmd.ProcessState.ExitCode()
}

// Every URUN_HANG hang ends on SIGTERM, SIGINT and SIGHUP (run's used to
// ignore them: it catches them to forward), says which one, exits
// 128+N as the README says (create's used to exit 1) and leaves nothing
// behind.
func TestHangEndsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		for _, hang := range []struct{ env, verb, id, line, end string }{
			{"run", "run", "hr", "URUN_HANG=run: urun run is hanging before doing anything",
				"urun run: URUN_HANG=run: stopped by " + unix.SignalName(sig) + " while hanging; nothing was done"},
			{"state", "state", "hs", "URUN_HANG=state: urun state is hanging before doing anything",
				"urun state: URUN_HANG=state: stopped by " + unix.SignalName(sig) + " while hanging; nothing was done"},
			{"create", "create", "hc", "URUN_HANG=create: urun create is hanging after validating the bundle",
				"urun create hc: URUN_HANG=create: stopped by " + unix.SignalName(sig) + " while hanging"},
			{"create-setup", "create", "hcs", "URUN_HANG=create-setup: urun create is hanging with the container set up",
				"urun create hcs: URUN_HANG=create-setup: stopped by " + unix.SignalName(sig) + " while hanging"},
		} {
			t.Run(hang.env+"-"+unix.SignalName(sig), func(t *testing.T) {
				e := NewEnv(t, Sub)
				cmd := e.Command(hang.verb, hang.id)
				cmd.Env = append(cmd.Env, "URUN_HANG="+hang.env)
				stderr, _ := cmd.StderrPipe()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(stderr)
				if line, _ := br.ReadString('\n'); !strings.Contains(line, hang.line) || !strings.Contains(line, "end it with SIGTERM, SIGINT or SIGHUP") {
					t.Fatalf("hang message: %q", line)
				}
				cmd.Process.Signal(sig)
				rest, _ := io.ReadAll(br)
				code := waitExit(t, cmd, 10*time.Second)
				if code != 128+int(sig) || !strings.Contains(string(rest), hang.end) {
					t.Errorf("after %v: exit %d, stderr %q; want %d and %q", sig, code, rest, 128+int(sig), hang.end)
				}
				e.AssertClean()
			})
		}
	}
}

// run --detach interrupted during its create (held at its first log line
// by a full pipe, with the container process started) kills that process,
// removes the state and the pid file and exits 128+N; the ID is free.
func TestInterruptedDetachedRun(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			e := NewEnv(t, a, "sleep", "100")
			pidFile := filepath.Join(e.Bundle, "pid")
			fifo, pipe := fullPipe(t, e)
			cmd := e.Command("--debug", "--log", fifo, "--log-format", "json", "run", "--detach", "--pid-file", pidFile, "dr")
			errb := e.tempFile()
			cmd.Stderr = errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ph := waitPlaceholder(t, e, "dr", cmd.Process.Pid)
			cmd.Process.Signal(sig)
			waitGuardTook(t, e, "dr")
			go io.Copy(io.Discard, pipe)
			code := waitExit(t, cmd, 20*time.Second)
			pipe.Close()
			// urun reaps the process it killed; one that saw run go first
			// and exited by itself is re-parented to this test (a
			// subreaper): reap it. Either way it is gone.
			var ws unix.WaitStatus
			if ph == 0 { // in-process: no container process yet (waitPlaceholder)
			} else if _, err := unix.Wait4(ph, &ws, 0, nil); err == nil && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL) && ws.ExitStatus() != 1 {
				t.Errorf("%v: container process %d ended with %v, want killed or 1", sig, ph, ws)
			}
			stderr := readAll(t, errb)
			if code != 128+int(sig) || !strings.Contains(stderr, "urun run dr: interrupted by "+sig.String()+": nothing was created") {
				t.Errorf("%v: exit %d, stderr %q", sig, code, stderr)
			}
			if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
				t.Errorf("%v: pid file left behind: %v", sig, err)
			}
			e.AssertClean()
			e.Spec.Process.Args = []string{"true"}
			e.WriteSpec()
			e.MustUrun("run", "dr")
		}
	})
}

// A signal run --detach gets while it creates the container reaches the
// container once it runs (it used to kill urun, leaving a half-made state).
func TestDetachedRunForwardsEarlySignal(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sleep", "100")
		pidFile := filepath.Join(e.Bundle, "pid")
		fifo, pipe := fullPipe(t, e)
		defer pipe.Close()
		cmd := e.Command("--debug", "--log", fifo, "--log-format", "json", "run", "--detach", "--pid-file", pidFile, "du")
		errb := e.tempFile()
		cmd.Stderr = errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitPlaceholder(t, e, "du", cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGUSR1)
		go io.Copy(io.Discard, pipe)
		if code := waitExit(t, cmd, 20*time.Second); code != 0 {
			t.Fatalf("run --detach: exit %d, stderr %q", code, readAll(t, errb))
		}
		pid := ReadPidFile(t, pidFile)
		if code := WaitPid(t, pid); code != 128+int(syscall.SIGUSR1) {
			t.Errorf("container ended with %d, want %d (killed by the forwarded SIGUSR1)", code, 128+int(syscall.SIGUSR1))
		}
		e.MustUrun("delete", "du")
		e.AssertClean()
	})
}

// Run as real root, urun says that the container's root is the host's
// root (its uid map proves it), and as an account it does not.
func TestRealRootWarning(t *testing.T) {
	const warning = "running as real root: the container's root is host uid 0 and, with no PID namespace, can signal every root process on the host"
	e := NewEnv(t, NoSub, "sh", "-c", "head -n1 /proc/self/uid_map")
	cmd := exec.Command(urunBin, "--root", t.TempDir(), "run", "rr")
	cmd.Dir = e.Bundle
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "LANG=C"}
	r := e.Exec(cmd)
	if f := strings.Fields(r.Stdout); r.Code != 0 || len(f) != 3 || f[0] != "0" || f[1] != "0" {
		t.Errorf("as real root: want container uid 0 mapped to host uid 0; got %s", r)
	}
	if !strings.Contains(r.Stderr, "urun rr: "+warning) {
		t.Errorf("as real root: no warning %q; stderr %q", warning, r.Stderr)
	}
	r = e.MustUrun("run", "acct")
	if strings.Contains(r.Stderr, "real root") {
		t.Errorf("as %s: %q", NoSub.User, r.Stderr)
	}
}

// TestRealRootRemap: real root asking for containerd's and Docker's userns
// remapping (container 0 -> host 100000) gets it, with no warning: the
// container's root is not host root. Host 0 left unmapped, the container
// process sets up as container root.
func TestRealRootRemap(t *testing.T) {
	e := NewEnv(t, NoSub, "sh", "-c", "head -n1 /proc/self/uid_map; head -n1 /proc/self/gid_map; id -u; touch /tmp/x && echo write-ok")
	e.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.WriteSpec()
	// As containerd's remapped bundles are: reachable by host uid 100000.
	for _, d := range []string{filepath.Dir(e.Bundle), e.Bundle} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(urunBin, "--root", t.TempDir(), "run", "remap")
	cmd.Dir = e.Bundle
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "LANG=C"}
	r := e.Exec(cmd)
	want := []string{"0", "100000", "65536", "0", "100000", "65536", "0", "write-ok"}
	if got := strings.Fields(r.Stdout); r.Code != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("remapped as real root: want %q, got %s", want, r)
	}
	if strings.Contains(r.Stderr, "running as real root") {
		t.Errorf("remapped: the real-root warning is wrong here: %q", r.Stderr)
	}
	// Without container 0 in the maps there is nobody to set up as.
	e.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100000, Size: 65536}}
	e.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100000, Size: 65536}}
	e.WriteSpec()
	cmd = exec.Command(urunBin, "--root", t.TempDir(), "run", "remap2")
	cmd.Dir = e.Bundle
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "LANG=C"}
	if r := e.Exec(cmd); r.Code != 1 || !strings.Contains(r.Stderr, "container uid and gid 0 must be mapped when host 0 is not") {
		t.Errorf("remap without container 0: %s", r)
	}
	e.AssertClean()
}

// AssertClean sees every process a test started, also a container that
// has exec'd its command (no longer urun-init) under another uid.
func TestAssertCleanSeesContainers(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		if a.HasRange {
			e.Spec.Process.User = specs.User{UID: 1000, GID: 1000} // a subuid on the host
		}
		pid := startReady(t, e, "seen", "echo ready; exec sleep 100")
		left := strings.Join(leftSince(e.before), "; ")
		if !strings.Contains(left, fmt.Sprintf("pid %d: ", pid)) {
			t.Errorf("the running container %d is not among the processes left: %q", pid, left)
		}
		e.MustUrun("delete", "--force", "seen")
		WaitPid(t, pid)
		if left := leftSince(e.before); len(left) > 0 {
			t.Errorf("after delete: %v", left)
		}
	})
}
