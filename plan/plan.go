// Package plan is a container's set-up as a list of named steps. create
// builds it once, from the config it has checked; --debug prints it, one
// line per step; the container process executes it in order, one loop
// (initproc.InitMain), and a failure names its step.
package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"urun/failure"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Op is what a step does; the executor has one case per Op.
type Op string

// The steps, in the order Build puts them.
const (
	OOMScoreAdj   Op = "oom-score-adj"
	CheckRlimits  Op = "check-rlimits" // set only at exec: see proc.Exec
	SlaveMounts   Op = "slave-mounts"
	BindRootfs    Op = "bind-rootfs"
	DevTmpfs      Op = "dev-tmpfs" // no /dev in the config: runc's tmpfs one
	Mount         Op = "mount"     // Mounts[I]
	PopulateDev   Op = "populate-dev"
	Device        Op = "device" // Devices[I]
	CreateHooks   Op = "create-hooks"
	PivotRoot     Op = "pivot-root"
	Mask          Op = "mask"          // MaskedPaths[I]
	ReadonlyPath  Op = "readonly-path" // ReadonlyPaths[I]
	Propagation   Op = "propagation"
	ReadonlyRoot  Op = "readonly-root"
	Terminal      Op = "terminal"
	DropBounding  Op = "drop-bounding"
	SetUser       Op = "set-user"
	SetCaps       Op = "set-caps"
	DropSetupCaps Op = "drop-setup-caps"
	NoNewPrivs    Op = "no-new-privs"
	CloseFDs      Op = "close-fds"
	Chdir         Op = "chdir"
	LookPath      Op = "look-path"
	Ready         Op = "ready" // set up: tell create, which writes the state
	WaitStart     Op = "wait-start"
	StartHooks    Op = "start-hooks"
	Exec          Op = "exec"
	// The in-process executor's last steps, on its locked thread.
	Umask    Op = "umask"
	ForkExec Op = "fork-exec" // the container process, in a user namespace of its own
)

// Step is one named step. Name is what a failure starts with: the config
// field (and index and path) it acts on, or the operation's own name.
type Step struct {
	Op     Op     `json:"op"`
	Name   string `json:"name"`
	I      int    `json:"i,omitempty"`
	Detail string `json:"-"` // what --debug adds (the executor needs none)
}

func (s Step) String() string {
	if s.Detail == "" {
		return s.Name
	}
	return s.Name + ": " + s.Detail
}

// Plan is the steps and the checked config's set-up fields they act on:
// the same values create checked (two-process: sent as they are).
type Plan struct {
	Steps []Step      `json:"steps"`
	Spec  *specs.Spec `json:"spec"`
}

// Options are what Build needs beyond the config.
type Options struct {
	Rootfs    string
	Park      bool // create: wait for start; run: exec at once
	Terminal  bool // the container's pty is made in set-up
	SetupCaps bool // set-up holds ambient capabilities to drop at the end
	FirstFD   int  // fds from here on are closed
	// InProcess: urun itself executes the plan on a locked thread and
	// forks the container process from it (spawn/inproc.go).
	InProcess bool
}

