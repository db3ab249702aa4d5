package ulog

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// TraceEnv turns on Trace; bench/README.md shows how to read its output.
const TraceEnv = "URUN_TRACE"

var traceOn = os.Getenv(TraceEnv) != ""

// TraceOn reports whether URUN_TRACE is set (the placeholder inherits it).
func TraceOn() bool { return traceOn }

// Trace writes "urun-trace <monotonic ms> <pid> <step>" to stderr when
// URUN_TRACE is set: a timeline of one lifecycle across the CLI and the
// placeholder, on one clock, to see where the milliseconds go. It costs one
// branch when off.
func Trace(step string) {
	if !traceOn {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	ms := float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
	os.Stderr.WriteString("urun-trace " + strconv.FormatFloat(ms, 'f', 3, 64) + " " + strconv.Itoa(os.Getpid()) + " " + step + "\n")
}
