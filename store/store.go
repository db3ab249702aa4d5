// Package store is the state directory (--root): one locked directory per
// container holding state.json, container IDs and their checks, the
// default root, the pid file and atomic writes.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/failure"
	"urun/members"
	"urun/userns"
)

// Status values, as the OCI spec names them.
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Stopped  = "stopped"
)

// State is state.json: the OCI state plus what urun needs to tell a live
// container from a reused PID.
type State struct {
	specs.State
	StartTime uint64    `json:"urunStartTime"` // /proc/PID/stat field 22 at create
	Started   bool      `json:"urunStarted"`
	Created   time.Time `json:"created"`
	Rootfs    string    `json:"rootfs"`
	Owner     int       `json:"owner"`
	// MntNS is the placeholder's mount namespace ("mnt:[4026532…]"): it
	// tells the container's other processes (see package members).
	MntNS string `json:"urunMntNS,omitempty"`
	// Hooks are the config's poststart and poststop hooks, kept from
	// create: later edits of config.json must not change the container.
	Hooks *specs.Hooks `json:"urunHooks,omitempty"`
	// Execs are the processes `urun exec` started in the container. They
	// keep its namespace recognisable once the main process has exited
	// (see package members).
	Execs []members.ProcRef `json:"urunExecs,omitempty"`
	// Watcher is the process that ends the exec'd processes with the main
	// one (see enter/watch.go).
	Watcher *members.ProcRef `json:"urunWatcher,omitempty"`
}

// Main is the container's main process.
func (s *State) Main() members.ProcRef { return members.ProcRef{Pid: s.Pid, Start: s.StartTime} }

// Members is what package members needs to find the container's
// processes.
func (s *State) Members() members.Container {
	return members.Container{Main: s.Main(), MntNS: s.MntNS, Execs: s.Execs, Watcher: s.Watcher}
}

// OCI returns the public state with a live status.
func (s *State) OCI() specs.State {
	out := s.State
	out.Status = specs.ContainerState(s.LiveStatus())
	if out.Status == Stopped {
		out.Pid = 0
	}
	return out
}

// LiveStatus derives the status from the process itself: a PID whose start
// time differs from the recorded one belongs to someone else now.
func (s *State) LiveStatus() string {
	if s.Pid <= 0 || !members.Alive(s.Pid, s.StartTime) {
		return Stopped
	}
	if s.Status == Creating {
		return Creating // pid is the waiting `urun create` itself
	}
	if s.Started {
		return Running
	}
	return Created
}

// idChars reports whether id is ^[A-Za-z0-9][A-Za-z0-9_.+@:-]*$, by hand:
// a regexp compiled at start-up costs every verb, and ValidateID runs in
// every one.
func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && strings.IndexByte("_.+@:-", c) >= 0:
		default:
			return false
		}
	}
	return id != ""
}

// MaxIDLen is the longest ID: the container's state directory is named
// after it, and a file name has at most NAME_MAX (255) bytes.
const MaxIDLen = 255

// ValidateID refuses IDs that could escape or confuse the state directory.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container ID: empty")
	case id == ".":
		return errors.New(`container ID ".": not a name`)
	case len(id) > MaxIDLen:
		return fmt.Errorf("container ID: %d bytes, longer than the limit of %d", len(id), MaxIDLen)
	case id == "." || id == ".." || strings.Contains(id, ".."):
		return fmt.Errorf("container ID %q: must not contain \"..\"", id)
	case !idChars(id):
		return fmt.Errorf("container ID %q: only letters, digits and _.+@:- are allowed, starting with a letter or digit", id)
	}
	return nil
}

// Store is the state directory (--root).
type Store struct{ Dir string }

// ContainerDir is the directory of container id: the one place the state
// path is built.
func (s *Store) ContainerDir(id string) string { return filepath.Join(s.Dir, id) }

// DefaultRoot is $XDG_RUNTIME_DIR/urun when usable, /run/urun for real
// root, else a private per-uid directory under /tmp.
func DefaultRoot() string {
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		if st, err := os.Stat(x); err == nil && st.IsDir() && unix.Access(x, unix.W_OK|unix.X_OK) == nil {
			return filepath.Join(x, "urun")
		}
	}
	uid := os.Geteuid()
	if userns.RealRoot() {
		return "/run/urun"
	}
	return fmt.Sprintf("/tmp/urun-%d", userns.HostUID(uid))
}

// OpenStore makes sure the state directory exists, belongs to us and is
// private.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		dir = DefaultRoot()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, failure.Errno(err))
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, fmt.Errorf("state directory %s: not a directory", dir)
	}
	if int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("state directory %s: owned by uid %d, not by you (uid %d); pass --root", dir, st.Uid, os.Geteuid())
	}
	return &Store{Dir: dir}, nil
}

// Container is one locked container directory.
type Container struct {
	ID    string
	Dir   string
	fd    int
	State *State
}

