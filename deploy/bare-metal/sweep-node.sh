#!/usr/bin/env bash
# Starts a Sweep node on a bare-metal machine (run it under systemd, tmux or nohup; one per machine).
#
#   SWEEP_CLUSTER_SECRET=... deploy/bare-metal/sweep-node.sh --roles coordinator,reducer --host 10.0.0.5
#   SWEEP_CLUSTER_SECRET=... deploy/bare-metal/sweep-node.sh --roles worker --host 10.0.0.6 --seed 10.0.0.5:4053
#
# Workers get one capture worker per GPU (found with nvidia-smi) unless --devices is given. The
# coordinator needs the database: SWEEP_DB=postgresql://user@host/db with the password in ~/.pgpass
# (or PGPASSFILE); never put a password on the command line. Jobs, models, corpora and the shard store
# must be on a filesystem mounted at the same path on every machine (NFS, Lustre, ...).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
sweep="${SWEEP_BIN:-$here/sweep}"

if [ -z "${SWEEP_CLUSTER_SECRET:-}" ]; then
  echo "sweep-node: set SWEEP_CLUSTER_SECRET (the same on every node; e.g. openssl rand -hex 32)" >&2
  exit 1
fi

args=("$@")
if [[ " ${args[*]} " != *" --devices "* ]] && [[ " ${args[*]} " == *"worker"* ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null) && [ -n "$gpus" ]; then
    devices=$(printf 'cuda:%s,' $gpus); args+=(--devices "${devices%,}")
  else
    args+=(--devices cpu)
  fi
fi

exec "$sweep" node "${args[@]}"
