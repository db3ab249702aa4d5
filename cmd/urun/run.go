package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"urun/config"
	"urun/console"
	"urun/members"
	"urun/ulog"
)

type runCmd struct {
	Bundle        string `short:"b" help:"Bundle directory." default:"." type:"path"`
	PidFile       string `name:"pid-file" help:"Write the container process's PID here." type:"path"`
	ConsoleSocket string `name:"console-socket" help:"AF_UNIX socket to send the container's pty master to (process.terminal true); without it urun relays its own terminal."`
	NoNewKeyring  bool   `name:"no-new-keyring" help:"Accepted: urun never creates session keyrings."`
	PreserveFds   int    `name:"preserve-fds" help:"Pass this many extra fds (from 3 on) to the container; each must be one urun's caller passed it."`
	Detach        bool   `short:"d" help:"Do not wait for the container; leave it running."`
	NoPivot       bool   `name:"no-pivot" hidden:""`
	Keep          bool   `help:"Keep the container's state after it exits."`
	ID            string `arg:"" help:"Container ID."`

	loaded *config.Bundle // launch: the config, built in memory
	verb   string         // for errors: "run", or "launch"
}

func (c *runCmd) name() string {
	if c.verb == "" {
		return "run"
	}
	return c.verb
}

// Run is create + start in the foreground: the container process is our
// child, so its exit status is exactly the command's.
func (c *runCmd) Run(g *Globals) error {
	var sigs chan os.Signal
	if !c.Detach {
		// Before anything exists, so no signal slips through (run
		// --detach: createContainer's guard takes them).
		sigs = early.wait(forwarded...)
	}
	ulog.Trace("signals caught")
	if !c.Detach {
		// Orphans of the container become our children (see reap.go).
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return wrap(c.name(), c.ID, err)
		}
	}
	ct, err := createContainer(g, createOpts{
		id: c.ID, bundle: c.Bundle, pidFile: c.PidFile, consoleSocket: c.ConsoleSocket,
		preserveFDs: c.PreserveFds, park: false, detach: c.Detach, loaded: c.loaded, dieWithCaller: c.verb == "launch",
	})
	if err != nil {
		return wrap(c.name(), c.ID, err)
	}
	var relay *console.Relay
	if ct.master != nil {
		// From here on the user's terminal is raw: every return restores it.
		if relay, err = console.StartRelay(ct.master, os.Stdin, os.Stdout); err != nil {
			ct.master.Close()
			ct.ph.Kill()
			c.cleanup(g)
			return wrap(c.name(), c.ID, err)
		}
		defer relay.Close(0)
	}
	early.waitRest(forwardedRest...)
	ulog.Trace("all signals caught")
	if c.Detach {
		return c.release(g, ct)
	}
	userns := userNS(ct.ph.Pid) // the container's, for what it leaves behind
	if err := ct.ph.Release(); err != nil {
		ct.ph.Cmd.Wait()
		c.cleanup(g)
		return wrap(c.name(), c.ID, err)
	}
	poststart("run", ct.state)
	done := forward(sigs, func(s os.Signal) {
		if s == syscall.SIGWINCH && relay != nil {
			relay.Resize() // the kernel signals the container's foreground group
			return
		}
		ct.ph.Cmd.Process.Signal(s)
	})
	ulog.Trace("released")
	ws, werr := waitMain(ct.ph.Pid)
	ulog.Trace("container exited")
	close(done)
	if haveChildren() {
		// As runc's cgroup removal does: nothing outlives the container.
		if n := killDescendants(userns, 10*time.Second); n > 0 {
			ulog.L.Debug().Msgf("killed %d process(es) the container left behind", n)
		}
		ulog.Trace("leftovers killed")
	}
	if relay != nil {
		// The output the container wrote before exiting is still in the pty.
		relay.Close(drainWait)
	}
	// No signal.Stop: it waits for the signal loop to go idle (~0.5 ms),
	// and urun exits right after; a late signal is just not forwarded.
	if !c.Keep {
		// The process is reaped: remove the state directly rather than
		// through delete's open/lock/read/check (about 1 ms per run).
		// An exec meanwhile may have started a watcher, which must not
		// outlive run.
		if err := members.EndWatcher(ct.store.RecordedWatcher(c.ID), 10*time.Second); err != nil {
			ulog.L.Warn().Msgf("urun %s %s: end the exec watcher: %v", c.name(), c.ID, err)
		}
		if rerr := ct.store.RemoveReaped(c.ID); rerr != nil {
			ulog.L.Warn().Msgf("urun run %s: remove state: %v", c.ID, rerr)
		}
		ulog.Trace("state removed")
		poststop("run", ct.state)
	}
	if werr != nil {
		return wrap(c.name(), c.ID, fmt.Errorf("wait for the container process: %w", werr))
	}
	return exitStatus(ws)
}

// release lets a detached container's process exec and hands it the
// signals that came during create (an interrupt among them has already
// ended urun, leaving nothing), and what comes until urun exits.
func (c *runCmd) release(g *Globals, ct *created) error {
	err := ct.ph.Release()
	if err != nil {
		ct.guard.finish()
		ct.lock.Close()
		ct.ph.Cmd.Wait()
		c.cleanup(g)
		return wrap(c.name(), c.ID, err)
	}
	ct.guard.forwardTo(ct.ph.Cmd.Process)
	ct.lock.Close()
	poststart("run", ct.state)
	ct.ph.Cmd.Process.Release()
	return nil
}

func (c *runCmd) cleanup(g *Globals) {
	if err := deleteContainer(g, c.ID, true); err != nil {
		ulog.L.Warn().Msgf("urun run %s: remove state: %v", c.ID, err)
	}
}
