#!/usr/bin/env bash
# Shards against threads for jam-features (issue 10): the same videos as 1 process × 2 threads
# and as 2 shards × 1 thread running at once, alternated twice, on a fixed synthetic dataset.
# Prints frames/s of each run, the ratio shards/threads (target >= 0.95), and the sgemm peak
# measured beside them. Run it on an idle machine: figures taken under load mislead.
#
#   bash scripts/bench-shards.sh            # 6 classes x 3 videos x 24 frames at S = 224
#   VIDEOS=4 FRAMES=48 SIZE=384 bash scripts/bench-shards.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for product in jam-synth jam-decode jam-features jam-bench; do swift build -c release --product $product >/dev/null; done
bin=$PWD/.build/release
videos=${VIDEOS:-3} frames=${FRAMES:-24} size=${SIZE:-224}
work=$(mktemp -d /tmp/jam-bench-shards.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/pipeline.json" <<EOF
{
  "artifacts_root": "artifacts",
  "dataset": { "name": "bench", "format": "ucf101", "root": "synth", "splits": [1], "synthetic": true },
  "synth": { "seed": 7, "classes": 6, "videos_per_class": $videos, "frames": $frames,
             "width": 320, "height": 240, "fps": 25, "container": "avi" },
  "decode": { "size": $size, "resize": "stretch", "every": 1, "max_frames": 0, "threads": 2 },
  "features": { "weights": null, "init_seed": 3, "batch": 4, "storage": "float32", "threads": 2 }
}
EOF
cd "$work"
for stage in jam-synth jam-decode; do
    "$bin/$stage" --config pipeline.json >/dev/null 2>setup.log || { cat setup.log >&2; exit 1; }
done
total=$((6 * videos * frames))
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# jam-features on $((6 * videos)) videos, $total frames at S = $size"

calc() { awk "BEGIN { print $1 }"; }
features() { find artifacts/bench/features -name '*.h5' 2>/dev/null | wc -l; }
# Seconds of one run (wall clock), after removing the features so that every unit is redone.
one_process() {
    rm -rf artifacts/bench/features
    local start=$(date +%s.%N)
    "$bin/jam-features" --config pipeline.json --threads 2 >/dev/null 2>&1
    calc "$(date +%s.%N) - $start"
}
two_shards() {
    rm -rf artifacts/bench/features
    local start=$(date +%s.%N)
    "$bin/jam-features" --config pipeline.json --threads 1 --shard 0/2 >/dev/null 2>&1 &
    local a=$!
    "$bin/jam-features" --config pipeline.json --threads 1 --shard 1/2 >/dev/null 2>&1 &
    local b=$!
    wait $a
    wait $b
    calc "$(date +%s.%N) - $start"
}

declare -a threads shards
for round in 1 2; do
    t=$(one_process); [ "$(features)" -eq $((6 * videos)) ] || { echo "1 process x 2 threads left $(features) features" >&2; exit 1; }
    s=$(two_shards); [ "$(features)" -eq $((6 * videos)) ] || { echo "2 shards left $(features) features" >&2; exit 1; }
    threads+=("$t") shards+=("$s")
    printf 'round %d: 1 process x 2 threads %6.2f frames/s (%.1f s); 2 shards x 1 thread %6.2f frames/s (%.1f s); ratio %.3f\n' \
        "$round" "$(calc "$total / $t")" "$t" "$(calc "$total / $s")" "$s" "$(calc "$t / $s")"
done
t=$(calc "${threads[0]} + ${threads[1]}") s=$(calc "${shards[0]} + ${shards[1]}")
printf 'both rounds: 2 threads %.2f frames/s, 2 shards %.2f frames/s, shards/threads %.3f (target >= 0.95)\n' \
    "$(calc "2 * $total / $t")" "$(calc "2 * $total / $s")" "$(calc "$t / $s")"
echo
echo "## jam-bench gemm (the peak beside these figures)"
"$bin/jam-bench" gemm
