package userns

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rootless-containers/rootlesskit/v2/pkg/parent/idtools"
)

type idm = specs.LinuxIDMapping

const singleHint = "; only your own ID is available: add ranges for your account to /etc/subuid and /etc/subgid and install newuidmap/newgidmap (Debian: uidmap)"

func TestFormat(t *testing.T) {
	sub := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	tests := []struct {
		maps []idm
		host bool
		want string
	}{
		{nil, false, ""},
		{nil, true, ""},
		{sub[:1], false, "0"},
		{sub[:1], true, "1000"},
		{sub, false, "0,1-65536"},
		{sub, true, "1000,100000-165535"},
		{[]idm{{ContainerID: 0, HostID: 0, Size: 4294967295}}, false, "0-4294967294"},
		{[]idm{{ContainerID: 4294967295, HostID: 4294967295, Size: 1}}, true, "4294967295"},
		{[]idm{{ContainerID: 4294967294, HostID: 0, Size: 2}}, false, "4294967294-4294967295"},
	}
	for _, tt := range tests {
		if got := Format(tt.maps, tt.host); got != tt.want {
			t.Errorf("Format(%v, %v) = %q, want %q", tt.maps, tt.host, got, tt.want)
		}
	}
}

func subIDMapping() *Mapping {
	return &Mapping{Mode: SubID, Setgroups: true,
		UID: []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
		GID: []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}}
}

func TestCovered(t *testing.T) {
	have := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	adjacent := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 1001, Size: 10}}
	full := []idm{{ContainerID: 0, HostID: 0, Size: 4294967295}}
	const avail = "available: 1000,100000-165535; mode subid"
	tests := []struct {
		name       string
		want, have []idm
		err        string
	}{
		{"nothing wanted", nil, have, ""},
		{"same as available", have, have, ""},
		{"own id only", []idm{{ContainerID: 0, HostID: 1000, Size: 1}}, have, ""},
		{"whole subrange", []idm{{ContainerID: 0, HostID: 100000, Size: 65536}}, have, ""},
		{"last id of subrange", []idm{{ContainerID: 5, HostID: 165535, Size: 1}}, have, ""},
		{"reordered", []idm{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 1000, Size: 1}}, have, ""},
		{"spans adjacent available ranges", []idm{{ContainerID: 0, HostID: 1000, Size: 11}}, adjacent, ""},
		{"one past the subrange", []idm{{ContainerID: 0, HostID: 100000, Size: 65537}}, have,
			"linux.uidMappings[0]: host ID 165536 is not available to urun (" + avail + ")"},
		{"before the subrange", []idm{{ContainerID: 0, HostID: 99999, Size: 2}}, have,
			"linux.uidMappings[0]: host ID 99999 is not available to urun (" + avail + ")"},
		{"gap between ranges", []idm{{ContainerID: 0, HostID: 1000, Size: 2}}, have,
			"linux.uidMappings[0]: host ID 1001 is not available to urun (" + avail + ")"},
		{"second entry", []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 0, Size: 1}}, have,
			"linux.uidMappings[1]: host ID 0 is not available to urun (" + avail + ")"},
		{"size 0", []idm{{ContainerID: 0, HostID: 1000, Size: 0}}, have, "linux.uidMappings[0]: size is 0"},
		{"nothing available", []idm{{ContainerID: 0, HostID: 1000, Size: 1}}, nil,
			"linux.uidMappings[0]: host ID 1000 is not available to urun (available: ; mode subid)"},
		{"top of full range", []idm{{ContainerID: 0, HostID: 4294967294, Size: 1}}, full, ""},
		{"beyond full range", []idm{{ContainerID: 0, HostID: 4294967294, Size: 2}}, full,
			"linux.uidMappings[0]: host ID 4294967295 is not available to urun (available: 0-4294967294; mode subid)"},
	}
	for _, tt := range tests {
		err := covered("linux.uidMappings", tt.want, tt.have, SubID)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("%s: covered = %q, want %q", tt.name, got, tt.err)
		}
	}
}

