// Package userns chooses the ID mapping of the container's user namespace
// from what the calling account has, and applies it.
package userns

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rootless-containers/rootlesskit/v2/pkg/parent/idtools"
)

// Mode says where a mapping came from.
type Mode string

const (
	// Inherit: urun runs as uid 0 of some user namespace (buildah's, or the
	// initial one); every ID of that namespace is kept, unchanged.
	Inherit Mode = "inherit"
	// SubID: an unprivileged account with /etc/subuid and /etc/subgid
	// ranges; newuidmap/newgidmap write 0 -> own ID, 1..N -> the range.
	SubID Mode = "subid"
	// Single: anything else; 0 -> own uid and gid, setgroups denied.
	Single Mode = "single"
	// Join: the config names a user namespace to join (linux.namespaces
	// path); its maps are read once the placeholder is in it (Joined).
	Join Mode = "joined"
	// Own: the config's user namespace path is urun's own: no new one.
	Own Mode = "own"
)

// Mapping is the user namespace urun will create.
type Mapping struct {
	Mode      Mode
	UID, GID  []specs.LinuxIDMapping // ContainerID -> HostID (host = urun's own namespace)
	Setgroups bool                   // setgroups(2) allowed in the container
	// SetupAsRoot: urun runs as real root and the config remaps the
	// container away from host uid 0 (containerd's and Docker's userns
	// remapping, 0 -> 100000): the placeholder becomes the container's
	// root before it execs, and sets up as that.
	SetupAsRoot bool
}

// RealRoot: urun runs as uid 0 of the initial user namespace (containerd,
// Docker), not as root of a user namespace (buildah, podman).
func RealRoot() bool {
	if os.Geteuid() != 0 {
		return false
	}
	m, err := readMap("/proc/self/uid_map")
	if err != nil {
		return true
	}
	return len(m) == 1 && m[0] == specs.LinuxIDMapping{ContainerID: 0, HostID: 0, Size: 4294967295}
}

// HostUID translates uid of urun's user namespace to its parent's view
// (one level of nesting), so two accounts' buildah namespaces, both uid 0,
// get different state directories under /tmp. An unmapped uid (or no
// /proc) stays as it is.
func HostUID(uid int) int {
	m, err := readMap("/proc/self/uid_map")
	if err != nil {
		return uid
	}
	if r, ok := containerRange(m, uint32(uid)); ok {
		return int(r.HostID + uint32(uid) - r.ContainerID)
	}
	return uid
}

// Choose picks the mapping: the config's mappings when the available IDs
// cover them, else the widest the account can have.
func Choose(spec *specs.Spec) (*Mapping, error) {
	m, err := Available()
	if err != nil {
		return nil, err
	}
	if ConfigMaps(spec) {
		if err := m.useConfig(spec.Linux.UIDMappings, spec.Linux.GIDMappings); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ConfigMaps reports whether the config asks for its own ID mappings.
func ConfigMaps(spec *specs.Spec) bool {
	return spec.Linux != nil && (len(spec.Linux.UIDMappings) > 0 || len(spec.Linux.GIDMappings) > 0)
}

// Available is the mapping the caller's situation allows, before any
// linux.uidMappings/gidMappings of the config (the order in Choose).
func Available() (*Mapping, error) {
	euid, egid := os.Geteuid(), os.Getegid()
	if euid == 0 {
		return ownMaps(Inherit)
	}
	single := &Mapping{Mode: Single,
		UID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(euid), Size: 1}},
		GID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(egid), Size: 1}}}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		return single, nil
	}
	if _, err := exec.LookPath("newgidmap"); err != nil {
		return single, nil
	}
	name := ""
	if u, err := user.LookupId(strconv.Itoa(euid)); err == nil {
		name = u.Username
	}
	subU, subG, err := idtools.GetSubIDRanges(euid, name)
	if err != nil || len(subU) == 0 || len(subG) == 0 {
		return single, nil
	}
	m := &Mapping{Mode: SubID, Setgroups: true, UID: single.UID, GID: single.GID}
	m.UID = appendRanges(m.UID, subU)
	m.GID = appendRanges(m.GID, subG)
	return m, nil
}

