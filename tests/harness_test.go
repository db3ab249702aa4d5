// Package tests drives the real urun binary as unprivileged accounts:
// urunsub (has /etc/subuid ranges), urunnosub (has none) and "nested"
// (uid 0 inside a multi-ID user namespace owned by urunsub, the way buildah
// calls a runtime). Run as root (CI is root); it fails, never skips, when
// the accounts or user namespaces are missing.
package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	urunBin  string // the built binary, executable by the accounts
	baseRoot string // shared busybox rootfs (read-only use)
	workDir  string // 0755 scratch directory
	repoDir  string
)

// Account is a way of running urun.
type Account struct {
	Name     string // mode name used in subtests
	User     string // unix account
	UID, GID int
	Nested   bool // run urun as uid 0 in a user namespace mapping 0->UID, 1..65536->subuid range
	HasRange bool // more than one ID available in the container
}

var (
	Sub    = &Account{Name: "subuid", User: "urunsub", HasRange: true}
	NoSub  = &Account{Name: "nosubuid", User: "urunnosub"}
	Nested = &Account{Name: "nested", User: "urunsub", Nested: true, HasRange: true}
	// Accounts lists every mode; most tests run against all of them.
	Accounts = []*Account{Sub, NoSub, Nested}
	// accountsFiltered: URUN_TEST_ACCOUNTS left some out, so checks over
	// what all accounts' runs showed (TestFeatures' coverage) do not hold.
	accountsFiltered bool
)

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: setup:", err)
		os.Exit(1)
	}
	if code < 0 {
		code = m.Run()
	}
	if nestedNS != nil {
		nestedNS.Process.Kill()
		nestedNS.Wait()
	}
	os.RemoveAll(workDir)
	os.Exit(code)
}

func setup() (int, error) {
	if os.Geteuid() != 0 {
		return 1, fmt.Errorf("the integration tests run as root and drop to the test accounts; run `make test` (or sudo go test ./tests/)")
	}
	wd, _ := os.Getwd()
	repoDir = filepath.Dir(wd)
	var err error
	if workDir, err = os.MkdirTemp("", "urun-tests-"); err != nil {
		return 1, err
	}
	os.Chmod(workDir, 0o755)
	// Subreaper: placeholders whose create exits are re-parented to us, so
	// tests can wait4 the pid-file PID exactly as buildah does.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 1, err
	}
	if out, err := exec.Command("bash", filepath.Join(repoDir, "scripts/setup-accounts.sh")).CombinedOutput(); err != nil {
		return 1, fmt.Errorf("setup-accounts.sh: %v: %s", err, out)
	}
	if only := os.Getenv("URUN_TEST_ACCOUNTS"); only != "" {
		// CI's second pass runs the nested account alone (make integration).
		var keep []*Account
		for _, a := range Accounts {
			if strings.Contains(","+only+",", ","+a.Name+",") {
				keep = append(keep, a)
			}
		}
		Accounts, accountsFiltered = keep, true
	}
	for _, a := range []*Account{Sub, NoSub, Nested} {
		u, err := user.Lookup(a.User)
		if err != nil {
			return 1, fmt.Errorf("account %s: %w", a.User, err)
		}
		a.UID, _ = strconv.Atoi(u.Uid)
		a.GID, _ = strconv.Atoi(u.Gid)
	}
	urunBin = filepath.Join(workDir, "urun")
	build := exec.Command("go", "build", "-o", urunBin, "./cmd/urun")
	build.Dir = repoDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("go build: %v: %s", err, out)
	}
	baseRoot = filepath.Join(workDir, "rootfs")
	if out, err := exec.Command("sh", filepath.Join(repoDir, "scripts/mkrootfs.sh"), baseRoot).CombinedOutput(); err != nil {
		return 1, fmt.Errorf("mkrootfs.sh: %v: %s", err, out)
	}
	// User namespaces must work for an unprivileged account: fail loudly.
	probe := exec.Command("unshare", "--user", "--map-root-user", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(NoSub.UID), Gid: uint32(NoSub.GID)}}
	if out, err := probe.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("unprivileged user namespaces are not available (unshare --user as %s: %v: %s); urun needs them", NoSub.User, err, out)
	}
	return -1, startNestedNS()
}

// nestedNS holds the user namespace every "nested" urun call enters, as
// every runtime call of one buildah build runs in buildah's namespace:
// 0 -> the account, 1..65536 -> its subuid range.
var nestedNS *exec.Cmd

