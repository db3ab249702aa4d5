package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostDir makes a directory outside the bundle's rootfs holding a file
// the container must never read, and returns it with the file's text.
func hostDir(t *testing.T, e *Env) (string, string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(e.Bundle), "host")
	secret := "host-secret-" + filepath.Base(filepath.Dir(e.Bundle))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

// openNoCloexec opens path (O_PATH with opath) as a caller that leaks it:
// without FD_CLOEXEC, as many wrappers do.
func openNoCloexec(t *testing.T, path string, opath bool) *os.File {
	t.Helper()
	flags := unix.O_RDONLY | unix.O_DIRECTORY
	if opath {
		flags = unix.O_PATH | unix.O_DIRECTORY
	}
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), path)
	t.Cleanup(func() { f.Close() })
	return f
}

// TestLeakedHostDirCwd: the CVE-2024-21626 escape. urun's caller leaks
// descriptors of a host directory (a plain and an O_PATH one, neither
// close-on-exec) and process.cwd is /proc/self/fd/N of one of them: the
// container must not start there (it would read host files through its
// cwd); create fails naming process.cwd and leaves nothing.
func TestLeakedHostDirCwd(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "pwd; cat secret")
		dir, secret := hostDir(t, e)
		null, _ := os.Open("/dev/null")
		defer null.Close()
		// fd 3 /dev/null, 4 the directory, 5 the directory by O_PATH: the
		// placeholder's own fds start at 3, so 4 and 5 stayed as they were.
		files := []*os.File{null, openNoCloexec(t, dir, false), openNoCloexec(t, dir, true)}
		for _, fd := range []int{4, 5} {
			for _, verb := range []string{"run", "create"} {
				e.Spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd)
				e.WriteSpec()
				cmd := e.Command(verb, "--pid-file", filepath.Join(e.Bundle, "pid"), "leak")
				cmd.ExtraFiles = files
				r := e.Exec(cmd)
				if r.Code == 0 || strings.Contains(r.Stdout, secret) {
					e.Urun("delete", "--force", "leak")
					t.Fatalf("%s with cwd %s: the container started in the host directory: %s", verb, e.Spec.Process.Cwd, r)
				}
				if !strings.Contains(r.Stderr, "process.cwd: "+e.Spec.Process.Cwd) {
					t.Errorf("%s with cwd %s: the error does not name process.cwd: %s", verb, e.Spec.Process.Cwd, r)
				}
				e.AssertClean()
			}
		}
	})
}

// TestCwdOutsideRoot: even a descriptor of a host directory passed on
// purpose (--preserve-fds) must not become the container's cwd: after the
// chdir the cwd must be inside the container's root.
func TestCwdOutsideRoot(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "pwd; cat secret")
		dir, secret := hostDir(t, e)
		e.Spec.Process.Cwd = "/proc/self/fd/3"
		e.WriteSpec()
		cmd := e.Command("create", "--preserve-fds", "1", "out")
		cmd.ExtraFiles = []*os.File{openNoCloexec(t, dir, true)}
		r := e.Exec(cmd)
		if r.Code == 0 {
			st := e.MustUrun("start", "out")
			e.Urun("delete", "--force", "out")
			t.Fatalf("create with cwd in a host directory succeeded (%s); start: %s", r, st)
		}
		want := "process.cwd: /proc/self/fd/3: is outside the container's root filesystem"
		if !strings.Contains(r.Stderr, want) || strings.Contains(r.Stdout, secret) {
			t.Errorf("create: %s\nwant an error containing %q", r, want)
		}
		e.AssertClean()
	})
}

