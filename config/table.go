package config

import "sync"

//go:generate go run ./internal/gendoc -o ../unsupported.md

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
	ChRun  string      // what ch-run-oci does ("" when its man page does not say)
}

// ch-run-oci's dispositions, from its man page (Charliecloud 0.3x).
const (
	chRefused  = "refused"
	chIgnored  = "ignored"
	chHonoured = "honoured"
)

// Table lists every Linux config field of the runtime-spec (1.3), in the
// order the walker visits them.
var Table = []Feature{
	// Top level.
	{"ociVersion", "ociVersion", Honoured, "1.0.0 through the 1.x version urun is built against, pre-release suffixes (buildah's 1.0.2-dev) included; any other version is refused naming it", "refused unless exactly 1.0.0"},
	{"root.path", "root.path", Honoured, "relative to the bundle; symlinks resolved once, bind-mounted and made the root with pivot_root", chHonoured},
	{"root.readonly", "root.readonly", Honoured, "/ is made read-only once every mount is set up", ""},

	// process.
	{"process.terminal", "process.terminal", Honoured, "true: a pty is opened on the container's own devpts after the mounts, becomes the process's controlling terminal and stdio (and /dev/console), and its master is sent over --console-socket with SCM_RIGHTS, as runc does; `urun run` without --console-socket relays its own terminal (raw mode, window size on SIGWINCH); create without --console-socket is refused; --console-socket with terminal false is ignored", chRefused},
	{"process.consoleSize", "process.consoleSize", Honoured, "the pty's window size when it is made (`urun run` from a terminal then sets its own terminal's size); nothing without process.terminal", ""},
	{"process.user.uid", "process.user.uid", Honoured, "must be mapped in the container's user namespace; refused at create naming the mapped uids otherwise", chHonoured},
	{"process.user.gid", "process.user.gid", Honoured, "must be mapped in the container's user namespace; refused at create naming the mapped gids otherwise", chHonoured},
	{"process.user.umask", "process.user.umask", Honoured, "set before exec; a value above 0777 is refused", ""},
	{"process.user.additionalGids", "process.user.additionalGids", Honoured, "set with setgroups(2); refused when a gid is not mapped, or when setgroups is denied (an account without subordinate IDs) and the gid is not the primary one", ""},
	{"process.user.username", "process.user.username", Ignored, "Windows only", ""},
	{"process.args", "process.args", Honoured, "resolved with the container's PATH at create; a missing program fails create", chHonoured},
	{"process.commandLine", "process.commandLine", Ignored, "Windows only", ""},
	{"process.env", "process.env", Honoured, "exactly this environment, nothing added; an entry without = is refused (as runc does)", chHonoured},
	{"process.cwd", "process.cwd", Honoured, "must be absolute, exist in the container and lead to a directory inside its root (process.cwd /proc/self/fd/N of a host directory fails create)", chHonoured},
	{"process.capabilities.bounding", "process.capabilities.bounding", Honoured, "applied inside the user namespace (capabilities over the container's mounts and IDs, never over the host); an unknown name such as CAP_TEST is refused", chIgnored},
	{"process.capabilities.effective", "process.capabilities.effective", Honoured, "as bounding; unknown names, and names not in permitted (the kernel refuses them), are refused", chIgnored},
	{"process.capabilities.inheritable", "process.capabilities.inheritable", Honoured, "as bounding; unknown names are refused", chIgnored},
	{"process.capabilities.permitted", "process.capabilities.permitted", Honoured, "as bounding; unknown names are refused", chIgnored},
	{"process.capabilities.ambient", "process.capabilities.ambient", Honoured, "as bounding; unknown names are refused; uid 0 gets bounding and inheritable at exec anyway, as with runc", chIgnored},
	{"process.capabilities.ambient.unraisable", "process.capabilities.ambient (name not also in permitted and inheritable)", Ignored, "the kernel cannot raise such an ambient capability; it is left out, as runc does (buildah sends ambient sets without inheritable)", chIgnored},
	{"process.capabilities.kernel", "process.capabilities.* (name unknown to the running kernel)", Ignored, "a capability urun knows but this kernel does not is left out of the set, as runc does", chIgnored},
	{"process.rlimits", "process.rlimits", Honoured, "set with setrlimit as the last step before execve (so RLIMIT_AS cannot starve the set-up); an unknown type (RLIMIT_TEST), a duplicate type or soft above hard is refused; raising a hard limit above the host's fails create", chIgnored},
	{"process.noNewPrivileges", "process.noNewPrivileges", Honoured, "true sets PR_SET_NO_NEW_PRIVS; false leaves it unset", "ignored: always set"},
	{"process.apparmorProfile", "process.apparmorProfile", Ignored, "changing AppArmor profile needs privilege; the container keeps urun's profile", chIgnored},
	{"process.oomScoreAdj", "process.oomScoreAdj", Honoured, "written to /proc/self/oom_score_adj; a value lower than the host lets an unprivileged process set fails create; outside -1000..1000 is refused", ""},
	{"process.selinuxLabel", "process.selinuxLabel", Ignored, "SELinux transitions need privilege; the container keeps urun's label", chIgnored},
	{"process.ioPriority", "process.ioPriority", Ignored, "not implemented; changes scheduling, not results", ""},
	{"process.scheduler", "process.scheduler", Ignored, "not implemented; changes scheduling, not results", ""},
	{"process.execCPUAffinity", "process.execCPUAffinity", Ignored, "not implemented: it would pin processes started by urun exec to CPUs, which changes scheduling, not results", ""},

	// mounts.
	{"mounts.destination", "mounts[].destination", Honoured, "resolved inside the rootfs, never through a symlink out of it; missing mount points are created; a relative path, and / (which would cover the rootfs), are refused", chIgnored},
	{"mounts.bind", "mounts[] type bind, or option bind", Honoured, "bind mount of source (relative to the bundle); options only add flags, flags the host locked stay", chIgnored},
	{"mounts.rbind", "mounts[] option rbind", Honoured, "recursive bind mount", chIgnored},
	{"mounts.tmpfs", "mounts[] type tmpfs", Honoured, "new tmpfs with the options given (size=, mode=...)", chIgnored},
	{"mounts.proc", "mounts[] type proc", Honoured, "recursive bind of the host's /proc, since a new proc needs a PID namespace urun does not create: the container sees the host's processes", chIgnored},
	{"mounts.sysfs", "mounts[] type sysfs", Honoured, "recursive bind of the host's /sys with the flags asked, since a new sysfs needs a network namespace", chIgnored},
	{"mounts.devpts", "mounts[] type devpts", Honoured, "new devpts instance; a gid= option naming an unmapped gid is dropped with a debug line", chIgnored},
	{"mounts.mqueue", "mounts[] type mqueue", Ignored, "the kernel refuses mqueue without an IPC namespace, which urun does not create; skipped", chIgnored},
	{"mounts.cgroup", "mounts[] type cgroup", Ignored, "urun manages no cgroups and the kernel refuses a cgroup mount here; skipped", chIgnored},
	{"mounts.cgroup2", "mounts[] type cgroup2", Ignored, "urun manages no cgroups and the kernel refuses a cgroup2 mount here; skipped", chIgnored},
	{"mounts.overlay", "mounts[] type overlay", Honoured, "mounted as asked (unprivileged overlay needs Linux 5.11+; the kernel's error is reported)", chIgnored},
	{"mounts.other", "mounts[] other types", Honoured, "mounted with the type asked; the kernel's refusal is reported with the type", chIgnored},
	{"mounts.notype", "mounts[].type missing", Refused, "a mount with no type and no bind or rbind option says nothing to mount", chIgnored},
	{"mounts.options.flags", "mounts[].options ro nosuid nodev noexec noatime nodiratime relatime strictatime sync dirsync mand (and rw suid dev exec atime...)", Honoured, "applied; on binds only added, never cleared; on a bind of a host mount, whose atime mode the kernel locks in a user namespace, another atime mode (and nodiratime) is left out with a debug line naming the mount, as crun does", chIgnored},
	{"mounts.options.propagation", "mounts[].options private shared slave unbindable (and rprivate rshared rslave runbindable)", Honoured, "applied to the new mount", chIgnored},
	{"mounts.options.data", "mounts[].options mode= size= uid= gid= lowerdir= ...", Honoured, "filesystem options passed to the kernel as mount data", chIgnored},
	{"mounts.options.userspace", "mounts[].options x-*", Ignored, "options for userspace tools, skipped as mount(8) does", chIgnored},
	{"mounts.options.idmap", "mounts[].options idmap, ridmap; mounts[].uidMappings, gidMappings", Refused, "idmapped mounts need privileges urun does not have; files would show other owners", chIgnored},
	{"mounts.options.tmpcopyup", "mounts[].options tmpcopyup", Refused, "copying the image's content into the new tmpfs is not implemented; an empty tmpfs would hide it", chIgnored},
	{"mounts.options.unknown", "mounts[].options (unknown)", Refused, "an unknown option is refused naming it: a typo must not be silently dropped", chIgnored},

	// Host name.
	{"hostname", "hostname", Ignored, "needs a UTS namespace, which urun does not create; the container has the host's name", chIgnored},
	{"domainname", "domainname", Ignored, "needs a UTS namespace, which urun does not create", ""},

	// hooks.
	{"hooks.prestart", "hooks.prestart", Honoured, "run by urun in its own namespaces once the container's mounts are done, before pivot_root, with the state on stdin (status creating); a failing hook fails create naming it, and nothing is left; path must be absolute, timeout above 0 (the hook's process group is killed at it)", chRefused},
	{"hooks.createRuntime", "hooks.createRuntime", Honoured, "as prestart, right after the prestart hooks", chRefused},
	{"hooks.createContainer", "hooks.createContainer", Honoured, "run in the container's namespaces before pivot_root (its path resolves as on the host), after the createRuntime hooks; status creating; a failure fails create", chRefused},
	{"hooks.startContainer", "hooks.startContainer", Honoured, "run at start in the container, as its process (user, capabilities, cwd), just before exec; path resolved in the container; status created; a failure fails start and removes the container", chRefused},
	{"hooks.poststart", "hooks.poststart", Honoured, "run by urun once the process runs, before start returns (status running); a failure is logged as a warning and start succeeds (runtime-spec 1.0's rule; 1.3 asks for an error and a stopped container)", chRefused},
	{"hooks.poststop", "hooks.poststop", Honoured, "run by urun at delete once the container is gone, and after a create or start that failed (status stopped); a failure is logged as a warning", chRefused},

	{"annotations", "annotations", Honoured, "kept and reported by urun state; no annotation changes what urun does; more than 256 KiB of keys and values is refused", chRefused},
	{"platforms", "solaris, windows, vm, zos, freebsd", Ignored, "sections for other platforms mean nothing on Linux", ""},

	// linux.
	{"linux.namespaces.user", "linux.namespaces[] type user", Honoured, "urun always creates a new user namespace, asked or not (buildah does not ask)", chHonoured},
	{"linux.namespaces.mount", "linux.namespaces[] type mount", Honoured, "urun always creates a new mount namespace", chHonoured},
	{"linux.namespaces.pid", "linux.namespaces[] type pid", Ignored, "no PID namespace: the container sees the host's processes and can signal the user's own; buildah asks for one in every RUN step", ""},
	{"linux.namespaces.ipc", "linux.namespaces[] type ipc", Ignored, "no IPC namespace: the container shares the host's System V IPC and POSIX message queues", ""},
	{"linux.namespaces.uts", "linux.namespaces[] type uts", Ignored, "no UTS namespace: the container has the host's host and domain name", ""},
	{"linux.namespaces.network", "linux.namespaces[] type network", Ignored, "no network namespace: the container uses the host's network, as a build usually wants (a caller that then points slirp4netns at the container, as buildah run and podman --userns=keep-id do with their default network, fails with EOF: use --network=host)", ""},
	{"linux.namespaces.network.slirp", "linux.namespaces[] type network (no path) with an /etc/resolv.conf bind naming slirp4netns' DNS 10.0.2.3 (buildah run's and podman --userns=keep-id's default network)", Refused, "the caller would set up slirp4netns in a network namespace urun does not create (it would find none and fail, or hang); --network=host works", ""},
	{"linux.namespaces.network.hooked", "linux.namespaces[] type network (no path) with libnetwork's hooks.prestart or hooks.createRuntime hook (Docker's bridge and none networks)", Refused, "urun creates no network namespace, so libnetwork-setkey would configure the host's network instead; docker run --network=host works", ""},
	{"linux.namespaces.cgroup", "linux.namespaces[] type cgroup", Ignored, "no cgroup namespace: the container sees the host's cgroup paths", ""},
	{"linux.namespaces.time", "linux.namespaces[] type time", Ignored, "no time namespace: the container has the host's clocks (timeOffsets is refused)", ""},
	{"linux.namespaces.path", "linux.namespaces[].path", Honoured, "network, ipc, uts, cgroup and pid namespaces are joined (setns) before urun makes the container's user namespace, so podman's network (slirp4netns) and pods work; a user namespace given by path is joined instead of making one (the mount namespace is still new); a missing file, another type's namespace or one urun may not join is refused naming the path and the errno; in a joined network namespace net.ipv4.ip_unprivileged_port_start is set to 0 when urun may, so the container can bind ports below 1024", chRefused},
	{"linux.namespaces.path.own", "linux.namespaces[].path naming urun's own namespace", Honoured, "a path to the namespace urun already runs in (same device and inode as /proc/self/ns/TYPE, as docker --network=host and ctr --with-ns pass) means stay in it, for every type; for user, the container stays in urun's user namespace and only a mount namespace is made (this needs urun to be root there)", ""},
	{"linux.namespaces.path.mount", "linux.namespaces[].path for mount or time", Refused, "urun always makes its own mount namespace and joins no time namespace; only a path to urun's own is accepted", ""},
	{"linux.namespaces.path.mappings", "linux.namespaces[].path for user, with linux.uidMappings or gidMappings", Honoured, "podman passes a keep-id pod's mappings with its user namespace path: they must be the joined namespace's own (checked once joined, as runc does), else create fails naming both", ""},
	{"linux.namespaces.path.pidWithUser", "linux.namespaces[].path for pid and user together", Refused, "not implemented yet: the placeholder would have to fork once more inside the joined namespaces", ""},
	{"linux.namespaces.unknown", "linux.namespaces[].type (unknown or listed twice)", Refused, "an unknown namespace type, or one listed twice, is an error the spec requires", ""},
	{"linux.uidMappings", "linux.uidMappings", Honoured, "used when the account's IDs cover every host ID; refused naming the first unavailable one otherwise; absent, urun maps every ID the account has: itself as 0 and its subordinate ranges from 1, or, run as root in a user namespace (nested in buildah), every ID of that namespace", "ignored beyond one uid"},
	{"linux.gidMappings", "linux.gidMappings", Honoured, "as uidMappings, for groups", "ignored beyond one gid"},
	{"linux.timeOffsets", "linux.timeOffsets", Refused, "needs a time namespace, which urun does not create; the clocks would silently differ", ""},
	{"linux.devices", "linux.devices", Honoured, "each listed node is bound from the host's same path (mknod needs privilege), as rootless runc does, so GPUs and InfiniBand devices reach the container; a device the host lacks, or whose type or number differs, is refused naming it", "ignored: all host devices"},
	{"linux.cgroupsPath", "linux.cgroupsPath", Ignored, "urun manages no cgroups; the container stays in the caller's cgroup", chIgnored},
	{"linux.resources.devices", "linux.resources.devices", Ignored, "urun manages no cgroups, so no device rules; devices are limited to those bound into /dev", chIgnored},
	{"linux.resources.memory", "linux.resources.memory", Ignored, "urun manages no cgroups, so no memory limit", chIgnored},
	{"linux.resources.cpu", "linux.resources.cpu", Ignored, "urun manages no cgroups, so no CPU limit", chIgnored},
	{"linux.resources.pids", "linux.resources.pids", Ignored, "urun manages no cgroups, so no process count limit (process.rlimits RLIMIT_NPROC works)", chIgnored},
	{"linux.resources.blockIO", "linux.resources.blockIO", Ignored, "urun manages no cgroups, so no block I/O limit", chIgnored},
	{"linux.resources.hugepageLimits", "linux.resources.hugepageLimits", Ignored, "urun manages no cgroups, so no huge page limit", chIgnored},
	{"linux.resources.network", "linux.resources.network", Ignored, "urun manages no cgroups, so no network class or priority", chIgnored},
	{"linux.resources.rdma", "linux.resources.rdma", Ignored, "urun manages no cgroups, so no RDMA limit", chIgnored},
	{"linux.resources.unified", "linux.resources.unified", Ignored, "urun manages no cgroups, so no cgroup v2 settings", chIgnored},
	{"linux.intelRdt", "linux.intelRdt", Refused, "Intel RDT needs privilege; cache and memory bandwidth allocation would silently differ", chRefused},
	{"linux.sysctl", "linux.sysctl", Ignored, "sysctls need privilege or namespaces urun does not create; the host's values stay", chIgnored},
	{"linux.seccomp", "linux.seccomp", Ignored, "no seccomp filter is installed yet: every system call the user namespace allows is allowed", chIgnored},
	{"linux.rootfsPropagation", "linux.rootfsPropagation", Honoured, "private, slave and unbindable (r* for every mount below / too) applied to the container's / once every mount is set up; default rslave: when the rootfs is on a shared host mount, the host's later mounts under it appear in the container unless private or unbindable", chIgnored},
	{"linux.rootfsPropagation.shared", "linux.rootfsPropagation shared, rshared", Honoured, "/ gets a peer group of its own: the container's mounts reach mount namespaces made inside it, never the host (a mount namespace owned by an unprivileged user namespace receives the host's mounts only as a slave); the host's later mounts still appear in it as with rslave", chIgnored},
	{"linux.maskedPaths", "linux.maskedPaths", Honoured, "an empty read-only tmpfs over directories, /dev/null over files; looked up as the container sees them, symlinks resolved inside its root; paths absent from the container are skipped; a path through a /proc magic link (what it leads to cannot be covered) fails create", "ignored (remaining unprivileged protects you)"},
	{"linux.readonlyPaths", "linux.readonlyPaths", Honoured, "bound read-only (and nosuid, nodev, noexec) over itself, recursively; looked up as maskedPaths are", "ignored (remaining unprivileged protects you)"},
	{"linux.mountLabel", "linux.mountLabel", Ignored, "SELinux labels need privilege", chIgnored},
	{"linux.personality", "linux.personality", Refused, "not implemented; running under another execution domain would change the program's behaviour", ""},
	{"linux.memoryPolicy", "linux.memoryPolicy", Refused, "not implemented; NUMA placement would silently differ", ""},
	{"linux.netDevices", "linux.netDevices", Refused, "moving network devices needs a network namespace and privilege", ""},
}

// tableIndex is built on the first Lookup, not at start-up.
var tableIndex = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(Table))
	for i, f := range Table {
		m[f.Key] = i
	}
	return m
})

// Lookup returns the row for key; the checks only use keys in Table
// (TestChecksUseTable guards this).
func Lookup(key string) Feature {
	if i, ok := tableIndex()[key]; ok {
		return Table[i]
	}
	panic("config: no feature row " + key)
}
