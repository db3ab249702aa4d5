package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/mount"
	"urun/nsjoin"
)

// MaxAnnotationBytes caps the annotations' keys and values together, as
// Kubernetes does (256 KiB): the OCI state carries them, so state.json
// holds them and every `urun state` and `urun list` reads them.
const MaxAnnotationBytes = 256 << 10

// Options are the parts of the command line the checks depend on.
type Options struct {
	ConsoleSocket bool
}

// Note is an ignored field, logged at debug level by the caller.
type Note struct {
	Path   string // JSON path of the field, e.g. linux.namespaces[0]
	Key    string // Table row
	Reason string // the row's reason
}

// RefusedError names the JSON path and the table's reason (or a detail about
// the value).
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
	seen  map[string]bool // rows visited, for the table tests; nil in Check
}

func (c *checker) mark(key string) {
	if c.seen != nil {
		c.seen[key] = true
	}
}

func (c *checker) honour(key string) { c.mark(key) }

func (c *checker) ignore(key, path string) {
	c.mark(key)
	c.notes = append(c.notes, Note{Path: path, Key: key, Reason: Lookup(key).Reason})
}

func (c *checker) refuse(key, path, detail string) error {
	c.mark(key)
	return &RefusedError{Path: path, Key: key, Detail: detail}
}

// Check walks the config once and returns the ignored fields, or the first
// refusal. It assumes Parse's checks passed (process and root present).
func Check(s *specs.Spec, o Options) ([]Note, error) {
	c := &checker{}
	err := c.walk(s, o)
	return c.notes, err
}

// Visited reports which table rows a config touched (for tests).
func Visited(s *specs.Spec, o Options) (map[string]bool, error) {
	c := &checker{seen: map[string]bool{}}
	err := c.walk(s, o)
	return c.seen, err
}

// steps is the walk, one function per part of the config, in table order.
var steps = [...]func(*checker, *specs.Spec, Options) error{
	(*checker).top,
	(*checker).process,
	(*checker).mounts,
	(*checker).names,
	(*checker).networkHooks, // before hooks, whatever hooks support: see there
	(*checker).slirpNetwork,
	(*checker).hooks,
	(*checker).annotations,
	(*checker).linux,
}

func (c *checker) walk(s *specs.Spec, o Options) error {
	for _, step := range steps {
		if err := step(c, s, o); err != nil {
			return err
		}
	}
	return nil
}

// ---- top level ----

func (c *checker) top(s *specs.Spec, _ Options) error {
	c.honour("ociVersion") // CheckVersion ran in Parse
	c.honour("root.path")  // resolved by Load
	if s.Root != nil && s.Root.Readonly {
		c.honour("root.readonly")
	}
	return nil
}

func (c *checker) names(s *specs.Spec, _ Options) error {
	if s.Hostname != "" {
		c.ignore("hostname", "hostname")
	}
	if s.Domainname != "" {
		c.ignore("domainname", "domainname")
	}
	return nil
}

func (c *checker) hooks(s *specs.Spec, _ Options) error {
	h := s.Hooks
	if h == nil {
		return nil
	}
	for _, l := range [...]struct {
		key   string
		hooks []specs.Hook
	}{
		{"hooks.prestart", h.Prestart}, {"hooks.createRuntime", h.CreateRuntime},
		{"hooks.createContainer", h.CreateContainer}, {"hooks.startContainer", h.StartContainer},
		{"hooks.poststart", h.Poststart}, {"hooks.poststop", h.Poststop},
	} {
		for i, hk := range l.hooks {
			c.honour(l.key)
			path := fmt.Sprintf("%s[%d]", l.key, i)
			if !filepath.IsAbs(hk.Path) {
				return c.refuse(l.key, path+".path", fmt.Sprintf("%q is not an absolute path", hk.Path))
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return c.refuse(l.key, path+".timeout", fmt.Sprintf("%d is not a number of seconds above 0", *hk.Timeout))
			}
		}
	}
	return nil
}

