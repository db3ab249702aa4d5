package main

import (
	"strings"
	"testing"
)

// TestGlobals: the runc globals callers pass parse, in every spelling.
func TestGlobals(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		rootless string
		err      string
	}{
		{[]string{"--rootless", "state", "x"}, "true", ""},
		{[]string{"--rootless=false", "state", "x"}, "false", ""},
		{[]string{"--rootless", "auto", "state", "x"}, "auto", ""},
		{[]string{"--rootless", "true", "--systemd-cgroup", "--criu", "/usr/sbin/criu", "state", "x"}, "true", ""},
		{[]string{"--log-format", "json", "--log", "/dev/null", "--debug", "state", "x"}, "", ""},
		{[]string{"--rootless=maybe", "state", "x"}, "", `--rootless: "maybe" is not true, false or auto`},
		{[]string{"--log-format", "xml", "state", "x"}, "", "--log-format"},
	} {
		var c cli
		p, err := newParser(&c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Parse(tc.args)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.err)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case string(c.Rootless) != tc.rootless:
			t.Errorf("%v: --rootless = %q, want %q", tc.args, c.Rootless, tc.rootless)
		case c.State.ID != "x":
			t.Errorf("%v: state ID %q, want x", tc.args, c.State.ID)
		}
	}
}
