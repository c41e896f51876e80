#!/usr/bin/env bash
# Runs every stage of the pipeline in order on a config (default: ./pipeline.json, the
# embedded synthetic default): synth, decode, features, then c3d.rounds rounds of
# jam-c3d → jam-lstm (docs/DESIGN.md §5), then jam-eval, which prints the accuracy table. Each stage
# skips what is already done, so rerunning after an interruption finishes the work.
# Arguments (e.g. --config my.json --profile paper) go to every stage; a relative --config is
# relative to the folder the script is run from, as the user typed it.
#
# JAM_BIN=folder uses already-built executables from that folder and skips setup and build
# (the end-to-end test runs the script this way).
set -euo pipefail

# Resolve the paths the user gave before changing to the repository.
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --config) args+=("$1"); shift; if [ $# -gt 0 ]; then args+=("$(realpath -m -- "$1")"); shift; fi ;;
        --config=*) args+=("--config=$(realpath -m -- "${1#--config=}")"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done
set -- ${args[@]+"${args[@]}"}
if [ -n "${JAM_BIN:-}" ]; then JAM_BIN=$(realpath -m -- "$JAM_BIN"); fi
cd "$(dirname "$0")/.."
if [ -z "${JAM_BIN:-}" ]; then
    bash scripts/setup.sh
    swift build -c release
    JAM_BIN=.build/release
fi

stage() {
    echo "== $*" >&2
    "$JAM_BIN/$@"
}

rounds=$("$JAM_BIN/jam-config" get c3d.rounds "$@")
stage jam-synth "$@"
stage jam-decode "$@"
stage jam-features "$@"
for round in $(seq 1 "$rounds"); do
    stage jam-c3d --round "$round" "$@"
    stage jam-lstm --round "$round" "$@"
done
stage jam-eval "$@"
