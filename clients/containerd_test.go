package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	ctrOnce sync.Once
	ctrErr  error
	ctrSock string
)

// containerd starts the suite's containerd once: private root, state and
// socket; only the plugins ctr needs (no CRI).
func containerd(t *testing.T) string {
	t.Helper()
	getSuite(t)
	ctrOnce.Do(func() {
		ctrSock = filepath.Join(s.dir, "c.sock")
		conf := filepath.Join(s.dir, "containerd.toml")
		ctrErr = os.WriteFile(conf, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
`, filepath.Join(s.dir, "c-root"), filepath.Join(s.dir, "c-state"), ctrSock, ctrSock+".ttrpc")), 0o644)
		if ctrErr != nil {
			return
		}
		_, ctrErr = startDaemon("containerd", func() error {
			_, err := runQuiet("ctr", "-a", ctrSock, "version")
			return err
		}, "containerd", "-c", conf)
	})
	if ctrErr != nil {
		t.Fatalf("containerd: %v", ctrErr)
	}
	return ctrSock
}

// ctr runs ctr against the suite's containerd.
func ctr(t *testing.T, args ...string) Result {
	t.Helper()
	return run(t, "ctr", append([]string{"-a", containerd(t)}, args...)...)
}

// ctrRun is `ctr run` with the runtime under test and the busybox rootfs
// (--rootfs: no image, no network); flags go before the rootfs.
func ctrRun(t *testing.T, flags []string, id string, args ...string) Result {
	t.Helper()
	full := append([]string{"run", "--runc-binary", s.runtime, "--runc-root", filepath.Join(s.dir, "runc-root")}, flags...)
	full = append(full, "--rootfs", s.rootfs, id)
	return ctr(t, append(full, args...)...)
}

// TestCtrRun: plain run, its output and exit status.
func TestCtrRun(t *testing.T) {
	containerd(t)
	if r := ctrRun(t, []string{"--rm"}, "plain", "/bin/sh", "-c", "echo hello; id -u"); r.Code != 0 || r.Stdout != "hello\n0\n" {
		t.Errorf("ctr run: %s", r)
	}
	if r := ctrRun(t, []string{"--rm"}, "status", "/bin/sh", "-c", "exit 3"); r.Code != 3 {
		t.Errorf("ctr run of exit 3: %s", r)
	}
}

// TestCtrTask: a detached task's processes (ctr task ps), pause refused
// with urun's reason and the task left running, kill of an exited task
// recognised as "already finished", kill --all of it succeeding.
func TestCtrTask(t *testing.T) {
	containerd(t)
	if r := ctrRun(t, []string{"-d"}, "task", "/bin/sh", "-c", "sleep 1001 & exec sleep 1002"); r.Code != 0 {
		t.Fatalf("ctr run -d: %s", r)
	}
	defer func() { // also when a check below fails: nothing left running
		ctr(t, "task", "rm", "-f", "task")
		ctr(t, "container", "rm", "task")
	}()
	main := taskPid(t, "task")
	var pids []int
	waitFor(t, "two processes in ctr task ps", func() bool {
		pids = taskPs(t, "task")
		return len(pids) == 2 && cmdline(main) == "sleep 1002"
	})
	child := pids[0] + pids[1] - main
	if !slices.Contains(pids, main) || cmdline(child) != "sleep 1001" {
		t.Errorf("ctr task ps: %v, want the main process %d and its child sleep 1001 (%q)", pids, main, cmdline(child))
	}
	// ctr task exec: the shim's exec (--process, --detach, --pid-file).
	if r := ctr(t, "task", "exec", "--exec-id", "e1", "task", "/bin/sh", "-c", "echo in-exec; exit 5"); r.Code != 5 || r.Stdout != "in-exec\n" {
		t.Errorf("ctr task exec: %s, want its output and exit 5", r)
	}

	r := ctr(t, "task", "pause", "task")
	if s.isURun {
		if r.Code == 0 || !strings.Contains(r.Stderr, "urun pause task: not supported: freezing a container's processes needs a cgroup of its own, and urun manages no cgroups") {
			t.Errorf("ctr task pause: %s", r)
		}
		if st := taskStatus(t, "task"); st != "RUNNING" {
			t.Errorf("after a refused pause the task is %s", st)
		}
	} else if r.Code != 0 {
		t.Errorf("ctr task pause (%s): %s", s.runtime, r)
	} else {
		ctr(t, "task", "resume", "task")
	}

	if r := ctr(t, "task", "kill", "-s", "KILL", "task"); r.Code != 0 {
		t.Fatalf("ctr task kill: %s", r)
	}
	if !gone(main) {
		t.Fatalf("main process %d still there after SIGKILL", main)
	}
	waitFor(t, "the task to be STOPPED", func() bool { return taskStatus(t, "task") == "STOPPED" })
	// The shim maps runc's "container not running" to not-found.
	if r := ctr(t, "task", "kill", "task"); r.Code == 0 || !strings.Contains(r.Stderr, "process already finished: not found") {
		t.Errorf("ctr task kill of an exited task: %s", r)
	}
	if r := ctr(t, "task", "kill", "--all", "-s", "KILL", "task"); r.Code != 0 {
		t.Errorf("ctr task kill --all of an exited task: %s", r)
	}
	if !gone(child) {
		t.Errorf("child %d still there after kill --all", child)
	}
	if r := ctr(t, "task", "rm", "task"); r.Code != 0 {
		t.Errorf("ctr task rm: %s", r)
	}
}

// TestCtrWithOwnNetns: --with-ns network:PATH naming the namespace the
// runtime already runs in.
// OWN-NETNS: urun stays in a namespace it is asked to join and already
// is in (issue 15).
func TestCtrWithOwnNetns(t *testing.T) {
	containerd(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	ns := "network:/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net"
	if r := ctrRun(t, []string{"--rm", "--with-ns", ns}, "ownns", "/bin/readlink", "/proc/self/ns/net"); r.Code != 0 || r.Stdout != host+"\n" {
		t.Errorf("ctr run --with-ns %s: %s (want %s)", ns, r, host)
	}
}

func taskPid(t *testing.T, id string) int {
	t.Helper()
	for _, line := range strings.Split(ctr(t, "task", "ls").Stdout, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return pid
		}
	}
	t.Fatalf("task %s not in ctr task ls", id)
	return 0
}

func taskStatus(t *testing.T, id string) string {
	t.Helper()
	for _, line := range strings.Split(ctr(t, "task", "ls").Stdout, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// taskPs parses ctr task ps: a PID and INFO column.
func taskPs(t *testing.T, id string) []int {
	t.Helper()
	r := ctr(t, "task", "ps", id)
	if r.Code != 0 {
		t.Fatalf("ctr task ps: %s", r)
	}
	var pids []int
	for _, line := range strings.Split(r.Stdout, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("ctr task ps line %q", line)
			}
			pids = append(pids, pid)
		}
	}
	return pids
}
