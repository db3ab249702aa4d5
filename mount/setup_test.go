package mount

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// newSetup makes a rootfs in a temporary directory, with an "outside"
// directory beside it that no lookup may reach.
func newSetup(t *testing.T) (*Tree, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root + "/etc", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs":             outside,                   // absolute, out of the rootfs
		"up":              "../../../../../outside",  // climbs above the rootfs
		"etc/resolv.conf": "../run/stub/resolv.conf", // dangling, as in images
		"etc/dirlink":     "/outside",
		"rootlink":        "/",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &Tree{root: root, rootDir: d, mounted: map[string]bool{}}, outside
}

// Mount points resolve and are created inside the rootfs, whatever the
// symlinks on the way say; the handle names what was created.
func TestMountPointStaysInRootfs(t *testing.T) {
	s, outside := newSetup(t)
	for _, tc := range []struct {
		dest string
		dir  bool
		want string // path created, relative to the rootfs
	}{
		{"/a/b/c", true, "a/b/c"},
		{"/abs/x", true, "HOSTOUTSIDE/x"}, // the host path, taken inside the rootfs
		{"/up/y", true, "outside/y"},
		{"/etc/dirlink/z", true, "outside/z"},
		{"/etc/resolv.conf", false, "run/stub/resolv.conf"},
		{"/new/dir/file", false, "new/dir/file"},
		{"/etc/file", false, "etc/file"},
	} {
		h, err := s.mountPoint(tc.dest, tc.dir)
		if err != nil {
			t.Errorf("%s: %v", tc.dest, err)
			continue
		}
		got, _ := os.Readlink(fdPath(h))
		h.Close()
		tc.want = strings.Replace(tc.want, "HOSTOUTSIDE", strings.TrimPrefix(outside, "/"), 1)
		if want := filepath.Join(s.root, tc.want); got != want {
			t.Errorf("%s: handle names %s, want %s", tc.dest, got, want)
		}
		st, err := os.Stat(filepath.Join(s.root, tc.want))
		if err != nil || st.IsDir() != tc.dir {
			t.Errorf("%s: created %v %v", tc.dest, st, err)
		}
	}
	if left, _ := os.ReadDir(outside); len(left) > 0 {
		t.Errorf("created outside the rootfs: %v", left)
	}
}

func TestMountPointKindMismatch(t *testing.T) {
	s, _ := newSetup(t)
	for _, tc := range []struct {
		dest string
		dir  bool
		want string
	}{
		{"/etc/file", true, "mount point /etc/file exists and is not a directory (the source is a directory)"},
		{"/etc", false, "mount point /etc is a directory, but the source is not"},
		{"/rootlink", true, "mount point /rootlink: resolves to the rootfs itself, which a mount would cover"},
		{"/etc/..", true, "mount point /etc/..: resolves to the rootfs itself, which a mount would cover"},
	} {
		h, err := s.mountPoint(tc.dest, tc.dir)
		if err == nil {
			h.Close()
			t.Errorf("%s: no error", tc.dest)
		} else if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.dest, err, tc.want)
		}
	}
}
