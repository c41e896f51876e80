#!/usr/bin/env bash
# The test suite: installs what it needs, builds in release (numeric tests are slow in debug),
# runs every test. Exit status is the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
swift test -c release "$@"
