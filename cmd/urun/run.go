package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"urun/scaffold"
	"urun/ulog"
)

type runCmd struct {
	Bundle        string `short:"b" help:"Bundle directory." default:"." type:"path"`
	PidFile       string `name:"pid-file" help:"Write the container process's PID here." type:"path"`
	ConsoleSocket string `name:"console-socket" help:"Not supported yet."`
	NoNewKeyring  bool   `name:"no-new-keyring" help:"Accepted: urun never creates session keyrings."`
	PreserveFds   int    `name:"preserve-fds" help:"Pass this many extra fds (from 3 on) to the container."`
	Detach        bool   `short:"d" help:"Do not wait for the container; leave it running."`
	NoPivot       bool   `name:"no-pivot" hidden:""`
	Keep          bool   `help:"Keep the container's state after it exits."`
	ID            string `arg:"" help:"Container ID."`
}

// forwarded are the signals run passes on to the container, as runc does.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Run is create + start in the foreground: the container process is our
// child, so its exit status is exactly the command's.
func (c *runCmd) Run(g *Globals) error {
	var sigs chan os.Signal
	if !c.Detach {
		// Before anything exists, so no signal slips through.
		sigs = early.wait()
	}
	ulog.Trace("signals caught")
	ct, err := createContainer(g, createOpts{
		id: c.ID, bundle: c.Bundle, pidFile: c.PidFile, consoleSocket: c.ConsoleSocket,
		preserveFDs: c.PreserveFds, park: false,
	})
	if err != nil {
		return wrap("run", c.ID, err)
	}
	if err := ct.ph.Release(); err != nil {
		ct.ph.Cmd.Wait()
		c.cleanup(g)
		return wrap("run", c.ID, err)
	}
	if c.Detach {
		ct.ph.Cmd.Process.Release()
		return nil
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				ct.ph.Cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	ulog.Trace("released")
	err = ct.ph.Cmd.Wait()
	ulog.Trace("container exited")
	close(done)
	// No signal.Stop: it waits for the signal loop to go idle (~0.5 ms),
	// and urun exits right after; a late signal is just not forwarded.
	if !c.Keep {
		// The process is reaped: remove the state directly rather than
		// through delete's open/lock/read/check (about 1 ms per run).
		if rerr := removeState(filepath.Join(ct.store.Dir, c.ID)); rerr != nil {
			ulog.L.Warn().Msgf("urun run %s: remove state: %v", c.ID, rerr)
		}
		ulog.Trace("state removed")
	}
	return exitStatus(err)
}

// removeState removes a run container's directory, which holds only
// state.json, with two unlinks; RemoveAll's directory walk is the fallback.
func removeState(dir string) error {
	if os.Remove(filepath.Join(dir, "state.json")) == nil && os.Remove(dir) == nil {
		return nil
	}
	return os.RemoveAll(dir)
}

func (c *runCmd) cleanup(g *Globals) {
	if err := deleteContainer(g, c.ID, true); err != nil {
		ulog.L.Warn().Msgf("urun run %s: remove state: %v", c.ID, err)
	}
}

// exitStatus turns Wait's result into the shell convention: the exit code,
// or 128+N when killed by signal N.
func exitStatus(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return exitCode(128 + int(ws.Signal()))
	}
	return exitCode(ws.ExitStatus())
}

var _ = scaffold.Running

// earlyNotify is signal.Notify for run, started before the command line is
// parsed. The first Notify waits for the runtime to start a thread that
// owns the signal mask (0.3 to 1 ms here, up to 4 ms seen), so it runs
// alongside kong instead of after it.
type earlyNotify struct {
	sigs  chan os.Signal
	ready chan struct{}
}

var early *earlyNotify

// startEarlyNotify is called from main when the verb is run (and not
// detached); wait falls back to a plain Notify when it was not.
func startEarlyNotify() {
	early = &earlyNotify{sigs: make(chan os.Signal, 8), ready: make(chan struct{})}
	go func() {
		signal.Notify(early.sigs, forwarded...)
		close(early.ready)
	}()
}

func (e *earlyNotify) wait() chan os.Signal {
	if e == nil {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, forwarded...)
		return sigs
	}
	<-e.ready
	return e.sigs
}
