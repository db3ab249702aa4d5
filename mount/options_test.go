package mount

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want Options
	}{
		{"none", nil, Options{}},
		{"ro", []string{"ro"}, Options{Flags: unix.MS_RDONLY, Attr: unix.MOUNT_ATTR_RDONLY}},
		{"nosuid nodev noexec", []string{"nosuid", "nodev", "noexec"}, Options{
			Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
			Attr:  unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}},
		{"repeated flag", []string{"ro", "ro"}, Options{Flags: unix.MS_RDONLY, Attr: unix.MOUNT_ATTR_RDONLY}},
		{"bind", []string{"bind"}, Options{Bind: true}},
		{"rbind", []string{"rbind"}, Options{Bind: true, Recursive: true}},
		{"bind after rbind stays recursive", []string{"rbind", "bind"}, Options{Bind: true, Recursive: true}},
		{"noatime", []string{"noatime"}, Options{Flags: unix.MS_NOATIME, Attr: unix.MOUNT_ATTR_NOATIME}},
		{"nodiratime", []string{"nodiratime"}, Options{Flags: unix.MS_NODIRATIME, Attr: unix.MOUNT_ATTR_NODIRATIME}},
		{"relatime", []string{"relatime"}, Options{Flags: unix.MS_RELATIME, Attr: unix.MOUNT_ATTR_RELATIME}},
		{"strictatime", []string{"strictatime"}, Options{Flags: unix.MS_STRICTATIME, Attr: unix.MOUNT_ATTR_STRICTATIME}},
		{"sync dirsync mand", []string{"sync", "dirsync", "mand"}, Options{Flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK}},
		{"defaults are no-ops", []string{"rw", "suid", "dev", "exec", "atime", "diratime", "async", "nomand", "defaults", "norelatime", "nostrictatime", "loud"}, Options{}},
		{"private", []string{"private"}, Options{Propagation: unix.MS_PRIVATE}},
		{"rprivate", []string{"rprivate"}, Options{Propagation: unix.MS_PRIVATE | unix.MS_REC}},
		{"shared", []string{"shared"}, Options{Propagation: unix.MS_SHARED}},
		{"rshared", []string{"rshared"}, Options{Propagation: unix.MS_SHARED | unix.MS_REC}},
		{"slave", []string{"slave"}, Options{Propagation: unix.MS_SLAVE}},
		{"rslave", []string{"rslave"}, Options{Propagation: unix.MS_SLAVE | unix.MS_REC}},
		{"unbindable", []string{"unbindable"}, Options{Propagation: unix.MS_UNBINDABLE}},
		{"runbindable", []string{"runbindable"}, Options{Propagation: unix.MS_UNBINDABLE | unix.MS_REC}},
		{"last propagation wins", []string{"rshared", "private"}, Options{Propagation: unix.MS_PRIVATE}},
		{"tmpfs data", []string{"nosuid", "mode=755", "size=65536k", "nr_inodes=1k"}, Options{
			Flags: unix.MS_NOSUID, Attr: unix.MOUNT_ATTR_NOSUID,
			Data: []string{"mode=755", "size=65536k", "nr_inodes=1k"}}},
		{"devpts data", []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, Options{
			Data: []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
		{"overlay data", []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "userxattr"}, Options{
			Data: []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "userxattr"}}},
		{"value with =", []string{"context=system_u:object_r:x=y"}, Options{Data: []string{"context=system_u:object_r:x=y"}}},
		{"x- options skipped", []string{"x-systemd.automount", "x-foo=bar", "ro"}, Options{Flags: unix.MS_RDONLY, Attr: unix.MOUNT_ATTR_RDONLY}},
		{"typical bind", []string{"rbind", "ro", "nosuid", "nodev", "rprivate"}, Options{
			Flags:       unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV,
			Attr:        unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
			Propagation: unix.MS_PRIVATE | unix.MS_REC, Bind: true, Recursive: true}},
	}
	for _, tt := range tests {
		got, err := ParseOptions(tt.opts)
		if err != nil {
			t.Errorf("%s: ParseOptions(%q): %v", tt.name, tt.opts, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseOptions(%q) = %+v, want %+v", tt.name, tt.opts, got, tt.want)
		}
	}
}

