#!/usr/bin/env bash
# Apache Kafka 4.x (KRaft, no ZooKeeper) on loopback, for tests: one broker+controller node by
# default, or a cluster of three combined broker+controller nodes with KAFKA_NODES=3.
#
#   tests/services/kafka.sh start     install if needed, start on a fresh data dir, wait until
#                                     it answers; prints exactly `KAFKA_BROKERS=127.0.0.1:PORT`
#                                     (KAFKA_NODES=3: `KAFKA_BROKERS=127.0.0.1:P1,127.0.0.1:P2,...`)
#   tests/services/kafka.sh stop      SIGTERM, up to 20 s, then SIGKILL; exit 0 if not running
#   tests/services/kafka.sh kill      SIGKILL at once (a crash), keeping the data
#   tests/services/kafka.sh resume    start again on the data of the last start (after stop/kill)
#   tests/services/kafka.sh status    exit 0 if running and answering API calls
#   tests/services/kafka.sh logs [N]  broker log path and its last lines (KAFKA_LOG_LINES, 80)
#   tests/services/kafka.sh kill-node N    cluster only: SIGKILL node N (1..3), keeping its data
#   tests/services/kafka.sh resume-node N  cluster only: restart node N on its data, wait until
#                                          it answers and sees every running node
#   tests/services/kafka.sh run-class MAIN [ARGS...]
#                                     run a Kafka main class (CLI tools) on the same classpath,
#                                     e.g. org.apache.kafka.tools.TopicCommand --list ...
#
# Cluster mode (KAFKA_NODES=3 at `start`; later commands read the mode from the run's kafka.env):
# node i (1..3) has node.id i, broker port KAFKA_PORT+2(i-1), controller port
# KAFKA_CONTROLLER_PORT+2(i-1) (defaults: 19092/19094/19096 and 19093/19095/19097), a 3-voter
# controller quorum, replication factor 3 and min.insync.replicas 2. stop/kill/resume/status/logs
# act on every node.
#
# Jars come from Maven Central through `mvn` (tests/services/kafka/pom.xml) and are cached in
# ${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}/kafka-<version>/libs; the running
# broker lives in .../run/kafka (wiped by every `start`). See docs/testing.md.
#
# Environment: KAFKA_VERSION (default 4.3.1), KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
# KAFKA_NODES (1, or 3 for the cluster), KAFKA_TOOLS (1: also install kafka-tools; 0 for
# versions without it, e.g. 4.4.0), KAFKA_HEAP_OPTS (per node; -Xmx512m -Xms256m, cluster
# -Xmx384m -Xms192m), KAFKA_START_TIMEOUT (90 s), JAVA_HOME, REVOKE_SERVICES_DIR.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/services/lib.sh
source "$SCRIPT_DIR/lib.sh"
ASSETS_DIR="$SCRIPT_DIR/kafka"

KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
KAFKA_TOOLS="${KAFKA_TOOLS:-1}"
LOG4J_VERSION="2.26.1"
SLF4J_VERSION="2.0.17"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
# Number of nodes for `start`; the other commands take it from the run's kafka.env.
NODES="${KAFKA_NODES:-1}"
# Per node; the default depends on the mode (see heap_opts).
HEAP_OPTS_ENV="${KAFKA_HEAP_OPTS:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

RUN_DIR="$SERVICES_DIR/run/kafka"
STATE_FILE="$RUN_DIR/kafka.env"
# Marker on the broker's command line, so we never signal a process that is not ours.
MARKER="-Drevoke.service=kafka"

set_install_dirs() {
    if [[ "$KAFKA_TOOLS" == 1 ]]; then
        INSTALL_DIR="$SERVICES_DIR/kafka-$KAFKA_VERSION"
    else
        INSTALL_DIR="$SERVICES_DIR/kafka-$KAFKA_VERSION-notools"
    fi
    LIBS_DIR="$INSTALL_DIR/libs"
    PROBE_DIR="$INSTALL_DIR/probe"
}
set_install_dirs

