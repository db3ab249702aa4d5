package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"urun/config"
	"urun/initproc"
	"urun/nsjoin"
	"urun/proc"
	"urun/userns"
)

// joinSetup adapts the placeholder's command to the namespaces it joins
// and to a mapping whose root is not urun (see userns.Mapping.SetupCaps).
func joinSetup(cmd *exec.Cmd, o Opts) error {
	switch {
	case o.Join != nil && o.Join.User != nil:
		joinUserCmd(cmd, o.Join)
	case o.Mapping.Mode == userns.Own:
		// Stay in urun's user namespace: only a mount namespace, no maps.
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNS
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = nil, nil
	case o.Mapping.SetupCaps():
		caps, err := proc.SetupCaps()
		if err != nil {
			return err
		}
		cmd.SysProcAttr.AmbientCaps = caps
	}
	return nil
}

// joinUserCmd turns cmd into the helper's: no namespace of its own, the
// namespace files after every other descriptor (fds ≥ FirstFD are closed
// by the placeholder before the container's exec), user first.
func joinUserCmd(cmd *exec.Cmd, plan *nsjoin.Plan) {
	files := append([]*os.File{plan.User.File}, nsFiles(plan.Others)...)
	for _, f := range files {
		cmd.Args = append(cmd.Args, strconv.Itoa(3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	cmd.Args[2] = initproc.JoinUserArg
	cmd.SysProcAttr.Cloneflags = 0
	cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = nil, nil
}

func nsFiles(js []nsjoin.Join) []*os.File {
	out := make([]*os.File, len(js))
	for i, j := range js {
		out[i] = j.File
	}
	return out
}

// adoptJoined waits for the helper's report and makes the forked
// placeholder p's process: it is create's child (CLONE_PARENT), and its
// ID mapping is the joined namespace's, read from /proc/PID.
func (p *Placeholder) adoptJoined(plan *nsjoin.Plan) error {
	var r initproc.JoinedReply
	err := initproc.ReadMsg(p.sync, &r)
	p.Cmd.Process.Wait() // the helper exits once it has reported
	p.Cmd.Process = nil
	if r.Pid > 0 {
		if p.Cmd.Process, err = os.FindProcess(r.Pid); err != nil {
			return fmt.Errorf("placeholder %d: %w", r.Pid, err)
		}
		p.Pid = r.Pid
	}
	switch {
	case err != nil:
		return fmt.Errorf("join namespaces: helper: %w", err)
	case r.Error != "":
		j := plan.User
		if r.Setns > 1 && r.Setns-2 < len(plan.Others) {
			j = &plan.Others[r.Setns-2]
		}
		return fmt.Errorf("%s: %s: %s", j.Field, j.Path, r.Error)
	}
	m, err := userns.Joined(r.Pid)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", plan.User.Field, plan.User.Path, err)
	}
	*p.opts.Mapping = *m
	return nil
}

// checkJoinedMaps: mappings a config gives with a user namespace path
// must be that namespace's (read when the placeholder joined it).
func checkJoinedMaps(o Opts, b *config.Bundle) error {
	if o.Join == nil || o.Join.User == nil || b.Spec == nil || b.Spec.Linux == nil {
		return nil
	}
	if err := o.Mapping.Matches(b.Spec.Linux.UIDMappings, b.Spec.Linux.GIDMappings); err != nil {
		return fmt.Errorf("%s: %s: %w", o.Join.User.Field, o.Join.User.Path, err)
	}
	return nil
}
