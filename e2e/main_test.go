// Package e2e runs real rootless buildah builds with urun as the OCI runtime,
// as two unprivileged accounts: urunsub (has /etc/subuid and /etc/subgid
// ranges) and urunnosub (has none). It must run as root (CI does): root
// creates per-account work directories and then drops to the accounts to run
// buildah, exactly as the accounts would from a login shell.
//
// Environment:
//
//	URUN_BIN      absolute path of the urun binary (default: <repo>/bin/urun)
//	E2E_RUNTIME   run the same suite against another runtime (e.g. runc) to
//	              validate the harness itself; URUN_BIN is then ignored
//	E2E_KEEP=1    keep the work directories (storage, contexts) afterwards
//
// When buildah or the accounts cannot be set up the tests fail; they never
// skip. Run: go test ./e2e/ -v -count=1
package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// suiteEnv is what every account shares.
type suiteEnv struct {
	tmp      string // 0755 directory under /tmp the accounts can traverse
	runtime  string // absolute path of the runtime the accounts execute
	rtName   string // basename, used for the state directory under $XDG_RUNTIME_DIR
	isURun   bool   // false when E2E_RUNTIME selects another runtime
	hangRT   string // runtime for the URUN_HANG case (a fake wrapper for non-urun runtimes)
	buildah  string
	rootfs   string // busybox rootfs from scripts/mkrootfs.sh
	token    string // marks the environment of every process this run starts
	repo     string
	lockFile *os.File
}

var (
	suite     *suiteEnv
	suiteErr  error
	suiteOnce sync.Once

	timingsMu sync.Mutex
	timings   []timing
)

type timing struct {
	what string
	d    time.Duration
	code int
}

func recordTiming(what string, d time.Duration, code int) {
	timingsMu.Lock()
	timings = append(timings, timing{what, d, code})
	timingsMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopSlurm()
	if len(timings) > 0 {
		// One line per kind of invocation and account: count, min, mean, max.
		type agg struct {
			n             int
			min, max, sum time.Duration
			codes         map[int]int
		}
		byWhat := map[string]*agg{}
		var order []string
		for _, tm := range timings {
			g := byWhat[tm.what]
			if g == nil {
				g = &agg{min: tm.d, codes: map[int]int{}}
				byWhat[tm.what] = g
				order = append(order, tm.what)
			}
			g.n++
			g.sum += tm.d
			g.codes[tm.code]++
			if tm.d < g.min {
				g.min = tm.d
			}
			if tm.d > g.max {
				g.max = tm.d
			}
		}
		sort.Strings(order)
		fmt.Printf("\n=== e2e wall times of buildah invocations (runtime %s) ===\n", suite.rtName)
		fmt.Printf("  %-52s %3s %8s %8s %8s  %s\n", "invocation/account", "n", "min", "mean", "max", "exit codes")
		for _, w := range order {
			g := byWhat[w]
			fmt.Printf("  %-52s %3d %7.2fs %7.2fs %7.2fs  %v\n", w, g.n, g.min.Seconds(), g.sum.Seconds()/float64(g.n), g.max.Seconds(), g.codes)
		}
	}
	if suite != nil && os.Getenv("E2E_KEEP") == "" {
		for _, a := range accounts {
			if a.work != "" {
				a.scrubQuiet()
				os.RemoveAll(a.work)
			}
		}
		os.RemoveAll(suite.tmp)
	} else if suite != nil {
		fmt.Printf("e2e: kept %s and the accounts' work directories\n", suite.tmp)
	}
	os.Exit(code)
}

func getSuite(t *testing.T) *suiteEnv {
	t.Helper()
	suiteOnce.Do(func() { suite, suiteErr = setupSuite() })
	if suiteErr != nil {
		t.Fatalf("e2e setup: %v", suiteErr)
	}
	return suite
}

