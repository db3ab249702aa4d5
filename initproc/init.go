// Package initproc is the container's side of create: InitMain runs in the
// re-executed placeholder (argv[0] Arg0) inside the new namespaces,
// executes the plan create sends it (mounts, pivot_root, identity,
// capabilities), runs the container-side hooks, parks until start and
// execs the container's process. protocol.go holds what create and the
// placeholder exchange.
package initproc

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/console"
	"urun/mount"
	"urun/plan"
	"urun/proc"
	"urun/ulog"
	"urun/userns"
)

// InitMain is the placeholder: the re-executed urun inside the new user and
// mount namespace. It never returns. The caller has locked the OS thread.
func InitMain() {
	// urun does not profile; a profiling sample is the runtime's one large
	// allocation that could come late (see proc.Exec).
	runtime.MemProfileRate = 0
	if len(os.Args) != 4 && !(len(os.Args) > 4 && os.Args[2] == JoinUserArg) {
		fmt.Fprintln(os.Stderr, "urun-init: internal entry point, not for direct use")
		os.Exit(2)
	}
	syncFD, err1 := strconv.Atoi(os.Args[1])
	listenFD, err2 := strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil {
		os.Exit(2)
	}
	if os.Args[2] == JoinUserArg {
		// A helper that forks the placeholder into the namespaces whose
		// files follow (join.go); the placeholder closes strays itself.
		joinUserMain(os.NewFile(uintptr(syncFD), "sync"))
	}
	// Before anything else: only 0-2, the passed fds (3..syncFD-1), the
	// sync socket and the start socket are the placeholder's. Anything
	// else inherited is a host descriptor the container must not reach.
	if err := proc.CloseStrays(func(fd int) bool { return fd <= syncFD || fd == listenFD }); err != nil {
		os.Exit(1)
	}
	sync := os.NewFile(uintptr(syncFD), "sync")
	var ic Config
	if err := ReadMsg(sync, &ic); err != nil {
		os.Exit(1) // the parent is gone; nobody to tell
	}
	ulog.Trace("init: config received")
	if ic.Terminal {
		c, err := console.RecvFd(sync) // sent right after the config
		if err != nil {
			fail(sync, fmt.Errorf("receive the console socket: %w", err))
		}
		ic.console = c
	}
	if os.Args[2] == "wait-map" {
		waitMapped(sync)
	}
	execute(ic.Plan, &ic, sync)
}

// waitMapped waits until newuidmap and newgidmap have written our maps
// (the parent runs them while we start and decode the config). We exec'd
// unmapped, keeping our capabilities in the ambient set (Start), so no
// second exec is needed to gain them. Mapped to root now, we hold them as
// root does and drop the ambient and inheritable sets, which would
// otherwise pass on to the container's command; mapped to another uid
// (--userns=keep-id), the plan's drop-setup-caps step drops them at the end.
func waitMapped(sync *os.File) {
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 || b[0] != MapByte {
		os.Exit(1) // the parent is gone, or the helpers failed (it says so)
	}
	ulog.Trace("init: mapped")
	if os.Geteuid() == 0 {
		if err := proc.EndSetupCaps(nil, false); err != nil {
			fail(sync, fmt.Errorf("after ID mapping: %w", err))
		}
	}
}

