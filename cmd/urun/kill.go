package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"urun/members"
	"urun/store"
)

type killCmd struct {
	All    bool   `short:"a" help:"Signal every process of the container (found by its mount namespace, session and parentage), not only its main one."`
	ID     string `arg:"" help:"Container ID."`
	Signal string `arg:"" optional:"" default:"TERM" help:"Signal name (KILL, SIGKILL) or number."`
}

func (c *killCmd) Run(g *Globals) error {
	return wrap("kill", c.ID, kill(g, c.ID, c.Signal, c.All))
}

func kill(g *Globals, id, name string, all bool) error {
	sig, err := parseSignal(name)
	if err != nil {
		return err
	}
	ct, err := openContainer(g, id, false)
	if err != nil {
		return err
	}
	defer ct.Close()
	if all {
		// Also for a stopped container: processes it left may remain. As
		// runc, "nothing left to signal" is success: the caller's goal
		// (everything got the signal or is gone) holds.
		err := members.SignalAll(ct.State.Members(), sig)
		if errors.Is(err, members.ErrNoProcess) {
			return nil
		}
		return err
	}
	if ct.State.LiveStatus() == store.Stopped {
		return errNotRunning
	}
	err = members.Signal(ct.State.Main(), sig)
	if err != nil && ct.State.LiveStatus() == store.Stopped {
		return errNotRunning // it exited after the check above
	}
	return err
}

// errNotRunning is runc's message: containerd and Docker match "container
// not running" in kill's output to know the process has already exited.
var errNotRunning = errors.New("container not running")

// parseSignal accepts "KILL", "SIGKILL", "sigkill" and "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %q: out of range 1-64", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: unknown signal name", s)
}
