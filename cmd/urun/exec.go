package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/config"
	"urun/console"
	"urun/enter"
	"urun/initproc"
	"urun/members"
	"urun/store"
	"urun/ulog"
	"urun/userns"
)

// execCmd is runc's exec: podman/conmon call it as
// `exec --pid-file F --process P.json --detach [--tty --console-socket S] ID`.
type execCmd struct {
	ConsoleSocket  string   `name:"console-socket" help:"AF_UNIX socket to send the process's pty master to (with --tty; runc's protocol); without it a foreground exec relays its own terminal."`
	Cwd            string   `help:"Working directory in the container."`
	Env            []string `short:"e" sep:"none" help:"Add an environment variable (KEY=VALUE; repeatable)."`
	Tty            bool     `short:"t" help:"Give the process a pseudo-terminal (process.terminal)."`
	User           string   `short:"u" help:"uid[:gid] to run as (numbers)."`
	AdditionalGids []uint32 `name:"additional-gids" short:"g" sep:"none" help:"Add a supplementary group (repeatable)."`
	Process        string   `short:"p" help:"A JSON file with an OCI process object; replaces the other process flags and the command." type:"path"`
	Detach         bool     `short:"d" help:"Return once the process runs; do not wait for it."`
	PidFile        string   `name:"pid-file" help:"Write the new process's PID here." type:"path"`
	NoNewPrivs     bool     `name:"no-new-privs" help:"Set no_new_privs for the process."`
	Cap            []string `short:"c" sep:"none" help:"Add a capability (CAP_NAME; repeatable) to the bounding, effective and permitted sets."`
	PreserveFds    int      `name:"preserve-fds" help:"Pass this many extra fds (from 3 on) to the process."`
	ID             string   `arg:"" help:"Container ID."`
	Command        []string `arg:"" optional:"" passthrough:"" help:"Command and arguments (unless --process)."`
}

func (c *execCmd) Run(g *Globals) error {
	return wrap("exec", c.ID, c.exec(g))
}

func (c *execCmd) exec(g *Globals) error {
	if c.PreserveFds < 0 {
		return fmt.Errorf("--preserve-fds: %d is negative", c.PreserveFds)
	}
	if callerFDsErr != nil && c.PreserveFds > 0 {
		return fmt.Errorf("--preserve-fds: %w", callerFDsErr)
	}
	var sigs chan os.Signal
	if !c.Detach {
		// Before the process exists, so no signal slips through.
		sigs = early.wait(forwarded...)
		early.waitRest(forwardedRest...)
	}
	// Exclusive: the process is recorded in the state (see below), and a
	// delete waits until it can find it.
	ct, err := openContainer(g, c.ID, true)
	if err != nil {
		return err
	}
	defer ct.Close()
	st := ct.State
	target, hung, err := execTarget(st)
	if err != nil {
		return err
	}
	p, err := c.process(st, ct.Dir)
	if err != nil {
		return err
	}
	ignored, err := config.Check(&specs.Spec{Process: p}, config.Options{})
	if err != nil {
		if c.Process != "" {
			return fmt.Errorf("--process %s: %w", c.Process, err)
		}
		return err
	}
	for _, n := range ignored {
		ulog.L.Debug().Str("field", n.Path).Msgf("ignored: %s", n.Reason)
	}
	m, err := userns.OfProcess(target.Pid)
	if err != nil {
		return fmt.Errorf("read the container's ID mapping: %w", err)
	}
	if err := m.CheckUser(p.User); err != nil {
		return err
	}
	tty, err := openTerminal(createOpts{consoleSocket: c.ConsoleSocket, detach: c.Detach}, p, "exec")
	if err != nil {
		return err
	}
	defer tty.close()
	proc, err := enter.Start(enter.Opts{
		Pid: target.Pid, Alive: func() bool { return members.Alive(target.Pid, target.Start) },
		Process: p, PreserveFDs: c.PreserveFds, CallerFDs: callerFDs, Setgroups: m.Setgroups, Console: tty.toContainer,
	})
	if err != nil {
		return err
	}
	var relay *console.Relay
	if tty.fromRelay != nil {
		// Foreground from a terminal: urun relays it, as run does.
		master, err := tty.master()
		if err == nil {
			relay, err = console.StartRelay(master, os.Stdin, os.Stdout)
		}
		if err != nil {
			proc.Signal(unix.SIGKILL)
			proc.Wait()
			return err
		}
		defer relay.Close(0) // every return restores the user's terminal
	}
	if !hung {
		// The process keeps the container's mount namespace recognisable
		// after its main process exits: kill --all and delete find it.
		if start, _, err := members.ProcStart(proc.Pid); err == nil {
			st.Execs = append(liveExecs(st.Execs), members.ProcRef{Pid: proc.Pid, Start: start})
		}
		// And one watcher per container ends them with the main process.
		if st.Watcher == nil || !members.Alive(st.Watcher.Pid, st.Watcher.Start) {
			if st.Watcher, err = enter.StartWatcher(st, ct.Dir); err != nil {
				ulog.L.Warn().Msgf("urun exec %s: %v", c.ID, err)
			}
		}
		if err := ct.Save(st); err != nil {
			ulog.L.Warn().Msgf("urun exec %s: record process %d: %v", c.ID, proc.Pid, err)
		}
	}
	ct.Close()
	if err := store.WritePidFile(c.PidFile, proc.Pid); err != nil {
		proc.Signal(unix.SIGKILL)
		proc.Wait()
		return err
	}
	if c.Detach {
		proc.Release()
		return nil
	}
	done := forward(sigs, func(s os.Signal) {
		if s == unix.SIGWINCH && relay != nil {
			relay.Resize()
			return
		}
		proc.Signal(s.(unix.Signal))
	})
	ws, err := proc.Wait()
	close(done)
	if relay != nil {
		relay.Close(drainWait) // the process's last output is still in the pty
	}
	if err != nil {
		return fmt.Errorf("wait for process %d: %w", proc.Pid, err)
	}
	return exitStatus(ws)
}

