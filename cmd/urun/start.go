package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"urun/spawn"
	"urun/store"
	"urun/ulog"
)

type startCmd struct {
	ID string `arg:"" help:"Container ID."`
}

// Run releases the parked placeholder. The state says "running" before the
// release, so a caller polling state right after start never sees
// "created"; start returns once execve has succeeded.
func (c *startCmd) Run(g *Globals) error {
	return wrap("start", c.ID, start(g, c.ID))
}

func start(g *Globals, id string) error {
	ct, err := openContainer(g, id, true)
	if err != nil {
		return err
	}
	defer ct.Close()
	st := ct.State
	switch st.LiveStatus() {
	case store.Running:
		return fmt.Errorf("container is already running (pid %d)", st.Pid)
	case store.Stopped:
		return fmt.Errorf("cannot start: %w", errStopped)
	case store.Creating:
		return fmt.Errorf("cannot start: container is still being created by urun create (pid %d, URUN_HANG=create?)", st.Pid)
	}
	st.Started = true
	if err := ct.Save(st); err != nil {
		return err
	}
	conn, err := dialStart(ct)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = spawn.Go(conn)
	os.Remove(ct.Path(store.StartSocket))
	var hookErr *spawn.HookError
	if errors.As(err, &hookErr) {
		// A startContainer hook failed and the container process exited:
		// destroy the rest, as the spec's lifecycle goes on to delete's.
		if derr := destroy("start", ct); derr != nil {
			ulog.L.Warn().Msgf("urun start %s: %v", id, derr)
		}
		return err
	}
	if err == nil {
		poststart("start", st)
	}
	return err
}

func dialStart(ct *store.Container) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: ct.Path(store.StartSocket)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to the container process: %w (did it die?)", err)
	}
	return os.NewFile(uintptr(fd), "start"), nil
}