func setupSuite() (*suiteEnv, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the e2e suite must run as root (it runs buildah as the test accounts urunsub/urunnosub); try: sudo go test ./e2e/ -v -count=1, or make e2e as root")
	}
	s := &suiteEnv{}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	s.repo = filepath.Dir(wd) // go test runs in the package directory, <repo>/e2e
	b := make([]byte, 6)
	rand.Read(b)
	s.token = hex.EncodeToString(b)

	// One e2e run at a time on a machine: the leftover checks look at the
	// accounts' processes and state.
	lf, err := os.OpenFile("/tmp/urun-e2e.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Println("e2e: another e2e run holds /tmp/urun-e2e.lock; waiting for it")
		if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
			return nil, err
		}
	}
	s.lockFile = lf

	if s.buildah, err = exec.LookPath("buildah"); err != nil {
		return nil, fmt.Errorf("buildah is not installed: run scripts/deps.sh as root (apt-get install buildah uidmap busybox-static)")
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s missing: run scripts/deps.sh as root (apt-get install uidmap)", tool)
		}
	}

	s.tmp, err = os.MkdirTemp("/tmp", "e2e-urun-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(s.tmp, 0o755); err != nil {
		return nil, err
	}

	if rt := os.Getenv("E2E_RUNTIME"); rt != "" {
		p, err := exec.LookPath(rt)
		if err != nil {
			return nil, fmt.Errorf("E2E_RUNTIME=%s: %v", rt, err)
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		s.runtime, s.rtName = p, filepath.Base(p)
		// URUN_HANG is urun's; emulate it so the harness of that case is
		// validated too.
		s.hangRT = filepath.Join(s.tmp, "fake-hang-runtime")
		script := fmt.Sprintf(`#!/bin/bash
# Emulates urun's URUN_HANG=create for harness validation with %[1]s.
for a in "$@"; do
	if [ "$a" = create ] && [ "${URUN_HANG:-}" = create ]; then
		echo "fake-runtime: URUN_HANG=create: hanging in create (pid $$)" >&2
		exec -a "fake-runtime $*" sleep 100000
	fi
done
exec %[1]s "$@"
`, p)
		if err := os.WriteFile(s.hangRT, []byte(script), 0o755); err != nil {
			return nil, err
		}
	} else {
		src := os.Getenv("URUN_BIN")
		if src == "" {
			src = filepath.Join(s.repo, "bin", "urun")
		}
		if !filepath.IsAbs(src) {
			return nil, fmt.Errorf("URUN_BIN=%s must be an absolute path", src)
		}
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("urun binary %s: %v (build it first: make build, or go build -o bin/urun ./cmd/urun)", src, err)
		}
		// The accounts may not be able to traverse the checkout; give them a copy.
		dir := filepath.Join(s.tmp, "bin")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		s.runtime = filepath.Join(dir, "urun")
		if err := copyFile(src, s.runtime, 0o755); err != nil {
			return nil, err
		}
		s.rtName, s.isURun, s.hangRT = "urun", true, s.runtime
	}

	s.rootfs = filepath.Join(s.tmp, "rootfs")
	out, err := exec.Command("sh", filepath.Join(s.repo, "scripts", "mkrootfs.sh"), s.rootfs).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("scripts/mkrootfs.sh: %v\n%s", err, out)
	}
	fmt.Printf("e2e: runtime %s (%s), buildah %s, work %s\n", s.runtime, s.rtName, s.buildah, s.tmp)
	return s, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// account is one unprivileged test account with its private buildah storage.
type account struct {
	name      string
	wantRange bool

	once sync.Once
	err  error

	uid, gid           int
	groups             []uint32
	home               string
	subStart, subCount int
	work               string // $HOME/urun-e2e-<token>: storage, contexts, TMPDIR
	xdg                string // private XDG_RUNTIME_DIR (buildah passes it to the runtime)
	tmpdir             string // TMPDIR: buildah's bundles go here
	global             []string
	ctxN               int
	ctxMu              sync.Mutex

	mpiOnce sync.Once // the MPI image (hpc_test.go)
	mpiImg  string
	mpiErr  error

	baseOnce     sync.Once
	baseManifest map[string]fsEntry
	baseErr      error
}

var accounts = []*account{
	{name: "urunsub", wantRange: true},
	{name: "urunnosub", wantRange: false},
}

const baseImage = "localhost/busybox:latest"

// setup returns the account ready to build; the base image is imported once.
func (a *account) setup(t *testing.T) {
	t.Helper()
	s := getSuite(t)
	a.once.Do(func() { a.err = a.doSetup(s) })
	if a.err != nil {
		t.Fatalf("account %s: %v", a.name, a.err)
	}
}

