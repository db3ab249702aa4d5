// Package mount turns the OCI config's root, mounts, masked and read-only
// paths into a list of mount operations and runs them, in the placeholder,
// inside the new mount namespace.
package mount

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Options is a parsed mounts[].options list.
type Options struct {
	Flags       uintptr  // MS_* flags for mount(2) of a new filesystem
	Attr        uint64   // MOUNT_ATTR_* set on bind mounts with mount_setattr(2)
	Propagation uintptr  // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (with MS_REC)
	Bind        bool     // bind or rbind given
	Recursive   bool     // rbind
	Data        []string // filesystem options passed as mount data (mode=, size=...)
}

type flagOpt struct {
	flag uintptr
	attr uint64
}

// flagOptions are the options that map to mount flags. "rw", "suid", "dev",
// "exec", "atime"... are accepted as the defaults they are.
var flagOptions = map[string]flagOpt{
	"ro":            {unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
	"nosuid":        {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
	"nodev":         {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
	"noexec":        {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	"noatime":       {unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME},
	"nodiratime":    {unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	"relatime":      {unix.MS_RELATIME, unix.MOUNT_ATTR_RELATIME},
	"strictatime":   {unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME},
	"sync":          {unix.MS_SYNCHRONOUS, 0},
	"dirsync":       {unix.MS_DIRSYNC, 0},
	"mand":          {unix.MS_MANDLOCK, 0},
	"rw":            {0, 0},
	"suid":          {0, 0},
	"dev":           {0, 0},
	"exec":          {0, 0},
	"atime":         {0, 0},
	"diratime":      {0, 0},
	"async":         {0, 0},
	"nomand":        {0, 0},
	"defaults":      {0, 0},
	"norelatime":    {0, 0},
	"nostrictatime": {0, 0},
	"loud":          {0, 0},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// dataOptions are the key=value or bare options filesystems take as data.
// Anything else is refused: a typo must not become a silently ignored option.
var dataOptions = map[string]bool{
	"mode": true, "size": true, "nr_inodes": true, "nr_blocks": true, "uid": true, "gid": true,
	"newinstance": true, "ptmxmode": true, "max": true, "inode64": true, "inode32": true,
	"huge": true, "mpol": true, "noswap": true, "lowerdir": true, "upperdir": true, "workdir": true,
	"userxattr": true, "index": true, "xino": true, "redirect_dir": true, "metacopy": true, "volatile": true,
	"context": true, "fscontext": true, "defcontext": true, "rootcontext": true, "hidepid": true, "subset": true,
}

// Unsupported mount options that change meaning if dropped.
var refusedOptions = map[string]string{
	"idmap":     "idmapped mounts need privileges urun does not have",
	"ridmap":    "idmapped mounts need privileges urun does not have",
	"tmpcopyup": "copying the image content into a tmpfs is not implemented",
}

// ParseOptions parses one mount's options. It names the offending option on
// error; the caller adds the JSON path.
func ParseOptions(opts []string) (Options, error) {
	var o Options
	for _, opt := range opts {
		switch opt {
		case "bind":
			o.Bind = true
			continue
		case "rbind":
			o.Bind, o.Recursive = true, true
			continue
		}
		if f, ok := flagOptions[opt]; ok {
			o.Flags |= f.flag
			o.Attr |= f.attr
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.Propagation = p
			continue
		}
		if why, ok := refusedOptions[opt]; ok {
			return o, fmt.Errorf("option %q: %s", opt, why)
		}
		key, _, _ := strings.Cut(opt, "=")
		if dataOptions[key] {
			o.Data = append(o.Data, opt)
			continue
		}
		if strings.HasPrefix(key, "x-") { // userspace-only options, as mount(8) ignores them
			continue
		}
		return o, fmt.Errorf("option %q: unknown mount option", opt)
	}
	return o, nil
}
