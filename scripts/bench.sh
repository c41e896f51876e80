#!/usr/bin/env bash
# Runs every benchmark in release mode and prints the figures docs/BENCHMARKS.md records.
# Each benchmark measures this machine's sgemm peak in the same process and reports against
# it. Set OPENBLAS_CORETYPE (e.g. Haswell, SkylakeX) to choose OpenBLAS's kernels; the
# output names the core that was loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product jam-bench
bench=.build/release/jam-bench
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
for b in gemm "decode --codec avi" "decode --codec mp4" vgg c3d lstm skinny; do
    echo
    echo "## jam-bench $b"
    $bench $b
done
