package config

// Disposition is what urun does with a config field.
type Disposition string

const (
	Honoured Disposition = "honoured"
	Ignored  Disposition = "ignored" // with a debug log line naming the field
	Refused  Disposition = "refused" // create fails before anything is made
)

// Feature is one row of urun's feature table. The create-time check, the
// `urun features` document and unsupported.md all come from Table.
type Feature struct {
	Key    string      // stable row name, used by the checks
	Field  string      // JSON path as users write it
	Disp   Disposition //
	Reason string      // one line a user can read
	ChRun  string      // what ch-run-oci does, when urun differs
}

// Table lists every Linux config field of the runtime-spec.
var Table = []Feature{
	{"ociVersion", "ociVersion", Honoured, "1.0.0 through the 1.x version urun is built against; others are refused naming the version", "1.0.0 only"},
	{"root.path", "root.path", Honoured, "bind-mounted privately and made the root with pivot_root", ""},
	{"root.readonly", "root.readonly", Honoured, "the root mount is made read-only after setup", ""},
	{"mounts.bind", "mounts[] type bind / option bind", Honoured, "bind mount; destination resolved inside the rootfs, never through a symlink out of it", "ignored"},
	{"mounts.rbind", "mounts[] option rbind", Honoured, "recursive bind mount", "ignored"},
	{"mounts.tmpfs", "mounts[] type tmpfs", Honoured, "new tmpfs (allowed in a user namespace)", "ignored"},
	{"mounts.proc", "mounts[] type proc", Honoured, "recursive bind of the host /proc: a new proc needs a PID namespace urun does not create", "ignored"},
	{"mounts.sysfs", "mounts[] type sysfs", Honoured, "recursive bind of the host /sys (read-only when asked): a new sysfs needs a network namespace", "ignored"},
	{"mounts.devpts", "mounts[] type devpts", Honoured, "new devpts instance; a gid= option naming an unmapped gid is dropped with a debug line", "ignored"},
	{"mounts.mqueue", "mounts[] type mqueue", Ignored, "the kernel refuses mqueue without an IPC namespace urun does not create; skipped", ""},
	{"mounts.cgroup", "mounts[] type cgroup, cgroup2", Ignored, "urun manages no cgroups and the kernel refuses a cgroup mount here; skipped", ""},
	{"mounts.overlay", "mounts[] type overlay", Honoured, "mounted as asked (unprivileged overlay needs Linux 5.11+; the kernel's error is reported)", "ignored"},
	{"mounts.other", "mounts[] other types", Honoured, "mounted as asked; the kernel's refusal is reported with the type", "ignored"},
	{"mounts.options.flags", "mounts[].options ro nosuid nodev noexec *atime sync...", Honoured, "applied; on binds only added (locked host flags stay)", ""},
	{"mounts.options.propagation", "mounts[].options private shared slave unbindable (r*)", Honoured, "applied to the new mount", ""},
	{"mounts.options.idmap", "mounts[].options idmap, ridmap; mounts[].uidMappings, gidMappings", Refused, "idmapped mounts need privileges urun does not have", ""},
	{"mounts.options.unknown", "mounts[].options (unknown)", Refused, "an unknown option is refused, naming it: a typo must not be silently dropped", ""},
	{"process.terminal", "process.terminal", Refused, "pseudo-terminals are not supported yet: run without a terminal", "refused"},
	{"process.consoleSize", "process.consoleSize", Ignored, "meaningful only with a terminal", ""},
	{"process.user.uid", "process.user.uid, gid", Honoured, "must be mapped in the container's user namespace; refused at create otherwise", ""},
	{"process.user.umask", "process.user.umask", Honoured, "set before exec", ""},
	{"process.user.additionalGids", "process.user.additionalGids", Honoured, "set with setgroups; refused when the account's namespace denies setgroups", ""},
	{"process.user.username", "process.user.username", Ignored, "Windows only", ""},
	{"process.args", "process.args", Honoured, "resolved with the container's PATH at create; a missing program fails create", ""},
	{"process.commandLine", "process.commandLine", Ignored, "Windows only", ""},
	{"process.env", "process.env", Honoured, "exactly this environment", ""},
	{"process.cwd", "process.cwd", Honoured, "must exist in the container", ""},
	{"process.capabilities", "process.capabilities.*", Honoured, "applied within the user namespace; unknown names are refused", "ignored"},
	{"process.rlimits", "process.rlimits", Honoured, "applied; raising a hard limit above the host's fails create; unknown types are refused", "ignored"},
	{"process.noNewPrivileges", "process.noNewPrivileges", Honoured, "prctl(PR_SET_NO_NEW_PRIVS)", "ignored"},
	{"process.apparmorProfile", "process.apparmorProfile", Ignored, "changing AppArmor profile needs privilege", ""},
	{"process.oomScoreAdj", "process.oomScoreAdj", Honoured, "written to /proc/self/oom_score_adj; lowering it needs privilege and fails create", ""},
	{"process.selinuxLabel", "process.selinuxLabel", Ignored, "SELinux transitions need privilege", ""},
	{"process.ioPriority", "process.ioPriority", Ignored, "not implemented; scheduling only, not meaning", ""},
	{"process.scheduler", "process.scheduler", Ignored, "not implemented; scheduling only, not meaning", ""},
	{"process.execCPUAffinity", "process.execCPUAffinity", Ignored, "applies to exec into a running container, which urun does not do", ""},
	{"hostname", "hostname", Ignored, "needs a UTS namespace, which urun does not create", ""},
	{"domainname", "domainname", Ignored, "needs a UTS namespace, which urun does not create", ""},
	{"hooks", "hooks.* (prestart, createRuntime, createContainer, startContainer, poststart, poststop)", Refused, "hooks are not implemented yet; dropping them would change what the caller set up", "refused"},
	{"annotations", "annotations", Honoured, "kept and reported by state", "refused"},
	{"linux.namespaces.user", "linux.namespaces[] type user, mount", Honoured, "urun always creates a new user and mount namespace", ""},
	{"linux.namespaces.other", "linux.namespaces[] type pid, ipc, uts, network, cgroup, time", Ignored, "urun creates only user and mount namespaces; the container shares the others with the host (buildah asks for pid/ipc/uts in every RUN step)", ""},
	{"linux.namespaces.path", "linux.namespaces[].path", Refused, "joining an existing namespace is not supported by urun", "refused"},
	{"linux.uidMappings", "linux.uidMappings, gidMappings", Honoured, "used when the account's IDs cover them; refused naming the first unavailable ID otherwise", "ignored beyond one ID"},
	{"linux.timeOffsets", "linux.timeOffsets", Refused, "needs a time namespace, which urun does not create; the clocks would silently differ", ""},
	{"linux.devices", "linux.devices", Ignored, "device nodes cannot be made without privilege; /dev gets null zero full random urandom tty bound from the host", ""},
	{"linux.cgroupsPath", "linux.cgroupsPath", Ignored, "urun manages no cgroups", ""},
	{"linux.resources", "linux.resources.*", Ignored, "urun manages no cgroups, so no resource limits", ""},
	{"linux.resources.unified", "linux.resources.unified", Ignored, "urun manages no cgroups", ""},
	{"linux.intelRdt", "linux.intelRdt", Refused, "Intel RDT needs privilege", "refused"},
	{"linux.sysctl", "linux.sysctl", Ignored, "sysctls need privilege or namespaces urun does not create", ""},
	{"linux.seccomp", "linux.seccomp", Ignored, "no seccomp filter is installed yet", ""},
	{"linux.rootfsPropagation", "linux.rootfsPropagation", Honoured, "slave or private; shared is treated as slave so no mount leaks to the host", "ignored"},
	{"linux.maskedPaths", "linux.maskedPaths", Honoured, "a read-only empty tmpfs over directories, /dev/null over files", "ignored"},
	{"linux.readonlyPaths", "linux.readonlyPaths", Honoured, "bind-mounted read-only", "ignored"},
	{"linux.mountLabel", "linux.mountLabel", Ignored, "SELinux labels need privilege", ""},
	{"linux.personality", "linux.personality", Refused, "not implemented; running under another personality would change the program's behaviour", ""},
	{"linux.memoryPolicy", "linux.memoryPolicy", Refused, "not implemented; NUMA placement would silently differ", ""},
	{"linux.netDevices", "linux.netDevices", Refused, "moving network devices needs a network namespace and privilege", ""},
}

// Lookup returns the row for key; the checks only use keys in Table
// (TestChecksUseTable guards this).
func Lookup(key string) Feature {
	for _, f := range Table {
		if f.Key == key {
			return f
		}
	}
	panic("config: no feature row " + key)
}