// ErrNotExist is returned for an unknown container ID.
var ErrNotExist = errors.New("does not exist")

// Create makes the container's directory and locks it. Exactly one of two
// concurrent creates of one ID wins the mkdir.
func (s *Store) Create(id string) (*Container, error) {
	dir := s.ContainerDir(id)
	if err := unix.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("container %q already exists", id)
		}
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	c, err := lockDir(id, dir, unix.LOCK_EX)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return c, nil
}

// Open locks an existing container (shared for reading, exclusive for
// changes) and reads its state.
func (s *Store) Open(id string, exclusive bool) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	c, err := lockDir(id, s.ContainerDir(id), how)
	if err != nil {
		return nil, err
	}
	data, err := readState(c.fd)
	if err != nil {
		var st unix.Stat_t
		live := unix.Fstat(c.fd, &st) == nil && st.Nlink > 0
		c.Close()
		if errors.Is(err, os.ErrNotExist) {
			if live {
				// Locked, yet no state: its create was killed (SIGKILL)
				// before saving it. Still ErrNotExist, so delete --force works.
				return nil, fmt.Errorf("container %q is half-created (its create was killed before saving it): remove it with delete --force: %w", id, ErrNotExist)
			}
			return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("container %q: read state: %w", id, failure.Errno(err))
	}
	c.State = &State{}
	if err := decodeState(data, c.State); err != nil {
		c.Close()
		return nil, fmt.Errorf("container %q: state.json: %w", id, err)
	}
	return c, nil
}

// readState reads state.json through the locked directory's fd: one
// openat, no path walk and no fstat (os.ReadFile's), and one read for any
// state urun writes (a few hundred bytes) plus the one that sees the end.
func readState(dirfd int) ([]byte, error) {
	fd, err := unix.Openat(dirfd, stateFile, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
	}
}

func lockDir(id, dir string, how int) (*Container, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	if err := unix.Flock(fd, how); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("container %q: lock: %w", id, err)
	}
	return &Container{ID: id, Dir: dir, fd: fd}, nil
}

// decodeState is json.Unmarshal(data, st), cheaper in a fresh process:
// encoding/json's first decode into a struct builds its field tables by
// reflection (~0.2 ms here, paid by every state, start, kill and delete).
// A state.json with only the keys and types leanState knows (every build
// step's: no hooks, no exec'd processes) is decoded through a generic map
// instead; anything else (another key or type, a nested object urun
// writes less often) takes json.Unmarshal. TestDecodeState checks both
// agree.
func decodeState(data []byte, st *State) error {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if d.Decode(&m) != nil || d.More() || !leanState(m, st) {
		*st = State{}
		return json.Unmarshal(data, st)
	}
	return nil
}

// leanState fills st from m, or reports false at the first key or value
// it does not take as json.Unmarshal would.
func leanState(m map[string]any, st *State) bool {
	for k, v := range m {
		ok := true
		switch k {
		case "ociVersion":
			st.Version, ok = v.(string)
		case "id":
			st.ID, ok = v.(string)
		case "status":
			var s string
			s, ok = v.(string)
			st.Status = specs.ContainerState(s)
		case "bundle":
			st.Bundle, ok = v.(string)
		case "rootfs":
			st.Rootfs, ok = v.(string)
		case "urunMntNS":
			st.MntNS, ok = v.(string)
		case "urunStarted":
			st.Started, ok = v.(bool)
		case "pid":
			st.Pid, ok = jsonInt(v)
		case "owner":
			st.Owner, ok = jsonInt(v)
		case "urunStartTime":
			var n json.Number
			if n, ok = v.(json.Number); ok {
				var err error
				st.StartTime, err = strconv.ParseUint(string(n), 10, 64)
				ok = err == nil
			}
		case "created":
			var s string
			if s, ok = v.(string); ok {
				ok = st.Created.UnmarshalText([]byte(s)) == nil
			}
		case "annotations":
			var a map[string]any
			if a, ok = v.(map[string]any); ok {
				st.Annotations = make(map[string]string, len(a))
				for ak, av := range a {
					if st.Annotations[ak], ok = av.(string); !ok {
						break
					}
				}
			}
		default:
			return false
		}
		if !ok {
			return false
		}
	}
	return true
}

func jsonInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 0)
	return int(i), err == nil
}

// PrimeState builds encoding/json's tables for State ahead of the first
// Save (~0.25 ms cold, on run's critical path after the fork; see
// config.Prime).
func PrimeState() { _, _ = json.Marshal(&State{}) }

// stateFile is the state's name in the container's directory.
const stateFile = "state.json"

// Save writes state.json atomically (temp file + rename). No fsync: the
// state lives in a tmpfs and a crash ends the containers anyway.
func (c *Container) Save(st *State) error {
	c.State = st
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return WriteAtomic(filepath.Join(c.Dir, stateFile), data, 0o600)
}

