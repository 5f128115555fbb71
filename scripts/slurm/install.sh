#!/usr/bin/env bash
# Install a single-node SLURM (controller, compute daemon, client tools) and munge
# from Debian's packages. Idempotent: does nothing when everything is installed.
# Needs root (or sudo). Quiet unless something fails.
#
#   scripts/slurm/install.sh          # install if missing
#
# Debian 12 ships Slurm 22.05 and munge 0.5. The packages do not start any
# daemon on machines without systemd; scripts/slurm/start.sh does that.
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install.sh: error: need root to install ${missing[*]} (run as root or install sudo)" >&2
    exit 1
  fi
fi

log=$(mktemp /tmp/gkt-slurm-install.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
echo "install.sh: installing ${missing[*]} (log: $log)" >&2
if ! { "${SUDO[@]}" apt-get update -q && \
       "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "install.sh: error: apt-get failed; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
for b in slurmctld slurmd sinfo sbatch squeue munged mungekey; do
  if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
    echo "install.sh: error: $b missing after install (see $log)" >&2
    exit 1
  fi
done
rm -f "$log"
