// Package ulog sets up urun's logger: human text on stderr, and, with
// --log FILE --log-format json, one JSON object a line with runc's keys
// (level, msg, time) so buildah and podman can read the last error.
package ulog

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// L is the process-wide logger. Until Setup runs it writes warnings and
// errors as text to stderr.
var L = zerolog.New(textWriter{os.Stderr}).Level(zerolog.WarnLevel)

func init() {
	zerolog.MessageFieldName = "msg"
	zerolog.TimeFieldFormat = time.RFC3339Nano
}

// Setup configures L. file may be empty (stderr only). format is "text" or
// "json" and applies to the file; stderr always gets text, because that is
// what a person reads.
func Setup(file, format string, debug bool) (io.Closer, error) {
	level := zerolog.InfoLevel
	if debug {
		level = zerolog.DebugLevel
	}
	var w io.Writer = textWriter{os.Stderr}
	var closer io.Closer = nopCloser{}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		closer = f
		var fw io.Writer = f
		if format != "json" {
			fw = textWriter{f}
		}
		// Errors still reach stderr when a log file is given: callers show
		// stderr to people and parse the file.
		w = zerolog.MultiLevelWriter(fw, levelFilter{textWriter{os.Stderr}, zerolog.ErrorLevel, debug})
	}
	L = zerolog.New(w).Level(level).With().Timestamp().Logger()
	return closer, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// levelFilter passes only events at or above min (or everything when all).
type levelFilter struct {
	w   io.Writer
	min zerolog.Level
	all bool
}

func (f levelFilter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f levelFilter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if f.all || l >= f.min {
		return f.w.Write(p)
	}
	return len(p), nil
}

// textWriter turns zerolog's JSON events into "urun: level: msg key=value"
// lines. It is far cheaper than zerolog.ConsoleWriter, which matters on a
// command run four times per build step.
type textWriter struct{ w io.Writer }

func (t textWriter) Write(p []byte) (int, error) {
	line := formatText(p)
	if _, err := t.w.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}
