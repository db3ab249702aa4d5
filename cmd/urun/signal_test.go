package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		err  string
	}{
		{"TERM", unix.SIGTERM, ""},
		{"SIGTERM", unix.SIGTERM, ""},
		{"term", unix.SIGTERM, ""},
		{"sigterm", unix.SIGTERM, ""},
		{"SigKill", unix.SIGKILL, ""},
		{"KILL", unix.SIGKILL, ""},
		{"HUP", unix.SIGHUP, ""},
		{"USR1", unix.SIGUSR1, ""},
		{"CHLD", unix.SIGCHLD, ""},
		{"9", unix.SIGKILL, ""},
		{"15", unix.SIGTERM, ""},
		{"+9", unix.SIGKILL, ""},
		{"1", unix.SIGHUP, ""},
		{"34", unix.Signal(34), ""}, // SIGRTMIN, by number
		{"64", unix.Signal(64), ""}, // SIGRTMAX
		{"0", 0, `signal "0": out of range 1-64`},
		{"65", 0, `signal "65": out of range 1-64`},
		{"-9", 0, `signal "-9": out of range 1-64`},
		{"", 0, `signal "": unknown signal name`},
		{"NOPE", 0, `signal "NOPE": unknown signal name`},
		{"SIG", 0, `signal "SIG": unknown signal name`},
		{" TERM", 0, `signal " TERM": unknown signal name`},
		{"SIGSIGTERM", 0, `signal "SIGSIGTERM": unknown signal name`},
		{"9x", 0, `signal "9x": unknown signal name`},
		// Real-time signals by name are not supported (unix.SignalNum
		// knows only the classic names); by number they are.
		{"SIGRTMIN+1", 0, `signal "SIGRTMIN+1": unknown signal name`},
		{"RTMIN", 0, `signal "RTMIN": unknown signal name`},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("parseSignal(%q) = %d, %q; want %d, %q", tt.in, got, gotErr, tt.want, tt.err)
		}
	}
}

// run forwards what runc forwards: every catchable signal but its own.
func TestForwardedSignals(t *testing.T) {
	set := map[unix.Signal]bool{}
	for _, s := range append(append([]os.Signal{}, forwarded...), forwardedRest...) {
		if set[s.(unix.Signal)] {
			t.Errorf("%v listed twice", s)
		}
		set[s.(unix.Signal)] = true
	}
	for _, s := range []unix.Signal{unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE, 32, 33} {
		if set[s] {
			t.Errorf("%v must not be forwarded", s)
		}
	}
	for _, s := range []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGWINCH, unix.SIGTSTP, unix.SIGCONT, unix.SIGALRM, 34, 64} {
		if !set[s] {
			t.Errorf("%v is not forwarded", s)
		}
	}
	if len(set) != 64-7 {
		t.Errorf("%d signals forwarded, want %d", len(set), 64-7)
	}
}