func TestUseConfig(t *testing.T) {
	m := subIDMapping()
	uids := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 100}}
	gids := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1000, HostID: 100000, Size: 100}}
	if err := m.useConfig(uids, gids); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.UID, uids) || !reflect.DeepEqual(m.GID, gids) || !m.Setgroups {
		t.Errorf("useConfig: %+v", m)
	}

	// Only uids given: gids stay as available.
	m = subIDMapping()
	if err := m.useConfig(uids, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.UID, uids) || !reflect.DeepEqual(m.GID, subIDMapping().GID) {
		t.Errorf("useConfig(uids only): %+v", m)
	}

	// A refused gid mapping leaves everything unchanged.
	m = subIDMapping()
	err := m.useConfig(uids, []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 5, Size: 1}})
	if err == nil || err.Error() != "linux.gidMappings[1]: host ID 5 is not available to urun (available: 1000,100000-165535; mode subid)" {
		t.Errorf("useConfig(bad gids) = %v", err)
	}
	if !reflect.DeepEqual(m, subIDMapping()) {
		t.Errorf("failed useConfig changed the mapping: %+v", m)
	}

	// Container root need not be urun's own ID (podman --userns=keep-id):
	// accepted, and the placeholder then keeps set-up capabilities.
	keepID := []idm{{ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 0, HostID: 100000, Size: 1000}}
	m = subIDMapping()
	if err := m.useConfig(keepID, nil); err != nil {
		t.Errorf("useConfig(keep-id) = %v", err)
	}
	m = subIDMapping()
	if err := m.useConfig([]idm{{ContainerID: 0, HostID: 100000, Size: 10}}, nil); err == nil ||
		err.Error() != "linux.uidMappings: urun's own uid 1000 is not mapped; map it (to 0, or to itself as podman's --userns=keep-id does): urun sets the container up as that uid" {
		t.Errorf("useConfig(own uid unmapped) = %v", err)
	}
	mine := &Mapping{Mode: Inherit, UID: []idm{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}, GID: []idm{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}}
	if mine.SetupCaps() {
		t.Errorf("SetupCaps with urun's own IDs as root: true")
	}
	mine.UID = []idm{{ContainerID: 7, HostID: uint32(os.Geteuid()), Size: 1}}
	if !mine.SetupCaps() {
		t.Errorf("SetupCaps with container root not urun's uid: false")
	}
	mine.Mode = Join
	if mine.SetupCaps() {
		t.Errorf("SetupCaps of a joined namespace (the joining child raises its own): true")
	}

	// newgidmap denies setgroups for a map of only the own gid.
	own := []idm{{ContainerID: 0, HostID: 0, Size: 1}}
	for _, tt := range []struct {
		mode Mode
		gids []idm
		want bool
	}{
		{SubID, own, false},
		{SubID, append(append([]idm{}, own...), idm{ContainerID: 1, HostID: 1, Size: 1}), true},
		{Inherit, own, true},
	} {
		m := &Mapping{Mode: tt.mode, Setgroups: true,
			UID: []idm{{ContainerID: 0, HostID: 0, Size: 4294967295}},
			GID: []idm{{ContainerID: 0, HostID: 0, Size: 4294967295}}}
		if err := m.useConfig(nil, tt.gids); err != nil {
			t.Fatal(err)
		}
		if m.Setgroups != tt.want {
			t.Errorf("mode %s gids %v: Setgroups = %v, want %v", tt.mode, tt.gids, m.Setgroups, tt.want)
		}
	}
}