// networkHooks refuses Docker's bridge and none networks: a new network
// namespace and libnetwork's prestart hook to set it up. urun ignores the
// namespace (the container shares the host's network), so the hook,
// handed the container's PID, would configure the host's network
// namespace. It checks linux.namespaces before the hooks step, so the
// refusal holds whether or not urun runs hooks. Other hooks (a GPU
// toolkit's, with podman's --network=none) do not set up networks and
// are left to the hooks rows.
func (c *checker) networkHooks(s *specs.Spec, _ Options) error {
	if s.Linux == nil || s.Hooks == nil {
		return nil
	}
	for i, ns := range s.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace || ns.Path != "" {
			continue
		}
		for _, hs := range [...]struct {
			name  string
			hooks []specs.Hook
		}{{"hooks.prestart", s.Hooks.Prestart}, {"hooks.createRuntime", s.Hooks.CreateRuntime}} {
			for j, h := range hs.hooks {
				if len(h.Args) == 0 || filepath.Base(h.Args[0]) != "libnetwork-setkey" {
					continue
				}
				return c.refuse("linux.namespaces.network.hooked", "linux.namespaces["+strconv.Itoa(i)+"]", fmt.Sprintf(
					"a new network namespace, with %s[%d] (libnetwork-setkey) to set it up: urun creates no network namespace, so the hook would configure the host's network instead; with Docker, --network=host works", hs.name, j))
			}
		}
	}
	return nil
}

// slirpDNS is the DNS server slirp4netns provides; buildah and podman put
// it first in the container's resolv.conf when they will run slirp4netns
// (their default rootless network), and not for --network=none or host.
const slirpDNS = "nameserver 10.0.2.3"

// slirpNetwork refuses a new network namespace that the caller will set
// up with slirp4netns once create returns (buildah run and podman
// --userns=keep-id with their default network): urun creates no network
// namespace, so slirp4netns would find the host's and fail with a bare
// EOF, or the caller would hang. The sign is the bind at /etc/resolv.conf
// naming slirp4netns' DNS.
func (c *checker) slirpNetwork(s *specs.Spec, _ Options) error {
	if s.Linux == nil {
		return nil
	}
	for i, ns := range s.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace || ns.Path != "" {
			continue
		}
		for j, m := range s.Mounts {
			if filepath.Clean(m.Destination) != "/etc/resolv.conf" || !filepath.IsAbs(m.Source) {
				continue
			}
			if data, err := os.ReadFile(m.Source); err == nil && firstNameserver(data) == slirpDNS {
				return c.refuse("linux.namespaces.network.slirp", "linux.namespaces["+strconv.Itoa(i)+"]", fmt.Sprintf(
					"a new network namespace for slirp4netns (mounts[%d], /etc/resolv.conf, names its DNS 10.0.2.3): urun creates no network namespace, so slirp4netns would have none to set up; use --network=host (buildah, podman)", j))
			}
		}
	}
	return nil
}

func firstNameserver(resolv []byte) string {
	for _, line := range strings.Split(string(resolv), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			return "nameserver " + f[1]
		}
	}
	return ""
}

func (c *checker) annotations(s *specs.Spec, _ Options) error {
	if len(s.Annotations) > 0 {
		c.honour("annotations")
	}
	size := 0
	for k, v := range s.Annotations {
		size += len(k) + len(v)
	}
	if size > MaxAnnotationBytes {
		return c.refuse("annotations", "annotations", fmt.Sprintf("%d bytes of keys and values, more than urun's limit of %d (they are kept in state.json, which every `urun state` reads)", size, MaxAnnotationBytes))
	}
	for _, p := range [...]struct {
		set  bool
		name string
	}{
		{s.Solaris != nil, "solaris"}, {s.Windows != nil, "windows"}, {s.VM != nil, "vm"},
		{s.ZOS != nil, "zos"}, {s.FreeBSD != nil, "freebsd"},
	} {
		if p.set {
			c.ignore("platforms", p.name)
		}
	}
	return nil
}

// ---- process ----

