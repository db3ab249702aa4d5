package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestLogFlags: a parse error finds the log flags in every spelling.
func TestLogFlags(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		file, format string
	}{
		{[]string{"--root", "/r", "--log", "/l.json", "--log-format", "json", "exec", "x"}, "/l.json", "json"},
		{[]string{"--log=/l", "--log-format=json", "bogus"}, "/l", "json"},
		{[]string{"--log", "/l", "--log-format", "xml", "state"}, "/l", "text"},
		{[]string{"state", "--log", "/l"}, "/l", "text"},
		{[]string{"--", "--log", "/l"}, "", "text"},
		{[]string{"--log"}, "", "text"},
	} {
		if f, fm := logFlags(tc.args); f != tc.file || fm != tc.format {
			t.Errorf("%v: %q %q, want %q %q", tc.args, f, fm, tc.file, tc.format)
		}
	}
}

// TestPsArgs: the words after the ID go to ps(1), as runc passes them.
func TestPsArgs(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		format string
		psArgs []string
	}{
		{[]string{"ps", "c1"}, "table", nil},
		{[]string{"ps", "--format", "json", "c1"}, "json", nil},
		{[]string{"ps", "-f", "json", "c1"}, "json", nil},
		{[]string{"ps", "c1", "-f"}, "table", []string{"-f"}}, // ps's -f, not --format
		{[]string{"ps", "c1", "-o", "pid,args"}, "table", []string{"-o", "pid,args"}},
		{[]string{"ps", "c1", "--", "-e"}, "table", []string{"--", "-e"}}, // ps() drops the --
	} {
		var c cli
		p, err := newParser(&c, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(tc.args); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if c.Ps.ID != "c1" || c.Ps.Format != tc.format || !reflect.DeepEqual(c.Ps.PsArgs, tc.psArgs) {
			t.Errorf("%v: %+v, want ID c1, format %s, ps args %q", tc.args, c.Ps, tc.format, tc.psArgs)
		}
	}
}

func TestFilterPs(t *testing.T) {
	table := "UID          PID    PPID  C STIME TTY          TIME CMD\n" +
		"root           1       0  0 06:00 ?        00:00:00 /sbin/init\n" +
		"root          42       1  0 06:00 ?        00:00:00 sleep 100\n" +
		"root         420       1  0 06:00 ?        00:00:00 sh -c 42\n"
	got, err := filterPs([]byte(table), []int{42, 7})
	want := "UID          PID    PPID  C STIME TTY          TIME CMD\n" +
		"root          42       1  0 06:00 ?        00:00:00 sleep 100\n"
	if err != nil || string(got) != want {
		t.Errorf("filterPs: %q, %v; want %q", got, err, want)
	}
	if _, err := filterPs([]byte("USER CMD\nroot init\n"), []int{1}); err == nil || !strings.Contains(err.Error(), "no PID column") {
		t.Errorf("no PID column: error %v", err)
	}
}

// TestRefusedVerbs: each takes runc's flags and refuses with its reason,
// naming the container when the last word is one.
func TestRefusedVerbs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", "c1"}, "urun pause c1: not supported: freezing"},
		{[]string{"resume", "c1"}, "urun resume c1: not supported:"},
		{[]string{"update", "--memory", "1G", "-r", "-", "c1"}, "urun update c1: not supported: changing a container's resource limits"},
		{[]string{"update", "--memory=1G", "c1"}, "urun update c1: not supported:"},
		{[]string{"checkpoint", "--image-path", "/i", "--leave-running", "c1"}, "urun checkpoint c1: not supported: checkpointing needs CRIU"},
		{[]string{"restore", "--bundle", "/b", "c1"}, "urun restore c1: not supported: restoring a checkpoint needs CRIU"},
		{[]string{"events", "--stats", "c1"}, "urun events c1: not supported: events and resource statistics"},
		{[]string{"--log", "/dev/null", "events"}, "urun events: not supported:"},
	} {
		var c cli
		p, err := newParser(&c, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := p.Parse(tc.args)
		if err != nil {
			t.Errorf("%v: parse: %v", tc.args, err)
			continue
		}
		if err := ctx.Run(&c.Globals); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error starting %q", tc.args, err, tc.want)
		}
	}
}
