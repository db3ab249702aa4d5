package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/members"
)

func TestValidateID(t *testing.T) {
	const charset = "only letters, digits and _.+@:- are allowed, starting with a letter or digit"
	tests := []struct {
		id, err string
	}{
		{"a", ""},
		{"web1", ""},
		{"0", ""},
		{"A-b_c.d+e@f:g", ""},
		{"buildah-working-container-1", ""},
		{"x.y", ""},
		{strings.Repeat("a", MaxIDLen), ""},
		{"", "container ID: empty"},
		{strings.Repeat("a", MaxIDLen+1), "container ID: 256 bytes, longer than the limit of 255"},
		{strings.Repeat("a", 1024), "container ID: 1024 bytes, longer than the limit of 255"},
		{".", `container ID ".": not a name`},
		{"..", `container ID "..": must not contain ".."`},
		{"a..b", `container ID "a..b": must not contain ".."`},
		{"../etc", `container ID "../etc": must not contain ".."`},
		{"a/b", `container ID "a/b": ` + charset},
		{"/abs", `container ID "/abs": ` + charset},
		{".hidden", `container ID ".hidden": ` + charset},
		{"-flag", `container ID "-flag": ` + charset},
		{"_x", `container ID "_x": ` + charset},
		{"a b", `container ID "a b": ` + charset},
		{"a\nb", `container ID "a\nb": ` + charset},
		{"a\x00b", `container ID "a\x00b": ` + charset},
		{"tab\t", `container ID "tab\t": ` + charset},
		{"a\x7f", `container ID "a\x7f": ` + charset},
		{"é", `container ID "é": ` + charset},
		{"a*", `container ID "a*": ` + charset},
	}
	for _, tt := range tests {
		err := ValidateID(tt.id)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("ValidateID(%q) = %q, want %q", tt.id, got, tt.err)
		}
	}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "root"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("state dir mode %v, want a private directory", st.Mode())
	}
	return s
}

func TestOpenStoreNotDirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStore(f)
	if err == nil || !strings.HasPrefix(err.Error(), "state directory "+f+": ") {
		t.Fatalf("OpenStore(file) = %v, want a state directory error", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	_, err = OpenStore(link)
	if err == nil || err.Error() != "state directory "+link+": not a directory" {
		t.Fatalf("OpenStore(symlink) = %v, want not a directory", err)
	}
}

func TestCreateConcurrentOneWins(t *testing.T) {
	s := newStore(t)
	const n = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  []*Container
		failures []error
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := s.Create("same")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err)
			} else {
				winners = append(winners, c)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", len(winners))
	}
	defer winners[0].Close()
	if len(failures) != n-1 {
		t.Fatalf("%d failures, want %d", len(failures), n-1)
	}
	for _, err := range failures {
		if err.Error() != `container "same" already exists` {
			t.Errorf("losing create: %v", err)
		}
	}
	if winners[0].ID != "same" || winners[0].Dir != filepath.Join(s.Dir, "same") {
		t.Errorf("winner %+v", winners[0])
	}
}

func TestCreateMissingStore(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "gone")}
	_, err := s.Create("a")
	if err == nil || !strings.HasPrefix(err.Error(), "state directory "+filepath.Join(s.Dir, "a")+": ") {
		t.Fatalf("Create in missing store = %v", err)
	}
}

// tryLock reports whether another open file description can take an
// exclusive lock on dir right now.
func tryLock(t *testing.T, dir string) bool {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return true
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatal(err)
	}
	return false
}

func TestCreateLocksUntilClose(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if tryLock(t, c.Dir) {
		t.Fatal("directory not locked after Create")
	}
	c.Close()
	if !tryLock(t, c.Dir) {
		t.Fatal("directory still locked after Close")
	}
	c.Close() // idempotent
	if c.fd != -1 {
		t.Errorf("fd %d after Close, want -1", c.fd)
	}
}

