#!/usr/bin/env bash
# Data-parallel training against threads on this machine (issue 10): for a jam-c3d and a
# jam-lstm training step, 2 MPI ranks × 1 BLAS thread (each rank half of the global batch, one
# fixed-order gradient all-reduce per step) against 1 process × 2 threads (the whole batch),
# printing both step times, their ratio (target ≥ 0.9) and the all-reduce time per step, with
# the sgemm peak for scale. Alternates the two runs ROUNDS times so load changes hit both.
#
#   scripts/bench-mpi.sh              # default shapes only
#   PAPER=1 scripts/bench-mpi.sh      # also the paper's shapes (seconds per step)
#   ROUNDS=3 STEPS=5 scripts/bench-mpi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mpirun >/dev/null || { echo "mpirun not found: run scripts/setup.sh (installs openmpi-bin libopenmpi-dev)" >&2; exit 1; }
swift build -c release --product jam-bench
bench=.build/release/jam-bench
rounds=${ROUNDS:-2}
steps=${STEPS:-5}
paper=()
[[ "${PAPER:-0}" == 1 ]] || paper=(--skip-paper)
mpi=(mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to none)
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## sgemm peak"
$bench gemm --threads 1 --repetitions 3 | tail -1
$bench gemm --threads 2 --repetitions 3 | tail -1
echo
echo "## gradient all-reduce, 2 ranks (1 M floats ≈ a default-shape model; see the step lines for the real sizes)"
"${mpi[@]}" $bench allreduce --count 1000000 --repetitions 10

for model in c3d lstm; do
    for ((r = 1; r <= rounds; r++)); do
        echo
        echo "## jam-bench $model, round $r: 1 process × 2 threads"
        one=$($bench $model --threads 2 --steps "$steps" "${paper[@]}")
        echo "$one"
        echo "## jam-bench $model, round $r: 2 ranks × 1 thread"
        two=$("${mpi[@]}" $bench $model --threads 1 --steps "$steps" "${paper[@]}")
        echo "$two"
        # Ratio of throughputs = (1-process s/step) / (2-rank s/step), per shape, in print order.
        if [[ $model == c3d ]]; then
            a=$(grep -o '[0-9.]* s/step, ' <<<"$one" | awk '{print $1}')
            b=$(grep -o 'global batch [0-9]*: [0-9.]* s/step' <<<"$two" | awk '{print $4}')
        else
            a=$(grep -o '(median [0-9.]*)' <<<"$one" | tr -d '()' | awk '{print $2}')
            b=$(grep -o 'batch [0-9]*: [0-9.]* s/step median' <<<"$two" | awk '{print $3}')
        fi
        paste <(echo "$a") <(echo "$b") | awk '{ if ($2 > 0) printf "ratio (2 ranks × 1 thread vs 1 × 2 threads, throughput): %.2f  (%.3f s vs %.3f s per step)\n", $1 / $2, $2, $1 }'
    done
done
