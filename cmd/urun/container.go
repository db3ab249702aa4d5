// What several verbs share of a container's life: create's sequence
// (create, run, launch), delete's (delete, run, launch; start after a failed
// hook) and the hints they print.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"urun/config"
	"urun/console"
	"urun/members"
	"urun/nsjoin"
	"urun/plan"
	"urun/spawn"
	"urun/store"
	"urun/ulog"
	"urun/userns"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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

type createOpts struct {
	id, bundle, pidFile, consoleSocket string
	preserveFDs                        int
	park                               bool   // create: wait for start; run: exec on Release
	hang                               string // URUN_HANG: "create" or "create-setup" (see hangCreating)
	// detach (run --detach): an interrupt before the release cleans up as
	// in create; the caller releases, then calls created.guard.forwardTo.
	detach        bool
	loaded        *config.Bundle // a config built in memory (launch), instead of bundle/config.json
	dieWithCaller bool           // launch: the container process dies with urun (spawn.Opts.DieWithCaller)
}

// created is a set-up container whose process waits to be released.
type created struct {
	ph    *spawn.Placeholder
	store *store.Store
	state *store.State
	// master is the container's pty master when run relays the terminal
	// itself (process.terminal, no --console-socket); see terminal.go.
	master *os.File
	guard  *createGuard // run --detach only: still armed
	lock   *store.Container
}