func startNestedNS() error {
	nestedNS = exec.Command("unshare", "--user", "--map-root-user",
		"--map-users="+subStart(Nested.User)+",1,65536", "--map-groups="+subStart(Nested.User)+",1,65536",
		"--", "sh", "-c", "echo ready; exec sleep infinity")
	nestedNS.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(Nested.UID), Gid: uint32(Nested.GID), Groups: []uint32{}},
		Pdeathsig: syscall.SIGKILL}
	out, err := nestedNS.StdoutPipe()
	if err != nil {
		return err
	}
	if err := nestedNS.Start(); err != nil {
		return fmt.Errorf("unshare for the nested account: %w", err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "ready\n" {
		return fmt.Errorf("unshare for the nested account: %q %v", line, err)
	}
	return nil
}

// Env is one test's bundle and state directory, owned by the account.
type Env struct {
	T      *testing.T
	A      *Account
	Bundle string // bundle directory with config.json and rootfs/
	Root   string // --root state directory
	Spec   *specs.Spec
	before map[procID]string // processes below the test binary at NewEnv
}

// NewEnv copies the busybox rootfs into a fresh bundle owned by the
// account and writes a default config running args.
func NewEnv(t *testing.T, a *Account, args ...string) *Env {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "env-")
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, A: a, Bundle: filepath.Join(dir, "bundle"), Root: filepath.Join(dir, "state"), before: descendants()}
	if out, err := exec.Command("cp", "-a", baseRoot, filepath.Join(e.Bundle, "rootfs")).CombinedOutput(); err != nil {
		if err := os.MkdirAll(e.Bundle, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err = exec.Command("cp", "-a", baseRoot, filepath.Join(e.Bundle, "rootfs")).CombinedOutput(); err != nil {
			t.Fatalf("cp rootfs: %v: %s", err, out)
		}
	}
	os.MkdirAll(e.Root, 0o700)
	e.chownAll(dir)
	e.Spec = DefaultSpec(args...)
	e.WriteSpec()
	t.Cleanup(func() { e.cleanup(dir) })
	return e
}

// chownAll gives the tree to the account (the nested mode's uid 0 is the
// account's own uid, so the same owner works there).
func (e *Env) chownAll(dir string) {
	out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", e.A.UID, e.A.GID), dir).CombinedOutput()
	if err != nil {
		e.T.Fatalf("chown: %v: %s", err, out)
	}
}

func (e *Env) cleanup(dir string) {
	// Kill whatever the test left (a failing test must not leak processes).
	if entries, err := os.ReadDir(e.Root); err == nil {
		for _, ent := range entries {
			e.Urun("delete", "--force", ent.Name())
		}
	}
	os.RemoveAll(dir)
}

// WriteSpec writes e.Spec to the bundle.
func (e *Env) WriteSpec() {
	data, err := json.MarshalIndent(e.Spec, "", " ")
	if err != nil {
		e.T.Fatal(err)
	}
	e.WriteConfig(data)
}

// WriteConfig writes raw bytes as config.json.
func (e *Env) WriteConfig(data []byte) {
	p := filepath.Join(e.Bundle, "config.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.T.Fatal(err)
	}
	os.Chown(p, e.A.UID, e.A.GID)
}

// DefaultSpec is a small config like `urun spec` writes, running args.
func DefaultSpec(args ...string) *specs.Spec {
	if len(args) == 0 {
		args = []string{"true"}
	}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: args, Cwd: "/",
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"},
		},
		Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "user"}, {Type: "mount"}}},
	}
}

// Result is one urun invocation's outcome.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
}

// Command builds `urun --root STATE args...` run as the account, from the
// bundle directory, without starting it.
func (e *Env) Command(args ...string) *exec.Cmd {
	full := append([]string{"--root", e.Root}, args...)
	var cmd *exec.Cmd
	if e.A.Nested {
		// nsenter execs urun (no fork), so urun stays our child; it
		// becomes uid 0 of the shared namespace.
		nsArgs := []string{"-t", strconv.Itoa(nestedNS.Process.Pid), "-U", "--", urunBin}
		cmd = exec.Command("nsenter", append(nsArgs, full...)...)
	} else {
		cmd = exec.Command(urunBin, full...)
	}
	cmd.Dir = e.Bundle
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "LANG=C"}
	if v := os.Getenv("URUN_EXECUTOR"); v != "" {
		// CI's second pass of the nested account: the two-process
		// executor where urun would run the plan in-process.
		cmd.Env = append(cmd.Env, "URUN_EXECUTOR="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.A.UID), Gid: uint32(e.A.GID), Groups: []uint32{}}}
	return cmd
}

func subStart(name string) string {
	data, err := os.ReadFile("/etc/subuid")
	if err != nil {
		return "0"
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 3 && f[0] == name {
			return f[1]
		}
	}
	return "0"
}

// Urun runs urun to completion with stdin from /dev/null.
func (e *Env) Urun(args ...string) Result {
	return e.UrunIn(nil, args...)
}

