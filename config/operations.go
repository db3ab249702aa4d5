package config

// Operation is one row of the runtime operations urun implements (its
// verbs and their parts), beside Table's config fields: unsupported.md and
// `urun features` list them. cmd/urun's test keeps every verb in here.
type Operation struct {
	Name   string // the command line as a user writes it
	Disp   Disposition
	Reason string
}

// Operations are urun's verbs, in help order, and the parts refused.
var Operations = []Operation{
	{"create", Honoured, "sets the container up and parks its process, the pid-file PID, until start"},
	{"start", Honoured, "the parked process execs process.args"},
	{"state", Honoured, "the OCI state, with a live status"},
	{"kill", Honoured, "signals the container's process; --all every process of it"},
	{"delete", Honoured, "removes the state; --force first kills every process of the container"},
	{"run", Honoured, "create, start, wait and delete; exit status is the command's"},
	{"exec", Honoured, "runs another process in a created or running container (runc's flags, or --process with an OCI process object): it joins the container process's user and mount namespaces and any other it joined, gets its root, and process.* applied as at create; kill --all and delete reach it; --detach --pid-file names the process itself"},
	{"exec --tty", Honoured, "a pty on the container's devpts becomes the process's controlling terminal and stdio; its master goes to --console-socket (conmon's way), or a foreground exec relays its own terminal"},
	{"list", Honoured, "the containers in --root"},
	{"spec", Honoured, "a config.json urun runs as is"},
	{"features", Honoured, "this table and the config table as an OCI features document"},
	{"ps", Honoured, "the container's processes (those kill --all reaches): ps(1) lines, or --format json PIDs"},
	{"launch", Honoured, "urun's own front end for MPI ranks and Slurm tasks (ch-run's model, no OCI runtime has one): runs IMAGE (a rootfs, or a bundle as template) with a config built in memory, as the caller's own uid and gid, with the host's /dev, /sys, /tmp, /etc/hosts, $HOME and cwd; --join shares one container among a job's ranks on a node"},
}

// operationsWith lists the operations with disposition d, "; "-separated.
func operationsWith(d Disposition) string {
	return namesWith(Operations, d, func(o Operation) (string, Disposition) { return o.Name, o.Disp }, "; ")
}
