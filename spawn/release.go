// Releasing a created container: start's side of the start socket, run's of
// its held process (the bytes are initproc's, protocol.go).

package spawn

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"urun/initproc"
	"urun/internal/rawfork"
)

// Go sends the start byte on conn and waits for the exec: a clean EOF means
// execve succeeded; anything else is the container process's error.
func Go(conn io.ReadWriter) error {
	if _, err := conn.Write([]byte{initproc.StartByte}); err != nil {
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
	// The in-process executor's held child: HeldMark, the exec'd path
	// (exec failures only), then its report.
	var rep rawfork.Report
	if len(msg) >= 1+len(rep) && msg[0] == initproc.HeldMark {
		path := string(msg[1 : len(msg)-len(rep)])
		copy(rep[:], msg[len(msg)-len(rep):])
		step, errno := rep.Decode()
		if step == holdExec {
			// As the two-process placeholder says it (initproc, its exec step).
			return fmt.Errorf("exec %s: %w", path, errno)
		}
		return fmt.Errorf("container process: %s: %w", holdSteps[step], errno)
	}
	if m, ok := strings.CutPrefix(string(msg), initproc.HookFailed); ok {
		return &HookError{Msg: m}
	}
	if len(msg) > 0 {
		return errors.New(string(msg))
	}
	return nil
}
