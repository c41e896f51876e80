#!/usr/bin/env bash
# Disk use of the pipeline's artifacts (docs/BENCHMARKS.md, "Disk"): bytes per frame of every
# artifact folder under ARTIFACTS (default data/artifacts), then, with --filters, what HDF5's
# deflate (with and without the byte shuffle) and float16 would make of a sample of the features
# and cubes, with the CPU cost of writing and reading them.
#
#   bash scripts/disk-usage.sh [ARTIFACTS] [--filters] [--sample N] [--levels 1,4,9]
#
# JAM_BIN=folder uses already-built executables from that folder instead of building.
set -euo pipefail
folder=data/artifacts
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then folder=$(realpath -m -- "$1"); shift; fi
if [ -n "${JAM_BIN:-}" ]; then JAM_BIN=$(realpath -m -- "$JAM_BIN"); fi
case "$folder" in /*) ;; *) folder="$PWD/$folder" ;; esac
cd "$(dirname "$0")/.."
if [ -z "${JAM_BIN:-}" ]; then
    swift build -c release --product jam-bench >&2
    JAM_BIN=.build/release
fi
"$JAM_BIN/jam-bench" disk --artifacts "$folder" "$@"