func TestOpenSharedAndExclusive(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(&State{State: specs.State{ID: "a", Pid: 1}}); err != nil {
		t.Fatal(err)
	}
	c.Close()

	r1, err := s.Open("a", false)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Open("a", false) // shared locks coexist
	if err != nil {
		t.Fatal(err)
	}
	if tryLock(t, r1.Dir) {
		t.Error("exclusive lock possible while shared locks are held")
	}
	r1.Close()
	r2.Close()

	w, err := s.Open("a", true)
	if err != nil {
		t.Fatal(err)
	}
	if tryLock(t, w.Dir) {
		t.Error("Open(exclusive) does not hold the lock")
	}
	w.Close()
}

func TestSaveOpenRoundTrip(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("web1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	created := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	st := &State{
		State: specs.State{Version: specs.Version, ID: "web1", Status: Created, Pid: 4242,
			Bundle: "/b", Annotations: map[string]string{"k": "v"}},
		StartTime: 123456, Started: true, Created: created, Rootfs: "/b/rootfs", Owner: 1000,
	}
	for range 3 { // overwrites too
		if err := c.Save(st); err != nil {
			t.Fatal(err)
		}
	}
	if c.State != st {
		t.Error("Save did not set c.State")
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"state.json"}) {
		t.Errorf("container dir holds %v, want only state.json (temp file left?)", names)
	}
	fi, err := os.Stat(filepath.Join(c.Dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state.json mode %v, want private", fi.Mode())
	}
	c.Close()

	o, err := s.Open("web1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if !reflect.DeepEqual(o.State, st) {
		t.Errorf("Open read %+v, want %+v", o.State, st)
	}
}