// createContainer is create's whole sequence; run shares it. On error
// nothing is left: no state directory, no process.
func createContainer(g *Globals, o createOpts) (_ *created, err error) {
	if err := store.ValidateID(o.id); err != nil {
		return nil, err
	}
	if o.preserveFDs < 0 {
		return nil, fmt.Errorf("--preserve-fds: %d is negative", o.preserveFDs)
	}
	b := o.loaded
	if b == nil {
		if b, err = config.Read(o.bundle); err != nil {
			return nil, err
		}
	}
	ulog.Trace("config read")
	// Decoding (~1.2 ms of reflection in a fresh process) runs on the
	// other CPU while the container is reserved; nothing reads b.Spec
	// before the receive below.
	decoded := make(chan error, 1)
	go func() { decoded <- b.Decode() }()
	// Caught before the container is reserved (run --detach has no early
	// catch): a signal from then on finds the guard armed below.
	var guardSigs <-chan os.Signal
	guardVerb := "create"
	switch {
	case o.park && !strings.HasPrefix(o.hang, "create"):
		guardSigs = early.wait(interrupting...)
	case o.detach:
		guardSigs, guardVerb = early.wait(forwarded...), "run"
	}
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return nil, err
	}
	ulog.Trace("store opened")
	// Registered first, so it runs once everything else is undone.
	var sent bool // the container process has the config: hooks may have run
	defer func() {
		if err != nil && sent {
			poststopFailedCreate(o, b)
		}
	}()
	c, err := root.Create(o.id)
	if err != nil {
		return nil, err
	}
	defer func() {
		switch {
		case err != nil:
			c.Remove()
		case !o.detach:
			c.Close()
		} // run --detach closes it once released
	}()
	if o.loaded != nil { // no bundle config.json: exec reads the process here
		if err = os.WriteFile(filepath.Join(c.Dir, store.MemoryConfig), o.loaded.Raw, 0o600); err != nil {
			return nil, fmt.Errorf("keep the config: %w", err)
		}
	}
	var guard *createGuard
	if guardSigs != nil {
		guard = guardCreate(c, guardVerb, o.id, o.pidFile, guardSigs)
	}
	defer func() {
		// Runs before the removal above: an interrupt after this point
		// must not remove a directory that may be another create's now.
		if guard != nil && (o.park || err != nil) {
			guard.finish()
		}
	}()
	var listen *os.File
	if o.park {
		if listen, err = listenStart(c); err != nil {
			return nil, err
		}
		defer listen.Close()
	}
	ulog.Trace("container reserved")
	sp := spawn.Opts{ID: o.id, Listen: listen, PreserveFDs: o.preserveFDs, ActivationFDs: activationFDs(), CallerFDs: callerFDs,
		DieWithCaller: o.dieWithCaller}
	if callerFDsErr != nil && sp.PreserveFDs+sp.ActivationFDs > 0 {
		return nil, fmt.Errorf("--preserve-fds/LISTEN_FDS: %w", callerFDsErr)
	}

	// Start the placeholder first when the config cannot change the ID
	// mapping: it starts up (~2.5 ms of Go runtime and init) on the other
	// CPU while this process decodes and checks config.json. On any error
	// below, the deferred kill and remove leave nothing behind.
	var ph *spawn.Placeholder
	var started []*spawn.Placeholder // each killed if create fails
	defer func() {
		if err != nil {
			for _, p := range started {
				p.Kill()
			}
		}
	}()
	// spawned takes on the container process either executor started: the
	// one place it becomes ph, the guard's and the failure's to kill.
	spawned := func(p *spawn.Placeholder, err error) error {
		if err == nil {
			ph = p
			guard.track(p)
			started = append(started, p)
		}
		return err
	}
	// uid 0 in a user namespace (buildah's and podman's case) may need no
	// placeholder at all: see spawn/inproc.go.
	inProcess := spawn.MayRunInProcess()
	if !b.MayMapIDs() && o.hang != "create" && !inProcess {
		if sp.Mapping, err = userns.Available(); err != nil {
			return nil, err
		}
		if err = spawned(spawn.Start(sp)); err != nil {
			return nil, err
		}
	}
	if err = <-decoded; err != nil {
		return nil, err
	}
	ulog.Trace("config loaded")
	ignored, err := config.Check(b.Spec, config.Options{ConsoleSocket: o.consoleSocket != ""})
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	for _, n := range ignored {
		ulog.L.Debug().Str("field", n.Path).Msgf("ignored: %s", n.Reason)
	}
	ulog.Trace("config checked")
	if sp.Join, err = openJoins(b.Spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	defer sp.Join.Close()
	if ph != nil && (userns.ConfigMaps(b.Spec) || sp.Join != nil || nsjoin.StaysInUser(b.Spec)) {
		// MayMapIDs missed a spelling, or namespaces are joined: start
		// again with the config's maps and namespaces.
		ph.Kill()
		ph = nil
	}
	m := sp.Mapping
	if ph == nil {
		if m, err = chooseMapping(b.Spec, sp.Join); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
	}
	ulog.L.Debug().Str("mode", string(m.Mode)).Str("uids", userns.Format(m.UID, false)+" -> "+userns.Format(m.UID, true)).
		Str("gids", userns.Format(m.GID, false)+" -> "+userns.Format(m.GID, true)).Msg("ID mapping chosen")
	if userns.RealRoot() && !m.SetupAsRoot {
		ulog.L.Warn().Msgf("urun %s: running as real root: the container's root is host uid 0 and, with no PID namespace, can signal every root process on the host (urun is no sandbox; see README; a remapping such as containerd's 0 -> 100000 avoids it)", o.id)
	}
	if err = m.CheckUser(b.Spec.Process.User); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	ulog.Trace("mapping chosen")
	tty, err := openTerminal(o, b.Spec.Process, "run")
	if err != nil {
		return nil, err
	}
	defer tty.close()
	if o.hang == "create" {
		if err = hangCreating(c, b.Dir, o.id, 0); err != nil {
			return nil, err
		}
	}
	sp.Mapping = m
	if inProcess {
		if why := spawn.InProcessRefusal(b.Spec, sp, b.Spec.Process.Terminal); why != "" {
			ulog.L.Debug().Msgf("executor: two processes (the in-process one does not do %s yet)", why)
			inProcess = false
		}
	}
	if inProcess {
		ulog.L.Debug().Msg("executor: in-process (uid 0 with CAP_SYS_ADMIN in a user namespace)")
		pl := spawn.BuildPlan(b, sp, false, true)
		debugPlan(pl)
		if err = spawned(spawn.RunInProcess(pl, b, m, listen)); err != nil {
			return nil, err
		}
	} else {
		if ph == nil {
			if err = spawned(spawn.Start(sp)); err != nil {
				return nil, err
			}
		}
		// The placeholder sets the container up while this process writes
		// the state and the pid file. Nobody sees them early: readers of
		// the state take the container's lock, which create holds, and
		// callers read the pid file once create has returned; on error
		// both go.
		ph.Console = tty.toContainer
		pl := ph.Plan(b)
		debugPlan(pl)
		if err = ph.Send(b, pl); err != nil {
			return nil, err
		}
	}
	sent = true
	st := &store.State{
		State: specs.State{Version: specs.Version, ID: o.id, Status: store.Created,
			Pid: ph.Pid, Bundle: b.Dir, Annotations: b.Spec.Annotations},
		StartTime: ph.StartTime, Started: !o.park, Created: time.Now().UTC(),
		Rootfs: b.Rootfs, Owner: os.Geteuid(), MntNS: mntNS(ph.Pid),
		Hooks: spawn.LaterHooks(b.Spec.Hooks),
	}
	ulog.Trace("state built")
	guard.lock() // an interrupt's cleanup must not race these writes
	if err = c.Save(st); err == nil {
		if err = store.WritePidFile(o.pidFile, ph.Pid); err == nil && o.pidFile != "" {
			guard.wrotePidFile()
			defer func() {
				if err != nil {
					os.Remove(o.pidFile) // ours: a create that fails leaves none
				}
			}()
		}
	}
	guard.unlock()
	if err != nil {
		return nil, err
	}
	ulog.Trace("state saved")
	if err = ph.Wait(); err != nil {
		return nil, err
	}
	ulog.Trace("placeholder ready")
	master, err := tty.master()
	if err != nil {
		return nil, err
	}
	for _, n := range ph.Notes {
		ulog.L.Debug().Msg(n)
	}
	if o.hang == "create-setup" && o.park {
		if err = hangCreating(c, b.Dir, o.id, ph.Pid); err != nil {
			return nil, err
		}
	}
	guard.lock()
	defer guard.unlock()
	if o.park {
		if err = ph.Detach(); err != nil {
			return nil, err
		}
	}
	if o.park {
		guard.commit()
	}
	ulog.Trace("committed")
	ct := &created{ph: ph, store: root, state: st, master: master}
	if o.detach {
		ct.guard, ct.lock = guard, c
	}
	return ct, nil
}

