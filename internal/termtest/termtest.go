// Package termtest drives a program on a pseudo-terminal the way a person
// at a terminal would: type keys, read the screen, resize the window. The
// integration tests (tests/) and the end-to-end tests (e2e/) share it.
package termtest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Timeout bounds every wait; it only decides when a test has failed.
const Timeout = 20 * time.Second

// Screen collects everything read from f.
type Screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{} // signalled on every read
	at   int           // where the next Expect starts looking
}

// Watch reads f until it fails, into a Screen.
func Watch(f *os.File) *Screen {
	s := &Screen{more: make(chan struct{}, 1)}
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

// String is everything shown so far.
func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Expect waits until want appears after the previous Expect's match.
// What is typed is echoed: a marker the test waits for must be spelled so
// that only the program's output shows it (echo a""b prints ab).
func (s *Screen) Expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		if i := strings.Index(s.String()[s.at:], want); i >= 0 {
			s.at += i + len(want)
			return
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("terminal never showed %q; after the last match it shows:\n%q", want, s.String()[s.at:])
		}
	}
}

// Term is a program running on a pseudo-terminal owned by the test.
type Term struct {
	*Screen
	Master, Slave *os.File
	Cmd           *exec.Cmd
	done          chan struct{}
}

// Start runs cmd with a new pty of rows x cols as its controlling
// terminal and stdio, in a new session (as a login shell would have it).
func Start(t *testing.T, cmd *exec.Cmd, rows, cols uint16) *Term {
	t.Helper()
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	tm := &Term{Master: ptm, Slave: pts, Cmd: cmd, done: make(chan struct{})}
	tm.Resize(t, rows, cols)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	tm.Screen = Watch(ptm)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(tm.done) }()
	t.Cleanup(func() {
		if !tm.Exited() {
			cmd.Process.Kill()
			<-tm.done
		}
		ptm.Close()
		pts.Close()
	})
	return tm
}

// Type writes keys as if typed ("\r" is Enter, "\x03" Ctrl-C).
func (tm *Term) Type(keys string) { tm.Master.Write([]byte(keys)) }

// Resize changes the window size; the kernel sends SIGWINCH to the
// terminal's foreground process group.
func (tm *Term) Resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := pty.Setsize(tm.Master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
}

// Termios is the terminal's current mode, as the user's shell would see it.
func (tm *Term) Termios(t *testing.T) unix.Termios {
	t.Helper()
	tt, err := unix.IoctlGetTermios(int(tm.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return *tt
}

// Exited reports whether the program has exited.
func (tm *Term) Exited() bool {
	select {
	case <-tm.done:
		return true
	default:
		return false
	}
}

// Wait waits for the program to exit and returns its exit status.
func (tm *Term) Wait(t *testing.T) int {
	t.Helper()
	select {
	case <-tm.done:
	case <-time.After(Timeout):
		t.Fatalf("%s did not exit; terminal after the last match:\n%q", tm.Cmd.Path, tm.String()[tm.at:])
	}
	return tm.Cmd.ProcessState.ExitCode()
}

// CtrlC checks, at a shell prompt, that Ctrl-C ends the foreground
// command and not the shell: the command's status is 130 and the prompt
// comes back.
func (tm *Term) CtrlC(t *testing.T, prompt string) {
	t.Helper()
	tm.Type(`sh -c 'echo sl""eeping; exec sleep 100'` + "\r")
	tm.Expect(t, "sleeping")
	tm.Type("\x03")
	tm.Expect(t, prompt)
	tm.Type("echo status=$?\r")
	tm.Expect(t, "status=130")
}
