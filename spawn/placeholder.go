package spawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/config"
	"urun/console"
	"urun/initproc"
	"urun/members"
	"urun/nsjoin"
	"urun/plan"
	"urun/ulog"
	"urun/userns"
)

// Opts describes one placeholder.
type Opts struct {
	ID          string // the container's, for the hooks' state
	Mapping     *userns.Mapping
	Listen      *os.File // create: the start socket; nil for run
	PreserveFDs int
	// ActivationFDs are systemd socket-activation fds (LISTEN_FDS) given to
	// urun; they go to the container as fds 3.., before the preserved ones.
	ActivationFDs int
	// CallerFDs are the descriptors urun's caller gave it: the only ones
	// ActivationFDs and PreserveFDs may cover.
	CallerFDs map[int]bool
	// Join holds the namespaces to join by path (nil: none).
	Join *nsjoin.Plan
	// DieWithCaller (launch): the container process is killed when urun
	// exits, so a launcher that mpirun or Slurm SIGKILLs leaves no rank.
	DieWithCaller bool
}

// Placeholder is the parent's handle on the spawned container process.
type Placeholder struct {
	Cmd       *exec.Cmd
	Pid       int
	StartTime uint64
	Notes     []string
	// Console, set before Send, is the socket the placeholder sends the
	// container's pty master to (process.terminal); Send passes it on.
	Console   *os.File
	sync      *os.File
	opts      Opts
	hooks     *specs.Hooks // the config's, once sent
	hookState *specs.State
	// inProcess: the container process was forked by RunInProcess, set
	// up and already running its command; there is no placeholder.
	inProcess bool
	errRd     *os.File // in-process: the held child's exec error pipe
	parked    bool     // in-process create: the child waits for start
	// waitMap: the placeholder waits for its maps (rawSpawn); mapped is
	// their writing's result (mapIDs), mapSent the 'm' byte's (sendMapped).
	waitMap         bool
	mapped, mapSent chan error
	// spawnErr: rawSpawn's error pipe, until the placeholder has replied.
	spawnErr *os.File
}

// Start re-executes urun into a new user and mount namespace and maps its
// IDs: the placeholder starts up (Go runtime, package init) while the
// caller decodes and checks config.json; Send hands it the plan and Wait
// waits until it reports the container set up. On error no process is
// left behind.
func Start(o Opts) (*Placeholder, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "sync-parent")
	child := os.NewFile(uintptr(fds[1]), "sync-child")
	defer child.Close()

	passed := o.ActivationFDs + o.PreserveFDs
	extra := make([]*os.File, 0, passed+2)
	for i := 0; i < passed; i++ {
		fd := 3 + i
		if !o.CallerFDs[fd] {
			// Whatever urun holds there itself (the runtime's cgroup
			// files, a state directory) is not the caller's to pass.
			parent.Close()
			if i < o.ActivationFDs {
				return nil, fmt.Errorf("LISTEN_FDS=%d: fd %d was not open in urun's caller", o.ActivationFDs, fd)
			}
			return nil, fmt.Errorf("--preserve-fds %d: fd %d was not open in urun's caller (only descriptors the caller passed to urun can be preserved)", o.PreserveFDs, fd)
		}
		extra = append(extra, os.NewFile(uintptr(fd), "preserved"))
	}
	syncFD := 3 + len(extra)
	extra = append(extra, child)
	listenFD := -1
	if o.Listen != nil {
		listenFD = syncFD + 1
		extra = append(extra, o.Listen)
	}
	// A new user namespace of a subuid account (newuidmap writes its
	// maps) or with its one ID: the child is forked by hand (rawSpawn)
	// and execs at once, unmapped; its maps are written meanwhile, and it
	// waits for them (waitMapped) before it sets up.
	waitMap := o.Join == nil && (o.Mapping.Helpers() || o.Mapping.Mode == userns.Single)
	mode := "run"
	if waitMap {
		mode = "wait-map"
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initproc.Arg0, strconv.Itoa(syncFD), mode, strconv.Itoa(listenFD)},
		Env:        []string{},
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			Setsid:     true,
		},
	}
	if o.DieWithCaller && o.Join == nil {
		// The spawning thread is urun's main one (locked in init), which
		// lives as long as urun; a joining thread dies at once, so not there.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if !waitMap {
		cmd.SysProcAttr.UidMappings = sysMaps(o.Mapping.UID)
		cmd.SysProcAttr.GidMappings = sysMaps(o.Mapping.GID)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = o.Mapping.Setgroups
	}
	if o.Mapping.SetupAsRoot {
		// Host uid 0 is not in the container: become its root first.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !o.Mapping.Setgroups}
	}
	if ulog.TraceOn() {
		cmd.Env = []string{ulog.TraceEnv + "=1"}
	}
	if err := joinSetup(cmd, o); err != nil {
		parent.Close()
		return nil, err
	}
	var spawnErr *os.File
	spawn := func() error { return forkExec(cmd) }
	if waitMap {
		spawn = func() (err error) {
			spawnErr, err = rawSpawn(cmd)
			return err
		}
	}
	ulog.Trace("spawn")
	if err := o.Join.Fork(spawn, func(m string) { ulog.L.Debug().Msg(m) }); err != nil {
		parent.Close()
		if o.Join != nil {
			return nil, err // names the namespace
		}
		return nil, fmt.Errorf("start placeholder in new user namespace: %w%s", err, nsHint(err))
	}
	ulog.Trace("spawned")
	p := &Placeholder{Cmd: cmd, Pid: cmd.Process.Pid, sync: parent, opts: o, spawnErr: spawnErr, waitMap: waitMap}
	if o.Join != nil && o.Join.User != nil {
		if err := p.adoptJoined(o.Join); err != nil {
			p.Kill()
			return nil, err
		}
	}
	if err := p.mapIDs(); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// forkExec starts cmd, a description only (no pipes, no goroutines), with
