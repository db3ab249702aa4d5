package tests

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountFields returns the optional fields (shared:N, master:N, unbindable)
// of the mount at point in a mountinfo file, and whether it is there.
func mountFields(t *testing.T, mountinfo, point string) (string, bool) {
	t.Helper()
	data, err := os.ReadFile(mountinfo)
	if err != nil {
		t.Fatal(err)
	}
	var fields string
	found := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != point {
			continue
		}
		// The last mount at a point is the one on top.
		var opt []string
		for _, o := range f[6:] {
			if o == "-" {
				break
			}
			opt = append(opt, strings.SplitN(o, ":", 2)[0])
		}
		fields, found = strings.Join(opt, " "), true
	}
	return fields, found
}

// hostMount mounts a tmpfs at dir in the test's (the host's) namespace and
// unmounts it when the test ends.
func hostMount(t *testing.T, dir string, flags uintptr, data string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// TestRootfsPropagation: linux.rootfsPropagation is what the container's /
// shows in mountinfo, for every mode. The rootfs is a shared mount on the
// host, so a host mount made under it after create appears in the
// container exactly when / is a slave (slave, shared, the default), and a
// mount made in the container never reaches the host, shared or not: the
// container's mount namespace, owned by an unprivileged user namespace,
// receives the host's mounts only as a slave.
func TestRootfsPropagation(t *testing.T) {
	modes := []struct {
		mode   string
		fields string // optional fields of / in the container
	}{
		{"", "master"}, {"slave", "master"}, {"rslave", "master"},
		{"private", ""}, {"rprivate", ""},
		{"shared", "shared master"}, {"rshared", "shared master"},
		{"unbindable", "unbindable"}, {"runbindable", "unbindable"},
	}
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", "mount -t tmpfs out /mnt/out && grep -c ' /mnt/out ' /proc/self/mountinfo")
		rootfs := filepath.Join(e.Bundle, "rootfs")
		for _, d := range []string{"mnt/in", "mnt/out"} {
			os.MkdirAll(filepath.Join(rootfs, d), 0o755)
		}
		e.chownAll(e.Bundle)
		if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(rootfs, unix.MNT_DETACH) })
		if err := unix.Mount("", rootfs, "", unix.MS_SHARED, ""); err != nil {
			t.Fatal(err)
		}
		for _, m := range modes {
			e.Spec.Linux.RootfsPropagation = m.mode
			e.WriteSpec()
			cmd := e.Command("create", "p1")
			out := startPiped(t, cmd)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("mode %q: create: %v", m.mode, err)
			}
			pid := e.State("p1").Pid
			mountinfo := "/proc/" + strconv.Itoa(pid) + "/mountinfo"
			if got, _ := mountFields(t, mountinfo, "/"); got != m.fields {
				t.Errorf("mode %q: / has optional fields %q, want %q", m.mode, got, m.fields)
			}
			in := filepath.Join(rootfs, "mnt/in")
			if err := unix.Mount("tmpfs", in, "tmpfs", 0, ""); err != nil {
				t.Fatal(err)
			}
			_, seen := mountFields(t, mountinfo, "/mnt/in")
			unix.Unmount(in, unix.MNT_DETACH)
			if want := strings.Contains(m.fields, "master"); seen != want {
				t.Errorf("mode %q: the host's mount made after create appears in the container: %v, want %v", m.mode, seen, want)
			}
			e.MustUrun("start", "p1")
			said, _ := io.ReadAll(out)
			if code := WaitPid(t, pid); code != 0 || string(said) != "1\n" {
				t.Errorf("mode %q: mount in the container: exit %d, %q", m.mode, code, said)
			}
			if _, leaked := mountFields(t, "/proc/self/mountinfo", filepath.Join(rootfs, "mnt/out")); leaked {
				unix.Unmount(filepath.Join(rootfs, "mnt/out"), unix.MNT_DETACH)
				t.Errorf("mode %q: the container's mount reached the host", m.mode)
			}
			e.MustUrun("delete", "p1")
		}
		e.AssertClean()
	})
}

