package spawn

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// rawSpawn puts the extra files at 3, 4, ... in the child, as ForkExec
// does, gives it the soft RLIMIT_NOFILE this process was started with (as
// ForkExec does: not the one the Go runtime raised for itself), and names
// the step of a failed exec.
func TestRawSpawn(t *testing.T) {
	nofile, err := exec.Command("/bin/sh", "-c", "ulimit -Sn").Output()
	if err != nil {
		t.Fatal(err)
	}
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// w2 first: its fd may be below 4, where w1 goes (pass one moves it).
	cmd := &exec.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "echo three >&3; { echo four; grep CapAmb /proc/self/status; ulimit -Sn; } >&4"},
		Env: []string{}, ExtraFiles: []*os.File{w1, w2}, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	errRd, err := rawSpawn(cmd)
	if err != nil {
		t.Fatal(err)
	}
	w1.Close()
	w2.Close()
	out1, _ := io.ReadAll(r1)
	out2, _ := io.ReadAll(r2)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if why := spawnFailure(errRd); why != "" {
		t.Errorf("a child that exec'd reports %q", why)
	}
	lines := strings.Split(string(out2), "\n")
	if string(out1) != "three\n" || len(lines) != 4 || lines[0] != "four" || !strings.HasPrefix(lines[1], "CapAmb:") ||
		strings.HasSuffix(lines[1], "\t0000000000000000") || lines[2]+"\n" != string(nofile) {
		t.Errorf("fd 3 got %q, fd 4 got %q (want three; four, a non-empty ambient set and the soft RLIMIT_NOFILE %q)", out1, out2, nofile)
	}

	bad := &exec.Cmd{Path: "/nonexistent/urun", Args: []string{"x"}, Env: []string{}, SysProcAttr: &syscall.SysProcAttr{}}
	errRd, err = rawSpawn(bad)
	if err != nil {
		t.Fatal(err)
	}
	bad.Wait()
	if why := spawnFailure(errRd); !strings.Contains(why, "exec /proc/self/exe: no such file or directory") {
		t.Errorf("failed exec reported as %q", why)
	}
}