// execute runs the plan, step after step, and never returns: the last step
// is the exec. A failure before "ready" goes to create as the reply (it
// kills us); after it, to start (or run) over the start connection.
func execute(pl *plan.Plan, ic *Config, sync *os.File) {
	spec := pl.Spec
	p := spec.Process
	var notes []string
	tree := mount.NewTree(spec, mount.Env{
		Rootfs: ic.Rootfs, BundleDir: ic.BundleDir,
		GidMapped: func(g uint32) bool { return userns.Mapped(ic.GIDs, g) },
		Debug:     func(m string) { notes = append(notes, m) },
	})
	conn, path := sync, ""
	for _, s := range pl.Steps {
		done, err := CommonStep(tree, p, s)
		switch {
		case done:
		case s.Op == plan.CreateHooks:
			err = createHooks(sync, spec.Hooks, ic)
		case s.Op == plan.Terminal:
			err = setupTerminal(p, ic)
		case s.Op == plan.SetUser:
			err = proc.SetUser(p.User, ic.Setgroups)
		case s.Op == plan.SetCaps:
			err = proc.SetCapabilities(p.Capabilities)
		case s.Op == plan.DropSetupCaps:
			err = endSetupCaps(p.Capabilities)
		case s.Op == plan.CloseFDs:
			// Before the cwd: fds past the passed ones close at execve
			// (the strays were closed at start), and Chdir checks that
			// the cwd is inside the container's root.
			tree.Close()
			err = proc.CloseExtraFDs(ic.FirstFD)
		case s.Op == plan.LookPath:
			path, err = proc.LookPath(p)
		case s.Op == plan.Ready:
			if WriteMsg(sync, &Reply{Notes: notes}) != nil {
				os.Exit(1)
			}
			if !ic.Park {
				if waitGo(sync) != nil {
					os.Exit(1) // run's caller went away
				}
			}
		case s.Op == plan.WaitStart:
			conn = park(sync, ic.ListenFD)
		case s.Op == plan.StartHooks:
			if err := startHooks(spec.Hooks, ic); err != nil {
				conn.Write([]byte(HookFailed + err.Error()))
				os.Exit(1)
			}
		case s.Op == plan.Exec:
			if ic.ActivationFDs > 0 {
				p.Env = activationEnv(p.Env, ic.ActivationFDs)
			}
			ulog.Trace("init: exec")
			err = proc.Exec(path, p)
			conn.Write([]byte(fmt.Sprintf("exec %s: %v", path, err)))
			os.Exit(127)
		default:
			err = fmt.Errorf("unknown step %q", s.Op)
		}
		if err != nil {
			fail(sync, s.Fail(err))
		}
		ulog.Trace("init: " + s.Name)
	}
	os.Exit(1) // a plan ends with its exec
}

// common runs the steps both executors run alike (done: s was one).
func CommonStep(tree *mount.Tree, p *specs.Process, s plan.Step) (done bool, err error) {
	switch s.Op {
	case plan.OOMScoreAdj:
		err = proc.OOMScoreAdj(p)
	case plan.CheckRlimits:
		// Set only at exec: a limit such as RLIMIT_AS below what the Go
		// runtime has mapped would fail its set-up.
		err = proc.CheckRlimits(p)
	case plan.SlaveMounts:
		err = tree.SlaveMounts()
	case plan.BindRootfs:
		err = tree.BindRootfs()
	case plan.DevTmpfs:
		err = tree.DevTmpfs()
	case plan.Mount:
		err = tree.Mount(s.I)
	case plan.PopulateDev:
		err = tree.PopulateDev()
	case plan.Device:
		err = tree.Device(s.I)
	case plan.PivotRoot:
		err = tree.PivotRoot()
	case plan.Mask:
		err = tree.Mask(s.I)
	case plan.ReadonlyPath:
		err = tree.ReadonlyPath(s.I)
	case plan.Propagation:
		err = tree.Propagation()
	case plan.ReadonlyRoot:
		err = tree.ReadonlyRoot()
	case plan.DropBounding:
		err = proc.DropBounding(p.Capabilities)
	case plan.NoNewPrivs:
		err = proc.NoNewPrivs(p)
	case plan.Chdir:
		err = proc.Chdir(p)
	default:
		return false, nil
	}
	return true, err
}

// waitGo waits for the start byte.
func waitGo(conn *os.File) error {
	var b [1]byte
	if n, _ := conn.Read(b[:]); n != 1 || b[0] != StartByte {
		return fmt.Errorf("no start byte")
	}
	return nil
}

// park waits for `urun start` to connect to the start socket and send the
// start byte; a connection that closes without it changes nothing. It
// first waits for create's commit byte, sent once the state and pid file
// are written: a create killed before that leaves no placeholder behind.
func park(sync *os.File, listenFD int) *os.File {
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 || b[0] != CommitByte {
		os.Exit(1)
	}
	sync.Close()
	for {
		fd, _, err := unix.Accept4(listenFD, unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			os.Exit(1)
		}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &StartReadTimeout)
		conn := os.NewFile(uintptr(fd), "start")
		if waitGo(conn) == nil {
			unix.Close(listenFD)
			return conn
		}
		conn.Close()
	}
}

func fail(sync *os.File, err error) {
	WriteMsg(sync, &Reply{Error: err.Error()})
	os.Exit(1)
}

// activationEnv passes systemd socket activation on: this process keeps its
// PID through exec (no PID namespace), so LISTEN_PID is simply ours.
func activationEnv(env []string, n int) []string {
	out := make([]string, 0, len(env)+2)
	for _, e := range env {
		if !strings.HasPrefix(e, "LISTEN_FDS=") && !strings.HasPrefix(e, "LISTEN_PID=") {
			out = append(out, e)
		}
	}
	return append(out, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID="+strconv.Itoa(os.Getpid()))
}
