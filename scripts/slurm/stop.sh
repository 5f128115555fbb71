#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by scripts/slurm/start.sh.
#
#   scripts/slurm/stop.sh [STATE_DIR]     # default: $GKT_SLURM_DIR or /tmp/gkt-slurm
#
# Cancels the jobs still queued or running on that cluster (their job steps are
# not children of slurmd and would outlive it), then sends SIGTERM to exactly the
# PIDs recorded in STATE_DIR/pids (slurmd, slurmctld, munged; in that order),
# waits for each to exit (SIGKILL after GKT_SLURM_STOP_TIMEOUT seconds, default 30)
# and removes the /etc/slurm/slurm.conf link if start.sh made it.
# A PID whose process is gone, or now runs a different program, is skipped.
# Safe to call twice; exits 0 when nothing is running.
set -uo pipefail

STATE=${1:-${GKT_SLURM_DIR:-/tmp/gkt-slurm}}
TIMEOUT=${GKT_SLURM_STOP_TIMEOUT:-30}
if [ -d "$STATE" ]; then STATE=$(cd "$STATE" && pwd); fi
PIDS=$STATE/pids
say() { echo "stop.sh: $*" >&2; }

if [ ! -f "$PIDS" ]; then
  say "nothing to stop ($PIDS not found)"
  exit 0
fi
export SLURM_CONF=$STATE/slurm.conf

alive() {
  [ -n "${1:-}" ] && [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
# ours NAME PID: the pid is alive and still runs NAME (guards against pid reuse)
ours() {
  alive "$2" || return 1
  local exe
  exe=$(readlink "/proc/$2/exe" 2>/dev/null || true)
  case "$(basename "${exe% (deleted)}")" in
    "$1"|"$1"-wlm) return 0 ;;
  esac
  grep -qx "$1" "/proc/$2/comm" 2>/dev/null
}
pid_of() { awk -v n="$1" '$1 == n {print $2}' "$PIDS"; }

# 1. Cancel leftover jobs while the controller still answers.
ctld=$(pid_of slurmctld)
if ours slurmctld "$ctld"; then
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 50); do
      left=$(timeout 10 squeue -h -t RUNNING,COMPLETING,PENDING,CONFIGURING -o %A 2>/dev/null | wc -l)
      [ "$left" -eq 0 ] && break
      sleep 0.2
    done
  fi
fi
# Each running job step of this cluster (a slurmstepd) holds a socket
# <node>_<job>.<step> in our spool dir: wait until they have finished killing
# their processes, or they would lose their job's processes when slurmd goes.
for _ in $(seq 1 100); do
  steps=$(find "$STATE/spool" -maxdepth 1 -type s -name '*_*.*' 2>/dev/null | wc -l)
  [ "$steps" -eq 0 ] && break
  sleep 0.2
done
[ "${steps:-0}" -eq 0 ] || say "warning: $steps job step(s) still running (sockets in $STATE/spool)"

# 2. Stop the daemons, compute daemon first, munge last.
rc=0
for name in slurmd slurmctld munged; do
  pid=$(pid_of "$name")
  [ -n "$pid" ] || continue
  if ! ours "$name" "$pid"; then
    continue
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + TIMEOUT))
  while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if alive "$pid"; then
    say "$name (pid $pid) still running after ${TIMEOUT}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
    if alive "$pid"; then say "could not stop $name (pid $pid)"; rc=1; fi
  fi
done

# 3. Undo the /etc link made by start.sh (only if it still points to our config).
if [ -f "$STATE/etc-link" ]; then
  link=$(cat "$STATE/etc-link")
  if [ "$(readlink "$link" 2>/dev/null)" = "$STATE/slurm.conf" ]; then rm -f "$link"; fi
  rm -f "$STATE/etc-link"
fi
[ $rc -eq 0 ] && rm -f "$PIDS"
say "stopped (state $STATE)"
exit $rc
