#!/usr/bin/env bash
# Submits the whole pipeline to Slurm as a chain of jobs and exits, printing each job's id:
#
#   jam-synth                  one task
#   jam-decode, jam-features   job arrays of --array-size tasks (task i does shard i/N), at most
#                              --throttle running at once
#   jam-c3d, jam-lstm          per round (every round of c3d.rounds): one MPI job of --ranks ranks
#   jam-eval                   one task
#
# Each job starts only when the one before it succeeded (--dependency=afterok, all tasks of an
# array) and is cancelled when that one failed (--kill-on-invalid-dep=yes). Resubmitting after a
# failure, a cancel or a time limit carries on from what is finished: every stage skips its
# finished units and resumes training from its checkpoint. A job warned of its time limit
# (--signal=B:USR1@120) stops at the next unit or training step and exits 75.
#
# Options (the first two go to every stage; a relative --config is relative to where you run this):
#   --config F        the pipeline config (default: the repository's pipeline.json)
#   --profile P       profiles of the config (e.g. paper)
#   --array-size N    tasks of the decode and features arrays (default 4)
#   --throttle K      at most K array tasks running at once (default: no limit)
#   --ranks R         MPI ranks of each jam-c3d and jam-lstm job (default 1)
#   --partition P     the Slurm partition (default: the cluster's default)
#   --logs DIR        where the jobs' output goes (default ./slurm-logs)
#   --sbatch OPT      an extra sbatch option for every job, e.g. --sbatch --time=12:00:00 (repeatable)
#
# JAM_BIN=folder uses built executables from that folder (default .build/release, built first
# when missing). The jobs run them from the shared file system, so build on it.
set -euo pipefail

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "submit-pipeline: $*" >&2; exit 2; }

stage_args=()
array_size=4 throttle="" ranks=1 partition="" logs="slurm-logs" extra=() config_given=no
while [ $# -gt 0 ]; do
    case "$1" in
        --config) [ $# -ge 2 ] || die "--config needs a file"; stage_args+=(--config "$(realpath -m -- "$2")"); config_given=yes; shift 2 ;;
        --config=*) stage_args+=(--config "$(realpath -m -- "${1#--config=}")"); config_given=yes; shift ;;
        --profile) [ $# -ge 2 ] || die "--profile needs a name"; stage_args+=(--profile "$2"); shift 2 ;;
        --profile=*) stage_args+=(--profile "${1#--profile=}"); shift ;;
        --array-size) array_size=${2:-}; shift 2 ;;
        --throttle) throttle=${2:-}; shift 2 ;;
        --ranks) ranks=${2:-}; shift 2 ;;
        --partition) partition=${2:-}; shift 2 ;;
        --logs) logs=${2:-}; shift 2 ;;
        --sbatch) extra+=("${2:-}"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
for pair in "array-size:$array_size" "ranks:$ranks" ${throttle:+"throttle:$throttle"}; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be a whole number of at least 1, got '${pair#*:}'"
done
logs=$(realpath -m -- "$logs")
if [ -n "${JAM_BIN:-}" ]; then JAM_BIN=$(realpath -m -- "$JAM_BIN"); fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
if [ "$config_given" = no ]; then stage_args=(--config "$repo/pipeline.json" "${stage_args[@]}"); fi

if [ -z "${JAM_BIN:-}" ]; then
    JAM_BIN=$repo/.build/release
    if [ ! -x "$JAM_BIN/jam-eval" ]; then
        bash scripts/setup.sh
        swift build -c release
    fi
fi
for tool in jam-config jam-synth jam-decode jam-features jam-c3d jam-lstm jam-eval; do
    [ -x "$JAM_BIN/$tool" ] || die "$JAM_BIN/$tool is missing: build with 'swift build -c release' (or set JAM_BIN to the folder that has it)"
done
command -v sbatch >/dev/null || die "sbatch is not on PATH: run this on a Slurm login node (or start one: bash scripts/slurm/local-cluster.sh start)"
rounds=$("$JAM_BIN/jam-config" get c3d.rounds "${stage_args[@]}")
mkdir -p "$logs"

common=(--parsable --kill-on-invalid-dep=yes --chdir="$repo" --export="ALL,JAM_ROOT=$repo,JAM_BIN=$JAM_BIN")
[ -n "$partition" ] && common+=(--partition="$partition")
common+=(${extra[@]+"${extra[@]}"})
array="0-$((array_size - 1))${throttle:+%$throttle}"

previous=""
# submit NAME SCRIPT [sbatch options] -- [stage arguments]: prints "NAME ID" and sets previous.
submit() {
    local name=$1 script=$2 options=() output id
    shift 2
    while [ "$1" != -- ]; do options+=("$1"); shift; done
    shift
    local log="$logs/%x-%j.out"
    for option in ${options[@]+"${options[@]}"}; do [[ "$option" == --array=* ]] && log="$logs/%x-%A_%a.out"; done
    [ -n "$previous" ] && options+=(--dependency="afterok:$previous")
    output=$(sbatch "${common[@]}" --output="$log" ${options[@]+"${options[@]}"} "scripts/slurm/$script" "$@") \
        || die "sbatch of $name failed (the jobs above are queued; cancel them with scancel if you do not want them)"
    id=${output%%;*}
    echo "$name $id"
    previous=$id
}

submit jam-synth synth.sbatch -- "${stage_args[@]}"
submit jam-decode decode.sbatch --array="$array" -- "${stage_args[@]}"
submit jam-features features.sbatch --array="$array" -- "${stage_args[@]}"
for round in $(seq 1 "$rounds"); do
    submit "jam-c3d-r$round" c3d.sbatch --ntasks="$ranks" --job-name="jam-c3d-r$round" -- --round "$round" "${stage_args[@]}"
    submit "jam-lstm-r$round" lstm.sbatch --ntasks="$ranks" --job-name="jam-lstm-r$round" -- --round "$round" "${stage_args[@]}"
done
submit jam-eval eval.sbatch -- "${stage_args[@]}"
echo "submitted; watch with: squeue --me   (logs in $logs)" >&2
