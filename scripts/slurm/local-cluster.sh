#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the tests and for trying scripts/slurm/ on a laptop
# (not for production: no accounting, no cgroups, one node, state under a temporary folder).
#
#   bash scripts/slurm/local-cluster.sh start    # installs and starts munged, slurmctld, slurmd
#   bash scripts/slurm/local-cluster.sh status   # what runs, and sinfo
#   bash scripts/slurm/local-cluster.sh stop     # cancels its jobs, stops the daemons it started,
#                                                 # removes its state and /etc/slurm/slurm.conf
#
# Runs as root, without systemd: Debian's slurmctld, slurmd, slurm-client and munge are installed
# with apt-get when missing; munged runs as the munge user (it refuses root), the Slurm daemons as
# root. State, spool, pid and log files live under JAM_SLURM_STATE (default /tmp/jam-slurm). The
# clients (sbatch, squeue, srun) read /etc/slurm/slurm.conf, which is global, as are ports
# 6817/6818: one such cluster per machine. The slurm.conf written is the one measured to work here
# (docs: README "On a cluster"): PMIx for srun -n R, no scheduling delay for array tasks, and
# jobs whose dependency can no longer be met are cancelled instead of pending forever.
set -euo pipefail

state=${JAM_SLURM_STATE:-/tmp/jam-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by JAM's scripts/slurm/local-cluster.sh; removed by its stop"
timeout=${JAM_SLURM_START_TIMEOUT:-30}

die() { echo "local-cluster: $*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (the Slurm daemons and munged's user switch need it): sudo bash $0 $*"
}

install_packages() {
    local packages=(slurmctld slurmd slurm-client munge) missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "local-cluster: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed: the packages ${missing[*]} cannot be installed without a package mirror"
    local log
    log=$(mktemp)
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "apt-get install ${missing[*]} failed (its messages are above)"
    fi
    rm -f "$log"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_state() { timeout 5 sinfo -h -N -o %T 2>/dev/null | head -n 1; }

start() {
    require_root start
    if alive "$state/slurmctld.pid" && alive "$state/slurmd.pid"; then
        echo "local-cluster: already running (state in $state)"
        return 0
    fi
    if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
        die "$conf exists and was not written by this script: this machine has its own Slurm; use it, or move that file away"
    fi
    install_packages
    command -v slurmd >/dev/null || die "slurmd is not on PATH after installing the packages"
    mkdir -p "$state"/{spool,ctld,log,munge}

    # munge: the package made the key on install; make one if it is missing.
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
            || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    # munged refuses to run as root and wants folders only it can write.
    install -d -o munge -g munge -m 0755 /run/munge
    chown munge:munge "$state/munge"
    chmod 0700 "$state/munge"
    if ! alive "$state/munge/munged.pid"; then
        runuser -u munge -- /usr/sbin/munged --pid-file="$state/munge/munged.pid" \
            --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" </dev/null >/dev/null 2>&1 \
            || die "munged did not start; its log: $state/munge/munged.log"
    fi

    local host node
    host=$(hostname -s)
    node=$(slurmd -C | head -n 1)
    case "$node" in NodeName=*) ;; *) die "slurmd -C printed no NodeName line: $node" ;; esac
    mkdir -p "$(dirname "$conf")"
    cat > "$conf" <<EOF
$marker
# state: $state
ClusterName=jam-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
$node
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

    # Both fork into the background and write their pid files; -c: no state from an earlier run.
    # The daemons get none of this script's files: a caller reading its output to the end
    # (a test) would otherwise wait for them.
    alive "$state/slurmctld.pid" || slurmctld -c -f "$conf" </dev/null >>"$state/log/slurmctld.out" 2>&1 \
        || die "slurmctld did not start; its log: $state/log/slurmctld.log"
    alive "$state/slurmd.pid" || slurmd -c -f "$conf" </dev/null >>"$state/log/slurmd.out" 2>&1 \
        || die "slurmd did not start; its log: $state/log/slurmd.log"

    local waited=0 now
    while :; do
        now=$(node_state || true)
        case "$now" in idle*|mix*|alloc*) break ;; esac
        if [ "$waited" -ge $((timeout * 10)) ]; then
            echo "local-cluster: the node is not idle after ${timeout} s (sinfo says: '${now:-nothing}')." >&2
            for log in "$state/log/slurmctld.log" "$state/log/slurmd.log" "$state/munge/munged.log"; do
                [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 8 "$log" >&2; }
            done
            die "see the logs above ($state/log/), then: bash $0 stop"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "local-cluster: running ($host, $(echo "$node" | grep -o 'CPUs=[0-9]*'); state and logs in $state)"
}

stop() {
    require_root stop
    if alive "$state/slurmctld.pid"; then
        # Cancel what is queued or running, so no job step outlives its slurmd.
        local jobs
        jobs=$(timeout 5 squeue -h -o %A 2>/dev/null | sort -u || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 1 100); do
                [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
                sleep 0.1
            done
        fi
    fi
    local pidfile pid
    for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/munged.pid"; do
        alive "$pidfile" || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    if [ -f "$conf" ] && grep -qF "$marker" "$conf"; then rm -f "$conf"; fi
    rm -rf "$state"
    echo "local-cluster: stopped"
}

status() {
    local name pidfile
    for name in munged slurmctld slurmd; do
        pidfile="$state/$name.pid"
        [ "$name" = munged ] && pidfile="$state/munge/munged.pid"
        if alive "$pidfile"; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: not running"; fi
    done
    if alive "$state/slurmctld.pid"; then
        timeout 5 sinfo || true
        return 0
    fi
    return 3
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    -h|--help|help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "usage: bash $0 start|stop|status" >&2; exit 2 ;;
esac