func appendRanges(maps []specs.LinuxIDMapping, ranges []idtools.SubIDRange) []specs.LinuxIDMapping {
	next := uint32(1)
	for _, r := range ranges {
		maps = append(maps, specs.LinuxIDMapping{ContainerID: next, HostID: uint32(r.Start), Size: uint32(r.Length)})
		next += uint32(r.Length)
	}
	return maps
}

func identity(m []specs.LinuxIDMapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, len(m))
	for i, r := range m {
		out[i] = specs.LinuxIDMapping{ContainerID: r.ContainerID, HostID: r.ContainerID, Size: r.Size}
	}
	return out
}

func readMap(path string) ([]specs.LinuxIDMapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []specs.LinuxIDMapping
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		in, _ := strconv.ParseUint(f[0], 10, 32)
		outID, _ := strconv.ParseUint(f[1], 10, 32)
		n, _ := strconv.ParseUint(f[2], 10, 32)
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(in), HostID: uint32(outID), Size: uint32(n)})
	}
	return out, nil
}

// useConfig replaces the mapping with the config's when every host ID it
// names is one the account has.
func (m *Mapping) useConfig(uids, gids []specs.LinuxIDMapping) error {
	// Container 0 need not be urun's own ID (podman's --userns=keep-id
	// maps the account to itself): the placeholder then keeps its set-up
	// capabilities through exec in the ambient set (SetupCaps). But it
	// sets up as urun's own IDs, which must exist in the container (files
	// it makes would otherwise fail with EOVERFLOW).
	// Real root may map the container away from itself: the placeholder
	// then sets up as the container's root instead (SetupAsRoot).
	remap := m.Mode == Inherit && RealRoot() && !hostMapped(uids, 0) && !hostMapped(gids, 0)
	if remap {
		if !containerMapped(uids) || !containerMapped(gids) {
			return fmt.Errorf("linux.uidMappings, linux.gidMappings: container uid and gid 0 must be mapped when host 0 is not (urun, run as real root, sets the container up as its root)")
		}
	} else {
		if err := ownMapped("linux.uidMappings", "uid", uids, rootHost(m.UID)); err != nil {
			return err
		}
		if err := ownMapped("linux.gidMappings", "gid", gids, rootHost(m.GID)); err != nil {
			return err
		}
	}
	if err := covered("linux.uidMappings", uids, m.UID, m.Mode); err != nil {
		return err
	}
	if err := covered("linux.gidMappings", gids, m.GID, m.Mode); err != nil {
		return err
	}
	if len(uids) > 0 {
		m.UID = uids
	}
	if len(gids) > 0 {
		ownGID := rootHost(m.GID)
		m.GID = gids
		// newgidmap writes "deny" to setgroups when the map holds only the
		// account's own gid (shadow 4.8.1+, CVE-2018-7169).
		if m.Mode == SubID && onlyOwnGID(gids, ownGID) {
			m.Setgroups = false
		}
	}
	m.SetupAsRoot = remap
	return nil
}

// hostMapped: some range of maps (given, so non-empty) covers host id.
func hostMapped(maps []specs.LinuxIDMapping, id uint32) bool {
	_, ok := hostRange(maps, id)
	return ok || len(maps) == 0
}

// containerMapped: maps give container ID 0 a host ID.
func containerMapped(maps []specs.LinuxIDMapping) bool {
	for _, r := range maps {
		if r.ContainerID == 0 && r.Size > 0 {
			return true
		}
	}
	return false
}

func rootHost(maps []specs.LinuxIDMapping) uint32 {
	for _, r := range maps {
		if r.ContainerID == 0 {
			return r.HostID
		}
	}
	return 0
}

func ownMapped(field, kind string, want []specs.LinuxIDMapping, own uint32) error {
	if len(want) == 0 {
		return nil
	}
	if _, ok := hostRange(want, own); !ok {
		return fmt.Errorf("%s: urun's own %s %d is not mapped; map it (to 0, or to itself as podman's --userns=keep-id does): urun sets the container up as that %s", field, kind, own, kind)
	}
	return nil
}

