package scaffold

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"urun/internal/rawfork"
)

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
// placeholder (hookFailed + text for a startContainer hook), or, from the
// in-process executor's raw child, heldMark followed by a rawfork.Report.
const (
	MapByte    byte = 'm'
	CommitByte byte = 'c'
	StartByte  byte = 'g'
	// ReadyByte: the in-process executor's create child has closed what
	// is not its own and given up the parent's heap pages; it waits for
	// CommitByte (sent on its error pipe, which it then closes).
	ReadyByte byte = 'r'
	// heldMark starts the raw child's report; no text starts with NUL.
	heldMark byte = 0
)

// Go sends the start byte on conn and waits for the exec: a clean EOF means
// execve succeeded; anything else is the container process's error.
func Go(conn io.ReadWriter) error {
	if _, err := conn.Write([]byte{StartByte}); err != nil {
		return fmt.Errorf("release container process: %w", err)
	}
	return execResult(conn)
}

// execResult reads a released process's answer until EOF (see above).
func execResult(r io.Reader) error {
	msg, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("release container process: %w", err)
	}
	var rep rawfork.Report
	if len(msg) == 1+len(rep) && msg[0] == heldMark {
		copy(rep[:], msg[1:])
		step, errno := rep.Decode()
		return fmt.Errorf("container process: %s: %w", holdSteps[step], errno)
	}
	if m, ok := strings.CutPrefix(string(msg), hookFailed); ok {
		return &HookError{Msg: m}
	}
	if len(msg) > 0 {
		return errors.New(string(msg))
	}
	return nil
}
