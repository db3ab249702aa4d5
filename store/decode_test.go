package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/members"
)

// TestDecodeState: decodeState gives what json.Unmarshal gives, for the
// states urun writes (with every field set, and each optional one absent)
// and for files it did not write the usual way.
func TestDecodeState(t *testing.T) {
	timeout := 5
	full := State{
		State: specs.State{Version: "1.3.0", ID: "c1", Status: Created, Pid: 4142, Bundle: "/b",
			Annotations: map[string]string{"io.podman.x": "y", "empty": ""}},
		StartTime: 1 << 40, Started: true, Created: time.Date(2026, 12, 3, 10, 42, 45, 123456789, time.UTC),
		Rootfs: "/b/rootfs", Owner: 1001, MntNS: "mnt:[4026532345]",
		Hooks:   &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Args: []string{"true"}, Timeout: &timeout}}},
		Execs:   []members.ProcRef{{Pid: 7, Start: 8}},
		Watcher: &members.ProcRef{Pid: 9, Start: 10},
	}
	lean := full
	lean.Hooks, lean.Execs, lean.Watcher = nil, nil, nil
	local := lean
	local.Created = time.Date(2026, 12, 3, 11, 0, 0, 0, time.FixedZone("", 3600))
	var inputs []string
	for _, st := range []State{full, lean, local, {}, {State: specs.State{ID: "x", Status: Stopped}}} {
		b, err := json.Marshal(&st)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	inputs = append(inputs,
		`{"id":"c1","ID":"c2"}`, `{"id":"c1","id":"c2"}`, `{"pid":1.5}`, `{"pid":"1"}`, `{"owner":-1}`,
		`{"urunStartTime":-1}`, `{"annotations":null}`, `{"annotations":{"a":1}}`, `{"created":"yesterday"}`,
		`{"urunStarted":null}`, `{"urunNew":1,"id":"c1"}`, `{"id":"c1"} {}`, `[]`, `{`, ``,
	)
	for _, in := range inputs {
		var want, got State
		wantErr := json.Unmarshal([]byte(in), &want)
		gotErr := decodeState([]byte(in), &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%s: error %v, json.Unmarshal's %v", in, gotErr, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", in, got, want)
		}
	}
	// The lean path must have taken the common state, not the fallback.
	b, _ := json.Marshal(&lean)
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	var st State
	if !leanState(m, &st) {
		t.Errorf("leanState refuses the state of a build step: %s", b)
	}
}

// TestLeanStateKeys: every key of State is decoded by leanState or left to
// json.Unmarshal on purpose; a new field must be put in one of the lists.
func TestLeanStateKeys(t *testing.T) {
	lean := map[string]bool{"ociVersion": true, "id": true, "status": true, "pid": true, "bundle": true,
		"annotations": true, "urunStartTime": true, "urunStarted": true, "created": true, "rootfs": true,
		"owner": true, "urunMntNS": true}
	fallback := map[string]bool{"urunHooks": true, "urunExecs": true, "urunWatcher": true}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			tag := f.Tag.Get("json")
			if f.Anonymous && tag == "" {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			if !lean[name] && !fallback[name] {
				t.Errorf("State field %s (json %q): neither decoded by leanState nor listed as left to json.Unmarshal", f.Name, name)
			}
		}
	}
	walk(reflect.TypeOf(State{}))
}

// TestReadState: state.json read through the directory fd, whole, also
// when larger than the first read; a missing one is os.ErrNotExist.
func TestReadState(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := readState(fd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no state.json: %v, want os.ErrNotExist", err)
	}
	for _, n := range []int{0, 300, 4096, 4097, 20000} {
		want := []byte(strings.Repeat("x", n))
		if err := os.WriteFile(filepath.Join(dir, "state.json"), want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readState(fd)
		if err != nil || string(got) != string(want) {
			t.Errorf("%d bytes: read %d (%v)", n, len(got), err)
		}
	}
}