// SetupCaps reports whether the placeholder's own uid or gid (urun's) is
// not container root in a namespace it creates: it then raises its
// capabilities into the ambient set to keep them across its exec, and
// drops them before the container's (proc.SetupCaps, proc.EndSetupCaps).
func (m *Mapping) SetupCaps() bool {
	if m.Mode == Join || m.Mode == Own || m.SetupAsRoot {
		return false // no namespace created (the joining child raises its own)
	}
	return !rootIs(m.UID, uint32(os.Geteuid())) || !rootIs(m.GID, uint32(os.Getegid()))
}

func rootIs(maps []specs.LinuxIDMapping, host uint32) bool {
	for _, r := range maps {
		if r.ContainerID == 0 {
			return r.HostID == host
		}
	}
	return false
}

// Owned is the mapping of urun's own user namespace, for a config whose
// user namespace path is urun's own: the container stays in it.
func Owned() (*Mapping, error) { return ownMaps(Own) }

// ownMaps keeps every ID of urun's own user namespace, unchanged.
func ownMaps(mode Mode) (*Mapping, error) {
	m, err := procMaps("/proc/self/", mode)
	if err != nil {
		return nil, err
	}
	m.UID, m.GID = identity(m.UID), identity(m.GID)
	return m, nil
}

// procMaps reads a process's maps (dir is /proc/PID/) as seen from urun's
// namespace: inside ID -> ID in urun's.
func procMaps(dir string, mode Mode) (*Mapping, error) {
	uids, err := readMap(dir + "uid_map")
	if err != nil {
		return nil, err
	}
	gids, err := readMap(dir + "gid_map")
	if err != nil {
		return nil, err
	}
	sg, err := os.ReadFile(dir + "setgroups")
	if err != nil {
		return nil, err
	}
	return &Mapping{Mode: mode, UID: uids, GID: gids, Setgroups: !bytes.HasPrefix(sg, []byte("deny"))}, nil
}

func covered(field string, want, have []specs.LinuxIDMapping, mode Mode) error {
	for i, w := range want {
		if w.Size == 0 {
			return fmt.Errorf("%s[%d]: size is 0", field, i)
		}
		for id := uint64(w.HostID); id < uint64(w.HostID)+uint64(w.Size); {
			r, ok := hostRange(have, uint32(id))
			if !ok {
				return fmt.Errorf("%s[%d]: host ID %d is not available to urun (available: %s; mode %s)", field, i, id, Format(have, true), mode)
			}
			id = uint64(r.HostID) + uint64(r.Size)
		}
	}
	return nil
}

func hostRange(maps []specs.LinuxIDMapping, id uint32) (specs.LinuxIDMapping, bool) {
	for _, r := range maps {
		if id >= r.HostID && uint64(id) < uint64(r.HostID)+uint64(r.Size) {
			return r, true
		}
	}
	return specs.LinuxIDMapping{}, false
}

// UIDMapped reports whether uid exists inside the container.
func (m *Mapping) UIDMapped(id uint32) bool { return Mapped(m.UID, id) }

// GIDMapped reports whether gid exists inside the container.
func (m *Mapping) GIDMapped(id uint32) bool { return Mapped(m.GID, id) }

// Mapped reports whether maps hold container ID id.
func Mapped(maps []specs.LinuxIDMapping, id uint32) bool {
	_, ok := containerRange(maps, id)
	return ok
}

// containerRange is the range of maps that holds container ID id.
func containerRange(maps []specs.LinuxIDMapping, id uint32) (specs.LinuxIDMapping, bool) {
	for _, r := range maps {
		if id >= r.ContainerID && uint64(id) < uint64(r.ContainerID)+uint64(r.Size) {
			return r, true
		}
	}
	return specs.LinuxIDMapping{}, false
}

