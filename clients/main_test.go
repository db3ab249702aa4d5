// Package clients drives urun through the real containerd (ctr) and
// Docker (dockerd), as root, the way a person uses them (issue 17). Each
// daemon is started by the suite with private state, sockets and data
// under one temporary directory, and stopped by its PID at the end;
// images are built locally from busybox-static (no network).
//
// Environment:
//
//	URUN_BIN         absolute path of the urun binary (default: <repo>/bin/urun)
//	CLIENTS_RUNTIME  run the same scenarios with another runtime (runc) to
//	                 validate the harness; urun's refusals are then
//	                 expected to succeed, as runc honours them
//
// Tests marked OWN-NETNS run containers with Docker's --network=host or
// ctr --with-ns, which pass the path of the network namespace urun already
// runs in: urun stays in it (issue 15).
package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// suite is what every test shares.
type suite struct {
	dir     string // everything the daemons write
	runtime string // absolute path of the runtime under test
	isURun  bool
	rootfs  string // busybox rootfs (scripts/mkrootfs.sh)
	repo    string
}

var (
	s       *suite
	sErr    error
	sOnce   sync.Once
	daemons []*daemon // started ones, stopped in reverse order
	dmu     sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	teardown()
	os.Exit(code)
}

func getSuite(t *testing.T) *suite {
	t.Helper()
	sOnce.Do(func() { s, sErr = setup() })
	if sErr != nil {
		t.Fatalf("clients setup: %v", sErr)
	}
	return s
}

func setup() (*suite, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the client suite runs containerd and dockerd and must run as root (make clients, or sudo go test ./clients/)")
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	st := &suite{repo: filepath.Dir(wd)}
	// Short: socket paths must fit in sun_path.
	if st.dir, err = os.MkdirTemp("/tmp", "urc-"); err != nil {
		return nil, err
	}
	if rt := os.Getenv("CLIENTS_RUNTIME"); rt != "" {
		if st.runtime, err = exec.LookPath(rt); err != nil {
			return nil, fmt.Errorf("CLIENTS_RUNTIME=%s: %w", rt, err)
		}
	} else {
		st.runtime, st.isURun = os.Getenv("URUN_BIN"), true
		if st.runtime == "" {
			st.runtime = filepath.Join(st.repo, "bin", "urun")
		}
		if _, err := os.Stat(st.runtime); err != nil || !filepath.IsAbs(st.runtime) {
			return nil, fmt.Errorf("urun binary %q: %v (make build first; URUN_BIN must be absolute)", st.runtime, err)
		}
	}
	st.rootfs = filepath.Join(st.dir, "rootfs")
	if out, err := exec.Command("sh", filepath.Join(st.repo, "scripts", "mkrootfs.sh"), st.rootfs).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mkrootfs.sh: %v: %s", err, out)
	}
	for _, tool := range []string{"containerd", "ctr", "dockerd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed: run scripts/deps.sh as root (apt-get install containerd docker.io)", tool)
		}
	}
	fmt.Printf("clients: runtime %s, work %s\n", st.runtime, st.dir)
	return st, nil
}

// daemon is a containerd or dockerd the suite started.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
}

// startDaemon starts args, then polls ready until it succeeds (the daemon
// answers on its socket) or 30 s pass.
func startDaemon(name string, ready func() error, args ...string) (*daemon, error) {
	d := &daemon{name: name, log: filepath.Join(s.dir, name+".log")}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group, so a ^C of go test reaches the daemon only
	// through teardown; Pdeathsig ends it if this test binary dies.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	dmu.Lock()
	daemons = append(daemons, d)
	dmu.Unlock()
	exited := make(chan struct{})
	go func() { d.cmd.Process.Wait(); close(exited) }() //nolint:errcheck // only that it ended matters here
	for {
		err := ready()
		if err == nil {
			fmt.Printf("clients: %s ready in %v\n", name, time.Since(start).Round(time.Millisecond))
			return d, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%s exited at start-up: %s", name, tail(d.log))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > 30*time.Second {
			return nil, fmt.Errorf("%s not ready after 30 s: %v: %s", name, err, tail(d.log))
		}
	}
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(data)
}

// teardown stops the daemons (SIGTERM by PID, then SIGKILL after 20 s),
// kills the shims they left (found by the suite's socket path in their
// command line, each by its PID), unmounts what is left under the work
// directory and removes it.
func teardown() {
	if s == nil {
		return
	}
	for i := len(daemons) - 1; i >= 0; i-- {
		d := daemons[i]
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }() //nolint:errcheck // stopping it is what matters
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	}
	for _, pid := range processesMentioning(s.dir) {
		unix.Kill(pid, unix.SIGKILL)
	}
	unmountUnder(s.dir)
	if os.Getenv("CLIENTS_KEEP") == "" {
		os.RemoveAll(s.dir)
	} else {
		fmt.Printf("clients: kept %s\n", s.dir)
	}
}

// processesMentioning lists the PIDs whose command line contains dir: the
// shims of the suite's containerd (-address DIR/...).
func processesMentioning(dir string) []int {
	var pids []int
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte(dir+"/")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder detaches every mount below dir (Docker's network namespace
// files and overlays, containerd's), deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// Result is one client command's outcome.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
}

// run runs a client command with a deadline and stdin from /dev/null.
func run(t *testing.T, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

// runQuiet runs a command for a readiness check.
func runQuiet(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// waitFor polls cond (every 20 ms, up to 20 s): for states the clients
// offer no way to wait on (a task's processes appearing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gone waits (up to 10 s) for pid to exit, through a pidfd.
func gone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10000)
	return n > 0
}

// cmdline is pid's command line, words joined by spaces.
func cmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}
