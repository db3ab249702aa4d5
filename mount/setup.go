package mount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"urun/failure"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Env is what the mount plan needs to know beyond the config.
type Env struct {
	Rootfs    string            // absolute, symlink-free rootfs path
	BundleDir string            // relative bind sources are relative to it
	GidMapped func(uint32) bool // whether a gid exists in the new user namespace
	Debug     func(msg string)  // notes for the parent's debug log
}

// NewTree starts the container's mount tree (the plan's mount steps, in
// the order plan.Build gives them: slaves, rootfs bind, /dev, config
// mounts, devices, pivot_root, masked and read-only paths, propagation,
// read-only root). Close it when done.
func NewTree(spec *specs.Spec, env Env) *Tree {
	return &Tree{spec: spec, env: env, root: env.Rootfs, mounted: map[string]bool{}}
}

// Close drops the handle on the root.
func (s *Tree) Close() {
	if s.rootDir != nil {
		s.rootDir.Close()
		s.rootDir = nil
	}
}

// The plan's mount steps.
func (s *Tree) SlaveMounts() error  { return s.slaveAll() }
func (s *Tree) BindRootfs() error   { return s.bindRootfs() }
func (s *Tree) PopulateDev() error  { return s.populateDev() }
func (s *Tree) PivotRoot() error    { return s.pivot() }
func (s *Tree) Propagation() error  { return s.rootPropagation() }
func (s *Tree) ReadonlyRoot() error { return s.readonlyRoot() }

// DevTmpfs gives the container a tmpfs /dev when the config mounts none, as
// runc does.
func (s *Tree) DevTmpfs() error {
	s.devTmp = true
	return s.mountFS("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_STRICTATIME, "mode=755,size=65536k")
}

// Mount makes the config's mounts[i].
func (s *Tree) Mount(i int) error {
	m := s.spec.Mounts[i]
	if err := s.oneMount(m); err != nil {
		return err
	}
	dest := filepath.Clean(m.Destination)
	s.mounted[dest] = true
	if dest == "/dev" && m.Type == "tmpfs" {
		s.devTmp = true
	}
	return nil
}

// Mask covers linux.maskedPaths[i]; ReadonlyPath binds linux.readonlyPaths[i]
// read-only.
func (s *Tree) Mask(i int) error { return s.maskPath(s.spec.Linux.MaskedPaths[i]) }
func (s *Tree) ReadonlyPath(i int) error {
	return s.readonlyPath(s.spec.Linux.ReadonlyPaths[i])
}

// Tree is the container's mount tree while it is built.
type Tree struct {
	spec    *specs.Spec
	env     Env
	root    string
	rootDir *os.File        // O_PATH handle on the rootfs mount, until pivot_root
	devTmp  bool            // /dev is a tmpfs urun must populate
	mounted map[string]bool // container paths the config mounted
}

func (s *Tree) debug(format string, a ...any) {
	if s.env.Debug != nil {
		s.env.Debug(fmt.Sprintf(format, a...))
	}
}

// slaveAll makes every mount a slave before anything is mounted, so that
// nothing mounted from here on reaches the namespace urun was called in.
// (Ours is owned by a new user namespace, so the kernel has already made
// the host's shared mounts slaves; this also covers the caller's own.)
// The mode asked for is applied to / once the tree is built: an unbindable
// mount could not be bound as the rootfs.
func (s *Tree) slaveAll() error {
	return failure.Path("/", unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""))
}

// rootPropagation applies linux.rootfsPropagation to the container's /
// (with r*, to every mount under it too). Without one, / stays the rslave
// slaveAll made it. Shared makes / a peer group of its own (still a slave
// of the host's): mounts made in the container reach mount namespaces
// made inside it, never the host, which sends ours nothing back.
func (s *Tree) rootPropagation() error {
	l := s.spec.Linux
	if l == nil || l.RootfsPropagation == "" {
		return nil
	}
	f, ok := propagationOptions[l.RootfsPropagation]
	if !ok {
		return fmt.Errorf("linux.rootfsPropagation: %q is not a propagation mode", l.RootfsPropagation)
	}
	return failure.Path("/", unix.Mount("", "/", "", f, ""))
}