// target is the process whose namespaces and root exec enters.
type target struct {
	Pid   int
	Start uint64
}

// execTarget picks the container's process: its main process while it is
// created or running, or, while a create hangs with URUN_HANG=create-setup,
// that create's set-up container process (its child). hung says which.
func execTarget(st *store.State) (target, bool, error) {
	switch st.LiveStatus() {
	case store.Stopped:
		return target{}, false, fmt.Errorf("cannot exec: %w", errStopped)
	case store.Creating:
		// The set-up process: the two-process executor's placeholder, or
		// the in-process one's fork of create (create's own command line).
		parent, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cmdline")
		for _, kid := range members.Children(st.Pid) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(kid) + "/cmdline")
			if start, _, err := members.ProcStart(kid); err == nil && (strings.HasPrefix(string(cmdline), initproc.Arg0+"\x00") || string(cmdline) == string(parent)) {
				if !members.Alive(st.Pid, st.StartTime) { // the kid is still that create's
					break
				}
				return target{Pid: kid, Start: start}, true, nil
			}
		}
		return target{}, false, fmt.Errorf("cannot exec: container is still being created by urun create (pid %d) and has no process yet (URUN_HANG=create-setup hangs once it has one)", st.Pid)
	}
	return target{Pid: st.Pid, Start: st.StartTime}, false, nil
}

// liveExecs drops the exec'd processes that have exited.
func liveExecs(refs []members.ProcRef) []members.ProcRef {
	var out []members.ProcRef
	for _, r := range refs {
		if members.Alive(r.Pid, r.Start) {
			out = append(out, r)
		}
	}
	return out
}

// process builds the process to run, as runc does: --process replaces
// everything; otherwise the container's own process (config.json in its
// bundle) with the command and the flags applied.
func (c *execCmd) process(st *store.State, dir string) (*specs.Process, error) {
	if c.Process != "" {
		data, err := os.ReadFile(c.Process)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", c.Process, err)
		}
		if len(p.Args) == 0 {
			return nil, fmt.Errorf("--process %s: args: empty", c.Process)
		}
		p.Terminal = p.Terminal || c.Tty
		return &p, nil
	}
	args := c.Command
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return nil, errors.New("no command: give one after the container ID, or --process")
	}
	spec, err := containerSpec(st, dir)
	if err != nil {
		return nil, err
	}
	p := *spec.Process
	p.Args = args
	p.Terminal = c.Tty
	if c.Cwd != "" {
		p.Cwd = c.Cwd
	}
	for _, e := range c.Env {
		if !strings.Contains(e, "=") {
			return nil, fmt.Errorf("--env %q: not KEY=VALUE", e)
		}
	}
	p.Env = append(append([]string(nil), p.Env...), c.Env...)
	if c.User != "" {
		uid, gid, hasGID := strings.Cut(c.User, ":")
		u, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: uid %q is not a number", c.User, uid)
		}
		p.User = specs.User{UID: uint32(u), Umask: p.User.Umask}
		if hasGID {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: gid %q is not a number", c.User, gid)
			}
			p.User.GID = uint32(g)
		}
	}
	p.User.AdditionalGids = append(append([]uint32(nil), p.User.AdditionalGids...), c.AdditionalGids...)
	if len(c.Cap) > 0 {
		caps := specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			caps = *p.Capabilities
		}
		for _, n := range c.Cap {
			caps.Bounding = append(caps.Bounding, n)
			caps.Effective = append(caps.Effective, n)
			caps.Permitted = append(caps.Permitted, n)
			// Ambient needs inheritable, which --cap does not add (runc's rule).
			if caps.Inheritable != nil {
				caps.Ambient = append(caps.Ambient, n)
			}
		}
		p.Capabilities = &caps
	}
	if c.NoNewPrivs {
		p.NoNewPrivileges = true
	}
	return &p, nil
}

// containerSpec is the container's config: its bundle's config.json, or
// the one kept in its directory when it was built in memory (launch).
func containerSpec(st *store.State, dir string) (*specs.Spec, error) {
	if raw, err := os.ReadFile(filepath.Join(dir, store.MemoryConfig)); err == nil {
		spec, err := config.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("the container's config %s: %w", filepath.Join(dir, store.MemoryConfig), err)
		}
		return spec, nil
	}
	b, err := config.Load(st.Bundle)
	if err != nil {
		return nil, fmt.Errorf("the container's bundle %s: %w", st.Bundle, err)
	}
	return b.Spec, nil
}
