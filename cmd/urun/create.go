package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/config"
	"urun/scaffold"
	"urun/ulog"
	"urun/userns"
)

type createCmd struct {
	Bundle        string `short:"b" help:"Bundle directory." default:"." type:"path"`
	PidFile       string `name:"pid-file" help:"Write the container process's PID here." type:"path"`
	ConsoleSocket string `name:"console-socket" help:"AF_UNIX socket to receive a pty master (not supported yet)."`
	NoNewKeyring  bool   `name:"no-new-keyring" help:"Accepted: urun never creates session keyrings."`
	PreserveFds   int    `name:"preserve-fds" help:"Pass this many extra fds (from 3 on) to the container."`
	NoPivot       bool   `name:"no-pivot" hidden:"" help:"Accepted for runc compatibility; urun always uses pivot_root."`
	ID            string `arg:"" help:"Container ID."`
}

func (c *createCmd) Run(g *Globals) error {
	_, err := createContainer(g, createOpts{
		id: c.ID, bundle: c.Bundle, pidFile: c.PidFile, consoleSocket: c.ConsoleSocket,
		preserveFDs: c.PreserveFds, park: true, hang: os.Getenv("URUN_HANG") == "create",
	})
	return wrap("create", c.ID, err)
}

type createOpts struct {
	id, bundle, pidFile, consoleSocket string
	preserveFDs                        int
	park                               bool // create: wait for start; run: exec on Release
	hang                               bool // URUN_HANG=create
}

// created is a set-up container whose process waits to be released.
type created struct {
	ph    *scaffold.Placeholder
	store *scaffold.Store
}

// createContainer is create's whole sequence; run shares it. On error
// nothing is left: no state directory, no process.
func createContainer(g *Globals, o createOpts) (_ *created, err error) {
	if err := scaffold.ValidateID(o.id); err != nil {
		return nil, err
	}
	if o.preserveFDs < 0 {
		return nil, fmt.Errorf("--preserve-fds: %d is negative", o.preserveFDs)
	}
	if o.consoleSocket != "" {
		return nil, fmt.Errorf("--console-socket %s: terminals are not supported yet; run without a terminal (process.terminal false, buildah --terminal=false or stdin from /dev/null)", o.consoleSocket)
	}
	b, err := config.Read(o.bundle)
	if err != nil {
		return nil, err
	}
	ulog.Trace("config read")
	store, err := scaffold.OpenStore(g.Root)
	if err != nil {
		return nil, err
	}
	ulog.Trace("store opened")
	c, err := store.Create(o.id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Remove()
		} else {
			c.Close()
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
	spawn := scaffold.SpawnOpts{Listen: listen, PreserveFDs: o.preserveFDs, ActivationFDs: activationFDs()}

	// Start the placeholder first when the config cannot change the ID
	// mapping: it starts up (~2.5 ms of Go runtime and init) on the other
	// CPU while this process decodes and checks config.json. On any error
	// below, the deferred kill and remove leave nothing behind.
	var ph *scaffold.Placeholder
	if !b.MayMapIDs() && !o.hang {
		if spawn.Mapping, err = userns.Available(); err != nil {
			return nil, err
		}
		if ph, err = scaffold.Start(spawn); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				ph.Kill()
			}
		}()
	}
	if err = b.Decode(); err != nil {
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
	if ph != nil && userns.ConfigMaps(b.Spec) {
		// MayMapIDs missed a spelling; start again with the config's maps.
		ph.Kill()
		ph = nil
	}
	m := spawn.Mapping
	if ph == nil {
		if m, err = userns.Choose(b.Spec); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
	}
	ulog.L.Debug().Str("mode", string(m.Mode)).Str("uids", userns.Format(m.UID, false)+" -> "+userns.Format(m.UID, true)).
		Str("gids", userns.Format(m.GID, false)+" -> "+userns.Format(m.GID, true)).Msg("ID mapping chosen")
	if err = m.CheckUser(b.Spec.Process.User); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	ulog.Trace("mapping chosen")
	if o.hang {
		if err = hangCreating(c, b.Dir, o.id); err != nil {
			return nil, err
		}
	}
	if ph == nil {
		spawn.Mapping = m
		if ph, err = scaffold.Start(spawn); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				ph.Kill()
			}
		}()
	}
	if err = ph.Setup(b); err != nil {
		return nil, err
	}
	ulog.Trace("placeholder ready")
	for _, n := range ph.Notes {
		ulog.L.Debug().Msg(n)
	}
	st := &scaffold.State{
		State: specs.State{Version: specs.Version, ID: o.id, Status: scaffold.Created,
			Pid: ph.Pid, Bundle: b.Dir, Annotations: b.Spec.Annotations},
		StartTime: ph.StartTime, Started: !o.park, Created: time.Now().UTC(),
		Rootfs: b.Rootfs, Owner: os.Geteuid(),
	}
	if err = c.Save(st); err == nil {
		err = scaffold.WritePidFile(o.pidFile, ph.Pid)
	}
	if err != nil {
		return nil, err
	}
	if o.park {
		ph.Detach()
	}
	ulog.Trace("state saved")
	return &created{ph: ph, store: store}, nil
}

// listenStart binds the start socket in the container's directory. The path
// goes through /proc/self/fd so a long --root cannot overflow sun_path.
func listenStart(c *scaffold.Container) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: c.Path("start.sock")}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("start socket %s: %w", filepath.Join(c.Dir, "start.sock"), err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("start socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "start.sock"), nil
}

var errStopped = errors.New("container is stopped")

// hangCreating implements URUN_HANG=create. It hangs after validating the
// config and reserving the container, so a person can inspect the bundle
// and `urun state ID` (status "creating", pid = this urun) mid-build. A
// SIGTERM, SIGINT or SIGHUP ends it and removes the reservation, so killing
// the hung create leaves nothing behind.
func hangCreating(c *scaffold.Container, bundle, id string) error {
	self := os.Getpid()
	start, _, err := scaffold.ProcStart(self)
	if err != nil {
		return err
	}
	st := &scaffold.State{
		State:     specs.State{Version: specs.Version, ID: id, Status: scaffold.Creating, Pid: self, Bundle: bundle},
		StartTime: start, Created: time.Now().UTC(), Owner: os.Geteuid(),
	}
	if err := c.Save(st); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer signal.Stop(sigs)
	c.Unlock()
	ulog.L.Warn().Int("pid", self).Strs("args", os.Args).
		Msgf("URUN_HANG=create: urun create is hanging after validating the bundle and reserving the container (urun state %s shows it); kill pid %d to continue", id, self)
	sig := <-sigs
	if err := c.Relock(); err != nil {
		return err
	}
	return fmt.Errorf("URUN_HANG=create: stopped by %v while hanging", sig)
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
