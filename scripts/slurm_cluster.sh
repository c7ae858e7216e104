#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for testing SlurmBackend.
#
#   scripts/slurm_cluster.sh start [DIR]    # prints: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm_cluster.sh stop [DIR]
#   scripts/slurm_cluster.sh status [DIR]
#
# Needs root and Debian's slurm-wlm package (munged, slurmctld, slurmd, sbatch, ...).
# Everything lives in DIR (default: ${TMPDIR:-/tmp}/syne-dyhpo-slurm): a generated
# munge key and socket, slurm.conf, state, spool, logs and pid files. The daemons use
# non-default ports and never touch /etc/slurm or /etc/munge, so a real installation
# on the same host is left alone. The node advertises more CPUs than the host has
# (config_overrides), so several single-CPU test jobs run at once on a small machine.
set -euo pipefail

ACTION="${1:-}"
DIR="${2:-${TMPDIR:-/tmp}/syne-dyhpo-slurm}"
CTLD_PORT="${SLURM_TEST_CTLD_PORT:-16817}"
SLURMD_PORT="${SLURM_TEST_SLURMD_PORT:-16818}"
NODE_CPUS="${SLURM_TEST_NODE_CPUS:-4}"
START_TIMEOUT=60  # seconds until the node must be idle

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }

write_config() {
    local node mem
    node="$(hostname -s)"
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    cat >"$DIR/slurm.conf" <<EOF
ClusterName=syne-dyhpo-test
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmdPort=${SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${DIR}/munge/munge.socket
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool
SlurmctldPidFile=${DIR}/slurmctld.pid
SlurmdPidFile=${DIR}/slurmd.pid
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
KillWait=10
MinJobAge=300
InactiveLimit=0
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${NODE_CPUS} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {  # unless the one of an earlier start still runs
    local pid_file="$DIR/munge/munged.pid"
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null && return
    mkdir -p "$DIR/munge"
    chmod 755 "$DIR/munge"  # clients must reach the socket; the key stays 0600
    [[ -f "$DIR/munge/munge.key" ]] || mungekey --create --keyfile="$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
    munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed"
}

wait_for_idle_node() {
    local deadline=$(( SECONDS + START_TIMEOUT ))
    until [[ "$(sinfo --noheader --format=%T 2>/dev/null)" == idle* ]]; do
        (( SECONDS < deadline )) || die "node not idle after ${START_TIMEOUT}s; see $DIR/log"
        sleep 0.5
    done
}

is_running() {
    [[ -f "$DIR/slurmctld.pid" ]] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null
}

start() {
    [[ $EUID -eq 0 ]] || die "must run as root (the daemons run as root)"
    command -v slurmctld >/dev/null || die "slurmctld not found: apt-get install slurm-wlm"
    export SLURM_CONF="$DIR/slurm.conf"
    if is_running; then
        wait_for_idle_node
        echo "export SLURM_CONF=$SLURM_CONF"
        return
    fi
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    chmod 755 "$DIR"
    write_config
    start_munge
    slurmctld -i -f "$SLURM_CONF"   # -i: ignore state left by an earlier run
    slurmd -f "$SLURM_CONF"
    wait_for_idle_node
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop_pids() {  # TERM the daemons named by the pid files, KILL those alive after 10 s
    local pids=() pid_file pid
    for pid_file in "$@"; do
        [[ -f "$pid_file" ]] || continue
        pid="$(cat "$pid_file")"
        kill -0 "$pid" 2>/dev/null && kill "$pid" && pids+=("$pid")
        rm -f "$pid_file"
    done
    for _ in $(seq 100); do
        pid=""
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=""; done
        [[ -z "$pid" ]] && return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

drain_jobs() {  # cancel every job and wait until none is active, so no job step outlives slurmd
    is_running || return 0
    export SLURM_CONF="$DIR/slurm.conf"
    local ids deadline=$(( SECONDS + 30 ))
    ids="$(squeue --noheader --format=%i)" || return 0
    [[ -z "$ids" ]] || scancel $ids || true
    while [[ -n "$(squeue --noheader --format=%i)" ]] && (( SECONDS < deadline )); do
        sleep 0.5
    done
}

stop() {
    drain_jobs
    stop_pids "$DIR/slurmd.pid" "$DIR/slurmctld.pid"
    stop_pids "$DIR/munge/munged.pid"
}

case "$ACTION" in
    start) start ;;
    stop) stop ;;
    status) is_running && SLURM_CONF="$DIR/slurm.conf" sinfo || die "not running ($DIR)" ;;
    *) die "usage: $0 start|stop|status [DIR]" ;;
esac
