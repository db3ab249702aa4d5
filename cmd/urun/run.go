package main

import (
	"fmt"
	"os"
	"os/signal"
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

// forwarded are the signals run passes on to the container: all that can
// be caught, as runc does, except SIGCHLD (ours), SIGURG (the Go runtime's
// preemption signal) and SIGPIPE (about our own output), and 32 and 33,
// which C libraries keep for themselves. The first ones are caught before
// anything exists; Go enables each signal with a round trip to its signal
// thread (~15 us), so the rest are caught while create works, and before
// the command starts.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

var forwardedRest = func() []os.Signal {
	var out []os.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		switch s {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPIPE, 32, 33,
			syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2:
			continue
		}
		out = append(out, s)
	}
	return out
}()

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

// drainWait bounds how long run relays the container's last output after
// its command exited: the pty reports the end once no process holds it,
// which a process outside the container's descent (left alone) could delay.
const drainWait = 2 * time.Second

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

// exitStatus turns a wait status into the shell convention: the exit
// code, or 128+N when killed by signal N.
func exitStatus(ws unix.WaitStatus) error {
	switch {
	case ws.Signaled():
		return exitCode(128 + int(ws.Signal()))
	case ws.ExitStatus() != 0:
		return exitCode(ws.ExitStatus())
	}
	return nil
}

// forward passes every signal from sigs to send until done is closed.
func forward(sigs chan os.Signal, send func(os.Signal)) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				send(s)
			case <-done:
				return
			}
		}
	}()
	return done
}

// earlyNotify is signal.Notify for run and create, started before the
// command line is parsed. The first Notify waits for the runtime to start
// a thread that owns the signal mask (0.3 to 1 ms here, up to 4 ms seen),
// so it runs alongside kong instead of after it.
type earlyNotify struct {
	sigs  chan os.Signal
	ready chan struct{} // the first signals are caught
	all   chan struct{} // and the rest
}

var early *earlyNotify

// startEarlyNotify is called from main for run (not detached) and create;
// the wait methods fall back to a plain Notify when it was not. meanwhile
// (primeJSON: these verbs decode a config.json) runs on the same
// goroutine once the first signals are caught, before the rest, which run
// waits for only after the fork: with two CPUs, a goroutine of its own
// waited behind this one or delayed it (measured, +0.4 ms either way).
func startEarlyNotify(first, rest []os.Signal, meanwhile func()) {
	early = &earlyNotify{sigs: make(chan os.Signal, 8), ready: make(chan struct{}), all: make(chan struct{})}
	go func() {
		signal.Notify(early.sigs, first...)
		close(early.ready)
		meanwhile()
		if len(rest) > 0 {
			signal.Notify(early.sigs, rest...)
		}
		close(early.all)
	}()
}

func (e *earlyNotify) wait(first ...os.Signal) chan os.Signal {
	if e == nil {
		early = &earlyNotify{sigs: make(chan os.Signal, 8)}
		signal.Notify(early.sigs, first...)
		return early.sigs
	}
	<-e.ready
	return e.sigs
}

func (e *earlyNotify) waitRest(rest ...os.Signal) {
	if e == nil || e.all == nil {
		signal.Notify(early.sigs, rest...)
		return
	}
	<-e.all
}