// TestBindOptions: the host's atime mode (relatime) can be asked for on a
// bind (relatime is the zero attribute, so it must clear the atime field);
// a later "rw" undoes "ro". Another atime mode than the host mount's is
// locked in the user namespace: the bind keeps the host's (a noatime tmpfs
// bound with relatime stays noatime, the relatime source bound with
// strictatime stays relatime), keeps the other options, and a debug line
// names the mount.
func TestBindOptions(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a, "sh", "-c", `awk '$5 ~ /^\/m[1-4]$/ {print $5, $6}' /proc/self/mountinfo; touch /m2/x && echo m2-writable`)
		src, noatime := filepath.Join(e.Bundle, "src"), filepath.Join(e.Bundle, "noatime")
		os.Mkdir(src, 0o755)
		os.Mkdir(noatime, 0o755)
		hostMount(t, noatime, unix.MS_NOATIME, "mode=755")
		e.chownAll(e.Bundle)
		for _, d := range []string{"/m1", "/m2", "/m3", "/m4"} {
			os.Mkdir(filepath.Join(e.Bundle, "rootfs", d), 0o755)
		}
		e.Spec.Mounts = append(e.Spec.Mounts,
			specs.Mount{Destination: "/m1", Type: "bind", Source: src, Options: []string{"bind", "relatime", "ro"}},
			specs.Mount{Destination: "/m2", Type: "bind", Source: src, Options: []string{"bind", "ro", "rw"}},
			specs.Mount{Destination: "/m3", Type: "bind", Source: noatime, Options: []string{"bind", "relatime", "ro"}},
			specs.Mount{Destination: "/m4", Type: "bind", Source: src, Options: []string{"bind", "strictatime", "nodev"}})
		e.WriteSpec()
		logFile := filepath.Join(e.Bundle, "log.json")
		r := e.Urun("--debug", "--log", logFile, "--log-format", "json", "run", "b1")
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		mounts := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			if p, opts, ok := strings.Cut(l, " "); ok {
				mounts[p] = opts
			}
		}
		for p, want := range map[string][]string{"/m1": {"ro", "relatime"}, "/m2": {"rw"}, "/m3": {"ro", "noatime"}, "/m4": {"nodev", "relatime"}} {
			opts := strings.Split(mounts[p], ",")
			for _, w := range want {
				if !slices.Contains(opts, w) {
					t.Errorf("%s has options %q, want %s among them", p, mounts[p], w)
				}
			}
		}
		if !strings.Contains(r.Stdout, "m2-writable") {
			t.Errorf("/m2 not writable: %s", r)
		}
		for _, want := range []string{
			"mount /m3: relatime not applied: the host mount of " + noatime + " has its atime mode locked in the user namespace; it keeps the host's (noatime)",
			"mount /m4: strictatime not applied: the host mount of " + src + " has its atime mode locked in the user namespace; it keeps the host's (relatime)",
		} {
			found := false
			for _, l := range logLines(t, logFile) {
				found = found || (l["level"] == "debug" && l["msg"] == want)
			}
			if !found {
				t.Errorf("no debug line %q in the log", want)
			}
		}
		e.AssertClean()
	})
}

// TestMaskedPathSymlinks: masked and read-only paths are looked up inside
// the container's root, as the container would see them, and never lead
// to the host. A symlink to a host-absolute path resolves inside the root
// (absent there: skipped, and the host file stays unreachable). A symlink
// through a /proc magic link (here /proc/self/fd/3, a host directory the
// caller passes with --preserve-fds) would leave what the container reads
// and writes there unmasked and writable: create refuses it, naming the
// entry, and the host directory is untouched.
func TestMaskedPathSymlinks(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		host := filepath.Join(e.Bundle, "host")
		os.Mkdir(host, 0o755)
		os.WriteFile(filepath.Join(host, "secret"), []byte("host-secret\n"), 0o644)
		e.chownAll(e.Bundle)
		etc := filepath.Join(e.Bundle, "rootfs/etc")
		for name, target := range map[string]string{"abs": host + "/secret", "absdir": host,
			"magic": "/proc/self/fd/3/secret", "magicdir": "/proc/self/fd/3"} {
			os.Symlink(target, filepath.Join(etc, name))
		}
		const loop = ": open in the container: too many levels of symbolic links (a /proc magic link on the way leads out of the container's root, or the symlinks loop)"
		cases := []struct {
			masked, readonly []string
			script           string
			refused          string // the error, or "" when the run succeeds
			stdout           string
		}{
			{masked: []string{"/etc/abs"}, readonly: []string{"/etc/absdir"},
				script: "cat /etc/abs; touch /etc/absdir/x; echo ran", stdout: "ran\n"},
			{masked: []string{"/etc/magic"}, script: "cat /etc/magic", refused: "linux.maskedPaths[0] /etc/magic" + loop},
			{readonly: []string{"/etc/magicdir"}, script: "touch /etc/magicdir/x", refused: "linux.readonlyPaths[0] /etc/magicdir" + loop},
		}
		for i, c := range cases {
			e.Spec.Process.Args = []string{"sh", "-c", c.script}
			e.Spec.Linux.MaskedPaths, e.Spec.Linux.ReadonlyPaths = c.masked, c.readonly
			e.WriteSpec()
			dir, err := os.Open(host)
			if err != nil {
				t.Fatal(err)
			}
			cmd := e.Command("run", "--preserve-fds", "1", "m"+strconv.Itoa(i))
			cmd.ExtraFiles = []*os.File{dir}
			r := e.Exec(cmd)
			dir.Close()
			if strings.Contains(r.Stdout, "host-secret") {
				t.Errorf("case %d: the container read the host file through a masked path: %s", i, r)
			}
			if c.refused != "" && (r.Code != 1 || !strings.Contains(r.Stderr, c.refused)) {
				t.Errorf("case %d: want create refused with %q: %s", i, c.refused, r)
			}
			if c.refused == "" && (r.Code != 0 || r.Stdout != c.stdout) {
				t.Errorf("case %d: want stdout %q: %s", i, c.stdout, r)
			}
		}
		if _, err := os.Lstat(filepath.Join(host, "x")); err == nil {
			t.Errorf("the container wrote into the host directory through a read-only path")
		}
		if data, _ := os.ReadFile(filepath.Join(host, "secret")); string(data) != "host-secret\n" {
			t.Errorf("host file changed: %q", data)
		}
		e.AssertClean()
	})
}
