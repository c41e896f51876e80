#!/usr/bin/env bash
# The paper's model end to end on a tiny synthetic dataset: the `paper` profile exactly (S = 384,
# 3D convnets 256/256/512 with spatially valid conv1 → an 11×11 grid, clips of 30 every 15, a
# 3-layer 1024-unit joint LSTM, late fusion, joint attention, pyramid, λ = 1000, 2 rounds),
# composed with a `smoke` profile that only swaps the data (2 classes × 3 videos of 40 frames,
# random VGG16 weights) and trains 1 epoch. Every stage runs through the same executables as a
# user's run; the script prints each stage's wall time and peak memory as a Markdown table.
#
#   bash scripts/paper-smoke.sh [--out DIR] [--project]
#
# --out DIR   where the config, dataset and artifacts go (default: a new temporary folder, removed
#             at the end; a given DIR is kept, and a rerun there resumes like any pipeline run).
# --project   also prints `jam-config estimate` for the paper profile on UCF101 (13 320 videos of
#             ≈ 186 frames, 101 classes): hours per stage on this machine and disk per artifact.
# JAM_BIN=folder uses already-built executables (the test suite does); otherwise it builds.
set -euo pipefail

out="" project=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$(realpath -m -- "$2"); shift 2 ;;
        --project) project=1; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "paper-smoke.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "${JAM_BIN:-}" ]; then JAM_BIN=$(realpath -m -- "$JAM_BIN"); fi
cd "$(dirname "$0")/.."
repo=$(pwd)
if [ -z "${JAM_BIN:-}" ]; then
    bash scripts/setup.sh
    swift build -c release
    JAM_BIN=$repo/.build/release
fi
[ -x /usr/bin/time ] || { echo "paper-smoke.sh: /usr/bin/time (Debian package 'time') is missing; run bash scripts/setup.sh" >&2; exit 1; }
if [ -z "$out" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

# The base is the data; `paper` (from the repository's pipeline.json) sets the model; `smoke`
# puts the data back over `paper`'s UCF101 and shortens training. --profile paper,smoke.
cat > "$out/smoke.json" <<EOF
{
  "include": "$repo/pipeline.json",
  "artifacts_root": "artifacts",
  "dataset": { "name": "paper-smoke", "format": "ucf101", "root": "synth", "splits": [1], "synthetic": true },
  "synth": { "seed": 11, "classes": 2, "videos_per_class": 3, "frames": 40, "width": 160, "height": 120 },
  "profiles": {
    "smoke": {
      "dataset": { "name": "paper-smoke", "format": "ucf101", "root": "synth", "splits": [1], "synthetic": true },
      "features": { "weights": null },
      "c3d": { "epochs": 1, "checkpoint_every": 0 },
      "lstm": { "epochs": 1, "checkpoint_every": 0 }
    }
  }
}
EOF

args=(--config "$out/smoke.json" --profile paper,smoke)
rounds=$("$JAM_BIN/jam-config" get c3d.rounds "${args[@]}")
rows=()
run() {
    local name="$1"; shift
    echo "== $name" >&2
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$JAM_BIN/$@" "${args[@]}"
    read -r seconds kb < <(tail -n 1 "$out/time.txt")
    rows+=("| \`$name\` | $seconds | $((kb / 1024)) |")
}
run jam-synth jam-synth
run jam-decode jam-decode
run jam-features jam-features
for round in $(seq 1 "$rounds"); do
    run "jam-c3d --round $round" jam-c3d --round "$round"
    run "jam-lstm --round $round" jam-lstm --round "$round"
done
run jam-eval jam-eval

echo
echo "paper-shape smoke run, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| stage | wall s | peak MB |"
echo "|---|---:|---:|"
printf '%s\n' "${rows[@]}"
if [ "$project" = 1 ]; then
    echo
    "$JAM_BIN/jam-config" estimate --config "$repo/pipeline.json" --profile paper --videos 13320 --frames 186 --classes 101
fi
