package scaffold

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/console"
	"urun/mount"
	"urun/proc"
	"urun/ulog"
)

// InitMain is the placeholder: the re-executed urun inside the new user and
// mount namespace. It never returns. The caller has locked the OS thread.
func InitMain() {
	// urun does not profile; a profiling sample is the runtime's one large
	// allocation that could come late (see proc.Exec).
	runtime.MemProfileRate = 0
	if len(os.Args) != 4 && !(len(os.Args) > 4 && os.Args[2] == joinUserArg) {
		fmt.Fprintln(os.Stderr, "urun-init: internal entry point, not for direct use")
		os.Exit(2)
	}
	syncFD, err1 := strconv.Atoi(os.Args[1])
	listenFD, err2 := strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil {
		os.Exit(2)
	}
	if os.Args[2] == joinUserArg {
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
	if os.Args[2] == "wait-map" {
		// newuidmap writes our maps after we exec'd unmapped (and so
		// without capabilities); exec again to gain them as uid 0.
		var b [1]byte
		if n, _ := sync.Read(b[:]); n != 1 {
			os.Exit(1)
		}
		err := unix.Exec("/proc/self/exe", []string{InitArg0, os.Args[1], "run", os.Args[3]}, []string{})
		fail(sync, fmt.Errorf("re-exec after ID mapping: %w", err))
	}
	var ic initConfig
	if err := readMsg(sync, &ic); err != nil {
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
	spec, err := decodeSetup(ic.Config)
	if err != nil {
		fail(sync, fmt.Errorf("config.json: %w", err))
	}
	var notes []string
	path, err := setup(spec, &ic, &notes, func() error { return createHooks(sync, spec.Hooks, &ic) })
	if err != nil {
		fail(sync, err)
	}
	if err := writeMsg(sync, reply{Notes: notes}); err != nil {
		os.Exit(1)
	}
	conn := sync
	if ic.Park {
		conn = park(sync, ic.ListenFD)
	}
	var b [1]byte
	if n, _ := conn.Read(b[:]); n != 1 || b[0] != 'g' {
		os.Exit(1) // create's caller went away without starting us
	}
	if err := startHooks(spec.Hooks, &ic); err != nil {
		conn.Write([]byte(hookFailed + err.Error()))
		os.Exit(1)
	}
	if ic.ActivationFDs > 0 {
		spec.Process.Env = activationEnv(spec.Process.Env, ic.ActivationFDs)
	}
	ulog.Trace("init: exec")
	err = proc.Exec(path, spec.Process)
	conn.Write([]byte(fmt.Sprintf("exec %s: %v", path, err)))
	os.Exit(127)
}

// setup is the container's set-up, one named step after another. It returns
// the resolved executable.
func setup(spec *specs.Spec, ic *initConfig, notes *[]string, beforePivot func() error) (string, error) {
	p := spec.Process
	steps := []struct {
		name string
		fn   func() error
	}{
		{"set oom_score_adj", func() error { return proc.OOMScoreAdj(p) }},
		// Set only in proc.Exec, the last step: a limit such as RLIMIT_AS
		// below what the Go runtime has mapped would fail its set-up.
		{"check rlimits", func() error { return proc.CheckRlimits(p) }},
		{"set up mounts", func() error {
			return mount.Setup(spec, mount.Env{
				Rootfs: ic.Rootfs, BundleDir: ic.BundleDir,
				GidMapped:   func(g uint32) bool { return gidMapped(ic.GIDs, g) },
				Debug:       func(m string) { *notes = append(*notes, m) },
				BeforePivot: beforePivot,
			})
		}},
		{"set up terminal", func() error { return setupTerminal(p, ic) }},
		{"drop bounding capabilities", func() error { return proc.DropBounding(p.Capabilities) }},
		{"set user", func() error { return proc.SetUser(p.User, ic.Setgroups) }},
		{"set capabilities", func() error { return proc.SetCapabilities(p.Capabilities) }},
		{"drop set-up capabilities", func() error { return endSetupCaps(ic.SetupCaps, p.Capabilities) }},
		{"set no_new_privs", func() error { return proc.NoNewPrivs(p) }},
		// Before the cwd: fds past the passed ones close at execve (the
		// strays were closed at start), and Chdir checks that the cwd is
		// inside the container's root.
		{"close inherited fds", func() error { return proc.CloseExtraFDs(ic.FirstFD) }},
		{"enter cwd", func() error { return proc.Chdir(p) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return "", err
		}
		ulog.Trace("init: " + s.name)
	}
	return proc.LookPath(p)
}

// park waits for `urun start` to connect to the start socket.
// It first waits for create's commit byte, sent once the state and pid file
// are written: a create killed before that leaves no placeholder behind.
func park(sync *os.File, listenFD int) *os.File {
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 || b[0] != 'c' {
		os.Exit(1)
	}
	sync.Close()
	for {
		fd, _, err := unix.Accept4(listenFD, unix.SOCK_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			os.Exit(1)
		}
		unix.Close(listenFD)
		return os.NewFile(uintptr(fd), "start")
	}
}

func gidMapped(maps []specs.LinuxIDMapping, g uint32) bool {
	for _, r := range maps {
		if g >= r.ContainerID && uint64(g) < uint64(r.ContainerID)+uint64(r.Size) {
			return true
		}
	}
	return false
}

func fail(sync *os.File, err error) {
	writeMsg(sync, reply{Error: err.Error()})
	os.Exit(1)
}

// setupConfig is the part of config.json the placeholder acts on (the
// parent has checked the rest). Decoding only these fields costs a third
// of decoding a whole specs.Spec in a fresh process (~0.4 ms against ~1.2).
type setupConfig struct {
	Process *specs.Process `json:"process"`
	Root    *specs.Root    `json:"root"`
	Mounts  []specs.Mount  `json:"mounts"`
	Hooks   *specs.Hooks   `json:"hooks"`
	Linux   *struct {
		MaskedPaths       []string            `json:"maskedPaths"`
		ReadonlyPaths     []string            `json:"readonlyPaths"`
		RootfsPropagation string              `json:"rootfsPropagation"`
		Devices           []specs.LinuxDevice `json:"devices"`
	} `json:"linux"`
}

func decodeSetup(raw []byte) (*specs.Spec, error) {
	var c setupConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Process == nil {
		return nil, fmt.Errorf("process: missing")
	}
	spec := &specs.Spec{Process: c.Process, Root: c.Root, Mounts: c.Mounts, Hooks: c.Hooks}
	if c.Linux != nil {
		spec.Linux = &specs.Linux{MaskedPaths: c.Linux.MaskedPaths, ReadonlyPaths: c.Linux.ReadonlyPaths,
			RootfsPropagation: c.Linux.RootfsPropagation, Devices: c.Linux.Devices}
	}
	return spec, nil
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
