# Sourced by the stage job scripts in this folder (they are copied into Slurm's spool when they
# run, so they find this file through JAM_ROOT, which submit-pipeline.sh sets, or the folder
# sbatch was called from).
#
# run_stage COMMAND...: runs the stage in the background and waits for it. Slurm's warning
# before the time limit (`#SBATCH --signal=B:USR1@120`) reaches only this batch shell, and bash
# runs a trap only between commands, so the stage must not run in the foreground: the traps
# forward USR1 and TERM to it (to srun, which passes them on to its tasks). The stage then
# finishes its running unit or training step, keeps what is finished, and exits 75; the job
# exits with the stage's status, so the jobs that depend on it (afterok) do not start, and
# resubmitting the pipeline carries on.

JAM_ROOT=${JAM_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
JAM_BIN=${JAM_BIN:-$JAM_ROOT/.build/release}

# The traps are set when this file is sourced, so a signal that comes before the stage has
# started is passed on as soon as it has.
stage_pid="" stop_signal=""
forward_signal() {
    stop_signal=$1
    echo "== $1: asking the stage to stop at the next unit or step" >&2
    [ -n "$stage_pid" ] && kill -"$1" "$stage_pid" 2>/dev/null
    return 0
}
trap 'forward_signal USR1' USR1
trap 'forward_signal TERM' TERM

run_stage() {
    local where="job ${SLURM_JOB_ID:-?}" status folder wrapper
    [ -n "${SLURM_ARRAY_TASK_ID:-}" ] && where="job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (task $((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} + 1)) of ${SLURM_ARRAY_TASK_COUNT})"
    echo "== $(date -u +%FT%TZ) $where on $(hostname): $*" >&2
    # A small wrapper records the stage's exit status in a file: bash loses a child's status when
    # the child ends while a trap interrupts `wait` (scancel signals every process of the job at
    # once). The wrapper ignores the signals (after starting the stage, which keeps its own handlers).
    folder=$(mktemp -d)
    (
        "$@" &
        echo $! > "$folder/pid"
        trap '' USR1 TERM
        wait $!
        echo $? > "$folder/status"
    ) &
    wrapper=$!
    while [ ! -s "$folder/pid" ] && kill -0 "$wrapper" 2>/dev/null; do sleep 0.02; done
    stage_pid=$(cat "$folder/pid" 2>/dev/null || true)
    [ -n "$stop_signal" ] && [ -n "$stage_pid" ] && kill -"$stop_signal" "$stage_pid" 2>/dev/null
    while kill -0 "$wrapper" 2>/dev/null; do wait "$wrapper"; done
    status=$(cat "$folder/status" 2>/dev/null || echo 1)
    rm -rf "$folder"
    stage_pid=""
    case "$status" in
        0) echo "== $(date -u +%FT%TZ) done" >&2 ;;
        75) echo "== $(date -u +%FT%TZ) stopped on request (exit 75): finished work is kept; resubmit to carry on" >&2 ;;
        *) echo "== $(date -u +%FT%TZ) failed with exit status $status" >&2 ;;
    esac
    return "$status"
}
