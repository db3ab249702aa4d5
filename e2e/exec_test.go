package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"urun/internal/termtest"
)

// exitsWithin reports whether pid has exited (a zombie counts) or exits
// within d: its pidfd becomes readable.
func exitsWithin(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // gone and reaped
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d.Milliseconds()))
		if err != unix.EINTR {
			return n > 0
		}
	}
}

// TestPodmanExec: podman exec into a container podman runs with the
// runtime, as a person types it: plain (status and output come back), -d,
// --user/-w/-e, -it at a terminal; then podman stop and rm end everything, exec'd processes
// included, with nothing left behind. --network=host: podman's default
// network is a namespace joined by path (another issue).
func TestPodmanExec(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is not installed: run scripts/deps.sh as root (apt-get install podman)")
	}
	forEachAccount(t, func(t *testing.T, a *account) {
		defer a.endPodmanPause()
		// The same storage as buildah's, so the base image is there.
		pm := func(args ...string) *result {
			argv := append(append([]string{podman}, a.global...), "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", suite.runtime)
			return a.runCmd(nil, 2*time.Minute, append(argv, args...))
		}
		name := "exec-" + a.name
		if r := pm("run", "-d", "--name", name, "--network=host", baseImage, "sleep", "1000"); r.Code != 0 {
			t.Fatalf("podman run -d: %s", r.describe())
		}
		defer pm("rm", "-f", name)
		if r := pm("exec", name, "sh", "-c", "echo hello from exec; exit 3"); r.Code != 3 || r.Stdout != "hello from exec\n" {
			t.Errorf("podman exec: want exit 3 and its output: %s", r.describe())
		}
		want := "1:1 /tmp bar\n"
		if !a.wantRange {
			want = "" // one ID only: uid 1 is refused, naming it
		}
		r := pm("exec", "--user", "1:1", "-w", "/tmp", "-e", "FOO=bar", name, "sh", "-c", `echo "$(id -u):$(id -g) $(pwd) $FOO"`)
		switch {
		case a.wantRange && (r.Code != 0 || r.Stdout != want):
			t.Errorf("podman exec --user 1:1 -w /tmp -e FOO=bar: want %q: %s", want, r.describe())
		case !a.wantRange && (r.Code == 0 || !strings.Contains(r.Stderr, "process.user.uid: 1 is not mapped in the container")):
			t.Errorf("podman exec --user 1:1 with one ID: want the refusal naming uid 1: %s", r.describe())
		}
		if r := pm("exec", "-d", name, "sh", "-c", "sleep 1001 & exec sleep 1002"); r.Code != 0 {
			t.Errorf("podman exec -d: %s", r.describe())
		}
		var pids []int // sh forks sleep 1001 after podman exec -d returns: look for a while
		for deadline := time.Now().Add(10 * time.Second); len(pids) < 2 && time.Now().Before(deadline); {
			pids = nil
			for _, p := range listProcs() {
				if a.owns(p.uid) && len(p.argv) == 2 && p.argv[0] == "sleep" && (p.argv[1] == "1001" || p.argv[1] == "1002") {
					pids = append(pids, p.pid)
				}
			}
		}
		if len(pids) != 2 {
			t.Errorf("podman exec -d: want its two processes running, found %v", pids)
		}
		// podman exec -it typed at a terminal: conmon gets the master over
		// its console socket and podman relays it.
		argv := append(append([]string{podman}, a.global...), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--runtime", suite.runtime, "exec", "-it", "-e", "PS1=ctr$ ", name, "sh")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = a.env(nil)
		cmd.Dir = a.work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}}
		tm := termtest.Start(t, cmd, 30, 100)
		tm.Expect(t, "ctr$ ")
		tm.Type("tty; stty size\r")
		tm.Expect(t, "/dev/pts/")
		tm.Expect(t, "30 100")
		tm.Type("exit 4\r")
		if code := tm.Wait(t); code != 4 {
			t.Errorf("podman exec -it exit status %d, want 4; terminal:\n%q", code, tm.String())
		}
		if r := pm("stop", "-t", "2", name); r.Code != 0 {
			t.Errorf("podman stop with an exec'd process running: %s", r.describe())
		}
		// urun's exec watcher ends them once the main process is gone: soon
		// after podman stop returns, not before (no PID namespace's init
		// takes them along in the kernel). Checking at once was a race,
		// lost under load.
		for _, pid := range pids {
			if !exitsWithin(pid, 10*time.Second) {
				t.Errorf("exec'd process %d survived podman stop", pid)
			}
		}
		if r := pm("rm", name); r.Code != 0 {
			t.Errorf("podman rm: %s", r.describe())
		}
		if r := pm("exec", name, "true"); r.Code == 0 {
			t.Errorf("podman exec into a removed container: %s", r.describe())
		}
	})
}