// syscall.ForkExec rather than cmd.Start: os/exec's bookkeeping is on
// run's critical path. cmd.Process is then set as Start would set it, so
// that Wait, Kill and Release work as on a started command.
func forkExec(cmd *exec.Cmd) error {
	files := []uintptr{os.Stdin.Fd(), os.Stdout.Fd(), os.Stderr.Fd()}
	for _, f := range cmd.ExtraFiles {
		files = append(files, f.Fd())
	}
	pid, err := syscall.ForkExec(cmd.Path, cmd.Args, &syscall.ProcAttr{Env: cmd.Env, Files: files, Sys: cmd.SysProcAttr})
	if err != nil {
		return &os.PathError{Op: "fork/exec", Path: cmd.Path, Err: err}
	}
	if cmd.Process, err = os.FindProcess(pid); err != nil {
		// Not on Linux (it cannot fail for a live child); reap it anyway.
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		return err
	}
	return nil
}

// mapIDs records the start time and writes the maps of a rawSpawn'ed
// placeholder: one ID directly; newuidmap's and newgidmap's run while the
// caller decodes and checks the config and the placeholder starts up (Send
// passes their end on).
func (p *Placeholder) mapIDs() error {
	o := p.opts
	if p.waitMap {
		mapped := make(chan error, 1)
		p.mapped = mapped
		if o.Mapping.Helpers() {
			go func() { mapped <- o.Mapping.ApplyHelpers(p.Pid) }()
		} else {
			if err := writeMaps(p.Pid, o.Mapping); err != nil {
				return err
			}
			mapped <- nil
		}
	}
	st, _, err := members.ProcStart(p.Pid)
	if err != nil {
		return fmt.Errorf("placeholder %d: %w", p.Pid, err)
	}
	p.StartTime = st
	return nil
}

// sendMapped tells the placeholder, which has the config by then (Send),
// that its maps are written, as soon as they are: it waits for this byte to
// set up. Wait collects the result (mapDone).
func (p *Placeholder) sendMapped() {
	if p.mapped == nil {
		return
	}
	mapped, sent, sync := p.mapped, make(chan error, 1), p.sync
	p.mapped, p.mapSent = nil, sent
	go func() {
		err := <-mapped
		if err == nil {
			if _, err = sync.Write([]byte{initproc.MapByte}); err != nil {
				err = fmt.Errorf("placeholder: %w", err)
			}
		}
		sent <- err
	}()
}

func (p *Placeholder) mapDone() error {
	if p.mapSent == nil {
		return nil
	}
	err := <-p.mapSent
	p.mapSent = nil
	return err
}

// Plan is the container's set-up, built from the checked config in b.
func (p *Placeholder) Plan(b *config.Bundle) *plan.Plan {
	return BuildPlan(b, p.opts, p.Console != nil, false)
}

// BuildPlan is the plan of the checked config in b for the container o
// describes, for the two-process executor or (inProcess) RunInProcess.
func BuildPlan(b *config.Bundle, o Opts, terminal, inProcess bool) *plan.Plan {
	return plan.Build(b.Spec, plan.Options{
		Rootfs: b.Rootfs, Park: o.Listen != nil, Terminal: terminal, InProcess: inProcess,
		// Its uid is not root in the namespace: the placeholder holds
		// ambient capabilities for set-up and drops them before exec.
		SetupCaps: o.Mapping.SetupCaps() || o.Mapping.Mode == userns.Join,
		FirstFD:   3 + o.ActivationFDs + o.PreserveFDs,
	})
}

