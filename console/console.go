// Package console gives a container process a pseudo-terminal the way runc
// does, and relays one to urun's own terminal.
//
// The protocol (runc's, which conmon, containerd and buildah speak): the
// runtime connects to the caller's AF_UNIX socket (--console-socket); the
// process that will exec the container's command, already inside the
// container, opens a pty on the container's own devpts (/dev/ptmx), makes
// the slave its controlling terminal and fds 0, 1 and 2, and sends the
// master over the socket with SCM_RIGHTS (one fd, its name as the data
// bytes). The runtime keeps no copy: whoever received it owns the terminal.
//
// In the container process: Setup. Between processes: SendFd, RecvFd. On
// the user's side (`urun run` from a terminal): StartRelay.
package console

import (
	"errors"
	"fmt"
	"os"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Options shape the terminal Setup makes.
type Options struct {
	// Size is process.consoleSize; nil leaves the kernel's 0x0 (the
	// receiver usually sets its own).
	Size *specs.Box
	// UID owns the slave (process.user.uid), so the command can reopen
	// and chmod its terminal; the group stays the devpts one (gid=5, tty,
	// when mounted so).
	UID uint32
	// Console also binds the slave onto /dev/console when /dev exists
	// (the container's first process; not for exec).
	Console bool
}

// Setup runs in the process about to exec the container's command, inside
// the container's root (after pivot_root, so /dev/ptmx is the container's
// devpts) and while it still has CAP_SYS_ADMIN in its user namespace when
// o.Console is set. It opens a pty, sizes it, gives the slave to o.UID,
// makes the slave the controlling terminal (after setsid, unless the
// process already leads a session) and fds 0, 1 and 2, then sends the
// master over sock and closes its own copy.
func Setup(sock *os.File, o Options) error {
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("open pty on the container's /dev/ptmx: %w", err)
	}
	defer master.Close()
	defer slave.Close()
	name := slave.Name()
	if o.Size != nil {
		ws := &pty.Winsize{Rows: uint16(o.Size.Height), Cols: uint16(o.Size.Width)}
		if err := pty.Setsize(master, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	// Fd() puts the slave back in blocking mode (os.OpenFile made it
	// non-blocking): the command's stdio expects it. SendFd does the same
	// for the master, which conmon expects too.
	sfd := int(slave.Fd())
	if err := unix.Fchown(sfd, int(o.UID), -1); err != nil {
		return fmt.Errorf("chown %s to uid %d: %w", name, o.UID, err)
	}
	if o.Console {
		if err := bindConsole(name); err != nil {
			return err
		}
	}
	if sid, _ := unix.Getsid(0); sid != unix.Getpid() {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
	}
	if err := unix.IoctlSetInt(sfd, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make %s the controlling terminal: %w", name, err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(sfd, fd, 0); err != nil {
			return fmt.Errorf("dup %s onto fd %d: %w", name, fd, err)
		}
	}
	if err := SendFd(sock, master); err != nil {
		return fmt.Errorf("send the pty master: %w", err)
	}
	return nil
}

// bindConsole binds the slave onto /dev/console, creating the file, when
// the container has a /dev. A symlink there is refused rather than followed.
func bindConsole(slave string) error {
	if _, err := os.Stat("/dev"); err != nil {
		return nil
	}
	st, err := os.Lstat("/dev/console")
	switch {
	case errors.Is(err, os.ErrNotExist):
		f, err := os.OpenFile("/dev/console", os.O_CREATE|os.O_EXCL|os.O_RDONLY|unix.O_NOFOLLOW, 0o600)
		if errors.Is(err, unix.EROFS) {
			return nil // a read-only /dev without one: nothing to bind onto
		}
		if err != nil {
			return fmt.Errorf("create /dev/console: %w", err)
		}
		f.Close()
	case err != nil:
		return fmt.Errorf("/dev/console: %w", err)
	case st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("/dev/console is a symlink; refusing to bind the terminal through it")
	}
	if err := unix.Mount(slave, "/dev/console", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s onto /dev/console: %w", slave, err)
	}
	return nil
}

// SendFd sends f over the unix socket sock with SCM_RIGHTS, f's name as
// the data bytes (runc's utils.SendFd; conmon needs at least one byte).
func SendFd(sock, f *os.File) error {
	name := f.Name()
	if name == "" {
		name = "fd"
	}
	rights := unix.UnixRights(int(f.Fd()))
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), []byte(name), rights, nil, 0)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

// RecvFd receives one fd sent by SendFd (or runc) on sock. The file is
// close-on-exec and non-blocking, so a Read on it can be interrupted by
// Close; its name is the sender's.
func RecvFd(sock *os.File) (*os.File, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	}); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if n == 0 && oobn == 0 {
			return nil, errors.New("peer closed the socket without sending a file descriptor")
		}
		return nil, fmt.Errorf("expected one file descriptor, got %d", len(fds))
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
