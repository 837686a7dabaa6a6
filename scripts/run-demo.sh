#!/usr/bin/env bash
# Command 1 of the README: install everything, write the demo models, run the default job (jobs.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
./sweep demo models demo/models
./sweep run jobs.yaml
