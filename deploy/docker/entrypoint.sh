#!/usr/bin/env bash
# Container entry: `sweep ARGS`. For `node`, remoting listens on all interfaces and advertises this
# container's address (SWEEP_PUBLIC_HOST, else the first address of `hostname -i`); listening beyond
# loopback requires SWEEP_CLUSTER_SECRET, which sweep itself enforces.
set -euo pipefail
public="${SWEEP_PUBLIC_HOST:-$(hostname -i | awk '{print $1}')}"
if [ "${1:-}" = "node" ]; then
  shift
  exec dotnet /app/sweep.dll node --host 0.0.0.0 --public-host "$public" --port "${SWEEP_PORT:-4053}" "$@"
fi
# A submitter (`run --cluster`) is answered by the coordinator, so it must listen where the coordinator can reach it.
if [ "${1:-}" = "run" ] && [[ " $* " == *" --cluster "* ]]; then
  exec dotnet /app/sweep.dll "$@" --host "$public"
fi
exec dotnet /app/sweep.dll "$@"
