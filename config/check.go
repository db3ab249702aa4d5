package config

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/mount"
	"urun/proc"
)

// Options are the parts of the command line the checks depend on.
type Options struct {
	ConsoleSocket bool
}

// Note is an ignored field, logged at debug level by the caller.
type Note struct {
	Path   string
	Key    string
	Reason string
}

// RefusedError names the JSON path and the table's reason.
type RefusedError struct {
	Path   string
	Key    string
	Detail string
}

func (e *RefusedError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s (see unsupported.md)", e.Path, e.Detail)
	}
	return fmt.Sprintf("%s: %s (see unsupported.md)", e.Path, Lookup(e.Key).Reason)
}

type checker struct {
	notes []Note
	seen  map[string]bool // keys visited, for the table test
}

func (c *checker) ignore(key, path string) {
	c.seen[key] = true
	c.notes = append(c.notes, Note{Path: path, Key: key, Reason: Lookup(key).Reason})
}

func (c *checker) refuse(key, path, detail string) error {
	c.seen[key] = true
	return &RefusedError{Path: path, Key: key, Detail: detail}
}

func (c *checker) honour(key string) { c.seen[key] = true }

// Check walks the config once, in the order of the table, and returns the
// ignored fields or the first refusal.
func Check(s *specs.Spec, o Options) ([]Note, error) {
	c := &checker{seen: map[string]bool{}}
	_, err := c.walk(s, o)
	return c.notes, err
}

// Visited reports which table rows a config touched (for tests).
func Visited(s *specs.Spec, o Options) (map[string]bool, error) {
	c := &checker{seen: map[string]bool{}}
	_, err := c.walk(s, o)
	return c.seen, err
}