func (a *account) doSetup(s *suiteEnv) error {
	u, err := user.Lookup(a.name)
	if err != nil {
		return fmt.Errorf("%v: create the test accounts with scripts/setup-accounts.sh (or scripts/deps.sh) as root", err)
	}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	a.home = u.HomeDir
	gids, _ := u.GroupIds()
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		a.groups = append(a.groups, uint32(n))
	}
	a.subStart, a.subCount = subidRange("/etc/subuid", a.name, a.uid)
	gs, gc := subidRange("/etc/subgid", a.name, a.gid)
	if a.wantRange && (a.subCount < 65536 || gc < 65536) {
		return fmt.Errorf("needs subuid and subgid ranges of 65536 IDs (have %d:%d, %d:%d): run scripts/setup-accounts.sh", a.subStart, a.subCount, gs, gc)
	}
	if !a.wantRange && (a.subCount > 0 || gc > 0) {
		return fmt.Errorf("must have no subuid/subgid range (has %d:%d, %d:%d): run scripts/setup-accounts.sh", a.subStart, a.subCount, gs, gc)
	}
	if st, err := os.Stat(a.home); err != nil || !st.IsDir() {
		return fmt.Errorf("home directory %s missing: run scripts/setup-accounts.sh", a.home)
	}

	a.work = filepath.Join(a.home, "urun-e2e-"+s.token)
	a.tmpdir = filepath.Join(a.work, "tmp")
	a.xdg = filepath.Join(s.tmp, "xdg-"+a.name)
	for _, d := range []string{a.work, a.tmpdir, filepath.Join(a.work, "ctx"), a.xdg} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, a.uid, a.gid); err != nil {
			return err
		}
	}
	a.global = []string{"--root", filepath.Join(a.work, "storage"), "--runroot", filepath.Join(a.work, "runroot"), "--storage-driver", "vfs"}
	if !a.wantRange {
		a.global = append(a.global, "--storage-opt", "vfs.ignore_chown_errors=true")
	}

	// Processes left by an earlier, aborted run of this suite would make
	// every leftover check fail: they are not attributable to this run,
	// so they are only reported.
	if n := foreignProcs(a); len(n) > 0 {
		fmt.Printf("e2e: note: %s already runs processes not started by this run: %s\n", a.name, strings.Join(n, "; "))
	}

	// Import the base image without a registry.
	start := time.Now()
	r := a.runCmd(nil, 2*time.Minute, a.buildahArgs("from", "scratch"))
	if r.Code != 0 {
		return fmt.Errorf("buildah from scratch: %s", r.describe())
	}
	ctr := strings.TrimSpace(r.Stdout)
	steps := [][]string{
		a.buildahArgs("copy", ctr, s.rootfs+"/", "/"),
		a.buildahArgs("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", "/bin/sh", ctr),
		a.buildahArgs("commit", "--rm", ctr, baseImage),
	}
	for _, args := range steps {
		if r := a.runCmd(nil, 2*time.Minute, args); r.Code != 0 {
			return fmt.Errorf("importing the base image: %s", r.describe())
		}
	}
	recordTiming(fmt.Sprintf("import base image/%s", a.name), time.Since(start), 0)
	fmt.Printf("e2e: %s uid %d subuid %d:%d, work %s, XDG_RUNTIME_DIR %s, base image imported in %.2fs\n",
		a.name, a.uid, a.subStart, a.subCount, a.work, a.xdg, time.Since(start).Seconds())
	return nil
}

func subidRange(file, name string, id int) (int, int) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil {
			return start, count
		}
	}
	return 0, 0
}

func (a *account) buildahArgs(args ...string) []string {
	return append(append([]string{suite.buildah}, a.global...), args...)
}

// env is the whole environment buildah gets: nothing leaks from root's.
func (a *account) env(extra []string) []string {
	env := []string{
		"HOME=" + a.home,
		"USER=" + a.name,
		"LOGNAME=" + a.name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C",
		"BUILDAH_ISOLATION=oci",
		"XDG_RUNTIME_DIR=" + a.xdg,
		"TMPDIR=" + a.tmpdir,
		"URUN_E2E_TOKEN=" + suite.token,
	}
	return append(env, extra...)
}