func (s *Tree) bindRootfs() error {
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(s.root, s.root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return failure.Path(s.root, err)
	}
	return s.openRoot()
}

// openRoot opens the handle mount points are looked up from: the rootfs
// mount. (config.Check refuses a mount over "/", which would cover it.)
func (s *Tree) openRoot() error {
	d, err := os.OpenFile(s.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return failure.Path(s.root, failure.Errno(err))
	}
	s.rootDir = d
	return nil
}

func (s *Tree) oneMount(m specs.Mount) error {
	o, err := ParseOptions(m.Options)
	if err != nil {
		return err
	}
	typ := m.Type
	if o.Bind && (typ == "" || typ == "none") {
		typ = "bind"
	}
	switch typ {
	case "bind":
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(s.env.BundleDir, src)
		}
		return s.bind(src, m.Destination, o.Recursive, o)
	case "proc":
		// A new proc instance needs a PID namespace we do not create; the
		// host's /proc is what this process can see anyway.
		return s.bind("/proc", m.Destination, true, Options{Attr: o.Attr})
	case "sysfs":
		return s.bind("/sys", m.Destination, true, o)
	case "mqueue", "cgroup", "cgroup2":
		s.debug("mount %s: type %s skipped: the kernel refuses it without namespaces urun does not create", m.Destination, typ)
		return nil
	case "devpts":
		data := make([]string, 0, len(o.Data))
		for _, d := range o.Data {
			if v, ok := strings.CutPrefix(d, "gid="); ok {
				var gid uint32
				if _, err := fmt.Sscanf(v, "%d", &gid); err == nil && s.env.GidMapped != nil && !s.env.GidMapped(gid) {
					s.debug("mount %s: option %s dropped: gid %d is not mapped", m.Destination, d, gid)
					continue
				}
			}
			data = append(data, d)
		}
		return s.mountFS(m.Source, m.Destination, "devpts", o.Flags, strings.Join(data, ","))
	default:
		if err := s.mountFS(m.Source, m.Destination, typ, o.Flags, strings.Join(o.Data, ",")); err != nil {
			return err
		}
		if o.Propagation != 0 {
			// A fresh in-root lookup now lands on the new mount's root,
			// which is what the propagation flag applies to.
			h, err := s.mountPoint(m.Destination, true)
			if err != nil {
				return err
			}
			defer h.Close()
			return failure.Path(m.Destination, unix.Mount("", fdPath(h), "", o.Propagation, ""))
		}
		return nil
	}
}

// resolve maps a container path to a host path under the rootfs without
// following any symlink out of it.
func (s *Tree) resolve(dest string) (string, error) {
	p, err := securejoin.SecureJoin(s.root, dest)
	if err != nil {
		return "", fmt.Errorf("resolve %s in rootfs: %w", dest, err)
	}
	return p, nil
}

