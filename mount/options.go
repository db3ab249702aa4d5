// Package mount turns the OCI config's root, mounts, masked and read-only
// paths into a list of mount operations and runs them, in the placeholder,
// inside the new mount namespace.
package mount

import (
	"fmt"

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
	flag  uintptr
	attr  uint64
	clear bool // "rw", "suid"...: undo an earlier option; the last one wins, as with mount(8)
}

// flagOptions are the options that map to mount flags. "rw", "suid", "dev",
// "exec", "atime"... clear what an earlier option set and are otherwise the
// defaults they are.
var flagOptions = map[string]flagOpt{
	"ro":            {unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, false},
	"nosuid":        {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID, false},
	"nodev":         {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV, false},
	"noexec":        {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC, false},
	"noatime":       {unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, false},
	"nodiratime":    {unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME, false},
	"relatime":      {unix.MS_RELATIME, unix.MOUNT_ATTR_RELATIME, false},
	"strictatime":   {unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME, false},
	"sync":          {unix.MS_SYNCHRONOUS, 0, false},
	"dirsync":       {unix.MS_DIRSYNC, 0, false},
	"mand":          {unix.MS_MANDLOCK, 0, false},
	"rw":            {unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, true},
	"suid":          {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID, true},
	"dev":           {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV, true},
	"exec":          {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC, true},
	"atime":         {unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, true},
	"diratime":      {unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME, true},
	"async":         {unix.MS_SYNCHRONOUS, 0, true},
	"nomand":        {unix.MS_MANDLOCK, 0, true},
	"defaults":      {0, 0, false},
	"norelatime":    {unix.MS_RELATIME, 0, true},
	"nostrictatime": {unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME, true},
	"loud":          {0, 0, false},
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
// error; the caller adds the JSON path. What each option is comes from
// ClassifyOption, the one classification the config check uses too.
func ParseOptions(opts []string) (Options, error) {
	var o Options
	for _, opt := range opts {
		kind, why := ClassifyOption(opt)
		switch kind {
		case OptBind:
			o.Bind = true
			o.Recursive = o.Recursive || opt == "rbind"
		case OptFlag:
			if f := flagOptions[opt]; f.clear {
				o.Flags &^= f.flag
				o.Attr &^= f.attr
			} else {
				o.Flags |= f.flag
				o.Attr |= f.attr
			}
		case OptPropagation:
			o.Propagation = propagationOptions[opt]
		case OptData:
			o.Data = append(o.Data, opt)
		case OptUserspace: // as mount(8) ignores them
		case OptRefused:
			return o, fmt.Errorf("option %q: %s", opt, why)
		default:
			return o, fmt.Errorf("option %q: unknown mount option", opt)
		}
	}
	return o, nil
}