// newContext writes a build context with the given Containerfile.
func (a *account) newContext(t *testing.T, name, containerfile string) string {
	t.Helper()
	a.ctxMu.Lock()
	a.ctxN++
	n := a.ctxN
	a.ctxMu.Unlock()
	dir := filepath.Join(a.work, "ctx", fmt.Sprintf("%03d-%s", n, name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(f, []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, f} {
		if err := os.Chown(p, a.uid, a.gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// result of one buildah invocation.
type result struct {
	Args                     []string
	Stdout, Stderr, Combined string
	Code                     int // exit status; -1 when killed by a signal or not started
	Err                      error
	Dur                      time.Duration
	TimedOut                 bool
	PipesHeld                bool // buildah exited but something kept its output open
}

func (r *result) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` exit %d after %.2fs", strings.Join(r.Args, " "), r.Code, r.Dur.Seconds())
	if r.Err != nil {
		fmt.Fprintf(&b, " (%v)", r.Err)
	}
	if r.TimedOut {
		b.WriteString(" [TIMED OUT, killed]")
	}
	if r.PipesHeld {
		b.WriteString(" [buildah exited but a leftover process held its stdout/stderr open]")
	}
	fmt.Fprintf(&b, "\n--- output ---\n%s--- end ---", r.Combined)
	return b.String()
}

// syncBuf collects one stream and the interleaved combination.
type syncBuf struct {
	mu       sync.Mutex
	combined bytes.Buffer
	streams  [2]bytes.Buffer
}

type streamWriter struct {
	b *syncBuf
	i int
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	w.b.streams[w.i].Write(p)
	w.b.combined.Write(p)
	return len(p), nil
}

func (b *syncBuf) snapshot() (string, string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.streams[0].String(), b.streams[1].String(), b.combined.String()
}

// proc is a running command of an account.
type proc struct {
	cmd   *exec.Cmd
	args  []string
	buf   *syncBuf
	start time.Time
	done  chan struct{}
	res   *result
}

// startCmd starts argv as the account, in its own process group, with
// standard input from /dev/null.
func (a *account) startCmd(extraEnv []string, argv []string) (*proc, error) {
	p := &proc{args: argv, buf: &syncBuf{}, done: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = a.env(extraEnv)
	cmd.Dir = a.work
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = streamWriter{p.buf, 0}
	cmd.Stderr = streamWriter{p.buf, 1}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups},
		Setpgid:    true,
	}
	// A leftover process may hold buildah's output open; do not wait for it forever.
	cmd.WaitDelay = 10 * time.Second
	p.cmd = cmd
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		err := cmd.Wait()
		r := &result{Args: argv, Err: err, Dur: time.Since(p.start), Code: -1}
		if cmd.ProcessState != nil {
			r.Code = cmd.ProcessState.ExitCode()
		}
		if err == exec.ErrWaitDelay {
			r.PipesHeld = true
			r.Err = nil
		}
		r.Stdout, r.Stderr, r.Combined = p.buf.snapshot()
		p.res = r
		close(p.done)
	}()
	return p, nil
}

// wait waits for the command, killing its process group after timeout.
func (p *proc) wait(timeout time.Duration) *result {
	select {
	case <-p.done:
		return p.res
	case <-time.After(timeout):
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.res.TimedOut = true
	return p.res
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (a *account) runCmd(extraEnv []string, timeout time.Duration, argv []string) *result {
	p, err := a.startCmd(extraEnv, argv)
	if err != nil {
		return &result{Args: argv, Err: err, Code: -1}
	}
	return p.wait(timeout)
}

// buildArgs are the flags every build uses.
func (a *account) buildArgs(runtime, ctxDir string, extra ...string) []string {
	args := a.buildahArgs("build", "--runtime="+runtime, "--network=host", "--pull=never",
		"-f", filepath.Join(ctxDir, "Containerfile"))
	args = append(args, extra...)
	return append(args, ctxDir)
}

// build runs one build of containerfile and logs its wall time.
func (a *account) build(t *testing.T, name, containerfile string, extraEnv []string, extra ...string) *result {
	t.Helper()
	ctx := a.newContext(t, name, containerfile)
	r := a.runCmd(extraEnv, 3*time.Minute, a.buildArgs(suite.runtime, ctx, extra...))
	t.Logf("build %s as %s: %.2fs, exit %d", name, a.name, r.Dur.Seconds(), r.Code)
	recordTiming(fmt.Sprintf("build %s/%s", name, a.name), r.Dur, r.Code)
	if r.TimedOut || r.PipesHeld {
		t.Errorf("build %s: %s", name, r.describe())
	}
	return r
}

// forEachAccount runs fn as a parallel subtest per account, then checks
// that nothing was left behind.
func forEachAccount(t *testing.T, fn func(t *testing.T, a *account)) {
	for _, a := range accounts {
		a := a
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			a.setup(t)
			t.Cleanup(func() { a.assertClean(t, "after the case") })
			fn(t, a)
		})
	}
}