// mountPoint creates the destination (a directory, or an empty file when
// the source is not a directory) and returns an O_PATH handle on it. Every
// lookup is openat2 with RESOLVE_IN_ROOT from the rootfs handle, so no
// symlink or ".." leads out of the rootfs even if the tree changes between
// lookup and mount: the mount goes onto the handle, not onto a path looked
// up again. (pathrs-lite does the same and more, but cost ~1 ms per
// container here in /proc checks; see bench/README.md.)
func (s *Tree) mountPoint(dest string, dir bool) (*os.File, error) {
	// SecureJoin picks where a dangling symlink would lead, inside the
	// rootfs; that is where a missing mount point is created.
	p, err := s.resolve(dest)
	if err != nil {
		return nil, err
	}
	rel := strings.TrimPrefix(p, s.root)
	if rel == "" {
		rel = "/"
	}
	fd, err := s.openIn(rel, unix.O_PATH|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		err = s.create(rel, dir)
		if err == nil {
			fd, err = s.openIn(rel, unix.O_PATH|unix.O_NOFOLLOW)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mount point %s: %w", dest, err)
	}
	var st, root unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mount point %s: %w", dest, err)
	}
	if unix.Fstat(int(s.rootDir.Fd()), &root) == nil && st.Dev == root.Dev && st.Ino == root.Ino {
		unix.Close(fd)
		return nil, fmt.Errorf("mount point %s: resolves to the rootfs itself, which a mount would cover", dest)
	}
	switch typ := st.Mode & unix.S_IFMT; {
	case typ == unix.S_IFDIR && dir, typ != unix.S_IFDIR && typ != unix.S_IFLNK && !dir:
		return os.NewFile(uintptr(fd), dest), nil
	case typ == unix.S_IFLNK:
		unix.Close(fd)
		return nil, fmt.Errorf("mount point %s: became a symlink while being set up", dest)
	case dir:
		unix.Close(fd)
		return nil, fmt.Errorf("mount point %s exists and is not a directory (the source is a directory)", dest)
	default:
		unix.Close(fd)
		return nil, fmt.Errorf("mount point %s is a directory, but the source is not: a file binds only onto a file (name the file inside it, e.g. %s)", dest, filepath.Join(dest, "NAME"))
	}
}

// openIn opens path (relative to the rootfs) with the rootfs as "/".
func (s *Tree) openIn(path string, flags int) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	if flags&unix.O_CREAT != 0 {
		how.Mode = 0o644 // the kernel refuses a mode without O_CREAT
	}
	for {
		fd, err := unix.Openat2(int(s.rootDir.Fd()), path, how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue // a rename raced the lookup: retry, as the man page says
		}
		return fd, err
	}
}

// create makes path's missing directories, one component at a time, each
// made inside a parent opened in the rootfs, and the file itself when dir
// is false.
func (s *Tree) create(path string, dir bool) error {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	last := len(parts)
	if !dir {
		last--
	}
	cur := "/"
	for i := 0; i < last; i++ {
		next := filepath.Join(cur, parts[i])
		fd, err := s.openIn(next, unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			pfd, perr := s.openIn(cur, unix.O_PATH|unix.O_DIRECTORY)
			if perr != nil {
				return perr
			}
			err = unix.Mkdirat(pfd, parts[i], 0o755)
			unix.Close(pfd)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("mkdir %s: %w", next, err)
			}
			fd, err = s.openIn(next, unix.O_PATH|unix.O_DIRECTORY)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", next, err)
		}
		unix.Close(fd)
		cur = next
	}
	if dir {
		return nil
	}
	// O_EXCL: never open (and maybe block on) whatever raced into place;
	// the caller checks what is there.
	fd, err := s.openIn(path, unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_NOFOLLOW)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	unix.Close(fd)
	return nil
}

// fdPath names an open file for mount(2), which follows the magic link to
// exactly that file.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

func (s *Tree) mountFS(src, dest, typ string, flags uintptr, data string) error {
	h, err := s.mountPoint(dest, true)
	if err != nil {
		return err
	}
	defer h.Close()
	if src == "" {
		src = typ
	}
	if err := unix.Mount(src, fdPath(h), typ, flags, data); err != nil {
		return fmt.Errorf("mount %s (type %s, options %q): %w%s", dest, typ, data, err, hint(typ, err))
	}
	return nil
}

// bind attaches a copy of src at dest with open_tree/mount_setattr/
// move_mount: attributes are set on the detached copy before it becomes
// visible, and only ever added, so locked host flags are never touched.
func (s *Tree) bind(src, dest string, recursive bool, o Options) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind source %s: %w", src, failure.Errno(err))
	}
	h, err := s.mountPoint(dest, st.IsDir())
	if err != nil {
		return err
	}
	defer h.Close()
	return s.bindAt(unix.AT_FDCWD, src, int(h.Fd()), "", dest, recursive, o)
}