// debugPlan prints the plan, one line per step, before it runs.
func debugPlan(pl *plan.Plan) {
	for i, s := range pl.Steps {
		ulog.L.Debug().Msgf("plan %2d %s", i+1, s)
	}
}

// createGuard makes an interrupted create leave nothing behind: on SIGINT,
// SIGTERM or SIGHUP before the commit it kills the placeholder, removes
// the container's directory and exits 128+N. After the commit the create
// has succeeded and the signal is ignored (create returns at once). It
// removes the pid file too if create wrote it (before the commit).
//
// run --detach catches every signal run forwards: until the container
// process is released the other ones wait, and forwardTo passes them on
// with everything that arrives after it.
type createGuard struct {
	mu        sync.Mutex
	committed bool // create succeeded, or gave up and cleaned up itself
	pidFile   bool // create wrote the pid file
	procs     []*os.Process
	pending   []os.Signal // run --detach: to forward once released
	target    *os.Process // run --detach, released: forward to it
}

func guardCreate(c *store.Container, verb, id, pidFile string, sigs <-chan os.Signal) *createGuard {
	g := &createGuard{}
	go func() {
		for s := range sigs {
			g.mu.Lock()
			switch {
			case g.target != nil:
				g.target.Signal(s)
			case g.committed:
			case !slices.Contains(interrupting, s):
				g.pending = append(g.pending, s)
			default:
				g.killProcs()
				os.RemoveAll(c.Dir)
				if g.pidFile {
					os.Remove(pidFile)
				}
				ulog.L.Error().Msgf("urun %s %s: interrupted by %v: nothing was created", verb, id, s)
				os.Exit(128 + int(s.(unix.Signal)))
			}
			g.mu.Unlock()
		}
	}()
	return g
}

// killProcs kills the container processes and waits (a little) until they
// are gone, so that nothing of the container outlives the interrupted
// urun (our children: Wait reaps them).
func (g *createGuard) killProcs() {
	done := make(chan struct{})
	go func() {
		for _, p := range g.procs {
			p.Kill() // an exited one says so; a pid is never reused under os.Process
			p.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second): // stuck in the kernel: SIGKILL will end it
	}
}

// forwardTo stands the guard down once the container process p is
// released (run --detach) and sends it what arrived meanwhile, and from
// then on what arrives until urun exits.
func (g *createGuard) forwardTo(p *os.Process) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.committed, g.target = true, p
	for _, s := range g.pending {
		p.Signal(s)
	}
	g.pending = nil
}

// The methods accept a nil guard (run, URUN_HANG=create).
func (g *createGuard) track(ph *spawn.Placeholder) {
	if g != nil {
		g.mu.Lock()
		g.procs = append(g.procs, ph.Cmd.Process)
		g.mu.Unlock()
	}
}

func (g *createGuard) lock() {
	if g != nil {
		g.mu.Lock()
	}
}

func (g *createGuard) unlock() {
	if g != nil {
		g.mu.Unlock()
	}
}

func (g *createGuard) commit() {
	if g != nil {
		g.committed = true
	}
}

func (g *createGuard) wrotePidFile() {
	if g != nil {
		g.pidFile = true
	}
}

// finish stands the guard down when create returns; from then on its own
// cleanup (or success) stands.
func (g *createGuard) finish() {
	g.mu.Lock()
	g.committed = true
	g.mu.Unlock()
}

