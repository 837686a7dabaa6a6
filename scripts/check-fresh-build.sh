#!/usr/bin/env bash
# The fresh-machine path, on every test run: copies this checkout, builds the whole solution with an
# empty NuGet package folder (NUGET_PACKAGES, as many CI systems set it; projects build in parallel),
# then runs a real forward pass with the built `sweep`. It fails when the build breaks the package cache
# or leaves a TorchSharp native library this system cannot load. Packages come from NuGet's HTTP cache
# when it is warm, from the registry otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/sweep-fresh-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard | tar -cf - --null -T - | tar -xf - -C "$work"
export NUGET_PACKAGES="$work/.nuget-packages"
mkdir -p "$NUGET_PACKAGES"

started=$SECONDS
if ! (cd "$work" && dotnet build Sweep.sln -c Release -m -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1); then
  cat "$work/build.log" >&2
  echo "check-fresh-build: building with an empty NuGet cache failed (log above)" >&2
  exit 1
fi
built=$((SECONDS - started))

for library in "$NUGET_PACKAGES"/torchsharp/*/runtimes/linux-x64/native/libLibTorchSharp.so; do
  [ -f "$library" ] || { echo "check-fresh-build: the build left the NuGet cache without $library" >&2; exit 1; }
done

sweep="$work/src/Cli/bin/Release/net10.0/sweep"
fixture="$repo/../shared/fixtures/stories260K"
if [ -d "$fixture" ]; then
  # A real forward pass: 20 greedy tokens of the stories260K fixture must equal the reference implementation's.
  got=$("$sweep" generate "$fixture" --tokens 20 --device cpu | head -n 1)
  want=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["ids"][:21], separators=(",", ":")))' "$fixture/expected_greedy.json")
  if [ "$got" != "$want" ]; then
    echo "check-fresh-build: sweep generate from the fresh build gave $got, expected $want" >&2
    exit 1
  fi
  echo "check-fresh-build: solution built with an empty NuGet cache in ${built}s; its sweep reproduces stories260K's greedy tokens"
elif [ "${CI:-}" = "true" ]; then
  echo "check-fresh-build: fixture missing under CI: $fixture" >&2
  exit 1
else
  # No fixture outside CI: a libtorch computation (CKA of a matrix with itself is 1) still proves the native library loads.
  /usr/bin/python3 -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).normal(size=(50, 8)))' "$work/a.npy"
  "$sweep" compare "$work/a.npy" "$work/a.npy" --metrics cka \
    | /usr/bin/python3 -c 'import json, sys; sys.exit(abs(json.load(sys.stdin)["metrics"]["cka_linear"]["value"] - 1) > 1e-9)' \
    || { echo "check-fresh-build: sweep compare from the fresh build failed" >&2; exit 1; }
  echo "check-fresh-build: solution built with an empty NuGet cache in ${built}s (stories260K fixture absent: forward pass skipped)"
fi
