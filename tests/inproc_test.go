package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inProcessWanted: the account is the nested one (uid 0 with
// CAP_SYS_ADMIN in a user namespace, buildah's case) and CI's second pass
// does not force two processes.
func inProcessWanted(a *Account) bool {
	return a.Nested && os.Getenv("URUN_EXECUTOR") != "two-process"
}

// parkedKind says what the parked pid-file process is: "raw" (one thread,
// urun's own command line: the in-process executor's forked child) or
// "go" (the re-executed placeholder, urun-init, a Go runtime's threads).
func parkedKind(t *testing.T, pid int) string {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("parked process %d: %v", pid, err)
	}
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	threads := ""
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			threads = strings.TrimSpace(v)
		}
	}
	switch {
	case strings.HasPrefix(string(cmdline), "urun-init\x00") && threads != "1":
		return "go"
	case !strings.HasPrefix(string(cmdline), "urun-init") && threads == "1":
		return "raw"
	}
	return "unknown: threads " + threads + ", cmdline " + strings.ReplaceAll(string(cmdline), "\x00", " ")
}

// create (and run -d) in buildah's case parks a raw forked child, no
// second Go runtime; the other accounts, and URUN_EXECUTOR=two-process,
// park the Go placeholder. Either way the pid-file PID becomes the
// command, whose exit status is the one the reaper sees.
func TestCreateExecutorChosen(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "exit 7")
		pidFile := filepath.Join(e.Bundle, "pid")
		r := e.MustUrun("--debug", "create", "--pid-file", pidFile, "c1")
		want := "go"
		if inProcessWanted(a) {
			want = "raw"
			if !strings.Contains(r.Stderr, "executor: in-process") || !strings.Contains(r.Stderr, "until urun start") {
				t.Errorf("create: no debug line naming the in-process executor and its park: %s", r)
			}
		} else if strings.Contains(r.Stderr, "executor: in-process") {
			t.Errorf("create took the in-process executor: %s", r)
		}
		pid := ReadPidFile(t, pidFile)
		if got := parkedKind(t, pid); got != want {
			t.Errorf("parked process %d is %s, want %s", pid, got, want)
		}
		if st := e.State("c1"); st.Status != "created" || st.Pid != pid {
			t.Errorf("state after create: %+v (pid file %d)", st, pid)
		}
		e.MustUrun("start", "c1")
		if code := WaitPid(t, pid); code != 7 {
			t.Errorf("the pid-file process exited %d, want the command's 7", code)
		}
		if st := e.State("c1"); st.Status != "stopped" {
			t.Errorf("state after the command exited: %s", st.Status)
		}
		e.MustUrun("delete", "c1")

		e.Spec.Process.Args = []string{"sleep", "30"}
		e.WriteSpec()
		r = e.MustUrun("--debug", "run", "-d", "--pid-file", pidFile, "d1")
		if got := strings.Contains(r.Stderr, "executor: in-process"); got != inProcessWanted(a) {
			t.Errorf("run -d: in-process %v, want %v: %s", got, inProcessWanted(a), r)
		}
		if st := e.State("d1"); st.Status != "running" || st.Pid != ReadPidFile(t, pidFile) {
			t.Errorf("run -d: state %+v", st)
		}
		e.MustUrun("kill", "d1", "KILL")
		if code := WaitPid(t, ReadPidFile(t, pidFile)); code != 128+9 {
			t.Errorf("run -d: killed container exited %d", code)
		}
		e.MustUrun("delete", "d1")
		e.AssertClean()
	})
}

// A start whose exec fails (process.args[0] removed from the rootfs after
// create) says so, names the step and the errno, and leaves no process;
// the state says stopped.
func TestStartExecFails(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "/bin/gone")
		bin := filepath.Join(e.Bundle, "rootfs/bin/gone")
		if err := os.Link(filepath.Join(e.Bundle, "rootfs/bin/busybox"), bin); err != nil {
			t.Fatal(err)
		}
		pidFile := filepath.Join(e.Bundle, "pid")
		e.MustUrun("create", "--pid-file", pidFile, "c1")
		pid := ReadPidFile(t, pidFile)
		if err := os.Remove(bin); err != nil {
			t.Fatal(err)
		}
		r := e.Urun("start", "c1")
		// Both executors say it the same way.
		if want := "urun start c1: exec /bin/gone: no such file or directory\n"; r.Code == 0 || r.Stderr != want {
			t.Errorf("start of a removed command: %s; want exit 1 and stderr %q", r, want)
		}
		if code := WaitPid(t, pid); code != 127 {
			t.Errorf("the container process exited %d, want 127", code)
		}
		if st := e.State("c1"); st.Status != "stopped" {
			t.Errorf("state after the failed start: %s", st.Status)
		}
		e.MustUrun("delete", "c1")
		e.AssertClean()
	})
}

// A connection to the start socket that closes without the start byte
// neither starts nor ends the parked process; start then works. kill and
// delete --force of a created container leave no process or state.
func TestCreatedContainerKeeps(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "echo started > /tmp/x; exit 3")
		pidFile := filepath.Join(e.Bundle, "pid")
		e.MustUrun("create", "--pid-file", pidFile, "c1")
		pid := ReadPidFile(t, pidFile)
		for i := 0; i < 2; i++ {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Connect(fd, &unix.SockaddrUnix{Name: filepath.Join(e.Root, "c1", "start.sock")}); err != nil {
				t.Fatalf("connect to the start socket: %v", err)
			}
			if i == 1 {
				unix.Write(fd, []byte{'x'}) // not the start byte
			}
			unix.Close(fd)
		}
		if st := e.State("c1"); st.Status != "created" || st.Pid != pid {
			t.Errorf("after connections without the start byte: %+v, want created, pid %d", st, pid)
		}
		// A client that connects and says nothing, and stays: the parked
		// process drops it after initproc.StartReadTimeout and takes
		// start's connection (before the fix start waited forever).
		silent, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(silent)
		if err := unix.Connect(silent, &unix.SockaddrUnix{Name: filepath.Join(e.Root, "c1", "start.sock")}); err != nil {
			t.Fatalf("connect to the start socket: %v", err)
		}
		start := e.Command("start", "c1")
		stuck := time.AfterFunc(30*time.Second, func() { start.Process.Kill() })
		r := e.Exec(start)
		if !stuck.Stop() {
			t.Fatalf("urun start blocked behind a silent connection to the start socket (killed after 30 s): %v", r)
		}
		if r.Code != 0 {
			t.Fatalf("urun start with a silent connection open: %v", r)
		}
		if code := WaitPid(t, pid); code != 3 {
			t.Errorf("the command exited %d, want 3", code)
		}
		e.MustUrun("delete", "c1")

		// kill before start: default dispositions, the parked process dies.
		e.MustUrun("create", "--pid-file", pidFile, "k1")
		pid = ReadPidFile(t, pidFile)
		e.MustUrun("kill", "k1", "TERM")
		if code := WaitPid(t, pid); code != 128+15 {
			t.Errorf("created container killed with TERM exited %d", code)
		}
		if st := e.State("k1"); st.Status != "stopped" {
			t.Errorf("state after kill: %s", st.Status)
		}
		e.MustUrun("delete", "k1")

		e.MustUrun("create", "--pid-file", pidFile, "f1")
		pid = ReadPidFile(t, pidFile)
		e.MustUrun("delete", "--force", "f1")
		WaitPid(t, pid)
		e.AssertClean()
	})
}
