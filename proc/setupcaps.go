package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A set-up process whose uid is not root in the container's user namespace
// (podman's --userns=keep-id maps the account to itself; a joined user
// namespace) still has every capability there as the namespace's creator
// or joiner, but would lose them at its first exec. It raises them into
// its ambient set first (SetupCaps lists them), does the set-up, and drops
// them (EndSetupCaps) before exec'ing the container's process, which then
// has only what process.capabilities gives it.

// SetupCaps lists the capabilities a set-up process raises into its ambient
// set when its uid is not root in the container's user namespace (podman's
// --userns=keep-id, a joined user namespace): every capability of the
// bounding set, which is what root there would have. The placeholder drops
// them (EndSetupCaps) before exec'ing the container's process.
func SetupCaps() ([]uintptr, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || last > 63 {
		return nil, fmt.Errorf("capabilities: cap_last_cap %q", data)
	}
	var out []uintptr
	for c := 0; c <= last; c++ {
		if in, _ := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); in == 1 {
			out = append(out, uintptr(c))
		}
	}
	return out, nil
}

// RawSetupCaps is SetupCaps for a raw forked child (which may not allocate
// or call Go code): capset's arguments, every listed capability effective,
// permitted and inheritable (raising an ambient one needs the last two),
// and the list to raise with PR_CAP_AMBIENT_RAISE.
type RawSetupCaps struct {
	Hdr     unix.CapUserHeader
	Data    [2]unix.CapUserData
	Ambient []uintptr
}

// NewRawSetupCaps fills a RawSetupCaps from SetupCaps.
func NewRawSetupCaps() (*RawSetupCaps, error) {
	caps, err := SetupCaps()
	if err != nil {
		return nil, err
	}
	r := &RawSetupCaps{Hdr: unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, Ambient: caps}
	for _, c := range caps {
		d, bit := &r.Data[c/32], uint32(1)<<(c%32)
		d.Effective, d.Permitted, d.Inheritable = d.Effective|bit, d.Permitted|bit, d.Inheritable|bit
	}
	return r, nil
}

// EndSetupCaps drops what SetupCaps raised, after SetCapabilities has
// applied process.capabilities (which, when the config lists them, already
// set every set: then nothing is left to do). Otherwise it clears the
// ambient and inheritable sets, so the container's exec gains nothing from
// the set-up. noNewPrivs additionally sets PR_SET_NO_NEW_PRIVS, for callers
// that want no privilege regained by a set-uid program (a front end
// running a user's own command).
func EndSetupCaps(c *specs.LinuxCapabilities, noNewPrivs bool) error {
	if c == nil {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			return fmt.Errorf("clear ambient capabilities: %w", err)
		}
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capget: %w", err)
		}
		data[0].Inheritable, data[1].Inheritable = 0, 0
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("clear inheritable capabilities: %w", err)
		}
	}
	if noNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
	}
	return nil
}

// Raise sets the capabilities and raises each one into the ambient set,
// for a raw forked child: nosplit, raw system calls only, no allocation.
// ambient says which of the two failed.
//
//go:nosplit
//go:norace
//go:nocheckptr
func (c *RawSetupCaps) Raise() (ambient bool, e syscall.Errno) {
	if _, _, e = syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&c.Hdr)), uintptr(unsafe.Pointer(&c.Data[0])), 0); e != 0 {
		return false, e
	}
	for i := 0; i < len(c.Ambient); i++ {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c.Ambient[i], 0, 0, 0); e != 0 {
			return true, e
		}
	}
	return false, 0
}