func (c *checker) process(s *specs.Spec, o Options) error {
	p := s.Process
	if p == nil {
		return nil
	}
	for _, f := range [...]func(*checker, *specs.Process, Options) error{
		(*checker).terminal, (*checker).user, (*checker).argsEnvCwd, (*checker).capabilities,
		(*checker).rlimits, (*checker).noNewPrivileges, (*checker).oomScoreAdj, (*checker).processIgnored,
	} {
		if err := f(c, p, o); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) terminal(p *specs.Process, _ Options) error {
	// Whether there is somewhere to send the terminal (--console-socket,
	// or run's own terminal) is create's check: it depends on the caller.
	if p.Terminal {
		c.honour("process.terminal")
	}
	if p.ConsoleSize != nil {
		c.honour("process.consoleSize")
	}
	return nil
}

func (c *checker) user(p *specs.Process, _ Options) error {
	// Whether uid, gid and additionalGids are mapped is checked against the
	// chosen mapping by userns.CheckUser.
	c.honour("process.user.uid")
	c.honour("process.user.gid")
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
	return nil
}

func (c *checker) argsEnvCwd(p *specs.Process, _ Options) error {
	c.honour("process.args") // non-empty: checked by Parse
	if p.CommandLine != "" {
		c.ignore("process.commandLine", "process.commandLine")
	}
	if len(p.Env) > 0 {
		c.honour("process.env")
	}
	for i, kv := range p.Env {
		// As runc: an entry with no "=" is no variable, and the program
		// would be handed it as is.
		if !strings.Contains(kv, "=") {
			return c.refuse("process.env", "process.env["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not NAME=VALUE", kv))
		}
	}
	if p.Cwd != "" {
		c.honour("process.cwd")
		if p.Cwd[0] != '/' {
			return c.refuse("process.cwd", "process.cwd", fmt.Sprintf("%q is not an absolute path", p.Cwd))
		}
	}
	return nil
}

func (c *checker) capabilities(p *specs.Process, _ Options) error {
	cp := p.Capabilities
	if cp == nil {
		return nil
	}
	var sets [5]uint64 // bit per capability, in the order below
	for s, set := range [...]struct {
		name  string
		names []string
	}{
		{"bounding", cp.Bounding}, {"effective", cp.Effective}, {"inheritable", cp.Inheritable},
		{"permitted", cp.Permitted}, {"ambient", cp.Ambient},
	} {
		if set.names == nil {
			continue
		}
		key := "process.capabilities." + set.name
		c.honour(key)
		for i, n := range set.names {
			num, known, inKernel := capKnown(n)
			if !known {
				return c.refuse(key, key+"["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown capability %q", n))
			}
			if !inKernel {
				c.ignore("process.capabilities.kernel", key+"["+strconv.Itoa(i)+"]")
				continue
			}
			sets[s] |= 1 << num
		}
	}
	const effective, inheritable, permitted, ambient = 1, 2, 3, 4
	if extra := sets[effective] &^ sets[permitted]; extra != 0 {
		i := capIndex(cp.Effective, extra)
		return c.refuse("process.capabilities.effective", "process.capabilities.effective["+strconv.Itoa(i)+"]",
			fmt.Sprintf("%s is not in process.capabilities.permitted (the kernel refuses an effective capability that is not permitted)", cp.Effective[i]))
	}
	if sets[ambient]&^(sets[permitted]&sets[inheritable]) != 0 {
		for i, n := range cp.Ambient {
			if num, ok := capNumbers()[n]; ok && (sets[permitted]&sets[inheritable])&(1<<num) == 0 && sets[ambient]&(1<<num) != 0 {
				c.ignore("process.capabilities.ambient.unraisable", "process.capabilities.ambient["+strconv.Itoa(i)+"]")
			}
		}
	}
	return nil
}

// capIndex returns the index in names of the first capability in mask.
func capIndex(names []string, mask uint64) int {
	for i, n := range names {
		if num, ok := capNumbers()[n]; ok && mask&(1<<num) != 0 {
			return i
		}
	}
	return 0
}

func (c *checker) rlimits(p *specs.Process, _ Options) error {
	if len(p.Rlimits) == 0 {
		return nil
	}
	c.honour("process.rlimits")
	var seen uint64 // bit per resource; RLIMIT_* are < 64
	for i, r := range p.Rlimits {
		res, ok := rlimitByName(r.Type)
		if !ok {
			return c.refuse("process.rlimits", fmt.Sprintf("process.rlimits[%d].type", i), fmt.Sprintf("unknown rlimit %q", r.Type))
		}
		if seen&(1<<res) != 0 {
			return c.refuse("process.rlimits", fmt.Sprintf("process.rlimits[%d].type", i), fmt.Sprintf("%s is listed twice", r.Type))
		}
		seen |= 1 << res
		if r.Soft > r.Hard {
			return c.refuse("process.rlimits", fmt.Sprintf("process.rlimits[%d]", i), fmt.Sprintf("%s soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard))
		}
	}
	return nil
}

func (c *checker) noNewPrivileges(p *specs.Process, _ Options) error {
	if p.NoNewPrivileges {
		c.honour("process.noNewPrivileges")
	}
	return nil
}

func (c *checker) oomScoreAdj(p *specs.Process, _ Options) error {
	if p.OOMScoreAdj == nil {
		return nil
	}
	c.honour("process.oomScoreAdj")
	if v := *p.OOMScoreAdj; v < -1000 || v > 1000 {
		return c.refuse("process.oomScoreAdj", "process.oomScoreAdj", fmt.Sprintf("%d is outside -1000..1000", v))
	}
	return nil
}

func (c *checker) processIgnored(p *specs.Process, _ Options) error {
	if p.ApparmorProfile != "" {
		c.ignore("process.apparmorProfile", "process.apparmorProfile")
	}
	if p.SelinuxLabel != "" {
		c.ignore("process.selinuxLabel", "process.selinuxLabel")
	}
	if p.IOPriority != nil {
		c.ignore("process.ioPriority", "process.ioPriority")
	}
	if p.Scheduler != nil {
		c.ignore("process.scheduler", "process.scheduler")
	}
	if p.ExecCPUAffinity != nil {
		c.ignore("process.execCPUAffinity", "process.execCPUAffinity")
	}
	return nil
}

// ---- mounts ----

func (c *checker) mounts(s *specs.Spec, _ Options) error {
	for i := range s.Mounts {
		if err := c.mount(&s.Mounts[i], "mounts["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) mount(m *specs.Mount, path string) error {
	c.honour("mounts.destination")
	if m.Destination == "" || m.Destination[0] != '/' {
		return c.refuse("mounts.destination", path+".destination", fmt.Sprintf("%q is not an absolute path", m.Destination))
	}
	if filepath.Clean(m.Destination) == "/" {
		return c.refuse("mounts.destination", path+".destination", `"/" would cover the rootfs (and the mounts made before it): set root.path instead`)
	}
	if len(m.UIDMappings) > 0 {
		return c.refuse("mounts.options.idmap", path+".uidMappings", "")
	}
	if len(m.GIDMappings) > 0 {
		return c.refuse("mounts.options.idmap", path+".gidMappings", "")
	}
	bind, recursive, err := c.mountOptions(m.Options, path)
	if err != nil {
		return err
	}
	typ := m.Type
	if bind && (typ == "" || typ == "none") {
		typ = "bind"
	}
	return c.mountType(m, typ, recursive, path)
}

// mountOptions classifies each option as mount.ParseOptions will treat it.
func (c *checker) mountOptions(opts []string, path string) (bind, recursive bool, err error) {
	for j, opt := range opts {
		kind, why := mount.ClassifyOption(opt)
		switch kind {
		case mount.OptBind:
			bind = true
			recursive = recursive || opt == "rbind"
		case mount.OptFlag:
			c.honour("mounts.options.flags")
		case mount.OptPropagation:
			c.honour("mounts.options.propagation")
		case mount.OptData:
			c.honour("mounts.options.data")
		case mount.OptUserspace:
			c.ignore("mounts.options.userspace", path+".options["+strconv.Itoa(j)+"]")
		case mount.OptRefused:
			key := "mounts.options.tmpcopyup"
			if opt == "idmap" || opt == "ridmap" {
				key = "mounts.options.idmap"
			}
			return false, false, c.refuse(key, path+".options["+strconv.Itoa(j)+"]", fmt.Sprintf("%q: %s", opt, why))
		default:
			return false, false, c.refuse("mounts.options.unknown", path+".options["+strconv.Itoa(j)+"]", fmt.Sprintf("unknown mount option %q", opt))
		}
	}
	return bind, recursive, nil
}

func (c *checker) mountType(m *specs.Mount, typ string, recursive bool, path string) error {
	switch typ {
	case "bind":
		c.honour("mounts.bind")
		if recursive {
			c.honour("mounts.rbind")
		}
		if m.Source == "" {
			return c.refuse("mounts.bind", path+".source", "a bind mount needs a source")
		}
	case "tmpfs", "proc", "sysfs", "devpts", "overlay":
		c.honour("mounts." + typ)
	case "mqueue", "cgroup", "cgroup2":
		c.ignore("mounts."+typ, path)
	case "", "none":
		return c.refuse("mounts.notype", path+".type", "")
	default:
		c.honour("mounts.other")
	}
	return nil
}

// ---- linux ----

func (c *checker) linux(s *specs.Spec, _ Options) error {
	l := s.Linux
	if l == nil {
		return nil
	}
	for _, f := range [...]func(*checker, *specs.Linux) error{
		(*checker).namespaces, (*checker).idMappings, (*checker).linuxRefused, (*checker).cgroups,
		(*checker).linuxIgnored, (*checker).sysctl, (*checker).rootfsPropagation, (*checker).paths,
	} {
		if err := f(c, l); err != nil {
			return err
		}
	}
	return nil
}

// namespaceKeys maps a namespace type to its row.
var namespaceKeys = map[specs.LinuxNamespaceType]string{
	specs.UserNamespace: "linux.namespaces.user", specs.MountNamespace: "linux.namespaces.mount",
	specs.PIDNamespace: "linux.namespaces.pid", specs.IPCNamespace: "linux.namespaces.ipc",
	specs.UTSNamespace: "linux.namespaces.uts", specs.NetworkNamespace: "linux.namespaces.network",
	specs.CgroupNamespace: "linux.namespaces.cgroup", specs.TimeNamespace: "linux.namespaces.time",
}

func (c *checker) namespaces(l *specs.Linux) error {
	for i, ns := range l.Namespaces {
		path := "linux.namespaces[" + strconv.Itoa(i) + "]"
		key, ok := namespaceKeys[ns.Type]
		if !ok {
			return c.refuse("linux.namespaces.unknown", path+".type", fmt.Sprintf("unknown namespace type %q", ns.Type))
		}
		for j := 0; j < i; j++ {
			if l.Namespaces[j].Type == ns.Type {
				return c.refuse("linux.namespaces.unknown", path+".type", fmt.Sprintf("namespace type %q is listed twice (also linux.namespaces[%d])", ns.Type, j))
			}
		}
		if ns.Path != "" {
			if err := c.namespacePath(l, path+".path", ns); err != nil {
				return err
			}
			continue
		}
		if ns.Type == specs.UserNamespace || ns.Type == specs.MountNamespace {
			c.honour(key)
		} else {
			c.ignore(key, path)
		}
	}
	return c.pidWithUser(l)
}

// pidWithUser refuses joining a pid and a user namespace together.
func (c *checker) pidWithUser(l *specs.Linux) error {
	joined := map[specs.LinuxNamespaceType]int{}
	for i, ns := range l.Namespaces {
		if ns.Path != "" && !nsjoin.Here(ns.Type, ns.Path) {
			joined[ns.Type] = i + 1
		}
	}
	if joined[specs.PIDNamespace] > 0 && joined[specs.UserNamespace] > 0 {
		return c.refuse("linux.namespaces.path.pidWithUser", "linux.namespaces["+strconv.Itoa(joined[specs.PIDNamespace]-1)+"].path", "")
	}
	return nil
}

// namespacePath checks a namespace given by path; nsjoin opens and checks
// the file itself at create.
func (c *checker) namespacePath(l *specs.Linux, field string, ns specs.LinuxNamespace) error {
	if ns.Type == specs.UserNamespace && (len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0) {
		c.honour("linux.namespaces.path.mappings") // checked against the namespace's once joined
	}
	switch {
	case nsjoin.Here(ns.Type, ns.Path):
		c.honour("linux.namespaces.path.own")
	case !nsjoin.Joinable(ns.Type):
		return c.refuse("linux.namespaces.path.mount", field, fmt.Sprintf("%s: joining a %s namespace is not supported (urun always makes its own mount namespace); only a path to urun's own %s namespace is accepted", ns.Path, ns.Type, ns.Type))
	default:
		c.honour("linux.namespaces.path")
	}
	return nil
}

func (c *checker) idMappings(l *specs.Linux) error {
	// Whether the account's IDs cover them is checked by userns.Choose.
	if len(l.UIDMappings) > 0 {
		c.honour("linux.uidMappings")
	}
	if len(l.GIDMappings) > 0 {
		c.honour("linux.gidMappings")
	}
	return nil
}

func (c *checker) linuxRefused(l *specs.Linux) error {
	switch {
	case len(l.TimeOffsets) > 0:
		return c.refuse("linux.timeOffsets", "linux.timeOffsets", "")
	case l.IntelRdt != nil:
		return c.refuse("linux.intelRdt", "linux.intelRdt", "")
	case l.Personality != nil:
		return c.refuse("linux.personality", "linux.personality", "")
	case l.MemoryPolicy != nil:
		return c.refuse("linux.memoryPolicy", "linux.memoryPolicy", "")
	case len(l.NetDevices) > 0:
		return c.refuse("linux.netDevices", "linux.netDevices", "")
	}
	return nil
}

func (c *checker) cgroups(l *specs.Linux) error {
	if l.CgroupsPath != "" {
		c.ignore("linux.cgroupsPath", "linux.cgroupsPath")
	}
	r := l.Resources
	if r == nil {
		return nil
	}
	for _, f := range [...]struct {
		set bool
		key string
	}{
		{r.Devices != nil, "linux.resources.devices"}, {r.Memory != nil, "linux.resources.memory"},
		{r.CPU != nil, "linux.resources.cpu"}, {r.Pids != nil, "linux.resources.pids"},
		{r.BlockIO != nil, "linux.resources.blockIO"}, {r.HugepageLimits != nil, "linux.resources.hugepageLimits"},
		{r.Network != nil, "linux.resources.network"}, {r.Rdma != nil, "linux.resources.rdma"},
		{r.Unified != nil, "linux.resources.unified"},
	} {
		if f.set {
			c.ignore(f.key, f.key)
		}
	}
	return nil
}

func (c *checker) linuxIgnored(l *specs.Linux) error {
	for i, d := range l.Devices {
		c.honour("linux.devices")
		if err := mount.CheckDevice(d); err != nil {
			return c.refuse("linux.devices", "linux.devices["+strconv.Itoa(i)+"]", err.Error())
		}
	}
	if l.Seccomp != nil {
		c.ignore("linux.seccomp", "linux.seccomp")
	}
	if l.MountLabel != "" {
		c.ignore("linux.mountLabel", "linux.mountLabel")
	}
	return nil
}

func (c *checker) sysctl(l *specs.Linux) error {
	if len(l.Sysctl) == 0 {
		return nil
	}
	keys := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.ignore("linux.sysctl", "linux.sysctl."+k)
	}
	return nil
}

func (c *checker) rootfsPropagation(l *specs.Linux) error {
	switch l.RootfsPropagation {
	case "":
	case "private", "rprivate", "slave", "rslave", "unbindable", "runbindable":
		c.honour("linux.rootfsPropagation")
	case "shared", "rshared":
		c.honour("linux.rootfsPropagation.shared")
	default:
		return c.refuse("linux.rootfsPropagation", "linux.rootfsPropagation", fmt.Sprintf("%q is not a propagation mode", l.RootfsPropagation))
	}
	return nil
}

func (c *checker) paths(l *specs.Linux) error {
	for i, p := range l.MaskedPaths {
		c.honour("linux.maskedPaths")
		if p == "" || p[0] != '/' {
			return c.refuse("linux.maskedPaths", "linux.maskedPaths["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not an absolute path", p))
		}
	}
	for i, p := range l.ReadonlyPaths {
		c.honour("linux.readonlyPaths")
		if p == "" || p[0] != '/' {
			return c.refuse("linux.readonlyPaths", "linux.readonlyPaths["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not an absolute path", p))
		}
	}
	return nil
}
