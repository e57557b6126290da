#!/usr/bin/env bash
# Installs everything clip-nad and its test suite need on a fresh Debian/Ubuntu machine:
# Debian packages (headless Jupyter for notebook tests, the classic Notebook for the front-end test, Chromium for
# figure export and browser tests, Slurm + munge for the job-array test)
# and the npm dependencies (onnxruntime-node without its CUDA download).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive ONNXRUNTIME_NODE_INSTALL=skip
APT_PACKAGES="jupyter-nbconvert python3-nbclient jupyter-client python3-jupyter-server jupyter-notebook chromium"
APT_PACKAGES="$APT_PACKAGES fonts-dejavu-core slurm-wlm munge python3-yaml"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
