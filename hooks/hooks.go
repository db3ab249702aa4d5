// Package hooks runs OCI hooks (config.json hooks.*): one kind at a time,
// in order, each with the container's state on stdin and exactly its own
// path, args, env and timeout. It does not decide where a kind runs: the
// caller runs it in the right process (urun for the runtime's namespaces,
// the container process for createContainer and startContainer).
package hooks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The hook kinds, as config.json names them.
const (
	Prestart        = "prestart"
	CreateRuntime   = "createRuntime"
	CreateContainer = "createContainer"
	StartContainer  = "startContainer"
	Poststart       = "poststart"
	Poststop        = "poststop"
)

// status is the state each kind sees (runtime-spec runtime.md, Lifecycle).
var status = map[string]specs.ContainerState{
	Prestart: specs.StateCreating, CreateRuntime: specs.StateCreating, CreateContainer: specs.StateCreating,
	StartContainer: specs.StateCreated, Poststart: specs.StateRunning, Poststop: specs.StateStopped,
}

// Run runs the hooks of one kind in order and returns the first failure,
// naming the kind, index, path, exit status and the end of its stderr.
// The state gets the kind's status. Run marks every descriptor from 3 up
// close-on-exec, so a hook inherits only its stdin, stdout and stderr
// (never a lock, socket or the caller's preserved fds): a caller that
// must pass some on later clears the flag again (Inherit).
func Run(kind string, list []specs.Hook, st specs.State) error {
	return run(kind, list, st, func(error) bool { return false })
}

// Warn runs the hooks of one kind as poststart and poststop hooks are
// run: each failure is passed to warn and the next hook runs all the same.
func Warn(kind string, list []specs.Hook, st specs.State, warn func(error)) {
	run(kind, list, st, func(err error) bool { warn(err); return true })
}

// run runs the hooks; after a failure it goes on while goOn says so.
func run(kind string, list []specs.Hook, st specs.State, goOn func(error) bool) error {
	if len(list) == 0 {
		return nil
	}
	st.Status = status[kind]
	if st.Status == specs.StateStopped {
		st.Pid = 0 // the spec requires a pid only while created or running
	}
	data, err := json.Marshal(st)
	if err == nil {
		err = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	}
	if err != nil {
		err = fmt.Errorf("hooks.%s: %w", kind, err)
		goOn(err)
		return err
	}
	for i, h := range list {
		if err := runOne(h, data); err != nil {
			err = fmt.Errorf("hooks.%s[%d] (%s): %w", kind, i, h.Path, err)
			if !goOn(err) {
				return err
			}
		}
	}
	return nil
}

// Inherit clears close-on-exec on fds from..to-1 (the container's own
// descriptors, which its exec must keep).
func Inherit(from, to int) error {
	for fd := from; fd < to; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("fd %d: %w", fd, err)
		}
	}
	return nil
}

// tailLen is how much of a failed hook's stderr its error quotes.
const tailLen = 512

// runOne runs one hook to its end. Its stdin, stdout and stderr are memory
// files, not pipes: nothing waits for a pipe to close, so a hook that
// leaves a child behind holding them cannot wedge urun, and a hook that
// does not read its stdin cannot block it. The hook leads its own process
// group, which its timeout kills whole, and dies with the process that
// runs it (an interrupted create must not leave it running).
func runOne(h specs.Hook, state []byte) error {
	stdin, err := memFile("hook-stdin", state)
	if err != nil {
		return err
	}
	defer stdin.Close()
	out, err := memFile("hook-stdout", nil)
	if err != nil {
		return err
	}
	defer out.Close()
	errf, err := memFile("hook-stderr", nil)
	if err != nil {
		return err
	}
	defer errf.Close()
	env := h.Env
	if env == nil {
		env = []string{} // exactly as given: nil would pass urun's own
	}
	cmd := &exec.Cmd{Path: h.Path, Args: h.Args, Env: env, Stdin: stdin, Stdout: out, Stderr: errf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	if len(cmd.Args) == 0 {
		cmd.Args = []string{h.Path}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	var (
		mu       sync.Mutex
		exited   bool
		timedOut bool
	)
	if h.Timeout != nil {
		t := time.AfterFunc(time.Duration(*h.Timeout)*time.Second, func() {
			mu.Lock()
			defer mu.Unlock()
			if !exited { // the unreaped leader still holds its group's ID
				timedOut = true
				unix.Kill(-pid, unix.SIGKILL)
			}
		})
		defer t.Stop()
	}
	// Wait without reaping first, so the timer never signals a group ID
	// that a reaped hook has given back for reuse.
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	mu.Lock()
	exited = true
	mu.Unlock()
	err = cmd.Wait()
	switch {
	case timedOut:
		err = fmt.Errorf("killed at its timeout of %ds", *h.Timeout)
	case err == nil:
		return nil
	}
	if tail := tailOf(errf); tail != "" {
		return fmt.Errorf("%w; stderr: %q", err, tail)
	}
	return err
}

// memFile is an unnamed memory file holding data, read from the start.
func memFile(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if len(data) > 0 {
		if _, err := f.Write(data); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(0, 0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// tailOf is the end of what a hook wrote to f, trimmed.
func tailOf(f *os.File) string {
	end, err := f.Seek(0, 2)
	if err != nil || end == 0 {
		return ""
	}
	start := max(end-tailLen, 0)
	buf := make([]byte, end-start)
	n, _ := f.ReadAt(buf, start)
	s := strings.TrimSpace(string(buf[:n]))
	if start > 0 {
		s = "..." + s
	}
	return s
}
