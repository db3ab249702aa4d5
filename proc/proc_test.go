package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCapByName(t *testing.T) {
	if c, ok := CapByName("CAP_SYS_ADMIN"); !ok || c.String() != "sys_admin" {
		t.Errorf("CAP_SYS_ADMIN: %v %v", c, ok)
	}
	for _, bad := range []string{"SYS_ADMIN", "cap_sys_admin", "CAP_NOPE", ""} {
		if _, ok := CapByName(bad); ok {
			t.Errorf("%q: found, want not", bad)
		}
	}
}

// Inherited lists only descriptors open without FD_CLOEXEC: the one this
// test leaks, not the ones it (or the Go runtime) opened close-on-exec;
// SetCloexec and CloseStrays act on them.
func TestInheritedAndStrays(t *testing.T) {
	leak, err := unix.Open("/dev/null", unix.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(leak)
	kept, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(kept)
	own, err := os.Open("/dev/null") // close-on-exec, as Go opens all
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()

	fds, err := Inherited()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(fds, leak) || !slices.Contains(fds, kept) || slices.Contains(fds, int(own.Fd())) {
		t.Fatalf("Inherited: %v; want %d and %d, not %d", fds, leak, kept, own.Fd())
	}
	if err := CloseStrays(func(fd int) bool { return fd != leak }); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(leak), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("the stray fd %d is still open (%v)", leak, err)
	}
	if _, err := unix.FcntlInt(uintptr(own.Fd()), unix.F_GETFD, 0); err != nil {
		t.Errorf("CloseStrays closed a close-on-exec fd: %v", err)
	}
	SetCloexec([]int{kept})
	if fds, _ := Inherited(); slices.Contains(fds, kept) {
		t.Errorf("fd %d still inherited after SetCloexec: %v", kept, fds)
	}
}

// CheckRlimits refuses at set-up what setrlimit would refuse at exec.
func TestCheckRlimits(t *testing.T) {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &cur); err != nil {
		t.Fatal(err)
	}
	lim := func(typ string, soft, hard uint64) *specs.Process {
		return &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: typ, Soft: soft, Hard: hard}}}
	}
	if err := CheckRlimits(lim("RLIMIT_CORE", 0, 0)); err != nil {
		t.Errorf("lowering RLIMIT_CORE: %v", err)
	}
	for _, tc := range []struct {
		p    *specs.Process
		want string
	}{
		{lim("RLIMIT_NOPE", 1, 1), `process.rlimits[1].type: unknown rlimit "RLIMIT_NOPE"`},
	} {
		if err := CheckRlimits(tc.p); err == nil || err.Error() != tc.want {
			t.Errorf("CheckRlimits: %v; want %q", err, tc.want)
		}
	}
	if cur.Max != unix.RLIM_INFINITY {
		err := CheckRlimits(lim("RLIMIT_CORE", 0, cur.Max+1))
		if err == nil || !strings.Contains(err.Error(), "raising it needs privilege") {
			t.Errorf("raising the hard RLIMIT_CORE: %v", err)
		}
	}
}

// SetRlimits sets them (here: a lower soft RLIMIT_CORE, put back after).
func TestSetRlimits(t *testing.T) {
	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &saved); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_CORE, &saved)
	p := &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 0, Hard: saved.Max}}}
	if err := SetRlimits(p); err != nil {
		t.Fatal(err)
	}
	var got syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_CORE, &got)
	if got.Cur != 0 || got.Max != saved.Max {
		t.Errorf("RLIMIT_CORE after SetRlimits: %+v", got)
	}
	if !limitsMemory(&specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_AS"}}}) || limitsMemory(p) {
		t.Error("limitsMemory: RLIMIT_AS limits memory, RLIMIT_CORE does not")
	}
}

// Chdir enters the cwd and refuses one outside the process's root. The
// outside case runs in a child chrooted into a directory, with its cwd
// given as /proc/self/fd/N of a descriptor of the real root.
func TestChdir(t *testing.T) {
	if os.Getenv("PROC_TEST_CHROOT") != "" {
		chdirOutsideRoot()
		return
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	dir := t.TempDir()
	if err := Chdir(&specs.Process{Cwd: dir}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Getwd(); got != dir {
		t.Errorf("cwd %s, want %s", got, dir)
	}
	err := Chdir(&specs.Process{Cwd: filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "process.cwd: "+dir+"/missing: no such file or directory") {
		t.Errorf("missing cwd: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the chroot case needs root (make unit runs as root)")
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChdir$")
	cmd.Env = append(os.Environ(), "PROC_TEST_CHROOT="+dir)
	cmd.ExtraFiles = []*os.File{root}
	// Its own mount namespace (made private by os/exec) for its /proc.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	want := "process.cwd: /proc/self/fd/3: is outside the container's root filesystem"
	if !strings.Contains(string(out), want) {
		t.Errorf("cwd outside the root: %v: %s\nwant %q", err, out, want)
	}
}

// chdirOutsideRoot is TestChdir's child: fd 3 is the host's /.
func chdirOutsideRoot() {
	dir := os.Getenv("PROC_TEST_CHROOT")
	os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
	if err := unix.Mount("proc", filepath.Join(dir, "proc"), "proc", 0, ""); err != nil {
		os.Stdout.WriteString("mount proc: " + err.Error())
		os.Exit(1)
	}
	if err := unix.Chroot(dir); err != nil {
		os.Stdout.WriteString("chroot: " + err.Error())
		os.Exit(1)
	}
	err := Chdir(&specs.Process{Cwd: "/proc/self/fd/3"})
	os.Stdout.WriteString(errString(err))
	os.Exit(0)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// LookPath finds args[0] in the config's PATH and says why it did not.
func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	env := []string{"PATH=/nonexistent:" + dir}
	for _, tc := range []struct {
		arg0, want, err string
	}{
		{"tool", filepath.Join(dir, "tool"), ""},
		{filepath.Join(dir, "tool"), filepath.Join(dir, "tool"), ""},
		{"nope", "", `process.args[0]: "nope": executable file not found in $PATH (/nonexistent:` + dir + ")"},
		{filepath.Join(dir, "sub"), "", "is a directory"},
		{filepath.Join(dir, "data"), "", "permission denied"},
		{"data", "", filepath.Join(dir, "data") + ": permission denied"},
	} {
		got, err := LookPath(&specs.Process{Args: []string{tc.arg0}, Env: env})
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("LookPath(%q) = %q, %v; want %q, %q", tc.arg0, got, err, tc.want, tc.err)
		}
	}
}

// An out-of-range oom_score_adj is the kernel's EINVAL, named.
func TestOOMScoreAdj(t *testing.T) {
	if err := OOMScoreAdj(&specs.Process{}); err != nil {
		t.Errorf("unset: %v", err)
	}
	v := 5000
	err := OOMScoreAdj(&specs.Process{OOMScoreAdj: &v})
	if err == nil || !strings.Contains(err.Error(), "process.oomScoreAdj: 5000: invalid argument") {
		t.Errorf("5000: %v", err)
	}
}

// CloseExtraFDs marks every fd from the first one close-on-exec.
func TestCloseExtraFDs(t *testing.T) {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := CloseExtraFDs(fd); err != nil {
		t.Fatal(err)
	}
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d not close-on-exec", fd)
	}
}
