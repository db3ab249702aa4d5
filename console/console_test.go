package console

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// SendFd and RecvFd carry an fd with its name, as runc's protocol does.
func TestSendRecvFd(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := SendFd(a, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := RecvFd(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "|1" {
		t.Errorf("name %q, want the sender's %q", got.Name(), "|1")
	}
	got.Write([]byte("through"))
	got.Close()
	if data, _ := io.ReadAll(r); string(data) != "through" {
		t.Errorf("read %q through the received fd", data)
	}
	a.Close()
	if _, err := RecvFd(b); err == nil {
		t.Errorf("RecvFd on a closed peer: no error")
	}
}

// The relay makes the user's terminal raw, copies both ways, passes the
// window size on, and restores the terminal.
func TestRelay(t *testing.T) {
	userM, userS, err := pty.Open() // the user's terminal
	if err != nil {
		t.Fatal(err)
	}
	defer userM.Close()
	defer userS.Close()
	ctrM, ctrS, err := pty.Open() // the container's
	if err != nil {
		t.Fatal(err)
	}
	defer ctrS.Close()
	before, _ := unix.IoctlGetTermios(int(userS.Fd()), unix.TCGETS)
	pty.Setsize(userM, &pty.Winsize{Rows: 12, Cols: 34})
	r, err := StartRelay(ctrM, userS, userS)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := unix.IoctlGetTermios(int(userS.Fd()), unix.TCGETS); raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("user's terminal not raw: lflag %#x", raw.Lflag)
	}
	if ws, _ := pty.GetsizeFull(ctrS); ws.Rows != 12 || ws.Cols != 34 {
		t.Errorf("container's size %dx%d, want 12x34", ws.Rows, ws.Cols)
	}
	pty.Setsize(userM, &pty.Winsize{Rows: 56, Cols: 78})
	if err := r.Resize(); err != nil {
		t.Fatal(err)
	}
	if ws, _ := pty.GetsizeFull(ctrS); ws.Rows != 56 || ws.Cols != 78 {
		t.Errorf("after Resize: container's size %dx%d, want 56x78", ws.Rows, ws.Cols)
	}
	userM.Write([]byte("k\n"))
	buf := make([]byte, 16)
	if n, _ := ctrS.Read(buf); string(buf[:n]) != "k\n" {
		t.Errorf("container read %q, want the typed key", buf[:n])
	}
	ctrS.Write([]byte("out"))
	ctrS.Close()               // the container is gone: the relay drains and stops
	got := make([]byte, 0, 16) // the container's echo of "k", then "out"
	for !strings.HasSuffix(string(got), "out") {
		n, err := userM.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "k\r\nout" {
		t.Errorf("user saw %q, want %q", got, "k\r\nout")
	}
	r.Close(5 * time.Second) // the slave is closed: the drain ends at EIO
	if after, _ := unix.IoctlGetTermios(int(userS.Fd()), unix.TCGETS); *after != *before {
		t.Errorf("user's terminal not restored")
	}
}
