#!/usr/bin/env bash
# The test suite: installs what it needs, builds in release (numeric tests are slow in debug),
# runs every test. Exit status is the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
# JAM's programs re-execute themselves with better BLAS kernels when OpenBLAS falls back to its
# generic ones on this CPU (README, "Which BLAS kernels"); the test process cannot, and compares
# its own results with the programs' bit for bit. Give it the kernels the programs choose.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    core=$(.build/release/jam-bench gemm --size 64 --repetitions 1 | sed -n 's/^OpenBLAS core \([A-Za-z0-9_]*\) .*/\1/p')
    if [ -n "$core" ]; then
        echo "test: OPENBLAS_CORETYPE=$core (the kernels JAM's programs run on this CPU)" >&2
        export OPENBLAS_CORETYPE="$core"
    fi
fi
swift test -c release "$@"
