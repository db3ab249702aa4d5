package failure

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestMessages(t *testing.T) {
	pe := &os.PathError{Op: "open", Path: "/x/y", Err: syscall.EACCES}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{Path("/proc", syscall.EPERM), "/proc: operation not permitted"},
		{Path("/x/y", pe), "/x/y: permission denied"},
		{Step("mounts[0] /proc", Path("/proc", syscall.EPERM)), "mounts[0] /proc: /proc: operation not permitted"},
		{Op("create", "web1", Step("mounts[0] /proc", Path("/proc", syscall.EPERM))), "urun create web1: mounts[0] /proc: /proc: operation not permitted"},
		{Step("process.cwd", errors.New("process.cwd: /x: no such file or directory")), "process.cwd: /x: no such file or directory"},
		{Op("start", "", errors.New("boom")), "urun start: boom"},
		{Op("kill", "a", fmt.Errorf("signal: %w", Path("/p", syscall.ESRCH))), "urun kill a: signal: /p: no such process"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// The cause stays reachable, and Op fills in one Error instead of nesting.
func TestOneLayer(t *testing.T) {
	err := Op("create", "c1", Step("pivot-root", Path("/r", syscall.EINVAL)))
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("%v: errno not reachable", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "create" || e.ID != "c1" || e.Step != "pivot-root" || e.Path != "/r" {
		t.Fatalf("fields: %+v", e)
	}
	if StepOf(err) != "pivot-root" {
		t.Errorf("StepOf = %q", StepOf(err))
	}
	if Op("x", "y", nil) != nil || Step("s", nil) != nil || Path("p", nil) != nil {
		t.Error("nil must stay nil")
	}
	// A step already named is kept: the innermost step is the one that failed.
	if got := StepOf(Step("outer", Step("inner", syscall.EIO))); got != "inner" {
		t.Errorf("StepOf = %q, want inner", got)
	}
}
