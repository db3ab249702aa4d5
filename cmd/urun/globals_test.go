package main

import (
	"reflect"
	"strings"
	"testing"

	"urun/config"
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
		p, err := newParser(&c, tc.args)
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

// TestOneVerbModel: registering only the verb verbIn finds parses every
// command line exactly as the full model does.
func TestOneVerbModel(t *testing.T) {
	for _, args := range [][]string{
		{"create", "--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "--no-new-keyring", "--preserve-fds", "2", "c1"},
		{"--root", "/r", "--log", "/l", "--log-format", "json", "start", "c1"},
		{"--root=/r", "--rootless", "true", "state", "c1"},
		{"--rootless", "kill", "--all", "c1", "KILL"},
		{"--criu", "/usr/sbin/criu", "--systemd-cgroup", "delete", "--force", "c1"},
		{"--debug", "run", "--bundle", "/b", "--detach", "--keep", "c1"},
		{"list", "--format", "json", "--quiet"},
		{"spec", "--rootless", "--bundle", "/b"},
		{"features"},
		{"ps", "-f", "json", "c1", "-o", "pid"},
		{"--log", "run", "state", "c1"}, // "run" is --log's value
	} {
		only := verbIn(args)
		if only == "" {
			t.Errorf("%v: no verb found", args)
			continue
		}
		var one, all cli
		p1, err := newParser(&one, args)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := buildParser(&all, "")
		if err != nil {
			t.Fatal(err)
		}
		ctx1, err1 := p1.Parse(args)
		ctx2, err2 := p2.Parse(args)
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("%v: one-verb error %v, full-model error %v", args, err1, err2)
			continue
		}
		if err1 == nil && ctx1.Selected().Name != ctx2.Selected().Name {
			t.Errorf("%v: selected %q vs %q", args, ctx1.Selected().Name, ctx2.Selected().Name)
		}
		// The full model also fills in the defaults of the verbs not
		// called; compare what the called verb sees.
		if !reflect.DeepEqual(one.Globals, all.Globals) {
			t.Errorf("%v: globals %+v vs %+v", args, one.Globals, all.Globals)
		}
		for _, v := range verbs {
			if v.name == only && !reflect.DeepEqual(v.target(&one), v.target(&all)) {
				t.Errorf("%v: one-verb parse %+v, full-model parse %+v", args, v.target(&one), v.target(&all))
			}
		}
	}
	for _, args := range [][]string{{}, {"--help"}, {"crate", "x"}, {"--", "run"}, {"--root", "/r"}} {
		if v := verbIn(args); v != "" {
			t.Errorf("%v: verb %q, want none (full model)", args, v)
		}
	}
}

// TestVerbsInOperations: every verb urun has, refused ones included, has
// its row in config.Operations, and so in unsupported.md and `urun
// features` (the refused verbs used to be a second table, missing from
// unsupported.md).
func TestVerbsInOperations(t *testing.T) {
	rows := map[string]bool{}
	for _, o := range config.Operations {
		rows[o.Name] = true
	}
	doc := string(config.Markdown())
	for _, v := range verbs {
		if !rows[v.name] {
			t.Errorf("verb %q has no row in config.Operations", v.name)
		}
		if !strings.Contains(doc, "| `urun "+v.name+"` |") {
			t.Errorf("verb %q is not in unsupported.md's operations table", v.name)
		}
	}
}

// launchArgs turns launch's own --root into --as-root, never one in the
// command (it did without --: `urun launch IMG echo --root` echoed
// --as-root), nor a value or a global flag before the verb.
func TestLaunchArgs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"launch --root img -- id --root", "launch --as-root img -- id --root"},
		{"launch img echo hi --root", "launch img echo hi --root"},
		{"launch --root img echo --root", "launch --as-root img echo --root"},
		{"launch -e X=1 --bind /a --root img cmd --root", "launch -e X=1 --bind /a --as-root img cmd --root"},
		{"--root /s launch img --root cmd", "--root /s launch img --as-root cmd"},
		{"--root /s run --root x", "--root /s run --root x"},
	} {
		if got := strings.Join(launchArgs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("launchArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
