package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Relay joins the user's terminal to a container's pty master, as `runc
// run` does without --console-socket: the user's terminal is raw (the
// container's pty does the line editing and turns Ctrl-C into SIGINT for
// the container's foreground process group), keystrokes go to the master
// and the container's output comes back.
type Relay struct {
	in, out, master *os.File
	saved           *term.State
	drained         chan struct{} // the master hit EOF/EIO: every slave is closed
	once            sync.Once
}

// StartRelay puts in, a terminal, in raw mode, gives master its window
// size and copies in to master and master to out until Close. master
// should be pollable (RecvFd's is), so that Close ends its reader.
func StartRelay(master, in, out *os.File) (*Relay, error) {
	saved, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, fmt.Errorf("put %s in raw mode: %w", in.Name(), err)
	}
	r := &Relay{in: in, out: out, master: master, saved: saved, drained: make(chan struct{})}
	if err := r.Resize(); err != nil {
		r.Close(0)
		return nil, err
	}
	go func() {
		io.Copy(master, in) // ends with the process: a read on a tty cannot be interrupted
	}()
	go func() {
		_, err := io.Copy(out, master)
		if err != nil && !errors.Is(err, unix.EIO) && !errors.Is(err, os.ErrClosed) {
			fmt.Fprintf(os.Stderr, "\r\nurun: container terminal: %v\r\n", err)
		}
		close(r.drained)
	}()
	return r, nil
}

// Resize copies the user's window size to the container's terminal (call
// it on SIGWINCH); the kernel then sends SIGWINCH to the container's
// foreground process group.
func (r *Relay) Resize() error {
	if err := pty.InheritSize(r.in, r.master); err != nil {
		return fmt.Errorf("copy the window size of %s: %w", r.in.Name(), err)
	}
	return nil
}

// Close waits up to wait for the container's output to drain (the master
// reads EIO once the container's processes have all closed the slave),
// then restores the user's terminal and closes the master. Call it on
// every exit path; a second call does nothing.
func (r *Relay) Close(wait time.Duration) {
	r.once.Do(func() {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.drained:
			case <-t.C:
			}
			t.Stop()
		}
		term.Restore(int(r.in.Fd()), r.saved)
		r.master.Close()
	})
}
