package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"urun/enter"
	"urun/initproc"
)

// kongParse is the reference: what kong makes of args.
func kongParse(t *testing.T, args []string) (cli, string) {
	t.Helper()
	var c cli
	p, err := newParser(&c, args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("kong refuses %q: %v", args, err)
	}
	return c, ctx.Selected().Name
}

// TestFastParseEqualsKong: for the command lines buildah, podman/conmon,
// containerd's shim and people send (the forms in clients/ and the notes
// on buildah and podman), the fast path fills exactly what kong fills,
// defaults included, and selects the same verb.
func TestFastParseEqualsKong(t *testing.T) {
	// Relative paths are made absolute against the working directory.
	dir := t.TempDir()
	t.Chdir(dir)
	b := "/var/tmp/buildah123"
	for _, line := range []string{
		// buildah
		"create --bundle " + b + " --pid-file " + b + "/pid --no-new-keyring buildah-buildah123",
		"create --bundle " + b + " --pid-file " + b + "/pid --no-new-keyring --console-socket " + b + "/console.sock buildah-buildah123",
		"--systemd-cgroup create --bundle " + b + " --pid-file " + b + "/pid --no-new-keyring c1",
		"start buildah-buildah123",
		"state buildah-buildah123",
		"kill buildah-buildah123 SIGKILL",
		"delete buildah-buildah123",
		"--root /r --log /l --log-format json create --bundle /b --pid-file /p c1",
		"--root /r --log /l --log-format json delete c1",
		// podman / conmon
		"--root /run/user/1000/urun --log-format=json --log=/x/ctr.log --systemd-cgroup create --bundle /b --pid-file /b/pidfile --no-pivot c1",
		"--root=/r --log-format=json --log=/l --systemd-cgroup create --bundle /b --pid-file /p --console-socket /tmp/conmon-term.ab12 c1",
		"--root=/r --log-format=json --log=/l --systemd-cgroup start c1",
		"--root=/r --log-format=json --log=/l state c1",
		"--root=/r --log-format=json --log=/l kill c1 15",
		"--root=/r --log-format=json --log=/l kill c1 9",
		"--root=/r --log-format=json --log=/l delete --force c1",
		"--root=/r --log-format=json --log=/l exec --pid-file /x/exec_pid --process /x/exec-process-123 --detach c1",
		"--root=/r exec --pid-file /x/p --process /x/proc.json --detach --tty --console-socket /tmp/s c1",
		"exec --process=/x/proc.json -d -t --pid-file=/x/p c1",
		// containerd's shim
		"--root /run/containerd/runc/k8s.io --log /run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/log.json --log-format json create --bundle /run/containerd/io.containerd.runtime.v2.task/k8s.io/c1 --pid-file /run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/init.pid c1",
		"--root /r --log /l --log-format json --systemd-cgroup create --bundle /b --pid-file /p --console-socket /s --no-new-keyring c1",
		"--root /r --log /l --log-format json start c1",
		"--root /r --log /l --log-format json delete --force c1",
		"--root /r --log /l --log-format json delete c1",
		"--root /r --log /l --log-format json kill --all c1 9",
		"--root /r --log /l --log-format json kill c1 SIGTERM",
		"--root /r --log /l --log-format json state c1",
		// people, bench, tests
		"run c1",
		"run -b /b c1",
		"run -b rel/bundle --pid-file rel/pid c1",
		"run --bundle=/b --pid-file=/p c1",
		"run -b /b --console-socket /s --no-new-keyring --no-pivot c1",
		"--debug run --bundle /b c1",
		"--log-format text state c1",
		"--root rel state c1",
		"create c1",
		"create -b . --pid-file pid c1",
		"kill c1",
		"kill -a c1",
		"delete -f c1",
		"state bad/id", // the ID is checked by the verb, alike
	} {
		args := strings.Fields(line)
		want, wantVerb := kongParse(t, args)
		var got cli
		verb, run, ok := fastParse(args, &got)
		if !ok {
			t.Errorf("%q: the fast path defers, want it to parse", line)
			continue
		}
		if verb != wantVerb || run == nil {
			t.Errorf("%q: verb %q (run set: %v), kong selects %q", line, verb, run != nil, wantVerb)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\nfast %+v\nkong %+v", line, got, want)
		}
	}
}

