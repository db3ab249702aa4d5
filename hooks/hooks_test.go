package hooks

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A failing hook's error quotes only the end of a long stderr, marked as
// cut, and names the kind, index, path and exit status.
func TestErrorQuotesStderrTail(t *testing.T) {
	script := `i=0; while [ $i -lt 100 ]; do echo "line $i of the hook's complaints"; i=$((i+1)); done >&2; echo "the last word" >&2; exit 7`
	list := []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/sh", Args: []string{"sh", "-c", script}}}
	err := Run(Poststop, list, specs.State{ID: "x"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `hooks.poststop[1] (/bin/sh): exit status 7; stderr: "...`) || !strings.HasSuffix(msg, `the last word"`) {
		t.Errorf("error %q", msg)
	}
	if n := len(msg); n > tailLen+200 {
		t.Errorf("error is %d bytes long: the whole stderr was quoted", n)
	}
}

// Warn reports each failure and runs the rest.
func TestWarnGoesOn(t *testing.T) {
	var got []string
	list := []specs.Hook{{Path: "/bin/false"}, {Path: "/nonexistent"}, {Path: "/bin/true"}, {Path: "/bin/false"}}
	Warn(Poststart, list, specs.State{}, func(err error) { got = append(got, err.Error()) })
	want := []string{"hooks.poststart[0] (/bin/false): exit status 1",
		"hooks.poststart[1] (/nonexistent): fork/exec /nonexistent: no such file or directory",
		"hooks.poststart[3] (/bin/false): exit status 1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
