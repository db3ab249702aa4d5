// The messages and bytes between create (package spawn) and the container
// process, one place for both executors: spawn imports them, this package
// imports nothing of spawn.

package initproc

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/plan"
)

// Arg0 is argv[0] of the re-executed placeholder; main dispatches on it
// before any CLI parsing so the child starts cheap.
const Arg0 = "urun-init"

// Config is what the parent sends the placeholder over the sync socket,
// encoded by wire.go: a field added here is added there too (wire_test.go
// fails otherwise).
type Config struct {
	Plan      *plan.Plan // built and checked by create
	Rootfs    string
	BundleDir string
	GIDs      []specs.LinuxIDMapping
	Setgroups bool
	Park      bool // wait for `start` on ListenFD
	ListenFD  int  // -1 in run mode
	FirstFD   int  // fds from here on are not the container's
	// ActivationFDs > 0: set LISTEN_FDS and LISTEN_PID for the container.
	ActivationFDs int
	// HookState is the state createContainer and startContainer hooks get
	// (the placeholder adds its pid); only when the config has hooks.
	HookState *specs.State
	// Terminal: a console socket follows the message (SCM_RIGHTS); the
	// placeholder sends the container's pty master over it.
	Terminal bool
	console  *os.File // the received console socket
}

// Reply is the placeholder's answer once set up (or failed).
type Reply struct {
	Error string
	Notes []string // debug lines for the parent's log
	// RuntimeHooks: not the last reply; the placeholder is mounted and waits
	// for the parent to run the prestart and createRuntime hooks (hooks.go)
	// and send HooksDoneByte.
	RuntimeHooks bool
}

// WriteMsg sends m as one message: the length of its encoding (4 bytes,
// big endian), then the encoding (wire.go).
func WriteMsg(w io.Writer, m Msg) error {
	e := encoder{b: make([]byte, 4, 512)}
	m.encode(&e)
	binary.BigEndian.PutUint32(e.b, uint32(len(e.b)-4))
	_, err := w.Write(e.b)
	return err
}

// ReadMsg reads one message WriteMsg sent into m.
func ReadMsg(r io.Reader, m Msg) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 64<<20 {
		return fmt.Errorf("message too large (%d bytes)", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return err
	}
	d := decoder{b: data}
	m.decode(&d)
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes past the message's end", len(d.b))
	}
	return d.err
}

// The bytes of the create/start protocol, one place for both executors.
//
// The sync channel (create ↔ its container process, before the commit):
// MapByte (two-process, after the config: the maps are written, set up),
// CommitByte (the state and pid file are written: wait for start; EOF
// instead means create died, and the process exits).
//
// The start socket (start.sock; `urun start` ↔ the parked process, and run
// ↔ its held process on the sync channel): the releaser writes StartByte
// and reads until EOF. A clean EOF means execve succeeded (the process's
// end is close-on-exec); anything else is the failure: text from the Go
// placeholder (HookFailed + text for a startContainer hook), or, from the
// in-process executor's raw child, HeldMark followed by a rawfork.Report.
//
// Hooks (two-process, a config with prestart or createRuntime hooks): the
// placeholder sends a Reply with RuntimeHooks and waits for HooksDoneByte.
const (
	MapByte    byte = 'm'
	CommitByte byte = 'c'
	StartByte  byte = 'g'
	// ReadyByte: the in-process executor's create child has closed what
	// is not its own and given up the parent's heap pages; it waits for
	// CommitByte (sent on its error pipe, which it then closes).
	ReadyByte byte = 'r'
	// HeldMark starts the raw child's report; no text starts with NUL.
	HeldMark byte = 0
	// HooksDoneByte: urun has run the prestart and createRuntime hooks.
	HooksDoneByte byte = 'h'
)

// StartReadTimeout bounds how long a parked container process waits for
// the start byte on an accepted connection before closing it and taking
// the next one: urun start writes it as soon as it is connected, and a
// client that connects and says nothing must not hold start (and, behind
// start's lock, state and delete) forever.
var StartReadTimeout = unix.Timeval{Sec: 1}