func (c *checker) walk(s *specs.Spec, o Options) (bool, error) {
	c.honour("ociVersion")
	c.honour("root.path")
	if s.Root != nil && s.Root.Readonly {
		c.honour("root.readonly")
	}
	for _, step := range []func(*specs.Spec, Options) error{c.process, c.mounts, c.top, c.linux} {
		if err := step(s, o); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (c *checker) process(s *specs.Spec, o Options) error {
	p := s.Process
	c.honour("process.args")
	c.honour("process.user.uid")
	if p.Terminal && !o.ConsoleSocket {
		return c.refuse("process.terminal", "process.terminal", "true needs a terminal, which urun does not support yet (set it to false; buildah: --terminal=false or stdin from /dev/null)")
	}
	if p.ConsoleSize != nil {
		c.ignore("process.consoleSize", "process.consoleSize")
	}
	if p.User.Umask != nil {
		if *p.User.Umask > 0o777 {
			return c.refuse("process.user.umask", "process.user.umask", fmt.Sprintf("%#o is not a umask (0 to 0777)", *p.User.Umask))
		}
		c.honour("process.user.umask")
	}
	if len(p.User.AdditionalGids) > 0 {
		c.honour("process.user.additionalGids")
	}
	if p.User.Username != "" {
		c.ignore("process.user.username", "process.user.username")
	}
	if p.CommandLine != "" {
		c.ignore("process.commandLine", "process.commandLine")
	}
	if len(p.Env) > 0 {
		c.honour("process.env")
	}
	if p.Cwd != "" {
		c.honour("process.cwd")
		if p.Cwd[0] != '/' {
			return c.refuse("process.cwd", "process.cwd", fmt.Sprintf("%q is not an absolute path", p.Cwd))
		}
	}
	if p.Capabilities != nil {
		c.honour("process.capabilities")
		sets := []struct {
			name  string
			names []string
		}{{"bounding", p.Capabilities.Bounding}, {"effective", p.Capabilities.Effective},
			{"inheritable", p.Capabilities.Inheritable}, {"permitted", p.Capabilities.Permitted}, {"ambient", p.Capabilities.Ambient}}
		for _, set := range sets {
			for i, n := range set.names {
				if _, ok := proc.CapByName(n); !ok {
					return c.refuse("process.capabilities", fmt.Sprintf("process.capabilities.%s[%d]", set.name, i), fmt.Sprintf("unknown capability %q", n))
				}
			}
		}
	}
	for i, r := range p.Rlimits {
		c.honour("process.rlimits")
		if _, ok := proc.Rlimits[r.Type]; !ok {
			return c.refuse("process.rlimits", fmt.Sprintf("process.rlimits[%d].type", i), fmt.Sprintf("unknown rlimit %q", r.Type))
		}
		if r.Soft > r.Hard {
			return c.refuse("process.rlimits", fmt.Sprintf("process.rlimits[%d]", i), fmt.Sprintf("%s soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard))
		}
	}
	if p.NoNewPrivileges {
		c.honour("process.noNewPrivileges")
	}
	if p.OOMScoreAdj != nil {
		c.honour("process.oomScoreAdj")
		if *p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000 {
			return c.refuse("process.oomScoreAdj", "process.oomScoreAdj", fmt.Sprintf("%d is outside -1000..1000", *p.OOMScoreAdj))
		}
	}
	for _, f := range []struct {
		set       bool
		key, path string
	}{
		{p.ApparmorProfile != "", "process.apparmorProfile", "process.apparmorProfile"},
		{p.SelinuxLabel != "", "process.selinuxLabel", "process.selinuxLabel"},
		{p.IOPriority != nil, "process.ioPriority", "process.ioPriority"},
		{p.Scheduler != nil, "process.scheduler", "process.scheduler"},
		{p.ExecCPUAffinity != nil, "process.execCPUAffinity", "process.execCPUAffinity"},
	} {
		if f.set {
			c.ignore(f.key, f.path)
		}
	}
	return nil
}

func (c *checker) mounts(s *specs.Spec, _ Options) error {
	for i, m := range s.Mounts {
		path := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" || m.Destination[0] != '/' {
			return c.refuse("mounts.other", path+".destination", fmt.Sprintf("%q is not an absolute path", m.Destination))
		}
		if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
			return c.refuse("mounts.options.idmap", path+".uidMappings", "")
		}
		o, err := mount.ParseOptions(m.Options)
		if err != nil {
			key := "mounts.options.unknown"
			if o2 := m.Options; len(o2) > 0 && isIdmap(err) {
				key = "mounts.options.idmap"
			}
			return c.refuse(key, path+".options", err.Error())
		}
		if o.Flags != 0 {
			c.honour("mounts.options.flags")
		}
		if o.Propagation != 0 {
			c.honour("mounts.options.propagation")
		}
		typ := m.Type
		if o.Bind && (typ == "" || typ == "none") {
			typ = "bind"
		}
		switch typ {
		case "bind":
			c.honour("mounts.bind")
			if o.Recursive {
				c.honour("mounts.rbind")
			}
			if m.Source == "" {
				return c.refuse("mounts.bind", path+".source", "a bind mount needs a source")
			}
		case "tmpfs", "proc", "sysfs", "devpts", "overlay":
			c.honour("mounts." + typ)
		case "mqueue":
			c.ignore("mounts.mqueue", path+" ("+m.Destination+")")
		case "cgroup", "cgroup2":
			c.ignore("mounts.cgroup", path+" ("+m.Destination+")")
		case "", "none":
			return c.refuse("mounts.other", path+".type", "missing type (and no bind or rbind option)")
		default:
			c.honour("mounts.other")
		}
	}
	return nil
}

func isIdmap(err error) bool {
	s := err.Error()
	return len(s) > 0 && (contains(s, `"idmap"`) || contains(s, `"ridmap"`))
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func (c *checker) top(s *specs.Spec, _ Options) error {
	if s.Hostname != "" {
		c.ignore("hostname", "hostname")
	}
	if s.Domainname != "" {
		c.ignore("domainname", "domainname")
	}
	if h := s.Hooks; h != nil {
		lists := []struct {
			name  string
			hooks []specs.Hook
		}{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
			{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}}
		for _, l := range lists {
			if len(l.hooks) > 0 {
				return c.refuse("hooks", "hooks."+l.name, "")
			}
		}
	}
	if len(s.Annotations) > 0 {
		c.honour("annotations")
	}
	return nil
}

func (c *checker) linux(s *specs.Spec, _ Options) error {
	l := s.Linux
	if l == nil {
		return nil
	}
	for i, ns := range l.Namespaces {
		path := fmt.Sprintf("linux.namespaces[%d]", i)
		if ns.Path != "" {
			return c.refuse("linux.namespaces.path", path+".path", "")
		}
		switch ns.Type {
		case specs.UserNamespace, specs.MountNamespace:
			c.honour("linux.namespaces.user")
		case specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.CgroupNamespace, specs.TimeNamespace:
			c.ignore("linux.namespaces.other", fmt.Sprintf("%s (%s)", path, ns.Type))
		default:
			return c.refuse("linux.namespaces.other", path+".type", fmt.Sprintf("unknown namespace type %q", ns.Type))
		}
	}
	if len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0 {
		c.honour("linux.uidMappings") // coverage is checked by userns.Choose
	}
	type field struct {
		set       bool
		key, path string
	}
	refused := []field{
		{len(l.TimeOffsets) > 0, "linux.timeOffsets", "linux.timeOffsets"},
		{l.IntelRdt != nil, "linux.intelRdt", "linux.intelRdt"},
		{l.Personality != nil, "linux.personality", "linux.personality"},
		{l.MemoryPolicy != nil, "linux.memoryPolicy", "linux.memoryPolicy"},
		{len(l.NetDevices) > 0, "linux.netDevices", "linux.netDevices"},
	}
	for _, f := range refused {
		if f.set {
			return c.refuse(f.key, f.path, "")
		}
	}
	ignored := []field{
		{len(l.Devices) > 0, "linux.devices", "linux.devices"},
		{l.CgroupsPath != "", "linux.cgroupsPath", "linux.cgroupsPath"},
		{l.Resources != nil, "linux.resources", "linux.resources"},
		{l.Resources != nil && len(l.Resources.Unified) > 0, "linux.resources.unified", "linux.resources.unified"},
		{l.Seccomp != nil, "linux.seccomp", "linux.seccomp"},
		{l.MountLabel != "", "linux.mountLabel", "linux.mountLabel"},
	}
	for _, f := range ignored {
		if f.set {
			c.ignore(f.key, f.path)
		}
	}
	if len(l.Sysctl) > 0 {
		keys := make([]string, 0, len(l.Sysctl))
		for k := range l.Sysctl {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.ignore("linux.sysctl", "linux.sysctl."+k)
		}
	}
	if l.RootfsPropagation != "" {
		switch l.RootfsPropagation {
		case "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
			c.honour("linux.rootfsPropagation")
		default:
			return c.refuse("linux.rootfsPropagation", "linux.rootfsPropagation", fmt.Sprintf("%q is not a propagation mode", l.RootfsPropagation))
		}
	}
	if len(l.MaskedPaths) > 0 {
		c.honour("linux.maskedPaths")
	}
	if len(l.ReadonlyPaths) > 0 {
		c.honour("linux.readonlyPaths")
	}
	return nil
}
