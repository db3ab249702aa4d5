package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A delete that cannot remove the container fails, names what is left and
// why, and keeps the container visible; so does every later delete --force
// until the obstacle is gone, and then it removes it.
func TestDeleteThatFails(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sleep", "100")
		obstacles := []struct {
			name, left string
			make, undo func(dir string)
		}{
			{"undeletable file", "junk/file is left: permission denied", func(dir string) {
				// root's directory inside the account's: the account cannot empty it.
				os.Mkdir(filepath.Join(dir, "junk"), 0o755)
				os.WriteFile(filepath.Join(dir, "junk", "file"), nil, 0o644)
			}, func(dir string) { os.RemoveAll(filepath.Join(dir, "junk")) }},
			{"read-only root", "is left: cannot remove entries of " + e.Root + ": read-only file system", func(string) {
				if err := unix.Mount(e.Root, e.Root, "", unix.MS_BIND, ""); err != nil {
					t.Fatal(err)
				}
				if err := unix.Mount("", e.Root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
					t.Fatal(err)
				}
			}, func(string) { unix.Unmount(e.Root, unix.MNT_DETACH) }},
			{"busy mount", "mnt is left: device or resource busy", func(dir string) {
				os.Mkdir(filepath.Join(dir, "mnt"), 0o755)
				if err := unix.Mount("tmpfs", filepath.Join(dir, "mnt"), "tmpfs", 0, ""); err != nil {
					t.Fatal(err)
				}
			}, func(dir string) { unix.Unmount(filepath.Join(dir, "mnt"), unix.MNT_DETACH) }},
		}
		for _, o := range obstacles {
			id := "d-" + strings.ReplaceAll(o.name, " ", "-")
			dir := filepath.Join(e.Root, id)
			e.MustUrun("create", id)
			o.make(dir)
			for try := 1; try <= 2; try++ {
				r := e.Urun("delete", "--force", id)
				if r.Code == 0 || !strings.Contains(r.Stderr, "urun delete "+id+": container not removed: ") || !strings.Contains(r.Stderr, o.left) {
					t.Errorf("%s: delete --force #%d: want a failure naming %q; got %s", o.name, try, o.left, r)
				}
				// Still there, and said so: not hidden, not "half-created".
				if st := e.State(id); st.Status != "stopped" {
					t.Errorf("%s: after failed delete #%d: status %q, want stopped", o.name, try, st.Status)
				}
				if r := e.MustUrun("list", "-q"); !strings.Contains(r.Stdout, id+"\n") {
					t.Errorf("%s: list hides the container: %q", o.name, r.Stdout)
				}
			}
			o.undo(dir)
			e.MustUrun("delete", "--force", id)
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("%s: %s still there after the delete succeeded", o.name, dir)
			}
			e.MustUrun("create", id) // the ID is free again
			e.MustUrun("delete", id)
		}
		e.AssertClean()
	})
}
