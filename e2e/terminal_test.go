package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"urun/internal/termtest"
)

// TestBuildahRunTerminal: `buildah run` typed at a terminal. buildah sees
// a terminal on stdin, hands the runtime a console socket, receives the
// pty master and relays it; the person sees a shell on a pty, typed input
// reaches it, Ctrl-C stops only the foreground command, and the exit
// status comes back.
func TestBuildahRunTerminal(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		r := a.runCmd(nil, 2*time.Minute, a.buildahArgs("from", "--pull=never", "--quiet", baseImage))
		ctr := strings.TrimSpace(r.Stdout)
		if r.Code != 0 || ctr == "" {
			t.Fatalf("buildah from: %s", r.describe())
		}
		defer a.runCmd(nil, time.Minute, a.buildahArgs("rm", ctr))
		argv := a.buildahArgs("run", "--runtime="+suite.runtime, "--network=host", "--env", "PS1=ctr$ ", ctr, "--", "sh")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = a.env(nil)
		cmd.Dir = a.work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}}
		start := time.Now()
		tm := termtest.Start(t, cmd, 30, 100)
		tm.Expect(t, "ctr$ ")
		tm.Type("tty; stty size\r")
		tm.Expect(t, "/dev/pts/0")
		tm.Expect(t, "30 100")
		tm.Type(`sh -c 'echo sl""eeping; exec sleep 100'` + "\r")
		tm.Expect(t, "sleeping")
		tm.Type("\x03")
		tm.Expect(t, "ctr$ ")
		tm.Type("echo status=$?; exit 3\r")
		tm.Expect(t, "status=130")
		if code := tm.Wait(t); code != 3 {
			t.Errorf("buildah run exit status %d, want 3; terminal:\n%q", code, tm.String())
		}
		recordTiming("buildah run -t (interactive)/"+a.name, time.Since(start), 3)
	})
}

// TestPodmanRunTerminal: `podman run -it` typed at a terminal, through
// conmon: conmon hands urun a console socket and receives the master,
// podman relays it. --network=host: podman's default network is a
// namespace joined by path, which urun refuses (another issue).
func TestPodmanRunTerminal(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is not installed: run scripts/deps.sh as root (apt-get install podman)")
	}
	forEachAccount(t, func(t *testing.T, a *account) {
		defer a.stopPodmanPause(t)
		// The same storage as buildah's, so the base image is there.
		argv := append(append([]string{podman}, a.global...), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--runtime", suite.runtime, "run", "-it", "--rm", "--network=host", "-e", "PS1=ctr$ ", baseImage, "sh")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = a.env(nil)
		cmd.Dir = a.work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}}
		start := time.Now()
		tm := termtest.Start(t, cmd, 30, 100)
		tm.Expect(t, "ctr$ ")
		tm.Type("tty; stty size\r")
		tm.Expect(t, "/dev/pts/0")
		tm.Expect(t, "30 100")
		tm.Type(`sh -c 'echo sl""eeping; exec sleep 100'` + "\r")
		tm.Expect(t, "sleeping")
		tm.Type("\x03")
		tm.Expect(t, "ctr$ ")
		tm.Type("echo status=$?; exit 4\r")
		tm.Expect(t, "status=130")
		if code := tm.Wait(t); code != 4 {
			t.Errorf("podman run -it exit status %d, want 4; terminal:\n%q", code, tm.String())
		}
		recordTiming("podman run -it (interactive)/"+a.name, time.Since(start), 4)
	})
}

// stopPodmanPause ends rootless podman's pause process (it keeps podman's
// user namespace for later calls; it is podman's, not the runtime's), so
// the leftover check sees only what the runtime left.
func (a *account) stopPodmanPause(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(a.xdg, "libpod", "tmp", "pause.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
		t.Logf("stopping podman's pause process %d", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