func TestOpenErrors(t *testing.T) {
	s := newStore(t)

	_, err := s.Open("nope", false)
	if !errors.Is(err, ErrNotExist) || err.Error() != `container "nope" does not exist` {
		t.Errorf("Open(unknown) = %v", err)
	}

	_, err = s.Open("../x", false)
	if err == nil || err.Error() != `container ID "../x": must not contain ".."` {
		t.Errorf("Open(bad ID) = %v", err)
	}

	// Half-created: directory but no state.json yet.
	c, err := s.Create("half")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err = s.Open("half", true)
	if !errors.Is(err, ErrNotExist) || err.Error() != `container "half" is half-created (its create was killed before saving it): remove it with delete --force: does not exist` {
		t.Errorf("Open(half-created) = %v", err)
	}
	if !tryLock(t, c.Dir) {
		t.Error("failed Open left the directory locked")
	}

	// Corrupt state.
	if err := os.WriteFile(filepath.Join(c.Dir, "state.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Open("half", false)
	if err == nil || !strings.HasPrefix(err.Error(), `container "half": state.json: `) {
		t.Errorf("Open(corrupt) = %v", err)
	}
	if !tryLock(t, c.Dir) {
		t.Error("failed Open left the directory locked")
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(&State{State: specs.State{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if c.fd != -1 {
		t.Error("Remove did not release the lock fd")
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory still there: %v", err)
	}
	if _, err := s.Open("a", false); !errors.Is(err, ErrNotExist) {
		t.Errorf("Open after Remove = %v", err)
	}
	// The ID is free again.
	c2, err := s.Create("a")
	if err != nil {
		t.Fatalf("Create after Remove: %v", err)
	}
	c2.Close()
}

func TestList(t *testing.T) {
	s := newStore(t)
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Fatalf("List(empty) = %v, %v", l, err)
	}
	for _, id := range []string{"zeta", "alpha", "mid"} {
		c, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(&State{State: specs.State{ID: id, Bundle: "/b/" + id}}); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// Skipped: half-created, invalid directory name, plain file, bad JSON.
	if c, err := s.Create("half"); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
	if err := os.Mkdir(filepath.Join(s.Dir, ".hidden"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ".hidden", "state.json"), []byte(`{"id":".hidden"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "file"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(s.Dir, "broken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "broken", "state.json"), []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}

	l, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range l {
		ids = append(ids, st.ID)
		if st.Bundle != "/b/"+st.ID {
			t.Errorf("%s: bundle %q", st.ID, st.Bundle)
		}
	}
	if want := []string{"alpha", "mid", "zeta"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("List IDs %v, want %v", ids, want)
	}

	if _, err := (&Store{Dir: filepath.Join(s.Dir, "missing")}).List(); err == nil {
		t.Error("List of a missing directory succeeded")
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content %q, want two", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in dir, want 1 (temp file left?)", len(entries))
	}
	// Renaming over a directory fails; the temp file must not stay.
	d := filepath.Join(dir, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(d, []byte("x"), 0o600)
	if err == nil || !strings.HasPrefix(err.Error(), "rename to "+d+": ") {
		t.Errorf("WriteAtomic over a directory = %v", err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries after failed rename, want 2 (temp file left?)", len(entries))
	}
}

func TestWritePidFile(t *testing.T) {
	if err := WritePidFile("", 1); err != nil {
		t.Errorf("empty path: %v", err)
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "pid")
	if err := os.WriteFile(p, []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WritePidFile(p, 4242); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "4242" {
		t.Errorf("pid file %q, want %q (no newline, as runc)", b, "4242")
	}
	fi, _ := os.Stat(p)
	if perm := fi.Mode().Perm(); perm&^0o644 != 0 || perm&0o600 != 0o600 {
		t.Errorf("pid file mode %v, want 0644 less umask", perm)
	}

	// Relative paths are made absolute against the working directory.
	t.Chdir(dir)
	if err := WritePidFile("rel.pid", 7); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "rel.pid")); string(b) != "7" {
		t.Errorf("relative pid file %q", b)
	}

	err = WritePidFile(filepath.Join(dir, "no", "such", "pid"), 1)
	if err == nil || !strings.HasPrefix(err.Error(), "--pid-file: write ") || !strings.HasSuffix(err.Error(), "no such file or directory") {
		t.Errorf("pid file in missing dir = %v", err)
	}
}

func TestDefaultRoot(t *testing.T) {
	x := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", x)
	if got := DefaultRoot(); got != filepath.Join(x, "urun") {
		t.Errorf("DefaultRoot() = %q, want %q", got, filepath.Join(x, "urun"))
	}

	fallback := func(got string) bool {
		return got == "/run/urun" || strings.HasPrefix(got, "/tmp/urun-")
	}
	file := filepath.Join(x, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", filepath.Join(x, "missing"), file} {
		t.Setenv("XDG_RUNTIME_DIR", v)
		got := DefaultRoot()
		if !fallback(got) {
			t.Errorf("XDG_RUNTIME_DIR=%q: DefaultRoot() = %q, want /run/urun or /tmp/urun-UID", v, got)
		}
		if strings.HasPrefix(got, "/tmp/urun-") {
			if _, err := strconv.Atoi(strings.TrimPrefix(got, "/tmp/urun-")); err != nil {
				t.Errorf("DefaultRoot() = %q: suffix is not a uid", got)
			}
		}
	}
}

func TestLiveStatus(t *testing.T) {
	pid := os.Getpid()
	st, _, err := members.ProcStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s    State
		want string
	}{
		{State{State: specs.State{Pid: 0}}, Stopped},
		{State{State: specs.State{Pid: -1}, Started: true}, Stopped},
		{State{State: specs.State{Pid: pid}, StartTime: st}, Created},
		{State{State: specs.State{Pid: pid}, StartTime: st, Started: true}, Running},
		{State{State: specs.State{Pid: pid}, StartTime: st + 1, Started: true}, Stopped},
	}
	for i, tt := range tests {
		if got := tt.s.LiveStatus(); got != tt.want {
			t.Errorf("case %d: LiveStatus() = %q, want %q", i, got, tt.want)
		}
		o := tt.s.OCI()
		if string(o.Status) != tt.want {
			t.Errorf("case %d: OCI().Status = %q, want %q", i, o.Status, tt.want)
		}
		if tt.want == Stopped && o.Pid != 0 {
			t.Errorf("case %d: stopped OCI().Pid = %d, want 0", i, o.Pid)
		}
		if tt.want != Stopped && o.Pid != pid {
			t.Errorf("case %d: OCI().Pid = %d, want %d", i, o.Pid, pid)
		}
	}
}

func TestContainerPath(t *testing.T) {
	c := &Container{fd: 7}
	if got := c.Path("start.sock"); got != "/proc/self/fd/7/start.sock" {
		t.Errorf("Path = %q", got)
	}
}

// The longest valid ID is one a state directory can be made for (1024,
// the old limit, failed later with "file name too long").
func TestLongestIDFits(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("a", MaxIDLen)
	c, err := s.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(&State{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
}
