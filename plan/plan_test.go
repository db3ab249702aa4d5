package plan

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func names(p *Plan) string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.Name)
	}
	return strings.Join(out, "; ")
}

func TestBuild(t *testing.T) {
	s := &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/w", NoNewPrivileges: true},
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc"}, {Destination: "/dev", Type: "tmpfs"}},
		Linux:   &specs.Linux{MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"}},
	}
	two := names(Build(s, Options{Rootfs: "/r", Park: true}))
	want := "make mounts slaves; bind rootfs; mounts[0] /proc; mounts[1] /dev; populate /dev; pivot_root; " +
		"linux.maskedPaths[0] /proc/kcore; linux.readonlyPaths[0] /proc/sys; remount / read-only; " +
		"process.user; process.capabilities; process.noNewPrivileges; close inherited fds; process.cwd; " +
		"process.args[0]; report set up; wait for start; exec"
	if two != want {
		t.Errorf("two-process plan:\n got %s\nwant %s", two, want)
	}
	in := Build(s, Options{Rootfs: "/r", InProcess: true})
	got := names(in)
	if strings.Contains(got, "process.user;") || strings.Contains(got, "report set up") || strings.Contains(got, "close inherited fds") {
		t.Errorf("in-process plan has a two-process step: %s", got)
	}
	if last := in.Steps[len(in.Steps)-1]; last.Op != ForkExec {
		t.Errorf("in-process plan ends with %s", last.Op)
	}
	// No /dev in the config: a tmpfs one, populated.
	s.Mounts = s.Mounts[:1]
	if got := names(Build(s, Options{})); !strings.Contains(got, "mount /dev; mounts[0] /proc; populate /dev") {
		t.Errorf("plan without /dev: %s", got)
	}
}

func TestStepError(t *testing.T) {
	st := Step{Name: "mounts[3] /mnt"}
	err := st.Fail(&wrapped{"mount /mnt: ", syscall.EINVAL})
	if err.Error() != "mounts[3] /mnt: mount /mnt: invalid argument" || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("step error %q (errno kept: %v)", err, errors.Is(err, syscall.EINVAL))
	}
	// A step error that names its step already says it once.
	cwd := Step{Name: "process.cwd"}
	if err := cwd.Fail(errors.New("process.cwd: /x: no such file or directory")); err.Error() != "process.cwd: /x: no such file or directory" {
		t.Errorf("step error %q", err)
	}
	if st.Fail(nil) != nil {
		t.Error("Fail(nil) is not nil")
	}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