// MemoryConfig is the config.json, in the container's directory, of a
// container whose config was built in memory (urun launch): the bundle has
// none, and exec takes the container's process from it.
const MemoryConfig = "config.json"

// StartSocket is the start socket's name in the container's directory: a
// created container's process waits on it for `urun start`.
const StartSocket = "start.sock"

// Remove deletes the container's directory; the lock goes with it.
// state.json goes last: a removal that fails part-way leaves a container
// that state and list still show and delete can retry, never an ID that is
// taken yet invisible. The error names what is left and why.
func (c *Container) Remove() error {
	defer c.Close()
	parent := filepath.Dir(c.Dir)
	// A directory whose parent cannot change (read-only --root) would
	// otherwise lose its state.json and then fail at the last step.
	if err := unix.Access(parent, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("container not removed: %s is left: cannot remove entries of %s: %w", c.Dir, parent, err)
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container not removed: %s is left: %w", c.Dir, failure.Errno(err))
	}
	for _, e := range entries {
		if e.Name() != stateFile {
			if err := os.RemoveAll(filepath.Join(c.Dir, e.Name())); err != nil {
				return leftBehind(err)
			}
		}
	}
	if err := os.Remove(filepath.Join(c.Dir, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return leftBehind(err)
	}
	if err := os.Remove(c.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return leftBehind(err)
	}
	return nil
}

// RemoveDir removes what is left of a container without state (a create
// killed half-way, a removal that failed after state.json), failing when
// anything stays.
func (s *Store) RemoveDir(id string) error {
	if err := os.RemoveAll(s.ContainerDir(id)); err != nil {
		return leftBehind(err)
	}
	return nil
}

// RemoveReaped removes the directory of a run container whose process run
// has reaped itself, which holds only state.json (and launch's config),
// with two or three unlinks instead of delete's open, lock, read and
// check (about 1 ms per run); RemoveAll's directory walk is the fallback.
func (s *Store) RemoveReaped(id string) error {
	dir := s.ContainerDir(id)
	os.Remove(filepath.Join(dir, MemoryConfig)) // launch's, if any
	if os.Remove(filepath.Join(dir, stateFile)) == nil && os.Remove(dir) == nil {
		return nil
	}
	return os.RemoveAll(dir)
}

// leftBehind names the path a removal stopped at and why.
func leftBehind(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("container not removed: %s is left: %w", pe.Path, pe.Err)
	}
	return fmt.Errorf("container not removed: %w", err)
}

// Unlock releases the lock but keeps the directory open, so readers can
// inspect a container whose creator waits (URUN_HANG=create) and Relock can
// take it back.
func (c *Container) Unlock() { unix.Flock(c.fd, unix.LOCK_UN) }

// Relock takes the exclusive lock again after Unlock.
func (c *Container) Relock() error { return unix.Flock(c.fd, unix.LOCK_EX) }

// Close releases the lock.
func (c *Container) Close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// List returns the states of all containers, sorted by ID. Half-created
// ones (no state yet) are skipped.
func (s *Store) List() ([]*State, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, e := range entries {
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		// Under the shared lock, as state reads it: a create in progress
		// holds the lock until its container is set up (or gone).
		c, err := s.Open(e.Name(), false)
		if err != nil {
			continue
		}
		c.Close()
		out = append(out, c.State)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// WriteAtomic writes a file by temp + rename in the same directory.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	// O_EXCL with a random name: never follows or truncates a file
	// someone placed at a guessable name beside the target.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, failure.Errno(err))
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp) // a partial write (ENOSPC) must not stay behind
		return fmt.Errorf("write %s: %w", tmp, failure.Errno(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename to %s: %w", path, failure.Errno(err))
	}
	return nil
}

// WritePidFile writes --pid-file atomically, as runc does, so a reader never
// sees an empty file.
func WritePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := WriteAtomic(abs, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}

// Path names a file in the container's directory through the locked
// directory fd (short, and immune to the directory being renamed).
func (c *Container) Path(name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", c.fd, name)
}

// RecordedWatcher is the exec watcher (enter/watch.go) recorded in the
// state of container id, read without the lock: for run, whose container
// exited and which removes its state without delete (an exec meanwhile
// started one, which must not outlive run either). state.json is decoded
// only when its bytes name a watcher: run's common case has none.
func (s *Store) RecordedWatcher(id string) *members.ProcRef {
	data, err := os.ReadFile(filepath.Join(s.ContainerDir(id), stateFile))
	if err != nil || !bytes.Contains(data, []byte(`"urunWatcher"`)) {
		return nil // no exec started one: nothing to decode
	}
	var st State
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return st.Watcher
}

// ReadState reads the state of the container in dir without the lock, as
// json.Unmarshal decodes it: for the exec watcher, which outlives the
// locks of the verbs.
func ReadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
