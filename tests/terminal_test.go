package tests

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// screen collects what a terminal shows, for expect.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{} // signalled on every read
}

func watch(f *os.File) *screen {
	s := &screen{more: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// expect waits until the screen shows want after position from, and
// returns the position after it. The deadline only bounds a failure.
func (s *screen) expect(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if i := strings.Index(s.String()[from:], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("terminal never showed %q; it shows:\n%q", want, s.String()[from:])
		}
	}
}

// consoleListener is a caller's --console-socket (what conmon and buildah
// make), owned by the account so urun can connect.
func consoleListener(t *testing.T, e *Env) (*net.UnixListener, string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(e.Bundle), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	os.Chown(path, e.A.UID, e.A.GID)
	return l, path
}

// receiveMaster accepts one connection and reads the pty master from it,
// checking the wire format conmon relies on: data bytes and one fd.
func receiveMaster(t *testing.T, l *net.UnixListener) *os.File {
	t.Helper()
	l.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on the console socket: %v", err)
	}
	defer c.Close()
	buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read the console socket: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("console socket: %d control messages (%v), want 1", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("console socket: fds %v (%v), want one", fds, err)
	}
	if n == 0 {
		t.Errorf("console socket: no data bytes with the fd (conmon needs at least one)")
	}
	if rest, _ := c.Read(buf); rest != 0 {
		t.Errorf("console socket: %d more bytes after the fd", rest)
	}
	return os.NewFile(uintptr(fds[0]), "master")
}

// TestConsoleSocket: create --console-socket sends the pty master made on
// the container's devpts, sized by process.consoleSize; typed input
// reaches the command and its exit status is the pid-file PID's.
func TestConsoleSocket(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `tty; stty size; ls -l /dev/console; [ -t 0 ] && [ -t 2 ] && echo stdio-tty; read x; echo got:$x; exit 7`)
		e.Spec.Process.Terminal = true
		e.Spec.Process.ConsoleSize = &specs.Box{Height: 33, Width: 101}
		e.WriteSpec()
		l, sock := consoleListener(t, e)
		pidFile := filepath.Join(e.Bundle, "pid")
		if r := e.Urun("create", "--console-socket", sock, "--pid-file", pidFile, "c1"); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		master := receiveMaster(t, l) // sent during create, before it returned
		defer master.Close()
		pid := ReadPidFile(t, pidFile)
		if sid, _ := unix.Getsid(pid); sid != pid {
			t.Errorf("container process %d: session %d, want its own (setsid)", pid, sid)
		}
		scr := watch(master)
		e.MustUrun("start", "c1")
		at := scr.expect(t, 0, "/dev/pts/0")
		at = scr.expect(t, at, "33 101")
		at = scr.expect(t, at, "/dev/console")
		at = scr.expect(t, at, "stdio-tty")
		master.Write([]byte("hello\r"))
		scr.expect(t, at, "got:hello")
		if code := WaitPid(t, pid); code != 7 {
			t.Errorf("pid-file process exit status %d, want 7", code)
		}
		e.MustUrun("delete", "c1")
		e.AssertClean()
	})
}

// TestTerminalRefusals: create with process.terminal and no socket is
// refused naming both, and leaves nothing; --console-socket without
// process.terminal is ignored (nothing connects), as with runc.
func TestTerminalRefusals(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "echo", "plain")
		e.Spec.Process.Terminal = true
		e.WriteSpec()
		pidFile := filepath.Join(e.Bundle, "pid")
		r := e.Urun("create", "--pid-file", pidFile, "t1")
		if r.Code == 0 || !strings.Contains(r.Stderr, "process.terminal") || !strings.Contains(r.Stderr, "--console-socket") {
			t.Errorf("create, terminal without --console-socket: want an error naming both: %s", r)
		}
		if _, err := os.Stat(pidFile); err == nil {
			t.Errorf("refused create left a pid file")
		}
		r = e.Urun("run", "-d", "t2")
		if r.Code == 0 || !strings.Contains(r.Stderr, "--console-socket") {
			t.Errorf("run -d, terminal without --console-socket: want an error: %s", r)
		}
		e.AssertClean()

		e.Spec.Process.Terminal = false
		e.WriteSpec()
		l, sock := consoleListener(t, e)
		r = e.Urun("run", "--console-socket", sock, "t3")
		if r.Code != 0 || r.Stdout != "plain\n" {
			t.Errorf("run --console-socket, terminal false: want the plain output: %s", r)
		}
		l.SetDeadline(time.Now())
		if c, err := l.Accept(); err == nil {
			c.Close()
			t.Errorf("terminal false: urun connected to the console socket")
		}
		e.AssertClean()
	})
}

