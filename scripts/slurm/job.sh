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

run_stage() {
    local where="job ${SLURM_JOB_ID:-?}"
    [ -n "${SLURM_ARRAY_TASK_ID:-}" ] && where="job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (task $((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} + 1)) of ${SLURM_ARRAY_TASK_COUNT})"
    echo "== $(date -u +%FT%TZ) $where on $(hostname): $*" >&2
    "$@" &
    local child=$! status again
    # shellcheck disable=SC2064
    trap "echo '== USR1: asking the stage to stop at the next unit or step' >&2; kill -USR1 $child 2>/dev/null" USR1
    # shellcheck disable=SC2064
    trap "echo '== TERM: asking the stage to stop at the next unit or step' >&2; kill -TERM $child 2>/dev/null" TERM
    while :; do
        wait "$child"
        status=$?
        kill -0 "$child" 2>/dev/null || break
    done
    # A wait cut short by a trapped signal returns 128+n; the stage's own status is still to be had.
    wait "$child" 2>/dev/null
    again=$?
    [ "$again" -ne 127 ] && status=$again
    trap - USR1 TERM
    case "$status" in
        0) echo "== $(date -u +%FT%TZ) done" >&2 ;;
        75) echo "== $(date -u +%FT%TZ) stopped on request (exit 75): finished work is kept; resubmit to carry on" >&2 ;;
        *) echo "== $(date -u +%FT%TZ) failed with exit status $status" >&2 ;;
    esac
    return "$status"
}
