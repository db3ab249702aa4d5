#!/bin/sh
# slurm-node.sh start DIR | stop DIR: a one-node Slurm cluster for the HPC
# tests (as root): munged, slurmctld and slurmd with their config, state,
# logs and PID files in DIR, no cgroups (proctrack/linuxproc); stop kills
# them by the PIDs recorded in DIR. The node is this host, with its CPUs,
# at 127.0.0.1 (a CI machine's host name need not resolve).
set -eu
cmd=${1:?usage: slurm-node.sh start|stop DIR}
dir=${2:?usage: slurm-node.sh start|stop DIR}
stop() {
	for p in slurmd slurmctld munged; do
		if [ -s "$dir/$p.pid" ]; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
	done
	for p in slurmd slurmctld munged; do
		if [ -s "$dir/$p.pid" ]; then
			pid=$(cat "$dir/$p.pid")
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
			kill -9 "$pid" 2>/dev/null || true
			rm -f "$dir/$p.pid"
		fi
	done
}
case $cmd in
stop) stop; exit 0 ;;
start) ;;
*) echo "slurm-node.sh: unknown command $cmd" >&2; exit 2 ;;
esac
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge" /run/munge
chmod 755 "$dir" "$dir/spool"
chown munge:munge /run/munge "$dir/munge"
chmod 755 /run/munge
cat >"$dir/slurm.conf" <<CONF
ClusterName=urun-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/linear
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
# munged as the munge user, PID file in DIR so stop can find it.
su munge -s /bin/sh -c "munged --pid-file=$dir/munge/munged.pid --log-file=$dir/munge/munged.log --seed-file=$dir/munge/munged.seed --force" || {
	echo "slurm-node.sh: munged failed: $(tail -3 "$dir/munge/munged.log" 2>/dev/null)" >&2; exit 1; }
cp "$dir/munge/munged.pid" "$dir/munged.pid"
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf"
# Ready when the node is idle.
i=0
until sinfo -h -o %T 2>/dev/null | grep -qx idle; do
	i=$((i + 1))
	if [ $i -gt 200 ]; then
		echo "slurm-node.sh: the node did not come up: $(sinfo 2>&1; tail -5 "$dir/slurmctld.log" "$dir/slurmd.log")" >&2
		stop; exit 1
	fi
	sleep 0.1
done