# node_vars N: ports and files of node N. N=0 is the single-node layout (files directly in the
# run dir, as always); cluster node i (1..NODES) lives in $RUN_DIR/node<i> and listens on
# KAFKA_PORT+2(i-1) (broker) and KAFKA_CONTROLLER_PORT+2(i-1) (controller).
node_vars() {
    local n="$1"
    if ((n == 0)); then
        NODE_ID=1
        NODE_DIR="$RUN_DIR"
        BROKER_PORT="$KAFKA_PORT"
        CTRL_PORT="$KAFKA_CONTROLLER_PORT"
    else
        NODE_ID="$n"
        NODE_DIR="$RUN_DIR/node$n"
        BROKER_PORT=$((KAFKA_PORT + 2 * (n - 1)))
        CTRL_PORT=$((KAFKA_CONTROLLER_PORT + 2 * (n - 1)))
    fi
    DATA_DIR="$NODE_DIR/data"
    LOG_DIR="$NODE_DIR/logs"
    LOG_FILE="$LOG_DIR/server.log"
    OUT_FILE="$LOG_DIR/kafka.out"
    PID_FILE="$NODE_DIR/kafka.pid"
    CONFIG_FILE="$NODE_DIR/server.properties"
}

# The nodes of the current mode: "0" for the single node, "1 2 3" for the cluster.
node_list() {
    if ((NODES == 1)); then echo 0; else seq 1 "$NODES"; fi
}

node_name() {
    if (($1 == 0)); then echo broker; else echo "node $1"; fi
}

brokers_list() {
    local n out=""
    for n in $(node_list); do
        node_vars "$n"
        out+="${out:+,}$HOST:$BROKER_PORT"
    done
    echo "$out"
}

heap_opts() {
    if [[ -n "$HEAP_OPTS_ENV" ]]; then
        echo "$HEAP_OPTS_ENV"
    elif ((NODES > 1)); then
        echo "-Xmx384m -Xms192m"
    else
        echo "-Xmx512m -Xms256m"
    fi
}

