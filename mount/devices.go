package mount

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CheckDevice checks a linux.devices entry against the host before
// anything is created: urun cannot mknod, so the node must exist on the
// host at the same path, of the same type and, when the config gives
// them, the same major and minor numbers.
func CheckDevice(d specs.LinuxDevice) error {
	if d.Path == "" || d.Path[0] != '/' {
		return fmt.Errorf("path %q is not absolute", d.Path)
	}
	var st unix.Stat_t
	if err := unix.Stat(d.Path, &st); err != nil {
		return fmt.Errorf("%s: the host has no such device (%v); urun binds devices from the host and cannot create them", d.Path, err)
	}
	var want uint32
	switch d.Type {
	case "c", "u":
		want = unix.S_IFCHR
	case "b":
		want = unix.S_IFBLK
	case "p":
		want = unix.S_IFIFO
	default:
		return fmt.Errorf("%s: type %q is not c, u, b or p", d.Path, d.Type)
	}
	if st.Mode&unix.S_IFMT != want {
		return fmt.Errorf("%s: the host's node is not of type %q", d.Path, d.Type)
	}
	if want == unix.S_IFIFO {
		return nil
	}
	major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	if (d.Major != 0 || d.Minor != 0) && (d.Major != major || d.Minor != minor) {
		return fmt.Errorf("%s: the host's device is %d:%d, not %d:%d as asked", d.Path, major, minor, d.Major, d.Minor)
	}
	return nil
}

// Device binds linux.devices[i] from the host (checked by CheckDevice at
// create). A node already there as that same device, as under a bind of
// the host's /dev, is left as it is.
func (s *Tree) Device(i int) error {
	d := s.spec.Linux.Devices[i]
	if p, err := s.resolve(d.Path); err == nil && sameNode(p, d.Path) {
		return nil
	}
	return s.bind(d.Path, d.Path, false, Options{})
}

// sameNode: the file at p (in the rootfs) is the host's node at host.
func sameNode(p, host string) bool {
	a, err1 := os.Stat(p)
	b, err2 := os.Stat(host)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
