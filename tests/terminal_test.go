package tests

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/internal/termtest"
)

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
		e := NewEnv(t, a, "sh", "-c", `tty; stty size; ls -l /dev/console; [ -t 0 ] && [ -t 2 ] && echo stdio-tty; echo owner=$(stat -c %u $(tty)); read x; echo got:$x; exit 7`)
		e.Spec.Process.Terminal = true
		owner := "owner=0"
		if a.HasRange {
			e.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
			owner = "owner=1000" // the terminal is the process user's
		}
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
		scr := termtest.Watch(master)
		e.MustUrun("start", "c1")
		scr.Expect(t, "/dev/pts/0")
		scr.Expect(t, "33 101")
		scr.Expect(t, "/dev/console")
		scr.Expect(t, "stdio-tty")
		scr.Expect(t, owner)
		master.Write([]byte("hello\r"))
		scr.Expect(t, "got:hello")
		if code := WaitPid(t, pid); code != 7 {
			t.Errorf("pid-file process exit status %d, want 7", code)
		}
		e.MustUrun("delete", "c1")

		// run -d --console-socket: the same terminal, and run returns.
		e.Spec.Process.Args = []string{"sh", "-c", "read x; echo run-got:$x"}
		e.WriteSpec()
		if r := e.Urun("run", "-d", "--console-socket", sock, "--pid-file", pidFile, "r1"); r.Code != 0 {
			t.Fatalf("run -d --console-socket: %s", r)
		}
		m2 := receiveMaster(t, l)
		defer m2.Close()
		scr = termtest.Watch(m2)
		m2.Write([]byte("again\r"))
		scr.Expect(t, "run-got:again")
		if code := WaitPid(t, ReadPidFile(t, pidFile)); code != 0 {
			t.Errorf("run -d: pid-file process exit status %d, want 0", code)
		}
		e.MustUrun("delete", "r1")
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
		tm := termtest.Start(t, e.Command("run", "r1"), 40, 120)
		before := tm.Termios(t) // as the user's shell left it

		tm.Expect(t, "ctr$ ")
		if raw := tm.Termios(t); raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
			t.Errorf("user's terminal during run: lflag %#x, want raw (no ICANON, ECHO, ISIG)", raw.Lflag)
		}
		tm.Type("tty; stty size\r")
		tm.Expect(t, "/dev/pts/0")
		tm.Expect(t, "40 120")

		// A window change reaches the container's foreground process group.
		tm.Type(`sh -c 'trap "stty size; exit 0" WINCH; echo ar""med; while :; do sleep 0.05; done'` + "\r")
		tm.Expect(t, "armed")
		tm.Resize(t, 50, 132)
		tm.Expect(t, "50 132")
		tm.Expect(t, "ctr$ ")

		tm.CtrlC(t, "ctr$ ")

		// Ctrl-Z stops the foreground job; fg resumes it (its CONT trap
		// says so) and Ctrl-C then ends it.
		tm.Type(`sh -c 'trap "echo co""nt" CONT; echo na""pping; while :; do sleep 0.05; done'` + "\r")
		tm.Expect(t, "napping")
		tm.Type("\x1a")
		tm.Expect(t, "Stopped")
		tm.Type("fg\r")
		tm.Expect(t, "cont")
		tm.Type("\x03")
		tm.Expect(t, "ctr$ ")
		tm.Type("echo resumed=$?\r")
		tm.Expect(t, "resumed=130")

		tm.Type("exit 5\r")
		if code := tm.Wait(t); code != 5 {
			t.Errorf("urun run exit status %d, want 5; terminal:\n%q", code, tm.String())
		}
		if after := tm.Termios(t); after != before {
			t.Errorf("user's terminal not restored: before %+v, after %+v", before, after)
		}
		e.AssertClean()
	})
}

// TestRunTerminalBackground: urun run started in the background of a
// job-control shell says so instead of stopping on SIGTTOU, and leaves
// nothing.
func TestRunTerminalBackground(t *testing.T) {
	e := NewEnv(t, Sub, "true")
	e.Spec.Process.Terminal = true
	e.WriteSpec()
	inner := e.Command("run", "b1")
	cmd := e.Command()
	cmd.Path, cmd.Args = "/bin/sh", []string{"sh", "-m", "-c", `"$@" & wait $!; echo "bg-exit=$?"`, "sh"}
	cmd.Args = append(cmd.Args, inner.Args...)
	tm := termtest.Start(t, cmd, 24, 80)
	tm.Expect(t, "in the background of its terminal")
	tm.Expect(t, "bg-exit=1")
	tm.Wait(t)
	e.AssertClean()
}
