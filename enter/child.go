package enter

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"urun/console"
	"urun/proc"
	"urun/ulog"
)

// ChildMain is urun re-executed inside the container by the raw child (or
// the watcher, see watch.go): it
// is already in the container's namespaces and root, as its root user. It
// applies process.* the way create's placeholder does and execs the
// command; errors go back over the sync socket. It never returns. The
// caller has locked the OS thread (credentials and capabilities are set
// per thread).
func ChildMain() {
	// As the placeholder: no late profiling allocation after the rlimits
	// (see proc.Exec).
	runtime.MemProfileRate = 0
	if len(os.Args) > 1 && os.Args[1] == "watch" {
		watchMain(os.Args[2:])
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "urun-exec: internal entry point, not for direct use")
		os.Exit(2)
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	// Not dumpable until the command's execve (which makes it dumpable
	// again): a process of the container without CAP_SYS_PTRACE then
	// cannot open /proc/PID/exe, urun's binary on the host, meanwhile
	// (the CVE-2019-5736 route).
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) //nolint:errcheck // defence in depth
	sync := os.NewFile(uintptr(fd), "sync")
	var c childConfig
	if err := json.NewDecoder(sync).Decode(&c); err != nil || c.Process == nil || len(c.Process.Args) == 0 {
		os.Exit(1) // the parent is gone or broken; nobody to tell
	}
	ulog.Trace("exec child: config received")
	path, err := apply(&c)
	if err == nil {
		err = proc.Exec(path, c.Process) // sets the rlimits last, then execve
		err = fmt.Errorf("exec %s: %w", path, err)
	}
	sync.Write([]byte(err.Error()))
	os.Exit(127)
}

// apply sets the process up, in create's order (see initproc/init.go:
// the rlimits are checked here and set by proc.Exec; the fds close before
// the cwd, which must be inside the container's root), and returns the
// resolved executable.
func apply(c *childConfig) (string, error) {
	p := c.Process
	steps := []func() error{
		func() error { return proc.OOMScoreAdj(p) },
		func() error { return proc.CheckRlimits(p) },
		func() error { return terminal(c) },
		func() error { return proc.DropBounding(p.Capabilities) },
		func() error { return proc.SetUser(p.User, c.Setgroups) },
		func() error { return proc.SetCapabilities(p.Capabilities) },
		// What the raw child held for the set-up when root is not mapped.
		func() error { return proc.EndSetupCaps(p.Capabilities, false) },
		func() error { return proc.NoNewPrivs(p) },
		func() error { return proc.CloseExtraFDs(c.FirstFD) },
		func() error { return proc.Chdir(p) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return "", err
		}
	}
	return proc.LookPath(p)
}

// terminal gives the process a pty on the container's devpts and sends
// the master over the console socket, as create does (before the user
// changes: the slave is chowned to it).
func terminal(c *childConfig) error {
	if !c.Process.Terminal || c.ConsoleFD < 0 {
		return nil
	}
	sock := os.NewFile(uintptr(c.ConsoleFD), "console")
	defer sock.Close()
	return console.Setup(sock, console.Options{Size: c.Process.ConsoleSize, UID: c.Process.User.UID})
}