// bindAt binds src onto target, named by dirfd and path as in move_mount
// (path "" for the file dirfd itself); name is for messages. With srcfd
// AT_FDCWD src is the path to bind; otherwise srcfd is the handle to bind
// and src only names it in messages.
func (s *Tree) bindAt(srcfd int, src string, dirfd int, target, name string, recursive bool, o Options) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	path := src
	if srcfd != unix.AT_FDCWD {
		flags |= unix.AT_EMPTY_PATH
		path = ""
	}
	fd, err := unix.OpenTree(srcfd, path, flags)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	if err := s.setAttr(fd, src, name, recursive, o); err != nil {
		return err
	}
	mflags := unix.MOVE_MOUNT_F_EMPTY_PATH
	if target == "" {
		mflags |= unix.MOVE_MOUNT_T_EMPTY_PATH
	}
	if err := unix.MoveMount(fd, "", dirfd, target, mflags); err != nil {
		return fmt.Errorf("move_mount %s onto %s: %w", src, name, err)
	}
	return nil
}

// atimeOptions are the options that set the atime mode, which the kernel
// locks (nodiratime with it) on every mount a user namespace's mount
// namespace copied from a more privileged one.
var atimeOptions = []struct {
	name string
	flag uintptr
}{{"noatime", unix.MS_NOATIME}, {"relatime", unix.MS_RELATIME}, {"strictatime", unix.MS_STRICTATIME}, {"nodiratime", unix.MS_NODIRATIME}}

// setAttr sets the bind's options on the detached copy fd. When the host
// mount's atime mode is locked and differs from the one asked for, the
// bind keeps the host's, with a debug line, as crun does; any other
// refusal fails.
func (s *Tree) setAttr(fd int, src, name string, recursive bool, o Options) error {
	// relatime is MOUNT_ATTR_RELATIME == 0: the atime mode is chosen by
	// clearing the whole atime field, so look at the MS_ flags instead.
	atime := o.Flags&(unix.MS_NOATIME|unix.MS_RELATIME|unix.MS_STRICTATIME) != 0
	if o.Attr == 0 && o.Propagation == 0 && !atime {
		return nil
	}
	attr := &unix.MountAttr{Attr_set: o.Attr}
	if atime {
		attr.Attr_clr = unix.MOUNT_ATTR__ATIME
	}
	if o.Propagation != 0 {
		attr.Propagation = uint64(o.Propagation &^ unix.MS_REC)
	}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		setFlags |= unix.AT_RECURSIVE
	}
	err := unix.MountSetattr(fd, "", setFlags, attr)
	var asked []string
	for _, a := range atimeOptions {
		if o.Flags&a.flag != 0 {
			asked = append(asked, a.name)
		}
	}
	if err == unix.EPERM && len(asked) > 0 {
		attr.Attr_clr = 0
		attr.Attr_set &^= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		if attr.Attr_set == 0 && attr.Propagation == 0 {
			err = nil
		} else {
			err = unix.MountSetattr(fd, "", setFlags, attr)
		}
		if err == nil {
			s.debug("mount %s: %s not applied: the host mount of %s has its atime mode locked in the user namespace; it keeps the host's (%s)",
				name, strings.Join(asked, ","), src, hostAtime(fd))
		}
	}
	if err != nil {
		hint := ""
		if err == unix.EPERM {
			hint = " (the host mount's flags are locked in a user namespace: ro, nosuid, nodev, noexec cannot be cleared)"
		}
		return fmt.Errorf("set mount attributes on bind of %s: %w%s", src, err, hint)
	}
	return nil
}

// hostAtime names the atime mode of the mount fd is on.
func hostAtime(fd int) string {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return "unknown"
	}
	mode := "strictatime"
	switch {
	case st.Flags&unix.ST_NOATIME != 0:
		mode = "noatime"
	case st.Flags&unix.ST_RELATIME != 0:
		mode = "relatime"
	}
	if st.Flags&unix.ST_NODIRATIME != 0 {
		mode += ",nodiratime"
	}
	return mode
}

// Devices bound from the host: mknod is impossible without privilege.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

