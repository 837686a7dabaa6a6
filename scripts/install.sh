#!/usr/bin/env bash
# Installs what Sweep needs on a Debian 12 machine (apt packages), then restores and builds.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "sweep: the .NET 10 SDK is required and 'dotnet' is not on PATH (see https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# Independent reference implementations for the conformance tests (numpy/scipy/scikit-learn),
# run with Debian's own interpreter, /usr/bin/python3.
/usr/bin/python3 -c "import numpy, scipy, sklearn" >/dev/null 2>&1 || missing+=(python3-numpy python3-scipy python3-sklearn)
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "sweep: installing ${missing[*]} with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

dotnet build Sweep.sln -c Release -nologo -clp:ErrorsOnly -v quiet