func TestParseOptionsErrors(t *testing.T) {
	tests := []struct {
		opts []string
		err  string
	}{
		{[]string{"bogus"}, `option "bogus": unknown mount option`},
		{[]string{"ro", "nosiud"}, `option "nosiud": unknown mount option`},
		{[]string{"RO"}, `option "RO": unknown mount option`},
		{[]string{""}, `option "": unknown mount option`},
		{[]string{"=755"}, `option "=755": unknown mount option`},
		{[]string{"ro,nosuid"}, `option "ro,nosuid": unknown mount option`},
		{[]string{"modes=755"}, `option "modes=755": unknown mount option`},
		{[]string{"idmap"}, `option "idmap": idmapped mounts need privileges urun does not have`},
		{[]string{"rbind", "ridmap"}, `option "ridmap": idmapped mounts need privileges urun does not have`},
		{[]string{"tmpcopyup"}, `option "tmpcopyup": copying the image content into a tmpfs is not implemented`},
		// The first offending option is named.
		{[]string{"bad1", "bad2"}, `option "bad1": unknown mount option`},
	}
	for _, tt := range tests {
		_, err := ParseOptions(tt.opts)
		if err == nil || err.Error() != tt.err {
			t.Errorf("ParseOptions(%q) error = %v, want %q", tt.opts, err, tt.err)
		}
	}
}

// Every listed option parses (or is refused) the way ClassifyOption says,
// with the same reason.
func TestListsAgreeWithParse(t *testing.T) {
	for _, o := range KnownOptions() {
		if _, err := ParseOptions([]string{o}); err != nil {
			t.Errorf("known option %q: %v", o, err)
		}
		if k, _ := ClassifyOption(o); k != OptBind && k != OptFlag && k != OptPropagation {
			t.Errorf("known option %q classified %d", o, k)
		}
	}
	for _, k := range DataOptionKeys() {
		for _, o := range []string{k, k + "=1"} {
			got, err := ParseOptions([]string{o})
			if err != nil || !reflect.DeepEqual(got.Data, []string{o}) {
				t.Errorf("data option %q: %+v, %v", o, got, err)
			}
			if kind, _ := ClassifyOption(o); kind != OptData {
				t.Errorf("data option %q classified %d", o, kind)
			}
		}
	}
	for _, o := range RefusedOptions() {
		kind, why := ClassifyOption(o)
		_, err := ParseOptions([]string{o})
		if kind != OptRefused || why == "" || err == nil || err.Error() != `option "`+o+`": `+why {
			t.Errorf("refused option %q: class %d %q, ParseOptions %v", o, kind, why, err)
		}
	}
	if k, _ := ClassifyOption("x-anything"); k != OptUserspace {
		t.Errorf("x-anything classified %d", k)
	}
	if k, _ := ClassifyOption("nope"); k != OptUnknown {
		t.Errorf("nope classified %d", k)
	}
}

func TestListsSortedAndDisjoint(t *testing.T) {
	seen := map[string]string{}
	for name, list := range map[string][]string{"known": KnownOptions(), "data": DataOptionKeys(), "refused": RefusedOptions()} {
		for i, o := range list {
			if i > 0 && list[i-1] >= o {
				t.Errorf("%s list not sorted/unique at %q", name, o)
			}
			if other, ok := seen[o]; ok {
				t.Errorf("option %q in both %s and %s lists", o, other, name)
			}
			seen[o] = name
		}
	}
}

// TestParseOptionsLastWins: a clearing option undoes an earlier one, as
// with mount(8) and runc.
func TestParseOptionsLastWins(t *testing.T) {
	for _, tc := range []struct {
		opts  []string
		flags uintptr
		attr  uint64
	}{
		{[]string{"ro", "rw"}, 0, 0},
		{[]string{"rw", "ro"}, unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{[]string{"nosuid", "nodev", "suid"}, unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{[]string{"noexec", "exec", "noexec"}, unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{[]string{"noatime", "atime"}, 0, 0},
		{[]string{"sync", "async"}, 0, 0},
		{[]string{"relatime", "norelatime"}, 0, 0},
	} {
		o, err := ParseOptions(tc.opts)
		if err != nil {
			t.Fatalf("%v: %v", tc.opts, err)
		}
		if o.Flags != tc.flags || o.Attr != tc.attr {
			t.Errorf("%v: flags %#x attr %#x, want %#x %#x", tc.opts, o.Flags, o.Attr, tc.flags, tc.attr)
		}
	}
}
