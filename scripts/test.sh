#!/usr/bin/env bash
# Command 2 of the README (and CI's): install everything, build, run every test project.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
# The fresh-machine path: a build with an empty NuGet cache, then a forward pass with what it built.
bash scripts/check-fresh-build.sh || exit 1

log=$(mktemp)
dotnet test Sweep.sln -c Release --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed! - Failed: F, Passed: P, Skipped: S, Total: T" line per test
# assembly; add them up into one closing line.
awk -F'[:,]' '/(Passed|Failed)! +- +Failed:/ { f += $2; p += $4; s += $6; n++ }
  END { if (n == 0) { print "no test assemblies ran"; exit 1 } printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log" || status=1
rm -f "$log"
exit "$status"
