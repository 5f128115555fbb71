#!/usr/bin/env bash
# Configure and start a single-node SLURM cluster on this machine (for tests and
# for trying `snakemake --profile slurm` without a real cluster).
#
#   scripts/slurm/start.sh [STATE_DIR]      # default: $GKT_SLURM_DIR or /tmp/gkt-slurm
#   sinfo; snakemake --profile slurm ...    # clients find it through /etc/slurm/slurm.conf
#   scripts/slurm/stop.sh  [STATE_DIR]      # stops exactly what this script started
#
# Prints `export SLURM_CONF=STATE_DIR/slurm.conf` on stdout (optional to use). Takes
# about a second; calling it again while the cluster runs does nothing.
#
# Everything lives under STATE_DIR: slurm.conf, the munge key, munged's socket,
# pid/log files, slurmctld state and slurmd spool. The daemons run as root
# without cgroups (proctrack/linuxproc, task/none), so no systemd is needed.
# Needs root and the packages from scripts/slurm/install.sh.
#
# Clients find the cluster through /etc/slurm/slurm.conf, which this script links
# to STATE_DIR/slurm.conf (stop.sh removes the link). It must: Snakemake's job step
# drops SLURM_CONF before it calls srun inside a job. So one such cluster runs at a
# time; a /etc/slurm/slurm.conf of another setup makes this script refuse to start
# (a stale link from an earlier start.sh whose cluster is gone is replaced).
#
# Environment:
#   GKT_SLURM_DIR         state directory (default /tmp/gkt-slurm)
#   GKT_SLURM_CTLD_PORT   slurmctld port (default 6817)
#   GKT_SLURM_SLURMD_PORT slurmd port (default 6818)
#   GKT_SLURM_KEEP_STATE  1: keep jobs/state from a previous start (default: clean start)
#   GKT_SLURM_TIMEOUT     seconds to wait for the node to become idle (default 60)
#
# The PIDs started are written to STATE_DIR/pids ("<name> <pid>" lines);
# stop.sh stops exactly those.
set -euo pipefail

