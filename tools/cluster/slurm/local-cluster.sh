#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian packages (slurm-wlm, munge), for trying the job scripts
# and for the CI test. Everything lives in STATE_DIR (config, munge key and socket, spool, logs); nothing under
# /etc or /run is touched, and the daemons use their own ports.
#
#   tools/cluster/slurm/local-cluster.sh start STATE_DIR   # prints: export SLURM_CONF=STATE_DIR/slurm.conf
#   eval "$(tools/cluster/slurm/local-cluster.sh env STATE_DIR)"; sinfo; sbatch …
#   tools/cluster/slurm/local-cluster.sh stop STATE_DIR    # scontrol shutdown + munged --stop; waits for both
#
# Config as in docs (single node, no cgroups, no accounting): proctrack/linuxproc, task/none, select/cons_tres with
# CR_Core; the node is `hostname -s` with the CPUs and memory `slurmd -C` reports. Ports: SLURMCTLD_PORT and
# SLURMD_PORT, default free ones picked at random. Needs root (slurmd starts jobs as their user).
set -euo pipefail

usage() { echo "usage: $0 start|env|stop STATE_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
S=$(cd "$2" && pwd)
CONF=$S/slurm.conf
SOCKET=$S/munge-run/munge.socket

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 50); do p=$((20000 + RANDOM % 40000)); if port_free "$p"; then echo "$p"; return; fi; done
  echo "local-cluster: no free port found" >&2; exit 1
}

wait_gone() { # pidfile, what
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "local-cluster: $2 (pid $pid) did not stop; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
  start)
    for b in munged mungekey slurmctld slurmd scontrol sinfo; do
      command -v "$b" >/dev/null ||
        { echo "local-cluster: $b not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
    done
    # munged checks that the socket folder (and every folder above it) is reachable by all and that the key
    # folder is private.
    chmod 755 "$S"
    d=$(dirname "$S")
    while [ "$d" != / ]; do
      [ "$(( 0$(stat -c %a "$d") & 1 ))" = 1 ] || {
        echo "local-cluster: munged needs $d to be o+x (chmod o+x $d, or use another STATE_DIR)" >&2
        exit 1
      }
      d=$(dirname "$d")
    done
    mkdir -p "$S/munge-run" "$S/munge-etc" "$S/state" "$S/spool"
    chmod 755 "$S/munge-run"; chmod 700 "$S/munge-etc"
    [ -f "$S/munge-etc/munge.key" ] || mungekey --create --keyfile="$S/munge-etc/munge.key"
    munged --socket="$SOCKET" --key-file="$S/munge-etc/munge.key" --log-file="$S/munged.log" \
      --pid-file="$S/munge-run/munged.pid" --seed-file="$S/munge-etc/munged.seed"
    host=$(hostname -s)
    node=$(slurmd -C | head -n 1 | sed 's/ *$//')   # NodeName=<host> CPUs=… RealMemory=…
    user=$(id -un)
    cat > "$CONF" <<CONF
ClusterName=clipnadlocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${SLURMCTLD_PORT:-$(pick_port)}
SlurmdPort=${SLURMD_PORT:-$(pick_port)}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
SlurmUser=$user
SlurmdUser=$user
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$CONF
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    for i in $(seq 100); do
      if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then echo "export SLURM_CONF=$CONF"; exit 0; fi
      sleep 0.2
    done
    echo "local-cluster: the node did not become idle; logs in $S" >&2
    exit 1
    ;;
  env)
    echo "export SLURM_CONF=$CONF"
    ;;
  stop)
    if [ -f "$CONF" ]; then SLURM_CONF=$CONF scontrol shutdown >/dev/null 2>&1 || true; fi
    wait_gone "$S/slurmctld.pid" slurmctld
    wait_gone "$S/slurmd.pid" slurmd
    if [ -S "$SOCKET" ]; then munged --stop --socket="$SOCKET" >/dev/null 2>&1 || true; fi
    wait_gone "$S/munge-run/munged.pid" munged
    ;;
  *) usage ;;
esac