// TestRunTerminal is `urun run` typed at a terminal: the test's pty is the
// user's. It checks what the person sees: tty, the window size and its
// changes, input echoed by the container's pty while the user's is raw,
// Ctrl-C and Ctrl-Z reaching only the foreground command, the exit status,
// and the user's terminal as it was afterwards.
func TestRunTerminal(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh")
		e.Spec.Process.Terminal = true
		e.Spec.Process.Env = append(e.Spec.Process.Env, "PS1=ctr$ ", "TERM=dumb")
		e.WriteSpec()
		ptm, pts, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptm.Close()
		defer pts.Close()
		pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 120})
		before, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		cmd := e.Command("run", "r1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty = true, true
		scr := watch(ptm)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
			}
		}()
		// What is typed is echoed: each marker the test waits for is
		// spelled so that only the command's output shows it.
		typ := func(s string) { ptm.Write([]byte(s)) }

		at := scr.expect(t, 0, "ctr$ ")
		raw, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		if err != nil || raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
			t.Errorf("user's terminal during run: lflag %#x (%v), want raw (no ICANON, ECHO, ISIG)", raw.Lflag, err)
		}
		typ("tty; stty size\r")
		at = scr.expect(t, at, "/dev/pts/0")
		at = scr.expect(t, at, "40 120")

		// A window change reaches the container's foreground process group.
		typ(`sh -c 'trap "stty size; exit 0" WINCH; echo ar""med; while :; do sleep 0.05; done'` + "\r")
		at = scr.expect(t, at, "armed")
		pty.Setsize(ptm, &pty.Winsize{Rows: 50, Cols: 132})
		at = scr.expect(t, at, "50 132")
		at = scr.expect(t, at, "ctr$ ")

		// Ctrl-C interrupts the foreground command, not the shell.
		typ(`sh -c 'echo sl""eeping; exec sleep 100'` + "\r")
		at = scr.expect(t, at, "sleeping")
		typ("\x03")
		at = scr.expect(t, at, "ctr$ ")
		typ("echo status=$?\r")
		at = scr.expect(t, at, "status=130")

		// Ctrl-Z stops the foreground job; fg resumes it (its CONT trap
		// says so) and Ctrl-C then ends it.
		typ(`sh -c 'trap "echo co""nt" CONT; echo na""pping; while :; do sleep 0.05; done'` + "\r")
		at = scr.expect(t, at, "napping")
		typ("\x1a")
		at = scr.expect(t, at, "Stopped")
		typ("fg\r")
		at = scr.expect(t, at, "cont")
		typ("\x03")
		at = scr.expect(t, at, "ctr$ ")
		typ("echo resumed=$?\r")
		at = scr.expect(t, at, "resumed=130")

		typ("exit 5\r")
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("urun run did not exit after the shell did; terminal:\n%q", scr.String()[at:])
		}
		if code := cmd.ProcessState.ExitCode(); code != 5 {
			t.Errorf("urun run exit status %d, want 5; terminal:\n%q", code, scr.String())
		}
		after, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		if err != nil || *after != *before {
			t.Errorf("user's terminal not restored: before %+v, after %+v (%v)", before, after, err)
		}
		e.AssertClean()
	})
}
