#!/usr/bin/env bash
# Command 1 of the README: install everything, write the demo models, run the default job (jobs.yaml)
# and write its report (the last line printed says where).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
./sweep demo models demo/models
./sweep run jobs.yaml
./sweep report
