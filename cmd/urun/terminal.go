package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"urun/console"
	"urun/ulog"
)

// terminal is create's side of process.terminal: the socket the
// placeholder sends the container's pty master to. With --console-socket
// it is a connection to the caller's socket, and urun never sees the
// master; for `urun run` from a terminal it is one end of a socket pair
// whose other end receives the master for the relay (as runc run does).
type terminal struct {
	toContainer *os.File // passed to the placeholder; nil: no terminal
	fromRelay   *os.File // run's end of the pair; nil with --console-socket
}

// openTerminal applies runc's rules: --console-socket without
// process.terminal is ignored; process.terminal needs --console-socket,
// except for a foreground `urun run` (or exec, the verb) whose stdin is a
// terminal.
func openTerminal(o createOpts, p *specs.Process, verb string) (*terminal, error) {
	t := &terminal{}
	switch {
	case !p.Terminal:
		if o.consoleSocket != "" {
			ulog.L.Debug().Msgf("--console-socket %s ignored: process.terminal is false", o.consoleSocket)
		}
		return t, nil
	case o.consoleSocket != "":
		conn, err := dialConsole(o.consoleSocket)
		if err != nil {
			return nil, fmt.Errorf("--console-socket %s: %w", o.consoleSocket, err)
		}
		t.toContainer = conn
		return t, nil
	case o.park:
		return nil, fmt.Errorf("config.json: process.terminal is true but --console-socket was not given: create has nowhere to send the terminal (give --console-socket PATH, or set process.terminal to false)")
	case o.detach:
		return nil, fmt.Errorf("%s but --console-socket was not given: %s --detach has nowhere to send the terminal (give --console-socket PATH, or set process.terminal to false)", asked(verb), verb)
	case !term.IsTerminal(int(os.Stdin.Fd())):
		return nil, fmt.Errorf("%s but urun %s's standard input is not a terminal (run it from a terminal, give --console-socket PATH, or set process.terminal to false)", asked(verb), verb)
	case !foreground():
		// Raw mode from the background would only bring SIGTTOU.
		return nil, fmt.Errorf("%s but urun %s is in the background of its terminal (run it in the foreground, or give --console-socket PATH)", asked(verb), verb)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket pair: %w", err)
	}
	t.fromRelay = os.NewFile(uintptr(fds[0]), "console-relay")
	t.toContainer = os.NewFile(uintptr(fds[1]), "console-container")
	return t, nil
}

// foreground reports whether urun's process group owns its terminal.
func foreground() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err != nil || pgrp == unix.Getpgrp()
}

// asked says where the terminal was asked for.
func asked(verb string) string {
	if verb == "exec" {
		return "--tty (process.terminal) is set"
	}
	return "config.json: process.terminal is true"
}

// master receives the pty master for the relay, once the placeholder has
// reported its set-up done (it sent the master before that report).
func (t *terminal) master() (*os.File, error) {
	if t.fromRelay == nil {
		return nil, nil
	}
	m, err := console.RecvFd(t.fromRelay)
	if err != nil {
		return nil, fmt.Errorf("receive the container's pty master: %w", err)
	}
	return m, nil
}

// close drops urun's ends once the placeholder has its own copy (Send).
func (t *terminal) close() {
	if t.toContainer != nil {
		t.toContainer.Close()
	}
	if t.fromRelay != nil {
		t.fromRelay.Close()
	}
}

// dialConsole connects to the caller's console socket. A path too long
// for sun_path is reached through its directory's /proc/self/fd entry.
func dialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	name := path
	if len(path) >= 100 {
		dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		defer dir.Close()
		name = fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path))
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// drainWait bounds how long run relays the container's last output after
// its command exited: the pty reports the end once no process holds it,
// which a process outside the container's descent (left alone) could delay.
const drainWait = 2 * time.Second
