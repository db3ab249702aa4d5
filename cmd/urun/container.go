// What several verbs share of a container's life: create's sequence
// (create, run, launch), delete's (delete, run, launch; start after a failed
// hook) and the hints they print.

package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"urun/members"
	"urun/store"
	"urun/ulog"
)

func deleteContainer(g *Globals, id string, force bool) error {
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return err
	}
	ct, err := root.Open(id, true)
	if errors.Is(err, store.ErrNotExist) && force {
		if store.ValidateID(id) != nil {
			return nil
		}
		// A create killed half-way, or a removal that failed after
		// state.json: --force succeeds only once nothing is left.
		return root.RemoveDir(id)
	}
	if err != nil {
		return err
	}
	defer ct.Close()
	ulog.Trace("state read")
	switch ct.State.LiveStatus() {
	case store.Running:
		if !force {
			return fmt.Errorf("container is running (pid %d): stop it first or use --force", ct.State.Pid)
		}
	case store.Creating:
		if !force {
			return fmt.Errorf("container is still being created by urun create (pid %d, URUN_HANG=create?): kill that process, or use --force", ct.State.Pid)
		}
		// The hanging create owns nothing else yet: end it.
		if err := members.KillWait(ct.State.Main(), 10*time.Second); err != nil {
			return err
		}
		return ct.Remove()
	}
	// A created container's placeholder has nothing to lose: end it, as runc
	// does; and a stopped one may have left processes behind.
	return destroy("delete", ct)
}

// destroy ends every process of a created or stopped container, removes
// its state, then runs its poststop hooks.
func destroy(op string, ct *store.Container) error {
	if err := members.KillAll(ct.State.Members(), 10*time.Second); err != nil {
		return err
	}
	ulog.Trace("processes ended")
	if err := ct.Remove(); err != nil {
		return err
	}
	ulog.Trace("state removed")
	poststop(op, ct.State)
	return nil
}

var errStopped = errors.New("container is stopped")

// execHint is the command line that enters a container hung in create
// (URUN_HANG=create-setup), for hangCreating's message; root is the state
// directory.
func execHint(root, id string) string {
	self, err := os.Executable()
	if err != nil {
		self = "urun"
	}
	return self + " --root " + root + " exec " + id + " /bin/sh"
}