var devLinks = [][2]string{
	{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
}

func (s *Tree) populateDev() error {
	if !s.devTmp {
		return nil
	}
	for _, d := range devices {
		dest := "/dev/" + d
		if s.mounted[dest] {
			continue
		}
		if err := s.bind(dest, dest, false, Options{}); err != nil {
			return fmt.Errorf("bind device %s: %w", dest, err)
		}
	}
	for _, l := range devLinks {
		p, err := s.resolve("/dev/" + l[1])
		if err != nil {
			return err
		}
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(l[0], p); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	if !s.mounted["/dev/pts"] {
		if err := s.mountFS("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			return err
		}
	}
	if !s.mounted["/dev/shm"] {
		if err := s.mountFS("shm", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, "mode=1777,size=65536k"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Tree) pivot() error {
	// pivot_root(".", ".") stacks the old root on top of the new one; the
	// detach then drops it, with no put_old directory needed in the image.
	if err := unix.Chdir(s.root); err != nil {
		return failure.Path(s.root, err)
	}
	s.rootDir.Close()
	s.rootDir = nil
	if err := unix.PivotRoot(".", "."); err != nil {
		return failure.Path(s.root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	s.root = "/"
	if err := unix.Chdir("/"); err != nil {
		return failure.Path("/", err)
	}
	// The masked and read-only paths are looked up from the new root.
	return s.openRoot()
}

// maskPath covers a masked path as the container sees it: an empty
// read-only tmpfs over a directory, /dev/null over anything else.
func (s *Tree) maskPath(path string) error {
	return s.atPath(path, func(h *os.File) error {
		var st unix.Stat_t
		if err := unix.Fstat(int(h.Fd()), &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return emptyTmpfsAt(int(h.Fd()))
		}
		return s.maskFile(h, path)
	})
}

// atPath runs cover on a handle on path as the container sees it: the
// lookup follows symlinks only inside the root and through no /proc magic
// link, and what cover mounts goes onto the handle, never onto a path
// looked up again. A path absent from the container is skipped.
func (s *Tree) atPath(path string, cover func(h *os.File) error) error {
	fd, err := s.openIn(path, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("open in the container: %w (a /proc magic link on the way leads out of the container's root, or the symlinks loop)", err)
	}
	if err != nil {
		return fmt.Errorf("open in the container: %w", err)
	}
	h := os.NewFile(uintptr(fd), path)
	defer h.Close()
	return cover(h)
}

// maskFile binds the container's /dev/null over the file h.
func (s *Tree) maskFile(h *os.File, path string) error {
	null, err := s.openIn("/dev/null", unix.O_PATH)
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	defer unix.Close(null)
	return s.bindAt(null, "/dev/null", int(h.Fd()), "", path, false, Options{})
}

// emptyTmpfsAt mounts an empty read-only tmpfs onto the directory dirfd
// (fsopen and fsmount: no path, so no /proc, is needed).
func emptyTmpfsAt(dirfd int) error {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "mode", "0555"); err != nil {
		return fmt.Errorf("tmpfs mode=0555: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("create tmpfs: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("fsmount tmpfs: %w", err)
	}
	defer unix.Close(m)
	return unix.MoveMount(m, "", dirfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// readonlyPath binds a read-only path over itself, read-only, looked up
// as maskPath does.
func (s *Tree) readonlyPath(path string) error {
	return s.atPath(path, func(h *os.File) error {
		return s.bindAt(int(h.Fd()), path, int(h.Fd()), "", path, true, Options{Attr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC})
	})
}

func (s *Tree) readonlyRoot() error {
	if s.spec.Root == nil || !s.spec.Root.Readonly {
		return nil
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	return failure.Path("/", unix.MountSetattr(unix.AT_FDCWD, "/", 0, attr))
}

// hint explains errors whose cause is the host, not the config.
func hint(typ string, err error) string {
	if errors.Is(err, unix.EPERM) {
		return fmt.Sprintf(" (the kernel does not let an unprivileged user namespace mount %s)", typ)
	}
	if errors.Is(err, unix.ENODEV) {
		return fmt.Sprintf(" (filesystem type %s is not available in this kernel)", typ)
	}
	return ""
}