// UrunIn runs urun with stdin.
func (e *Env) UrunIn(stdin io.Reader, args ...string) Result {
	cmd := e.Command(args...)
	cmd.Stdin = stdin
	return e.Exec(cmd)
}

// Exec runs a prepared command (stdin already set) and collects its output.
func (e *Env) Exec(cmd *exec.Cmd) Result {
	// Files, not pipes: a created container inherits create's stdio and
	// would hold a pipe open, so Run would wait for it to exit.
	out, errb := e.tempFile(), e.tempFile()
	defer out.Close()
	defer errb.Close()
	cmd.Stdout, cmd.Stderr = out, errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.T.Fatalf("%v: %v", cmd.Args, err)
		}
		code = ee.ExitCode()
	}
	return Result{Stdout: readAll(e.T, out), Stderr: readAll(e.T, errb), Code: code}
}

func (e *Env) tempFile() *os.File {
	f, err := os.CreateTemp(e.T.TempDir(), "out")
	if err != nil {
		e.T.Fatal(err)
	}
	return f
}

func readAll(t *testing.T, f *os.File) string {
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// MustUrun runs urun and fails the test on a non-zero exit.
func (e *Env) MustUrun(args ...string) Result {
	e.T.Helper()
	r := e.Urun(args...)
	if r.Code != 0 {
		e.T.Fatalf("urun %v: %s", args, r)
	}
	return r
}

// State returns the parsed `urun state`.
func (e *Env) State(id string) specs.State {
	e.T.Helper()
	r := e.MustUrun("state", id)
	var st specs.State
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		e.T.Fatalf("state %s: %v: %s", id, err, r.Stdout)
	}
	return st
}

// StateEntries lists what is left in the state directory.
func (e *Env) StateEntries() []string {
	entries, _ := os.ReadDir(e.Root)
	var names []string
	for _, ent := range entries {
		names = append(names, ent.Name())
	}
	return names
}

// AssertClean fails when state or any process the test started is left
// behind: urun, placeholders, and containers that have exec'd their
// command, whatever user or namespaces they have now.
func (e *Env) AssertClean() {
	e.T.Helper()
	if left := e.StateEntries(); len(left) > 0 {
		e.T.Errorf("state left behind in %s: %v", e.Root, left)
	}
	if left := leftSince(e.before); len(left) > 0 {
		e.T.Errorf("processes left behind: %s", strings.Join(left, "; "))
	}
}

// procID tells a process from a later one with its PID.
type procID struct {
	pid   int
	start string // /proc/PID/stat field 22
}

// descendants lists the live processes below this test binary. It is a
// subreaper (see setup), so nothing the tests start can leave this tree:
// an orphan is re-parented to its nearest subreaper ancestor, this binary
// or a `urun run` below it. Processes of other test binaries and of
// other users of the machine are never in it. Zombies are dead and are
// left out; so is the nested account's namespace holder.
func descendants() map[procID]string {
	parent := map[int]int{}
	info := map[int]procID{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		info[pid] = procID{pid, f[19]}
	}
	self, holder := os.Getpid(), 0
	if nestedNS != nil {
		holder = nestedNS.Process.Pid
	}
	out := map[procID]string{}
	for pid := range info {
		for p, n := parent[pid], 0; p > 1 && n < 1000; p, n = parent[p], n+1 {
			if p == self {
				if pid != holder {
					cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
					out[info[pid]] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
				}
				break
			}
		}
	}
	return out
}

// leftSince describes the descendants that were not there before.
func leftSince(before map[procID]string) []string {
	var left []string
	deadline := time.Now().Add(3 * time.Second)
	for id, cmd := range descendants() {
		if _, ok := before[id]; !ok && !exitsBy(id.pid, deadline) {
			left = append(left, fmt.Sprintf("pid %d: %q", id.pid, cmd))
		}
	}
	sort.Strings(left)
	return left
}

// exitsBy: pid exits by the deadline. A process already on its way out
// (killed, its cmdline already gone, as a newuidmap helper whose create was
// interrupted) is not left behind; one that lives on is. It waits on a
// pidfd, which becomes readable when the process exits.
func exitsBy(pid int, deadline time.Time) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH
	}
	defer unix.Close(fd)
	ms := int(time.Until(deadline) / time.Millisecond)
	if ms < 0 {
		ms = 0
	}
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// WaitPid waits for a pid-file PID (re-parented to us) and returns its
// shell-style status.
func WaitPid(t *testing.T, pid int) int {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("wait4 %d: %v", pid, err)
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ReadPidFile reads a --pid-file.
func ReadPidFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %s: %q", path, data)
	}
	return pid
}

// ForEach runs f as a subtest for every account.
func ForEach(t *testing.T, f func(t *testing.T, a *Account)) {
	for _, a := range Accounts {
		a := a
		t.Run(a.Name, func(t *testing.T) { f(t, a) })
	}
}