// Build makes the plan of a checked config.
func Build(s *specs.Spec, o Options) *Plan {
	p := s.Process
	// Only the fields the steps act on travel to the container process.
	sub := &specs.Spec{Process: p, Root: s.Root, Mounts: s.Mounts, Hooks: s.Hooks}
	var l specs.Linux
	if s.Linux != nil {
		l = specs.Linux{MaskedPaths: s.Linux.MaskedPaths, ReadonlyPaths: s.Linux.ReadonlyPaths,
			RootfsPropagation: s.Linux.RootfsPropagation, Devices: s.Linux.Devices}
		sub.Linux = &l
	}
	pl := &Plan{Spec: sub}
	add := func(op Op, name, detail string) {
		pl.Steps = append(pl.Steps, Step{Op: op, Name: name, Detail: detail})
	}
	addI := func(op Op, i int, name, detail string) {
		pl.Steps = append(pl.Steps, Step{Op: op, I: i, Name: name, Detail: detail})
	}

	if p.OOMScoreAdj != nil {
		add(OOMScoreAdj, "process.oomScoreAdj", fmt.Sprint(*p.OOMScoreAdj))
	}
	if len(p.Rlimits) > 0 {
		add(CheckRlimits, "process.rlimits", fmt.Sprintf("check %d against the hard limits (set just before exec)", len(p.Rlimits)))
	}
	add(SlaveMounts, "make mounts slaves", "/ rslave")
	add(BindRootfs, "bind rootfs", o.Rootfs)
	devTmp, hasDev := false, false
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) == "/dev" {
			hasDev = true
			devTmp = m.Type == "tmpfs"
		}
	}
	if !hasDev {
		add(DevTmpfs, "mount /dev", "tmpfs (no /dev in mounts)")
		devTmp = true
	}
	for i, m := range s.Mounts {
		d := m.Type
		if m.Source != "" {
			d += " " + m.Source
		}
		if len(m.Options) > 0 {
			d += " " + strings.Join(m.Options, ",")
		}
		addI(Mount, i, fmt.Sprintf("mounts[%d] %s", i, m.Destination), strings.TrimSpace(d))
	}
	if devTmp {
		add(PopulateDev, "populate /dev", "device binds, links, devpts and shm the config does not mount")
	}
	for i, d := range l.Devices {
		addI(Device, i, fmt.Sprintf("linux.devices[%d] %s", i, d.Path), "bind from the host")
	}
	if h := s.Hooks; h != nil {
		add(CreateHooks, "hooks", fmt.Sprintf("before pivot_root: %d prestart, %d createRuntime, %d createContainer",
			len(h.Prestart), len(h.CreateRuntime), len(h.CreateContainer)))
	}
	add(PivotRoot, "pivot_root", o.Rootfs)
	for i, m := range l.MaskedPaths {
		addI(Mask, i, fmt.Sprintf("linux.maskedPaths[%d] %s", i, m), "")
	}
	for i, r := range l.ReadonlyPaths {
		addI(ReadonlyPath, i, fmt.Sprintf("linux.readonlyPaths[%d] %s", i, r), "")
	}
	if l.RootfsPropagation != "" {
		add(Propagation, "apply linux.rootfsPropagation", l.RootfsPropagation)
	}
	if s.Root != nil && s.Root.Readonly {
		add(ReadonlyRoot, "remount / read-only", "")
	}
	if o.Terminal {
		add(Terminal, "process.terminal", "make the pty, send its master")
	}
	if p.Capabilities != nil {
		add(DropBounding, "process.capabilities.bounding", fmt.Sprintf("keep %d", len(p.Capabilities.Bounding)))
	}
	if o.InProcess {
		if p.User.Umask != nil {
			add(Umask, "process.user.umask", fmt.Sprintf("%#o", *p.User.Umask))
		}
	} else {
		add(SetUser, "process.user", fmt.Sprintf("uid %d gid %d, %d additional gids", p.User.UID, p.User.GID, len(p.User.AdditionalGids)))
		add(SetCaps, "process.capabilities", "")
		if o.SetupCaps {
			add(DropSetupCaps, "drop set-up capabilities", "")
		}
	}
	if p.NoNewPrivileges {
		add(NoNewPrivs, "process.noNewPrivileges", "")
	}
	if !o.InProcess {
		add(CloseFDs, "close inherited fds", fmt.Sprintf("from fd %d", o.FirstFD))
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	add(Chdir, "process.cwd", cwd)
	add(LookPath, "process.args[0]", p.Args[0])
	if o.InProcess {
		hold := "held until released"
		if o.Park {
			hold = "parked (raw system calls, no Go runtime) until urun start"
		}
		add(ForkExec, "exec", fmt.Sprintf("%s: forked into a user namespace of its own (identity map), %s, as uid %d gid %d, %d additional gids",
			strings.Join(p.Args, " "), hold, p.User.UID, p.User.GID, len(p.User.AdditionalGids)))
		return pl
	}
	add(Ready, "report set up", "")
	if o.Park {
		add(WaitStart, "wait for start", "")
	}
	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		add(StartHooks, "hooks.startContainer", fmt.Sprintf("%d hooks", len(s.Hooks.StartContainer)))
	}
	add(Exec, "exec", strings.Join(p.Args, " "))
	return pl
}

// Fail wraps a step's error in a failure.Error naming the step (nil
// stays nil; an error that names its step already keeps it).
func (s Step) Fail(err error) error { return failure.Step(s.Name, err) }