STATE=${1:-${GKT_SLURM_DIR:-/tmp/gkt-slurm}}
CTLD_PORT=${GKT_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${GKT_SLURM_SLURMD_PORT:-6818}
TIMEOUT=${GKT_SLURM_TIMEOUT:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start.sh: error: $*" >&2; exit 1; }
say() { echo "start.sh: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the daemons run as root here)"
for b in slurmctld slurmd sinfo munged mungekey; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found: run scripts/slurm/install.sh first"
done

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
CONF=$STATE/slurm.conf
PIDS=$STATE/pids
export SLURM_CONF=$CONF

alive() {  # alive PID: the process exists and is not a zombie
  [ -n "${1:-}" ] && [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

node_state() { timeout 10 sinfo -h -N -o %T 2>/dev/null | head -n1 || true; }

wait_idle() {
  local deadline=$((SECONDS + TIMEOUT)) s=""
  while [ $SECONDS -lt $deadline ]; do
    s=$(node_state)
    case "$s" in
      idle|mixed|allocated) return 0 ;;
    esac
    sleep 0.2
  done
  echo "$s"
  return 1
}

# Already running (started by an earlier call with the same state dir)?
if [ -f "$PIDS" ]; then
  n_alive=0 n_dead=0
  while read -r name pid; do
    if alive "$pid"; then n_alive=$((n_alive + 1)); else n_dead=$((n_dead + 1)); fi
  done <"$PIDS"
  if [ $n_alive -gt 0 ] && [ $n_dead -eq 0 ] && wait_idle >/dev/null; then
    say "already running (state $STATE)"
    echo "export SLURM_CONF=$CONF"
    exit 0
  elif [ $n_alive -gt 0 ]; then
    die "$PIDS lists daemons that still run but the node is not idle: run scripts/slurm/stop.sh $STATE first"
  fi
  rm -f "$PIDS"  # left by a cluster that is gone (e.g. a reboot): start afresh
fi

# Another cluster (or anything else) on our ports would make the daemons exit.
for port in "$CTLD_PORT" "$SLURMD_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (another SLURM?): stop it, or choose other ports with GKT_SLURM_CTLD_PORT / GKT_SLURM_SLURMD_PORT"
  fi
done

# Clean up whatever we started if anything below fails.
cleanup_on_error() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -f "$PIDS" ]; then
    say "start failed (exit $rc); stopping the daemons started so far"
    for f in log/slurmd.log log/slurmctld.log munge/munged.log log/munged.log; do
      if [ -s "$STATE/$f" ]; then
        echo "---- last lines of $STATE/$f ----" >&2
        tail -n 15 "$STATE/$f" >&2
      fi
    done
    "$HERE/stop.sh" "$STATE" >&2 || true
  fi
}
trap cleanup_on_error EXIT

record() {  # record NAME PIDFILE: wait for the daemon's pid file, check it runs
  local name=$1 pidfile=$2 pid=""
  for _ in $(seq 1 100); do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid"; then
      echo "$name $pid" >>"$PIDS"
      return 0
    fi
    sleep 0.1
  done
  die "$name did not start (no live pid in $pidfile; see $STATE/log/$name.log)"
}

# ---- directories, munge key ------------------------------------------------
mkdir -p "$STATE/log" "$STATE/run" "$STATE/ctld" "$STATE/spool" "$STATE/munge"
if [ "${GKT_SLURM_KEEP_STATE:-0}" != 1 ]; then
  rm -rf "${STATE:?}/ctld/"* "${STATE:?}/spool/"*
fi
chmod 0755 "$STATE" "$STATE/log" "$STATE/run"
chmod 0700 "$STATE/ctld" "$STATE/spool"
# munged runs as root here (--force): no munge user, /etc/munge or /run/munge needed,
# and the state dir may sit below a directory other users cannot enter.
chmod 0755 "$STATE/munge"
if [ ! -s "$STATE/munge/munge.key" ]; then
  mungekey --create --keyfile "$STATE/munge/munge.key" >/dev/null
fi
chown root: "$STATE/munge/munge.key"
chmod 0400 "$STATE/munge/munge.key"
MUNGE_SOCKET=$STATE/munge/munge.socket.2

# ---- slurm.conf ------------------------------------------------------------
# Node line from the hardware slurmd sees, with RealMemory at 90 % so that the
# node is not drained for reporting less memory than configured.
hw=$(slurmd -C | head -n1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
boards=$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$hw")
sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")
cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")
threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
if [ -z "$cpus" ] || [ -z "$mem" ]; then die "cannot parse 'slurmd -C' output: $hw"; fi
mem=$((mem * 9 / 10))

cat >"$CONF" <<CONF
# Written by scripts/slurm/start.sh: a single-node cluster for local tests.
ClusterName=gkt-local
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
MpiDefault=none
# No cgroups and no systemd here: track processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# A node that was down comes back by itself when slurmd registers.
ReturnToService=2
# Reject jobs larger than the node at sbatch time (else they pend forever).
EnforcePartLimits=ALL
SchedulerType=sched/backfill
# Start batch jobs at once (about 1 s from sbatch to running instead of 3 s).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# No slurmdbd: sacct does not work, so Snakemake must poll with squeue, and
# finished jobs must stay visible to squeue long enough (MinJobAge seconds,
# >= 3 x slurm-init-seconds-before-status-checks of the profile).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
KillWait=5
InactiveLimit=0
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

# /etc/slurm/slurm.conf must be this cluster's config: Snakemake's job step
# (snakemake-executor-plugin-slurm-jobstep) removes SLURM_CONF from the environment
# of the `srun` it runs inside each job, so that srun reads /etc/slurm/slurm.conf.
# We link it to our config; a link left behind by an earlier start.sh whose cluster
# is gone is replaced, anything else is left alone and we refuse to start.
ETC_CONF=/etc/slurm/slurm.conf
stale_gkt_link() {  # a link to a config written by this script whose cluster is not running
  local target dir name pid
  [ -L "$ETC_CONF" ] || return 1
  target=$(readlink "$ETC_CONF")
  [ -e "$target" ] || return 0                      # dangling link
  head -n1 "$target" | grep -q '^# Written by scripts/slurm/start.sh' || return 1
  dir=$(dirname "$target")
  [ -f "$dir/pids" ] || return 0
  while read -r name pid; do
    alive "$pid" && return 1
  done <"$dir/pids"
  return 0
}
if [ "$(readlink "$ETC_CONF" 2>/dev/null)" != "$CONF" ]; then
  if stale_gkt_link; then
    rm -f "$ETC_CONF"
  fi
  if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    die "$ETC_CONF belongs to another SLURM setup ($(readlink -f "$ETC_CONF")). srun inside Snakemake's jobs reads that file, so jobs of this cluster would talk to the other one: stop it first (scripts/slurm/stop.sh <its state dir>) or move that file away"
  fi
  mkdir -p /etc/slurm
  ln -s "$CONF" "$ETC_CONF"
fi
echo "$ETC_CONF" >"$STATE/etc-link"

# ---- daemons ---------------------------------------------------------------
: >"$PIDS"
rm -f "$STATE/run/"*.pid "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"

# munged: own key, socket, pid, log and seed files under the state dir.
munged --force \
  --socket="$MUNGE_SOCKET" --key-file="$STATE/munge/munge.key" \
  --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
  --seed-file="$STATE/munge/munged.seed" </dev/null >>"$STATE/log/munged.log" 2>&1 \
  || die "munged failed (see $STATE/munge/munged.log)"
record munged "$STATE/munge/munged.pid"

ctld_args=(-f "$CONF")
if [ "${GKT_SLURM_KEEP_STATE:-0}" != 1 ]; then ctld_args+=(-c); fi
slurmctld "${ctld_args[@]}" </dev/null >>"$STATE/log/slurmctld.log" 2>&1 \
  || die "slurmctld failed"
record slurmctld "$STATE/run/slurmctld.pid"

slurmd -f "$CONF" -N localhost </dev/null >>"$STATE/log/slurmd.log" 2>&1 \
  || die "slurmd failed"
record slurmd "$STATE/run/slurmd.pid"

if ! s=$(wait_idle); then
  die "node not idle after ${TIMEOUT}s (state: ${s:-no answer from slurmctld})"
fi
trap - EXIT
say "cluster up: 1 node ($cpus CPUs, $mem MB), partition debug; state $STATE"
echo "export SLURM_CONF=$CONF"
