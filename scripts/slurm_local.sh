#!/usr/bin/env bash
# usage: scripts/slurm_local.sh start|stop DIR
# A single-node Slurm cluster on this machine, for tests/test_slurm.cpp and for trying
# `icl sweep --slurm` without a cluster: munged on a socket in DIR, slurmctld and slurmd with
# DIR/slurm.conf (one node, this host's CPUs, partition "debug", ports 16817/16818, no cgroups,
# no accounting, MaxArraySize 3 so that a sweep of 4 runs shares 3 array tasks), their state,
# spool and logs in DIR. Clients use it with SLURM_CONF=DIR/slurm.conf.
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (scripts/install-deps.sh
# --slurm). `start` waits until the node is idle and exits 1 with the reason when it is not;
# `stop` ends the daemons started in DIR.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/slurm_local.sh start|stop DIR" >&2; exit 2; }
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

stop() {
  for p in slurmd slurmctld munge/munged; do
    [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  sleep 1
}

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "slurm_local.sh: unknown command '$cmd' (start, stop)" >&2; exit 2 ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "slurm_local.sh: needs root (the daemons run as root)" >&2; exit 1; }
for p in munged slurmctld slurmd sbatch sinfo; do
  command -v "$p" >/dev/null || {
    echo "slurm_local.sh: $p not found (scripts/install-deps.sh --slurm installs it)" >&2
    exit 1
  }
done
[ -r /etc/munge/munge.key ] || { echo "slurm_local.sh: no /etc/munge/munge.key" >&2; exit 1; }

host=$(hostname -s)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
cat >"$dir/slurm.conf" <<CONF
ClusterName=iclbench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
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
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MaxArraySize=3
NodeName=$host CPUs=$(nproc) RealMemory=$(($(free -m | awk '/^Mem:/ {print $2}') / 2)) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
munged --force -S "$dir/munge/munge.sock" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
    echo "slurm_local.sh: node $host idle (SLURM_CONF=$SLURM_CONF)"
    exit 0
  fi
  sleep 0.5
done
echo "slurm_local.sh: the node did not become idle in 30 s: $(tail -n 1 "$dir/slurmd.log" 2>/dev/null)" >&2
stop
exit 1
