// Package failure is urun's one error type: what failed (the verb and
// container, the set-up step, the path) around the cause, ideally a
// syscall.Errno, which errors.Is and errors.As still reach. Every layer
// adds the field it knows; Op fills in an existing Error rather than
// nesting a second one, so a message names each thing once:
//
//	urun create web1: mounts[0] /proc: /proc: permission denied
package failure

import (
	"errors"
	"os"
	"strings"
)

// Error is a failure and where it happened. Empty fields are left out.
type Error struct {
	Op   string // the verb: "create"
	ID   string // the container, as messages show it (see Op)
	Step string // the set-up step or config field: "mounts[0] /proc"
	Path string // the file the system call acted on
	Err  error  // the cause
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString("urun ")
		b.WriteString(e.Op)
		if e.ID != "" {
			b.WriteString(" ")
			b.WriteString(e.ID)
		}
		b.WriteString(": ")
	}
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	// Steps named after a config field mostly report with that field
	// first already (process.cwd: /x: …, hooks.prestart[1] …): say it once.
	if e.Step != "" && !strings.HasPrefix(msg, e.Step) {
		b.WriteString(e.Step)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Op says which verb failed on which container (id as messages show it:
// the caller quotes a malformed one). An Error without an Op gets these
// fields instead of a second layer; nil stays nil.
func Op(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e == err && e.Op == "" {
		c := *e
		c.Op, c.ID = op, id
		return &c
	}
	return &Error{Op: op, ID: id, Err: err}
}

// Step names the set-up step that failed (nil stays nil; an error that
// already names its step keeps it).
func Step(step string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Step != "" {
		return err
	}
	if errors.As(err, &e) && e == err {
		c := *e
		c.Step = step
		return &c
	}
	return &Error{Step: step, Err: err}
}

// Path is err about path, with path said once: an os.PathError's own copy
// of the path (and operation) is dropped. nil stays nil.
func Path(path string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Path: path, Err: Errno(err)}
}

// Errno drops an os.PathError's operation and path from err, for a caller
// that names the path itself.
func Errno(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// StepOf is the step an error names, "" if none.
func StepOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Step
	}
	return ""
}