// Send hands the placeholder the plan, which it starts executing. On error
// it kills it.
func (p *Placeholder) Send(b *config.Bundle, pl *plan.Plan) error {
	o := p.opts
	if err := checkJoinedMaps(o, b); err != nil {
		p.Kill()
		return err
	}
	passed := o.ActivationFDs + o.PreserveFDs
	ic := initproc.Config{
		Plan: pl, Rootfs: b.Rootfs, BundleDir: b.Dir,
		GIDs: o.Mapping.GID, Setgroups: o.Mapping.Setgroups,
		Park: o.Listen != nil, ListenFD: -1, FirstFD: 3 + passed, ActivationFDs: o.ActivationFDs,
		Terminal: p.Console != nil,
	}
	if o.Listen != nil {
		ic.ListenFD = 3 + passed + 1
	}
	if b.Spec != nil && b.Spec.Hooks != nil {
		p.hooks = b.Spec.Hooks
		p.hookState = &specs.State{Version: specs.Version, ID: o.ID, Bundle: b.Dir, Annotations: b.Spec.Annotations}
		ic.HookState = p.hookState
	}
	if err := initproc.WriteMsg(p.sync, &ic); err != nil {
		p.Kill()
		return fmt.Errorf("placeholder: send config: %w", err)
	}
	if p.Console != nil {
		if err := console.SendFd(p.sync, p.Console); err != nil {
			p.Kill()
			return fmt.Errorf("placeholder: send console socket: %w", err)
		}
	}
	p.sendMapped()
	return nil
}

// Wait is Send's second half: it waits for the placeholder's report. On
// error it kills it.
func (p *Placeholder) Wait() error {
	if p.inProcess {
		return p.waitParked()
	}
	if err := p.mapDone(); err != nil {
		p.Kill()
		return err
	}
	var r initproc.Reply
	for {
		if err := initproc.ReadMsg(p.sync, &r); err != nil {
			err = fmt.Errorf("placeholder exited during setup (%w)%s", err, p.exitDetail())
			p.Kill()
			return err
		}
		if !r.RuntimeHooks {
			break
		}
		if err := p.runtimeHooks(); err != nil {
			p.Kill()
			return err
		}
		r.RuntimeHooks = false
	}
	p.closeSpawnErr() // it replied: it exec'd
	p.Notes = r.Notes
	if r.Error != "" {
		p.Kill()
		return errors.New(r.Error)
	}
	return nil
}

// exitDetail reaps a dead placeholder and says how it ended.
func (p *Placeholder) exitDetail() string {
	err := p.Cmd.Wait()
	p.Cmd.Process = nil
	why := spawnFailure(p.spawnErr)
	if err != nil {
		return ": " + err.Error() + why
	}
	return why
}

func (p *Placeholder) closeSpawnErr() {
	if p.spawnErr != nil {
		p.spawnErr.Close()
		p.spawnErr = nil
	}
}

// Release lets a run-mode placeholder exec the container process and
// reports an exec failure.
func (p *Placeholder) Release() error {
	if p.inProcess {
		return p.releaseHeld()
	}
	defer p.sync.Close()
	return Go(p.sync)
}

// Detach commits the placeholder (create mode: it now waits on the start
// socket; until this byte it exits when create goes away) and lets it go.
func (p *Placeholder) Detach() error {
	_, err := p.sync.Write([]byte{initproc.CommitByte})
	p.sync.Close()
	if err != nil {
		p.Kill()
		return fmt.Errorf("placeholder: commit: %w", err)
	}
	p.Cmd.Process.Release()
	return nil
}

// Kill ends and reaps the placeholder.
// It may be called more than once.
func (p *Placeholder) Kill() {
	if p.Cmd.Process != nil {
		p.Cmd.Process.Kill()
		p.Cmd.Wait()
		p.Cmd.Process = nil
	}
	p.sync.Close()
	if p.errRd != nil {
		p.errRd.Close()
	}
	p.closeSpawnErr()
}

func sysMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, r := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)}
	}
	return out
}

func nsHint(err error) string {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
		return " (the host may forbid unprivileged user namespaces: check /proc/sys/user/max_user_namespaces, kernel.unprivileged_userns_clone and AppArmor's restrict_unprivileged_userns)"
	}
	return ""
}