// mntNS names the placeholder's mount namespace, which identifies the
// container's other processes for kill --all and delete.
func mntNS(pid int) string {
	ns, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	return ns
}

// listenStart binds the start socket in the container's directory. The path
// goes through /proc/self/fd so a long --root cannot overflow sun_path.
func listenStart(c *store.Container) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: c.Path(store.StartSocket)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("start socket %s: %w", filepath.Join(c.Dir, store.StartSocket), err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("start socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "start.sock"), nil
}

// hangCreating implements URUN_HANG=create and URUN_HANG=create-setup.
// The first hangs after validating the config and reserving the container,
// so a person can inspect the bundle and `urun state ID` (status
// "creating", pid = this urun) mid-build; the second once the container
// process (placeholder, ph) is set up and waits for create to commit it,
// so its mounts can be inspected (/proc/PID/mountinfo, /proc/PID/root).
// A SIGTERM, SIGINT or SIGHUP ends it and removes everything; a SIGKILL
// leaves only a "stopped" state for delete (the placeholder exits when
// create goes away without committing).
func hangCreating(c *store.Container, bundle, id string, ph int) error {
	self := os.Getpid()
	start, _, err := members.ProcStart(self)
	if err != nil {
		return err
	}
	st := &store.State{
		State:     specs.State{Version: specs.Version, ID: id, Status: store.Creating, Pid: self, Bundle: bundle},
		StartTime: start, Created: time.Now().UTC(), Owner: os.Geteuid(),
	}
	if err := c.Save(st); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer signal.Stop(sigs)
	c.Unlock()
	op, what := "create", "after validating the bundle and reserving the container"
	enter := execHint(filepath.Dir(c.Dir), id)
	how := "; the container has no process yet: with URUN_HANG=create-setup, `" + enter + "` enters it"
	if ph != 0 {
		op, what = "create-setup", fmt.Sprintf("with the container set up in process %d, before committing it", ph)
		how = "; enter it with `" + enter + "`"
	}
	ulog.L.Warn().Int("pid", self).Strs("args", os.Args).
		Msgf("URUN_HANG=%s: urun create is hanging %s (urun state %s shows it); end it with SIGTERM, SIGINT or SIGHUP (kill %d)%s", op, what, id, self, how)
	sig := <-sigs
	if err := c.Relock(); err != nil {
		return err
	}
	return signalled{fmt.Errorf("URUN_HANG=%s: stopped by %s while hanging", op, unix.SignalName(sig.(unix.Signal))), sig.(unix.Signal)}
}

// activationFDs is the number of systemd socket-activation fds urun was
// given (LISTEN_FDS, honoured only when LISTEN_PID names this process, as
// sd_listen_fds does). The container gets them as fds 3.., as with runc.
func activationFDs() int {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// openJoins opens the namespaces the config names by path (nil: none to
// join; a path to urun's own namespace is none).
func openJoins(s *specs.Spec) (*nsjoin.Plan, error) {
	if s.Linux == nil {
		return nil, nil
	}
	return nsjoin.Open(s.Linux.Namespaces)
}

// chooseMapping is the user namespace's ID mapping: the joined one's (read
// once joined), urun's own for a path to it, else userns.Choose's.
func chooseMapping(s *specs.Spec, join *nsjoin.Plan) (*userns.Mapping, error) {
	switch {
	case join != nil && join.User != nil:
		return &userns.Mapping{Mode: userns.Join}, nil
	case nsjoin.StaysInUser(s):
		return userns.Owned()
	}
	return userns.Choose(s)
}

// runner is a container run as run runs it (run, launch).
type runner struct {
	containerFlags
	ID           string
	Detach, Keep bool

	loaded *config.Bundle // launch: the config, built in memory
	verb   string         // for errors: "run", or "launch"
}

func (c *runner) name() string {
	if c.verb == "" {
		return "run"
	}
	return c.verb
}

// run is create + start in the foreground: the container process is our
// child, so its exit status is exactly the command's.
func (c *runner) run(g *Globals) error {
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
	o := c.opts(c.ID)
	o.detach, o.loaded, o.dieWithCaller = c.Detach, c.loaded, c.verb == "launch"
	ct, err := createContainer(g, o)
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
func (c *runner) release(g *Globals, ct *created) error {
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
	// The process handle is not released: a signal the guard takes until
	// urun exits still reaches the container (Release closed its pidfd,
	// and such a signal was lost).
	return nil
}

func (c *runner) cleanup(g *Globals) {
	if err := deleteContainer(g, c.ID, true); err != nil {
		ulog.L.Warn().Msgf("urun run %s: remove state: %v", c.ID, err)
	}
}
