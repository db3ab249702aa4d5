package config

// Operation is one row of the runtime operations urun implements (its
// verbs and their parts), beside Table's config fields: unsupported.md and
// `urun features` list them. cmd/urun's test keeps every verb in here.
type Operation struct {
	Name   string // the command line as a user writes it
	Disp   Disposition
	Reason string // refused verbs: the error they fail with
	Help   string // refused verbs: their line in urun --help
}

// Operations are urun's verbs, in help order, and the parts refused. The
// refused ones are runc verbs urun cannot honour: they exist so that a
// caller (containerd, Docker, a person) gets one line saying why, and a
// non-zero exit, instead of "unexpected argument"; they change nothing.
var Operations = []Operation{
	{"create", Honoured, "sets the container up and parks its process, the pid-file PID, until start", ""},
	{"start", Honoured, "the parked process execs process.args", ""},
	{"state", Honoured, "the OCI state, with a live status", ""},
	{"kill", Honoured, "signals the container's process; --all every process of it", ""},
	{"delete", Honoured, "removes the state; --force first kills every process of the container", ""},
	{"run", Honoured, "create, start, wait and delete; exit status is the command's", ""},
	{"exec", Honoured, "runs another process in a created or running container (runc's flags, or --process with an OCI process object): it joins the container process's user and mount namespaces and any other it joined, gets its root, and process.* applied as at create; kill --all and delete reach it; --detach --pid-file names the process itself", ""},
	{"exec --tty", Honoured, "a pty on the container's devpts becomes the process's controlling terminal and stdio; its master goes to --console-socket (conmon's way), or a foreground exec relays its own terminal", ""},
	{"list", Honoured, "the containers in --root", ""},
	{"spec", Honoured, "a config.json urun runs as is", ""},
	{"features", Honoured, "this table and the config table as an OCI features document", ""},
	{"ps", Honoured, "the container's processes (those kill --all reaches): ps(1) lines, or --format json PIDs", ""},
	{"launch", Honoured, "urun's own front end for MPI ranks and Slurm tasks (ch-run's model, no OCI runtime has one): runs IMAGE (a rootfs, or a bundle as template) with a config built in memory, as the caller's own uid and gid, with the host's /dev, /sys, /tmp, /etc/hosts, $HOME and cwd; --join shares one container among a job's ranks on a node", ""},
	{"pause", Refused, "freezing a container's processes needs a cgroup of its own, and urun manages no cgroups; nothing was changed",
		"Refused: freezing needs a cgroup, and urun manages none."},
	{"resume", Refused, "urun manages no cgroups, so it never pauses a container and has nothing to resume; nothing was changed",
		"Refused: urun cannot pause, so there is nothing to resume."},
	{"update", Refused, "changing a container's resource limits needs a cgroup of its own, and urun manages no cgroups; nothing was changed",
		"Refused: resource limits need a cgroup, and urun manages none."},
	{"checkpoint", Refused, "checkpointing needs CRIU, which urun does not use; the container is left as it was and nothing was saved",
		"Refused: checkpointing needs CRIU, which urun does not use."},
	{"restore", Refused, "restoring a checkpoint needs CRIU, which urun does not use; nothing was created",
		"Refused: restoring needs CRIU, which urun does not use."},
	{"events", Refused, "events and resource statistics come from a container's cgroup, and urun manages no cgroups (memory and CPU use are the caller's cgroup's)",
		"Refused: events and statistics come from a cgroup, and urun manages none."},
}

// operationsWith lists the operations with disposition d, sep-separated.
func operationsWith(d Disposition, sep string) string {
	return namesWith(Operations, d, func(o Operation) (string, Disposition) { return o.Name, o.Disp }, sep)
}