// TestFastParseDefers: what the fast path does not fully recognise goes
// to kong (help, version, errors, other verbs and flags), so kong alone
// defines help text and error messages.
func TestFastParseDefers(t *testing.T) {
	for _, line := range []string{
		"", "--help", "-h", "--version", "-v", "help",
		"create --help", "state -h", "state",
		"state c1 c2", "start c1 c2", "kill c1 9 extra", "delete",
		"--root", "--root=", "--root= state c1", "--log-format xml state c1",
		"--log-format=yaml state c1", "--rootless state c1", "--rootless=true state c1",
		"--criu /usr/sbin/criu state c1", "--debug=true state c1",
		"--root /a --root /b state c1", "create --bundle /a --bundle /b c1",
		"create --bundle c1", "run -b /a --bundle /b c1", "delete -f --force c1", "create --bundle= c1", "create --bundle ~/b c1",
		"create --pid-file --bundle /b c1", "create --preserve-fds 2 c1", "create -b=/x c1", "run -b=/x c1", "exec -p=/p c1",
		"create --no-new-keyring=true c1", "run --detach c1", "run -d c1", "run --keep c1",
		"kill c1 -9", "kill --all=true c1", "delete --force=false c1", "-- state c1",
		"state -- c1", "exec c1 /bin/true", "exec --detach c1 sh -c true",
		"exec --process /p --cwd /x c1", "exec --process /p c1 extra",
		"list", "spec", "features", "ps c1", "launch img -- true", "pause c1", "update c1",
		"state c1 --root /r", "create -bB c1",
	} {
		args := strings.Fields(line)
		var c cli
		if verb, _, ok := fastParse(args, &c); ok {
			t.Errorf("%q: the fast path parses it (verb %q); it should defer to kong", line, verb)
		}
	}
}

// TestFastParseDefaults: kong's defaults, spelled out: --bundle is the
// working directory made absolute, --log-format text, kill's signal TERM.
func TestFastParseDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var c cli
	if _, _, ok := fastParse([]string{"create", "--pid-file", "p", "c1"}, &c); !ok {
		t.Fatal("create: deferred")
	}
	if c.Create.Bundle != wd || c.Create.PidFile != filepath.Join(wd, "p") || c.LogFormat != "text" {
		t.Errorf("create: bundle %q pid file %q log format %q; want %q, %q, text", c.Create.Bundle, c.Create.PidFile, c.LogFormat, wd, filepath.Join(wd, "p"))
	}
	c = cli{}
	if _, _, ok := fastParse([]string{"kill", "c1"}, &c); !ok || c.Kill.Signal != "TERM" {
		t.Errorf("kill c1: signal %q (parsed: %v), want TERM", c.Kill.Signal, ok)
	}
}

// TestFastParseRunsTheVerb: the Run the fast path returns is the selected
// verb's, bound to the fields it filled: its errors are kong's path's.
func TestFastParseRunsTheVerb(t *testing.T) {
	root := t.TempDir()
	for _, line := range []string{
		"state nope", "start nope", "kill nope KILL", "kill --all nope", "delete nope", "delete --force nope",
		"create --bundle /nonexistent --pid-file /nonexistent/p nope",
		"exec --process /nonexistent/p.json --detach nope",
	} {
		args := append([]string{"--root", root}, strings.Fields(line)...)
		var kc cli
		p, err := newParser(&kc, args)
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := p.Parse(args)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		wantErr := ctx.Run(&kc.Globals)
		var fc cli
		_, run, ok := fastParse(args, &fc)
		if !ok {
			t.Fatalf("%q: deferred", line)
		}
		gotErr := run(&fc.Globals)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%q: fast path's run: %v; kong's: %v", line, gotErr, wantErr)
		}
	}
}

// TestLockFree: only the CLI's state, start, kill and delete run without
// main locked to its thread; the placeholder, exec's child, the janitor
// and every other verb keep the lock.
func TestLockFree(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		free bool
	}{
		{[]string{"urun", "state", "c1"}, true},
		{[]string{"urun", "--root", "/r", "--log-format=json", "delete", "--force", "c1"}, true},
		{[]string{"urun", "start", "c1"}, true},
		{[]string{"urun", "kill", "c1", "9"}, true},
		{[]string{"urun", "run", "c1"}, false},
		{[]string{"urun", "create", "--bundle", "/b", "c1"}, false},
		{[]string{"urun", "exec", "--process", "/p", "c1"}, false},
		{[]string{"urun", "launch", "img", "--", "true"}, false},
		{[]string{"urun"}, false},
		{[]string{"urun", "--help"}, false},
		{[]string{initproc.Arg0, "state"}, false},
		{[]string{enter.Arg0, "state"}, false},
		{[]string{janitorArg0, "state", "k"}, false},
	} {
		if got := lockFree(tc.argv); got != tc.free {
			t.Errorf("lockFree(%q) = %v, want %v", tc.argv, got, tc.free)
		}
	}
}