// CheckUser refuses a process.user the namespace cannot represent.
func (m *Mapping) CheckUser(u specs.User) error {
	if m.Mode == Join && m.UID == nil {
		return nil // not known until joined; setresuid says EINVAL then
	}
	if !m.UIDMapped(u.UID) {
		return fmt.Errorf("process.user.uid: %d is not mapped in the container (mapped uids: %s)%s", u.UID, Format(m.UID, false), m.why())
	}
	if !m.GIDMapped(u.GID) {
		return fmt.Errorf("process.user.gid: %d is not mapped in the container (mapped gids: %s)%s", u.GID, Format(m.GID, false), m.why())
	}
	for i, g := range u.AdditionalGids {
		if !m.GIDMapped(g) {
			return fmt.Errorf("process.user.additionalGids[%d]: %d is not mapped in the container (mapped gids: %s)%s", i, g, Format(m.GID, false), m.why())
		}
		if !m.Setgroups && g != u.GID {
			return fmt.Errorf("process.user.additionalGids[%d]: %d: supplementary groups cannot be set: setgroups is denied in this user namespace", i, g)
		}
	}
	return nil
}

func (m *Mapping) why() string {
	if m.Mode == Single {
		return "; only your own ID is available: add ranges for your account to /etc/subuid and /etc/subgid and install newuidmap/newgidmap (Debian: uidmap)"
	}
	return ""
}

// Format renders a mapping as "0-65536" (container side) or host side.
func Format(maps []specs.LinuxIDMapping, host bool) string {
	parts := make([]string, 0, len(maps))
	for _, r := range maps {
		start := r.ContainerID
		if host {
			start = r.HostID
		}
		if r.Size == 1 {
			parts = append(parts, strconv.FormatUint(uint64(start), 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", start, uint64(start)+uint64(r.Size)-1))
		}
	}
	return strings.Join(parts, ",")
}

// Helpers reports whether newuidmap/newgidmap must write the maps (the
// calling account cannot write a multi-range map itself).
func (m *Mapping) Helpers() bool { return m.Mode == SubID }

// ApplyHelpers writes pid's maps with newuidmap and newgidmap.
//
// The two run at once: each is a setuid program's start-up and a few file
// writes (~1.8 ms here), and neither waits for the other.
func (m *Mapping) ApplyHelpers(pid int) error {
	gid := make(chan error, 1)
	go func() { gid <- runHelper("newgidmap", pid, m.GID) }()
	uerr := runHelper("newuidmap", pid, m.UID)
	if gerr := <-gid; uerr == nil {
		return gerr
	}
	return uerr
}

func runHelper(name string, pid int, maps []specs.LinuxIDMapping) error {
	args := []string{strconv.Itoa(pid)}
	for _, r := range maps {
		args = append(args, strconv.FormatUint(uint64(r.ContainerID), 10), strconv.FormatUint(uint64(r.HostID), 10), strconv.FormatUint(uint64(r.Size), 10))
	}
	out, err := runQuiet(name, args)
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// runQuiet runs name with args and returns its output (stdout and stderr),
// as exec.Command's CombinedOutput does but with one fork and one pipe: no
// /dev/null, no copying goroutine (the helpers are on create's critical
// path for a subuid account). Stdin is closed.
func runQuiet(name string, args []string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, err
	}
	r := os.NewFile(uintptr(p[0]), "helper-output")
	defer r.Close()
	pid, err := syscall.ForkExec(path, append([]string{name}, args...), &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{^uintptr(0), uintptr(p[1]), uintptr(p[1])}})
	syscall.Close(p[1])
	if err != nil {
		return nil, err
	}
	out, _ := io.ReadAll(r) // EOF once it exits
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return out, err
	case ws.Signaled():
		return out, fmt.Errorf("signal: %v", ws.Signal())
	case ws.ExitStatus() != 0:
		return out, fmt.Errorf("exit status %d", ws.ExitStatus())
	}
	return out, nil
}

func onlyOwnGID(maps []specs.LinuxIDMapping, gid uint32) bool {
	for _, r := range maps {
		if r.HostID != gid || r.Size != 1 {
			return false
		}
	}
	return true
}

// OfProcess is the mapping of the user namespace pid runs in, as seen from
// ours: what `urun exec` checks a process.user against.
func OfProcess(pid int) (*Mapping, error) {
	m, err := procMaps("/proc/"+strconv.Itoa(pid)+"/", Inherit)
	if err != nil {
		return nil, err
	}
	if len(m.UID) == 1 && m.UID[0].Size == 1 {
		m.Mode = Single
	}
	return m, nil
}
