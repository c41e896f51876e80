#!/usr/bin/env bash
# Runs every stage of the pipeline in order on a config (default: ./pipeline.json, the
# embedded synthetic default). Each stage skips what is already done, so rerunning after an
# interruption finishes the work. Extra arguments (e.g. --profile paper) go to every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
bin=.build/release

stage() {
    echo "== $*" >&2
    "$bin/$@"
}

stage jam-synth "$@"
stage jam-decode "$@"
stage jam-features "$@"
