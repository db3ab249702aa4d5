package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"urun/internal/termtest"
)

// interactiveShell runs argv (a client starting a shell in a container
// with PS1 "ctr$ ") as the account on a pseudo-terminal and checks what
// the person sees: a shell on a pty of the window's size, typed input
// reaching it, Ctrl-C ending only the foreground command, and the exit
// status coming back.
func interactiveShell(t *testing.T, a *account, what string, argv []string) {
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
	tm.CtrlC(t, "ctr$ ")
	tm.Type("exit 3\r")
	if code := tm.Wait(t); code != 3 {
		t.Errorf("%s: exit status %d, want 3; terminal:\n%q", what, code, tm.String())
	}
	recordTiming(what+" (interactive)/"+a.name, time.Since(start), 3)
}

// TestBuildahRunTerminal: `buildah run` typed at a terminal. buildah sees
// a terminal on stdin, hands the runtime a console socket, receives the
// pty master and relays it.
func TestBuildahRunTerminal(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		r := a.runCmd(nil, 2*time.Minute, a.buildahArgs("from", "--pull=never", "--quiet", baseImage))
		ctr := strings.TrimSpace(r.Stdout)
		if r.Code != 0 || ctr == "" {
			t.Fatalf("buildah from: %s", r.describe())
		}
		defer a.runCmd(nil, time.Minute, a.buildahArgs("rm", ctr))
		interactiveShell(t, a, "buildah run -t", a.buildahArgs("run", "--runtime="+suite.runtime, "--network=host", "--env", "PS1=ctr$ ", ctr, "--", "sh"))
	})
}

// TestPodmanRunTerminal: `podman run -it` typed at a terminal, through
// conmon: conmon hands urun a console socket and receives the master,
// podman relays it. --network=host: podman's default network is a
// namespace joined by path (TestPodmanNetwork covers that).
func TestPodmanRunTerminal(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is not installed: run scripts/deps.sh as root (apt-get install podman)")
	}
	forEachAccount(t, func(t *testing.T, a *account) {
		defer a.endPodmanPause()
		// The same storage as buildah's, so the base image is there.
		argv := append(append([]string{podman}, a.global...), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--runtime", suite.runtime, "run", "-it", "--rm", "--network=host", "--pull=never", "-e", "PS1=ctr$ ", baseImage, "sh")
		interactiveShell(t, a, "podman run -it", argv)
	})
}
