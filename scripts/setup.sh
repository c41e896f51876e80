#!/usr/bin/env bash
# Installs the Debian packages JAM builds and tests against, when they are missing.
# Does nothing (and needs no network) when they are all present.
set -euo pipefail

packages=(
    pkg-config
    libhdf5-dev hdf5-tools
    libopenblas-dev
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
    ffmpeg  # the CLI: reference decoder in the tests and the decode benchmark
    time    # GNU time: wall time and peak memory per stage in scripts/paper-smoke.sh
    libopenmpi-dev openmpi-bin  # MPI data-parallel training (mpirun / srun -n R)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
