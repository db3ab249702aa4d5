package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"urun/config"
	"urun/enter"
	"urun/join"
	"urun/launch"
	"urun/members"
	"urun/store"
	"urun/ulog"
	"urun/userns"
)

// janitorArg0 is argv[0] of the process that removes a --join group's
// container once its last rank is gone (see package join).
const janitorArg0 = "urun-join-janitor"

// joinLinger: a group whose expected ranks have not all come, and in
// which none runs, ends after this long without a new rank.
const joinLinger = 2 * time.Minute

// runJoined runs this rank in its group's container: the first rank of
// the group creates it (a parked container process, which no rank is, so
// that the namespaces outlive a first rank that exits at once) and starts
// the janitor; every rank then enters it as `urun exec` does, in the
// foreground.
func (c *launchCmd) runJoined(g *Globals, lc *launch.Config, raw []byte) error {
	sigs := early.wait(forwarded...)
	early.waitRest(forwardedRest...)
	key, err := join.Key(c.JoinTag, os.Getenv, os.Getppid())
	if err != nil {
		return err
	}
	expected, err := join.LocalCount(c.JoinCt, os.Getenv)
	if err != nil {
		return err
	}
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return err
	}
	grp, err := join.Lock(root.Dir, key)
	if err != nil {
		return err
	}
	rec, err := c.holder(g, grp, key, expected, lc, raw)
	if err != nil {
		grp.Unlock()
		return err
	}
	rec.Joined++
	rec.LastJoin = time.Now()
	if err := grp.Save(rec); err != nil {
		grp.Unlock()
		return fmt.Errorf("join group: %w", err)
	}
	member, err := grp.Member()
	grp.Unlock()
	if err != nil {
		return fmt.Errorf("join group: %w", err)
	}
	// The last rank out removes the group (the janitor may be gone:
	// Slurm's job end and mpirun's abort kill what they find).
	defer leaveGroup(root.Dir, key, member)
	m, err := userns.OfProcess(rec.Pid)
	if err != nil {
		return fmt.Errorf("join %s: read its ID mapping: %w", rec.Container, err)
	}
	proc, err := enter.Start(enter.Opts{
		Pid: rec.Pid, Alive: func() bool { return holderAlive(rec) },
		Process: lc.Spec.Process, Setgroups: m.Setgroups,
	})
	if err != nil {
		return fmt.Errorf("join %s: %w", rec.Container, err)
	}
	done := forward(sigs, func(s os.Signal) { proc.Signal(s.(unix.Signal)) })
	ws, err := proc.Wait()
	close(done)
	if err != nil {
		return fmt.Errorf("wait for process %d: %w", proc.Pid, err)
	}
	return exitStatus(ws)
}

// holder returns the group's record, creating its container and janitor
// when this is the group's first rank (or its holder died).
func (c *launchCmd) holder(g *Globals, grp *join.Group, key string, expected int, lc *launch.Config, raw []byte) (*join.Record, error) {
	rec, err := grp.Read()
	if err != nil {
		return nil, err
	}
	if rec != nil && holderAlive(rec) {
		return rec, nil
	}
	id := join.ID(key)
	if rec != nil {
		// A holder killed with its janitor: its state is stale.
		deleteContainer(g, id, true)
	}
	ct, err := createContainer(g, createOpts{id: id, park: true, loaded: &config.Bundle{Dir: lc.Dir, Raw: raw}})
	if err != nil {
		return nil, err
	}
	rec = &join.Record{Container: id, Pid: ct.ph.Pid, Start: ct.state.StartTime, Expected: expected}
	if err := grp.Save(rec); err == nil {
		err = startJanitor(ct.store.Dir, key)
	}
	if err != nil {
		deleteContainer(g, id, true)
		grp.Remove()
		return nil, fmt.Errorf("join group: %w", err)
	}
	ulog.L.Debug().Str("container", id).Int("expected", expected).Msg("--join: created the group's container")
	return rec, nil
}

// startJanitor starts the group's janitor, detached: its own session, no
// stdio, not waited for.
func startJanitor(dir, key string) error {
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{janitorArg0, dir, key},
		Env:         []string{},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the janitor: %w", err)
	}
	return cmd.Process.Release()
}

// leaveGroup ends this rank's membership and, if the group is finished,
// removes its container and files.
func leaveGroup(dir, key string, member *os.File) {
	member.Close()
	grp, err := join.Lock(dir, key)
	if err != nil {
		return
	}
	defer grp.Unlock()
	if done, err := grp.Finished(joinLinger, holderAlive); err == nil && done {
		endGroup(dir, grp)
	}
}

func holderAlive(r *join.Record) bool { return members.Alive(r.Pid, r.Start) }

// endGroup deletes a finished group's container, then its files.
func endGroup(dir string, grp *join.Group) error {
	if rec, _ := grp.Read(); rec != nil {
		if err := deleteContainer(&Globals{Root: dir}, rec.Container, true); err != nil {
			return err
		}
	}
	return grp.Remove()
}

// janitorMain waits until the group of key in dir is done, then deletes
// its container and files.
func janitorMain(args []string) int {
	if len(args) != 2 {
		return 2
	}
	// Outlive the job's SIGTERM (Slurm's and mpirun's ends signal every
	// process of the job) so as to clean up after the ranks it ends.
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	dir, key := args[0], args[1]
	grp, err := join.Wait(dir, key, joinLinger, holderAlive)
	if err != nil {
		return 1
	}
	defer grp.Unlock()
	if endGroup(dir, grp) != nil {
		return 1
	}
	return 0
}