func TestMapped(t *testing.T) {
	m := subIDMapping()
	for _, tt := range []struct {
		id   uint32
		want bool
	}{{0, true}, {1, true}, {65536, true}, {65537, false}, {1000, true}, {4294967295, false}} {
		if got := m.UIDMapped(tt.id); got != tt.want {
			t.Errorf("UIDMapped(%d) = %v, want %v", tt.id, got, tt.want)
		}
		if got := m.GIDMapped(tt.id); got != tt.want {
			t.Errorf("GIDMapped(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
	top := &Mapping{UID: []idm{{ContainerID: 4294967295, HostID: 0, Size: 1}}}
	if !top.UIDMapped(4294967295) || top.UIDMapped(0) {
		t.Error("mapping at the top of the ID space")
	}
}

func TestCheckUser(t *testing.T) {
	single := &Mapping{Mode: Single,
		UID: []idm{{ContainerID: 0, HostID: 1000, Size: 1}},
		GID: []idm{{ContainerID: 0, HostID: 1000, Size: 1}}}
	subNoSG := subIDMapping()
	subNoSG.Setgroups = false
	tests := []struct {
		name string
		m    *Mapping
		u    specs.User
		err  string
	}{
		{"root in single", single, specs.User{}, ""},
		{"own gid as additional gid without setgroups", single, specs.User{AdditionalGids: []uint32{0}}, ""},
		{"uid in single", single, specs.User{UID: 1}, "process.user.uid: 1 is not mapped in the container (mapped uids: 0)" + singleHint},
		{"gid in single", single, specs.User{GID: 5}, "process.user.gid: 5 is not mapped in the container (mapped gids: 0)" + singleHint},
		{"additional gid in single", single, specs.User{AdditionalGids: []uint32{0, 7}},
			"process.user.additionalGids[1]: 7 is not mapped in the container (mapped gids: 0)" + singleHint},
		{"subid user", subIDMapping(), specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{0, 10, 65536}}, ""},
		{"subid uid out of range", subIDMapping(), specs.User{UID: 65537},
			"process.user.uid: 65537 is not mapped in the container (mapped uids: 0,1-65536)"},
		{"subid gid out of range", subIDMapping(), specs.User{GID: 70000},
			"process.user.gid: 70000 is not mapped in the container (mapped gids: 0,1-65536)"},
		{"setgroups denied", subNoSG, specs.User{GID: 1, AdditionalGids: []uint32{1, 5}},
			"process.user.additionalGids[1]: 5: supplementary groups cannot be set: setgroups is denied in this user namespace"},
		{"unmapped reported before setgroups", subNoSG, specs.User{AdditionalGids: []uint32{70000}},
			"process.user.additionalGids[0]: 70000 is not mapped in the container (mapped gids: 0,1-65536)"},
	}
	for _, tt := range tests {
		err := tt.m.CheckUser(tt.u)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("%s: CheckUser = %q, want %q", tt.name, got, tt.err)
		}
	}
}

func TestOnlyOwnGID(t *testing.T) {
	const g = 1000
	tests := []struct {
		maps []idm
		want bool
	}{
		{nil, true},
		{[]idm{{ContainerID: 0, HostID: g, Size: 1}}, true},
		{[]idm{{ContainerID: 5, HostID: g, Size: 1}}, true},
		{[]idm{{ContainerID: 0, HostID: g, Size: 2}}, false},
		{[]idm{{ContainerID: 0, HostID: g + 1, Size: 1}}, false},
		{[]idm{{ContainerID: 0, HostID: g, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 1}}, false},
	}
	for _, tt := range tests {
		if got := onlyOwnGID(tt.maps, g); got != tt.want {
			t.Errorf("onlyOwnGID(%v) = %v, want %v", tt.maps, got, tt.want)
		}
	}
}

func TestAppendRangesAndIdentity(t *testing.T) {
	got := appendRanges([]idm{{ContainerID: 0, HostID: 1000, Size: 1}},
		[]idtools.SubIDRange{{Start: 100000, Length: 65536}, {Start: 300000, Length: 10}})
	want := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}, {ContainerID: 65537, HostID: 300000, Size: 10}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("appendRanges = %v, want %v", got, want)
	}

	id := identity([]idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}})
	want = []idm{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: 1, Size: 65536}}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("identity = %v, want %v", id, want)
	}
}

func TestReadMap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "uid_map")
	data := "         0       1000          1\n\n         1     100000      65536\nbad line\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readMap(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []idm{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readMap = %v, want %v", got, want)
	}
	if _, err := readMap(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("readMap(missing) succeeded")
	}
	if m := (&Mapping{Mode: SubID}); !m.Helpers() {
		t.Error("SubID mapping does not use helpers")
	}
	if m := (&Mapping{Mode: Single}); m.Helpers() {
		t.Error("Single mapping uses helpers")
	}
}

// containerRange finds the range holding a container ID, the lookup
// behind Mapped and HostUID; ranges end before ContainerID+Size.
func TestContainerRange(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	for _, tc := range []struct {
		id   uint32
		host uint32
		ok   bool
	}{{0, 1000, true}, {1, 100000, true}, {65536, 165535, true}, {65537, 0, false}} {
		r, ok := containerRange(maps, tc.id)
		if ok != tc.ok || (ok && r.HostID+tc.id-r.ContainerID != tc.host) {
			t.Errorf("containerRange(%d) = %+v, %v; want host %d, %v", tc.id, r, ok, tc.host, tc.ok)
		}
	}
}