say() { log "$*"; }
die() { say "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

check_settings() {
    [[ "$NODES" == 1 || "$NODES" == 3 ]] || die "KAFKA_NODES must be 1 or 3 (got '$NODES')"
    [[ "$KAFKA_PORT" =~ ^[0-9]+$ && "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] ||
        die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must be numbers"
    [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
    ((NODES == 1)) && return 0
    local n seen=" "
    for n in $(node_list); do
        node_vars "$n"
        ((BROKER_PORT <= 65535 && CTRL_PORT <= 65535)) || die "ports of node $n are above 65535"
        [[ "$seen" != *" $BROKER_PORT "* && "$seen" != *" $CTRL_PORT "* ]] ||
            die "cluster ports overlap (brokers KAFKA_PORT+0,2,4, controllers KAFKA_CONTROLLER_PORT+0,2,4); e.g. KAFKA_CONTROLLER_PORT=KAFKA_PORT+1"
        seen+="$BROKER_PORT $CTRL_PORT "
    done
}

# For commands that act on an existing run: the mode, ports and install come from its kafka.env.
load_state() {
    [[ -f "$STATE_FILE" ]] || return 0
    local v
    v="$(sed -n 's/^KAFKA_NODES=//p' "$STATE_FILE" 2>/dev/null || true)"
    NODES="${v:-1}" # a single-node run does not write KAFKA_NODES
    v="$(sed -n 's/^KAFKA_PORT=//p' "$STATE_FILE" 2>/dev/null || true)"
    [[ -z "$v" ]] || KAFKA_PORT="$v"
    v="$(sed -n 's/^KAFKA_CONTROLLER_PORT=//p' "$STATE_FILE" 2>/dev/null || true)"
    [[ -z "$v" ]] || KAFKA_CONTROLLER_PORT="$v"
    v="$(sed -n 's/^KAFKA_VERSION=//p' "$STATE_FILE" 2>/dev/null || true)"
    [[ -z "$v" ]] || KAFKA_VERSION="$v"
    v="$(sed -n 's/^KAFKA_TOOLS=//p' "$STATE_FILE" 2>/dev/null || true)"
    [[ -z "$v" ]] || KAFKA_TOOLS="$v"
    set_install_dirs
}

# Finding Java and installing the jars: find_java, find_javac, install_key, installed, install.
# shellcheck source=tests/services/kafka/install.sh
source "$ASSETS_DIR/install.sh"

# ---------------------------------------------------------------------------------------------
# process helpers

read_pid() { # pid from $PID_FILE (of the node selected by node_vars)
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    echo "$pid"
}

# True if $1 is alive and is our broker (marker and kafka.Kafka on its command line).
is_our_broker() {
    local pid="$1" cmd
    [[ -r "/proc/$pid/cmdline" ]] || { kill -0 "$pid" 2>/dev/null || return 1; }
    if [[ -r "/proc/$pid/cmdline" ]]; then
        cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        [[ "$cmd" == *"$MARKER"* && "$cmd" == *kafka.Kafka* ]]
    else
        ps -p "$pid" -o args= 2>/dev/null | grep -q -- "$MARKER"
    fi
}

running_pid() { # pid of the node selected by node_vars, if it is running
    local pid
    pid="$(read_pid)" || return 1
    is_our_broker "$pid" || return 1
    echo "$pid"
}

# Every pid file of this run dir, whatever the mode of the last start (single node or cluster).
all_pid_files() {
    local f
    for f in "$RUN_DIR/kafka.pid" "$RUN_DIR"/node*/kafka.pid; do
        [[ -f "$f" ]] && echo "$f"
    done
    return 0
}

# "PIDFILE PID" for every process of this run dir that is running and ours.
running_all() {
    local f pid
    for f in $(all_pid_files); do
        pid="$(cat "$f" 2>/dev/null || true)"
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        is_our_broker "$pid" && echo "$f $pid"
    done
    return 0
}

port_in_use() {
    # A successful connect means something already listens there.
    (exec 5<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

classpath() { echo "$LIBS_DIR/*"; }

probe() { # probe HOST:PORT -> 0 if the broker answers Metadata + ListTopics
    timeout 30 "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        "-Dlog4j2.configurationFile=$ASSETS_DIR/tools-log4j2.xml" \
        -cp "$PROBE_DIR:$(classpath)" KafkaProbe "$1" 5000
}

# probe_live HOST:PORT EXPECTED: the broker answers and reports EXPECTED live (unfenced) brokers
# (the probe prints `probe: ok cluster=ID nodes=N topics=T` on stderr). Output goes to stderr.
probe_live() {
    local out rc=0
    out="$(probe "$1" 2>&1)" || rc=$?
    printf '%s\n' "$out" >&2
    ((rc == 0)) || return 1
    [[ "$out" == *" nodes=$2 "* ]] || { echo "probe: want $2 live brokers" >&2; return 1; }
}

# signal_and_wait SIGNAL TIMEOUT_TENTHS PID...: send SIGNAL to every pid, wait until all are gone
# or the time is up; prints the pids still alive.
signal_and_wait() {
    local sig="$1" tenths="$2" pid i alive
    shift 2
    for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
    for ((i = 0; i < tenths; i++)); do
        alive=()
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        ((${#alive[@]} > 0)) || return 0
        sleep 0.1
    done
    echo "${alive[*]}"
}

# ---------------------------------------------------------------------------------------------
# commands

# Stops every broker of this run dir (single node or all cluster nodes) with SIGTERM, all at
# once (in a cluster, the brokers' controlled shutdowns then still find a controller quorum).
stop_broker() {
    local entries f pid pids=()
    entries="$(running_all)"
    while read -r f pid; do
        [[ -n "$f" ]] || continue
        pids+=("$pid")
    done <<<"$entries"
    if ((${#pids[@]} == 0)); then
        for f in $(all_pid_files); do rm -f "$f"; done
        say "not running"
        return 0
    fi
    if ((${#pids[@]} == 1)); then
        say "stopping broker (pid ${pids[0]}) ..."
    else
        say "stopping ${#pids[@]} nodes (pids ${pids[*]}) ..."
    fi
    local left
    left="$(signal_and_wait TERM 200 "${pids[@]}")" # 20 s
    if [[ -n "$left" ]]; then
        say "still alive after 20 s, sending SIGKILL to $left"
        # shellcheck disable=SC2086 # a list of pids
        signal_and_wait KILL 50 $left >/dev/null
    fi
    for f in $(all_pid_files); do rm -f "$f"; done
    say "stopped"
}

# Processes started by this invocation (for fail_start), as node numbers and pids.
STARTED_NODES=()
STARTED_PIDS=()

fail_start() {
    say "error: $*"
    local lines=80 n pid
    ((NODES == 1)) || lines=40
    for n in ${STARTED_NODES[@]+"${STARTED_NODES[@]}"}; do
        node_vars "$n"
        if [[ -f "$LOG_FILE" ]]; then
            say "last $lines lines of $LOG_FILE:"
            tail -n "$lines" "$LOG_FILE" >&2
        fi
        if [[ -s "$OUT_FILE" ]]; then
            say "last 40 lines of $OUT_FILE (JVM stdout/stderr):"
            tail -n 40 "$OUT_FILE" >&2
        fi
    done
    for n in ${STARTED_NODES[@]+"${STARTED_NODES[@]}"}; do
        node_vars "$n"
        if pid="$(running_pid)"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$PID_FILE"
    done
    exit 1
}

# Fails the start if a process started by this invocation has exited.
check_started() {
    local i
    for i in "${!STARTED_PIDS[@]}"; do
        kill -0 "${STARTED_PIDS[$i]}" 2>/dev/null ||
            fail_start "$(node_name "${STARTED_NODES[$i]}") exited during startup"
    done
}

# The listener lines of a node: $1 its broker port, $2 its controller port.
listener_config() {
    cat <<EOC
listeners=PLAINTEXT://$HOST:$1,CONTROLLER://$HOST:$2
advertised.listeners=PLAINTEXT://$HOST:$1
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR
EOC
}

# What every node of a test cluster sets, whatever its size.
test_tuning_config() {
    cat <<'EOC'
# Tests: no 3 s wait before the first consumer-group rebalance.
group.initial.rebalance.delay.ms=0
# Tests create their topics explicitly; a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=6
EOC
}

write_config() { # for the node selected by node_vars
    if ((NODES == 1)); then
        {
            cat <<EOC
# Generated by tests/services/kafka.sh -- single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
EOC
            listener_config "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
            cat <<EOC
# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOC
            test_tuning_config
        } >"$CONFIG_FILE"
        return 0
    fi
    local n bootstrap=""
    for ((n = 1; n <= NODES; n++)); do
        bootstrap+="${bootstrap:+,}$HOST:$((KAFKA_CONTROLLER_PORT + 2 * (n - 1)))"
    done
    {
        cat <<EOC
# Generated by tests/services/kafka.sh -- node $NODE_ID of a $NODES-node KRaft cluster for tests
# (every node is broker and controller; the controller quorum has $NODES voters).
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.bootstrap.servers=$bootstrap
EOC
        listener_config "$BROKER_PORT" "$CTRL_PORT"
        cat <<EOC
# Every partition on all three nodes; an acks=all write needs two in-sync replicas, so the
# cluster keeps accepting writes with one node down.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
EOC
        test_tuning_config
    } >"$CONFIG_FILE"
}

# Kafka cluster ids are 16 random bytes, URL-safe base64 without padding (what
# `StorageTool random-uuid` prints); done in bash to save a JVM start. Like Kafka's
# Uuid.randomUuid(), avoid a leading '-' (it would parse as a CLI flag). Directory ids
# (for --initial-controllers) are the same kind of Uuid.
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ ${#id} -eq 22 && "$id" != -* && "$id" != AAAAAAAAAAAAAAAAAAAAA[AB] ]] && break
    done
    echo "$id"
}

jvm_common() { # JVM flags shared by the broker and StorageTool, for the node selected by node_vars
    JVM_COMMON=(-Djava.awt.headless=true "-Dkafka.logs.dir=$LOG_DIR"
        "-Dlog4j2.configurationFile=$ASSETS_DIR/log4j2.xml")
}

# Writes the configs and formats the storage of every node (fresh start).
format_nodes() {
    local cluster_id n
    cluster_id="$(random_cluster_id)"
    if ((NODES == 1)); then
        node_vars 0
        mkdir -p "$DATA_DIR" "$LOG_DIR"
        write_config
        jvm_common
        say "formatting $DATA_DIR (cluster id $cluster_id) ..."
        if ! "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${JVM_COMMON[@]}" \
            -cp "$(classpath)" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" --standalone \
            >"$LOG_DIR/format.log" 2>&1; then
            cat "$LOG_DIR/format.log" >&2
            fail_start "formatting the storage failed"
        fi
        return 0
    fi
    # Static initial voter set of a dynamic quorum (KIP-853): every node is formatted with the same
    # cluster id and the same --initial-controllers list id@host:controller-port:directory-id; a
    # node whose id is in the list gets that directory id for its metadata log dir.
    local initial="" dir_id
    for n in $(node_list); do
        node_vars "$n"
        dir_id="$(random_cluster_id)"
        initial+="${initial:+,}$NODE_ID@$HOST:$CTRL_PORT:$dir_id"
    done
    say "formatting $NODES nodes in $RUN_DIR/node* (cluster id $cluster_id; initial controllers $initial) ..."
    local fpids=()
    for n in $(node_list); do
        node_vars "$n"
        mkdir -p "$DATA_DIR" "$LOG_DIR"
        write_config
        jvm_common
        "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${JVM_COMMON[@]}" \
            -cp "$(classpath)" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" \
            --initial-controllers "$initial" >"$LOG_DIR/format.log" 2>&1 3>&- 9>&- &
        fpids[n]=$!
    done
    local failed=()
    for n in $(node_list); do
        wait "${fpids[n]}" || failed+=("$n")
    done
    if ((${#failed[@]} > 0)); then
        for n in "${failed[@]}"; do
            node_vars "$n"
            say "node $n: $LOG_DIR/format.log:"
            cat "$LOG_DIR/format.log" >&2
        done
        fail_start "formatting the storage of node(s) ${failed[*]} failed"
    fi
}

# Starts the JVM of one node (selected by node_vars $1) in the background.
launch_node() {
    local n="$1"
    node_vars "$n"
    jvm_common
    local node_flag=() heap
    ((n == 0)) || node_flag=("-Drevoke.kafka.node=$n")
    heap="$(heap_opts)"
    if ((n == 0)); then
        say "starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT) ..."
    else
        say "starting node $n: Kafka $KAFKA_VERSION on $HOST:$BROKER_PORT (controller $HOST:$CTRL_PORT) ..."
    fi
    # shellcheck disable=SC2086 # the heap options are a list of JVM flags
    nohup "$JAVA" "$MARKER" ${node_flag[@]+"${node_flag[@]}"} $heap \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
        "${JVM_COMMON[@]}" -cp "$(classpath)" kafka.Kafka "$CONFIG_FILE" \
        </dev/null >>"$OUT_FILE" 2>&1 3>&- 9>&- &
    local pid=$!
    echo "$pid" >"$PID_FILE"
    STARTED_NODES+=("$n")
    STARTED_PIDS+=("$pid")
}

write_state() {
    {
        echo "KAFKA_BROKERS=$(brokers_list)"
        ((NODES == 1)) || echo "KAFKA_NODES=$NODES"
        echo "KAFKA_PORT=$KAFKA_PORT"
        echo "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT"
        echo "KAFKA_VERSION=$KAFKA_VERSION"
        echo "KAFKA_TOOLS=$KAFKA_TOOLS"
        if ((NODES == 1)); then
            echo "KAFKA_PID=${STARTED_PIDS[0]}"
        fi
    } >"$STATE_FILE"
}

# wait_ready LIVE NODE...: waits until every given node opens its broker port and answers API
# calls (in a cluster: and reports LIVE live brokers, i.e. it has registered and sees the others).
wait_ready() {
    local live="$1" n
    shift
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    for n in "$@"; do
        node_vars "$n"
        while ! port_in_use "$BROKER_PORT"; do
            check_started
            ((SECONDS < deadline)) ||
                fail_start "$(node_name "$n") did not open $HOST:$BROKER_PORT within ${KAFKA_START_TIMEOUT}s"
            sleep 0.2
        done
    done
    # Probe the nodes in parallel (one JVM each), again every 0.5 s for those not ready yet.
    local pending=("$@") next probe_jobs i
    while :; do
        probe_jobs=()
        for n in "${pending[@]}"; do
            node_vars "$n"
            if ((n == 0)); then
                probe "$HOST:$BROKER_PORT" 2>"$LOG_DIR/probe.log" 3>&- &
            else
                probe_live "$HOST:$BROKER_PORT" "$live" 2>"$LOG_DIR/probe.log" 3>&- &
            fi
            probe_jobs+=("$!")
        done
        next=()
        for i in "${!pending[@]}"; do
            wait "${probe_jobs[$i]}" || next+=("${pending[$i]}")
        done
        ((${#next[@]} > 0)) || return 0
        pending=("${next[@]}")
        check_started
        if ((SECONDS >= deadline)); then
            for n in "${pending[@]}"; do
                node_vars "$n"
                cat "$LOG_DIR/probe.log" >&2
            done
            if ((${#pending[@]} == 1)); then
                fail_start "$(node_name "${pending[0]}") did not answer API calls within ${KAFKA_START_TIMEOUT}s"
            fi
            fail_start "nodes ${pending[*]} did not answer API calls within ${KAFKA_START_TIMEOUT}s"
        fi
        sleep 0.5
    done
}

start_broker() {
    local mode=${1:-fresh} # fresh: wipe and format; resume: restart on the existing data
    [[ "$mode" == fresh ]] || load_state
    check_settings
    find_java
    install

    local t0=$SECONDS n
    # A broker left over from an earlier run of this script is ours: stop it first.
    if [[ -n "$(running_all)" ]]; then
        say "a broker from a previous start is still running; stopping it first"
        stop_broker
    fi
    local p
    for n in $(node_list); do
        node_vars "$n"
        for p in "$BROKER_PORT" "$CTRL_PORT"; do
            if port_in_use "$p"; then
                die "port $HOST:$p is already in use by another process; free it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
            fi
        done
    done

    [[ -n "$RUN_DIR" && "$RUN_DIR" != / ]] || die "bad run dir"
    if [[ "$mode" == resume ]]; then
        for n in $(node_list); do
            node_vars "$n"
            [[ -f "$CONFIG_FILE" && -d "$DATA_DIR" ]] || die "nothing to resume: run 'start' first"
            rm -f "$PID_FILE"
        done
    else
        node_vars 0
        rm -rf "$DATA_DIR" "$LOG_DIR" "$PID_FILE" "$STATE_FILE" "$CONFIG_FILE" "$RUN_DIR"/node[0-9]*
        format_nodes
    fi

    for n in $(node_list); do
        launch_node "$n"
    done
    write_state

    # shellcheck disable=SC2046 # node numbers
    wait_ready "$NODES" $(node_list)
    if ((NODES == 1)); then
        node_vars 0
        say "ready (pid ${STARTED_PIDS[0]}) after $((SECONDS - t0)) s; log: $LOG_FILE"
    else
        say "ready: $NODES nodes (pids ${STARTED_PIDS[*]}) after $((SECONDS - t0)) s; logs: $RUN_DIR/node*/logs/server.log"
    fi
    echo "KAFKA_BROKERS=$(brokers_list)" >&3
}

# Node number argument of kill-node / resume-node; the run must be a cluster.
cluster_node_arg() {
    load_state
    ((NODES > 1)) || die "$1 needs a cluster (start it with KAFKA_NODES=3); this run has a single node"
    if ! [[ "${2:-}" =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > NODES)); then
        die "usage: kafka.sh $1 N (N = 1..$NODES)"
    fi
}

kill_node() {
    cluster_node_arg kill-node "${1:-}"
    local n="$1" pid
    node_vars "$n"
    pid="$(running_pid)" || { say "node $n is not running"; rm -f "$PID_FILE"; return 0; }
    say "killing node $n (pid $pid) with SIGKILL; data kept for 'resume-node $n'"
    signal_and_wait KILL 50 "$pid" >/dev/null
    rm -f "$PID_FILE"
}

resume_node() {
    cluster_node_arg resume-node "${1:-}"
    local n="$1" pid t0=$SECONDS
    check_settings
    find_java
    install
    node_vars "$n"
    [[ -f "$CONFIG_FILE" && -d "$DATA_DIR" ]] || die "nothing to resume for node $n: run 'start' first"
    # The node can only come back if a majority of the controller quorum runs with it.
    local live=1 m
    for m in $(node_list); do
        ((m == n)) && continue
        node_vars "$m"
        if running_pid >/dev/null; then live=$((live + 1)); fi
    done
    ((live > NODES / 2)) ||
        die "resume-node $n: only $live of $NODES nodes would run, and the controller quorum needs $((NODES / 2 + 1)); use 'resume' to restart every node"
    node_vars "$n"
    if pid="$(running_pid)"; then
        say "node $n is still running (pid $pid); stopping it first"
        local left
        left="$(signal_and_wait TERM 200 "$pid")"
        [[ -z "$left" ]] || signal_and_wait KILL 50 "$pid" >/dev/null
    fi
    rm -f "$PID_FILE"
    local p
    for p in "$BROKER_PORT" "$CTRL_PORT"; do
        if port_in_use "$p"; then
            die "port $HOST:$p is already in use by another process"
        fi
    done
    launch_node "$n"
    # Wait until the node answers and sees every running node (itself included) as live.
    wait_ready "$live" "$n"
    say "node $n ready (pid ${STARTED_PIDS[0]}) after $((SECONDS - t0)) s; $live of $NODES nodes running"
}

status_broker() {
    load_state
    if ((NODES == 1)); then
        local pid brokers
        node_vars 0
        pid="$(running_pid)" || { say "not running"; return 1; }
        brokers="$(sed -n 's/^KAFKA_BROKERS=//p' "$STATE_FILE" 2>/dev/null || true)"
        [[ -n "$brokers" ]] || brokers="$HOST:$KAFKA_PORT"
        find_java
        if probe "$brokers" 2>/dev/null; then
            say "running (pid $pid), answering at $brokers"
            return 0
        fi
        say "process $pid is running but $brokers does not answer"
        return 1
    fi
    find_java
    # Probe the running nodes in parallel (one JVM each).
    local n pid running=0 tmp
    tmp="$(mktemp -d)"
    local -A node_pids=()
    for n in $(node_list); do
        node_vars "$n"
        if pid="$(running_pid)"; then
            node_pids[$n]="$pid"
            running=$((running + 1))
            probe "$HOST:$BROKER_PORT" >/dev/null 2>"$tmp/$n" 3>&- &
            echo $! >"$tmp/$n.job"
        fi
    done
    local ok=0 live line
    for n in $(node_list); do
        node_vars "$n"
        if [[ -z "${node_pids[$n]:-}" ]]; then
            say "node $n ($HOST:$BROKER_PORT): not running"
            continue
        fi
        if wait "$(cat "$tmp/$n.job")"; then
            line="$(grep -o 'nodes=[0-9]*' "$tmp/$n" | head -n 1 || true)"
            live="${line#nodes=}"
            say "node $n ($HOST:$BROKER_PORT, pid ${node_pids[$n]}): answering, sees ${live:-?} live brokers"
            [[ "$live" == "$NODES" ]] && ok=$((ok + 1))
        else
            say "node $n ($HOST:$BROKER_PORT, pid ${node_pids[$n]}): running but does not answer"
        fi
    done
    rm -rf "$tmp"
    if ((ok == NODES)); then
        say "cluster running: all $NODES nodes answering at $(brokers_list)"
        return 0
    fi
    if ((running == 0)); then
        say "not running (cluster of $NODES nodes)"
    else
        say "cluster degraded: $running of $NODES nodes running, $ok answering with all $NODES live"
    fi
    return 1
}

logs_broker() {
    load_state
    local n nodes
    if ((NODES == 1)); then
        nodes=0
    elif [[ -n "${1:-}" ]]; then
        if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > NODES)); then
            die "usage: kafka.sh logs [N] (N = 1..$NODES)"
        fi
        nodes="$1"
    else
        nodes="$(node_list)"
    fi
    for n in $nodes; do
        node_vars "$n"
        echo "$LOG_FILE" >&3
        if [[ -f "$LOG_FILE" ]]; then
            tail -n "${KAFKA_LOG_LINES:-80}" "$LOG_FILE" >&3
        else
            say "no log yet at $LOG_FILE"
        fi
    done
}

run_class() {
    [[ $# -ge 1 ]] || die "usage: kafka.sh run-class MAIN_CLASS [ARGS...]"
    find_java
    install
    exec 1>&3 3>&-
    exec "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$ASSETS_DIR/tools-log4j2.xml" -cp "$(classpath)" "$@"
}

# SIGKILL (a crash) every broker of this run dir, keeping the data for `resume`.
kill_broker() {
    local entries f pid files=() pids=()
    entries="$(running_all)"
    while read -r f pid; do
        [[ -n "$f" ]] || continue
        files+=("$f")
        pids+=("$pid")
    done <<<"$entries"
    if ((${#pids[@]} == 0)); then
        say "not running"
        return 0
    fi
    if ((${#pids[@]} == 1)); then
        say "killing broker (pid ${pids[0]}) with SIGKILL; data kept for 'resume'"
    else
        say "killing ${#pids[@]} nodes (pids ${pids[*]}) with SIGKILL; data kept for 'resume'"
    fi
    signal_and_wait KILL 50 "${pids[@]}" >/dev/null
    rm -f "${files[@]}"
}

case "${1:-}" in
    start) start_broker fresh ;;
    resume) start_broker resume ;;
    kill) kill_broker ;;
    stop) stop_broker ;;
    status) status_broker ;;
    logs) logs_broker "${2:-}" ;;
    kill-node) kill_node "${2:-}" ;;
    resume-node) resume_node "${2:-}" ;;
    run-class) shift; run_class "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