// TestPreserveOnlyCallerFDs: --preserve-fds and LISTEN_FDS pass only what
// urun's caller passed it. A range reaching past that is refused naming
// the first fd the caller did not have (before, fds 4-7 of urun's own went
// to the container: the Go runtime's cgroup files and the container's
// locked state directory, which made state, start and delete hang). A
// range the caller did pass works, and the container gets no descriptor
// of the state directory.
func TestPreserveOnlyCallerFDs(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "ls -l /proc/self/fd/")
		null := func() *os.File {
			f, _ := os.Open("/dev/null")
			t.Cleanup(func() { f.Close() })
			return f
		}
		for _, tc := range []struct {
			verb     string
			have     int // fds the caller passes, from 3
			preserve int
			firstBad int
		}{{"create", 0, 3, 3}, {"run", 1, 4, 4}, {"create", 2, 3, 5}} {
			pidFile := filepath.Join(e.Bundle, "pid1")
			cmd := e.Command(tc.verb, "--preserve-fds", fmt.Sprint(tc.preserve), "--pid-file", pidFile, "p1")
			for i := 0; i < tc.have; i++ {
				cmd.ExtraFiles = append(cmd.ExtraFiles, null())
			}
			r := e.Exec(cmd)
			want := fmt.Sprintf("--preserve-fds %d: fd %d was not open in urun's caller", tc.preserve, tc.firstBad)
			if r.Code == 0 || !strings.Contains(r.Stderr, want) {
				// The container may hold its state's lock: end it first.
				if r.Code == 0 && tc.verb == "create" {
					unix.Kill(ReadPidFile(t, pidFile), unix.SIGKILL)
				}
				urunWithin(e, 10*time.Second, "delete", "--force", "p1")
				t.Errorf("%s --preserve-fds %d with %d caller fds: %s\nwant an error containing %q", tc.verb, tc.preserve, tc.have, r, want)
			}
			e.AssertClean()
		}
		// LISTEN_FDS too.
		cmd := e.Command("run", "sa")
		cmd.Args = append([]string{"sh", "-c", `LISTEN_FDS=2 LISTEN_PID=$$ exec "$0" "$@"`}, cmd.Args...)
		cmd.Path = "/bin/sh"
		cmd.ExtraFiles = []*os.File{null()}
		if r := e.Exec(cmd); r.Code == 0 || !strings.Contains(r.Stderr, "LISTEN_FDS=2: fd 4 was not open in urun's caller") {
			t.Errorf("LISTEN_FDS=2 with one caller fd: %s", r)
		}
		e.AssertClean()

		// What the caller passed goes through, and nothing of urun's.
		pidFile := filepath.Join(e.Bundle, "pid")
		cmd = e.Command("create", "--preserve-fds", "3", "--pid-file", pidFile, "p2")
		cmd.ExtraFiles = []*os.File{null(), null(), null()}
		// The container writes to create's stdout: a file of its own, read
		// once it has exited.
		out, errb := e.tempFile(), e.tempFile()
		cmd.Stdout, cmd.Stderr = out, errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("create with 3 caller fds: %v: %s", err, readAll(t, errb))
		}
		// Each must finish: a container holding the state lock made them
		// wait for it.
		for _, args := range [][]string{{"state", "p2"}, {"start", "p2"}} {
			if r := urunWithin(e, 20*time.Second, args...); r.Code != 0 {
				t.Fatalf("urun %v: %s", args, r)
			}
		}
		WaitPid(t, ReadPidFile(t, pidFile))
		listing := readAll(t, out)
		if strings.Contains(listing, e.Root) || strings.Contains(listing, "cgroup") || !strings.Contains(listing, "5 -> /dev/null") {
			t.Errorf("container's fds with --preserve-fds 3:\n%s\nwant 3-5 /dev/null and nothing of urun's", listing)
		}
		if r := urunWithin(e, 20*time.Second, "delete", "--force", "p2"); r.Code != 0 {
			t.Errorf("delete: %s", r)
		}
		e.AssertClean()
	})
}

// urunWithin runs urun and kills it if it takes longer than d (a hang
// fails the test rather than blocking it).
func urunWithin(e *Env, d time.Duration, args ...string) Result {
	e.T.Helper()
	cmd := e.Command(args...)
	timer := time.AfterFunc(d, func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	r := e.Exec(cmd)
	if r.Code == 137 || r.Code == -1 {
		e.T.Errorf("urun %v did not finish within %s", args, d)
	}
	return r
}

// TestRlimitASLast: a 1 GiB RLIMIT_AS is below what the placeholder's Go
// runtime has mapped, so it must be set only right before execve: set
// earlier, the allocations of the set-up and of exec (here copying a
// 1.5 MB environment) failed with "runtime: cannot allocate memory" in 18
// of 30 runs. 30 runs in a row: none may fail.
func TestRlimitASLast(t *testing.T) {
	e := NewEnv(t, Sub, "sh", "-c", `ulimit -v`)
	for i := 0; i < 1500; i++ {
		e.Spec.Process.Env = append(e.Spec.Process.Env, fmt.Sprintf("V%d=%s", i, strings.Repeat("x", 1000)))
	}
	e.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_AS", Soft: 1 << 30, Hard: 1 << 30}}
	e.WriteSpec()
	failed := 0
	for i := 0; i < 30; i++ {
		r := e.Urun("run", fmt.Sprintf("as%d", i))
		if r.Code != 0 || r.Stdout != "1048576\n" || r.Stderr != "" {
			failed++
			t.Logf("run %d: %s", i, r)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 30 runs with RLIMIT_AS=1GiB failed", failed)
	}
	e.AssertClean()
}
