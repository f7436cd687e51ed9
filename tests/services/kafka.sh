#!/usr/bin/env bash
# Single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper) on loopback, for tests.
#
#   tests/services/kafka.sh start     install if needed, start on a fresh data dir, wait until
#                                     it answers; prints exactly `KAFKA_BROKERS=127.0.0.1:PORT`
#   tests/services/kafka.sh stop      SIGTERM, up to 20 s, then SIGKILL; exit 0 if not running
#   tests/services/kafka.sh status    exit 0 if running and answering API calls
#   tests/services/kafka.sh logs      broker log path and its last lines (KAFKA_LOG_LINES, 80)
#   tests/services/kafka.sh run-class MAIN [ARGS...]
#                                     run a Kafka main class (CLI tools) on the same classpath,
#                                     e.g. org.apache.kafka.tools.TopicCommand --list ...
#
# Jars come from Maven Central through `mvn` (tests/services/kafka/pom.xml) and are cached in
# ${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}/kafka-<version>/libs; the running
# broker lives in .../run/kafka (wiped by every `start`). See tests/services/README.md.
#
# Environment: KAFKA_VERSION (default 4.3.1), KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
# KAFKA_TOOLS (1: also install kafka-tools; 0 for versions without it, e.g. 4.4.0),
# KAFKA_HEAP_OPTS (-Xmx512m -Xms256m), KAFKA_START_TIMEOUT (90 s), JAVA_HOME, REVOKE_SERVICES_DIR.
set -euo pipefail

# All chatter goes to stderr; fd 3 is the real stdout, used for the single result line.
exec 3>&1 1>&2

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ASSETS_DIR="$SCRIPT_DIR/kafka"

KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
KAFKA_TOOLS="${KAFKA_TOOLS:-1}"
LOG4J_VERSION="2.26.1"
SLF4J_VERSION="2.0.17"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HOST="127.0.0.1"

SERVICES_DIR="${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}"
if [[ "$KAFKA_TOOLS" == 1 ]]; then
    INSTALL_DIR="$SERVICES_DIR/kafka-$KAFKA_VERSION"
else
    INSTALL_DIR="$SERVICES_DIR/kafka-$KAFKA_VERSION-notools"
fi
LIBS_DIR="$INSTALL_DIR/libs"
PROBE_DIR="$INSTALL_DIR/probe"
RUN_DIR="$SERVICES_DIR/run/kafka"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
LOG_FILE="$LOG_DIR/server.log"
OUT_FILE="$LOG_DIR/kafka.out"
PID_FILE="$RUN_DIR/kafka.pid"
STATE_FILE="$RUN_DIR/kafka.env"
CONFIG_FILE="$RUN_DIR/server.properties"
# Marker on the broker's command line, so we never signal a process that is not ours.
MARKER="-Drevoke.service=kafka"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# ---------------------------------------------------------------------------------------------
# tools

find_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA="$(command -v java)"
    else
        die "java not found (need Java 17+ on PATH or JAVA_HOME; e.g. apt-get install openjdk-17-jdk-headless)"
    fi
    local spec major
    spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    major="${spec#1.}"; major="${major%%.*}"
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA"
    (( major >= 17 )) || die "$JAVA is Java $spec; Kafka 4.x needs Java 17+"
}

find_javac() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then
        JAVAC="$JAVA_HOME/bin/javac"
    elif [[ -x "$(dirname "$(readlink -f "$JAVA")")/javac" ]]; then
        JAVAC="$(dirname "$(readlink -f "$JAVA")")/javac"
    elif command -v javac >/dev/null 2>&1; then
        JAVAC="$(command -v javac)"
    else
        die "javac not found (need a JDK, not only a JRE; e.g. apt-get install openjdk-17-jdk-headless)"
    fi
}

# ---------------------------------------------------------------------------------------------
# install

# Anything that changes the resolved classpath or the probe changes this key -> reinstall.
install_key() {
    {
        echo "kafka=$KAFKA_VERSION tools=$KAFKA_TOOLS log4j=$LOG4J_VERSION slf4j=$SLF4J_VERSION"
        cat "$ASSETS_DIR/pom.xml" "$ASSETS_DIR/KafkaProbe.java"
    } | sha256sum | cut -c1-16
}

installed() {
    [[ -f "$INSTALL_DIR/.installed" && "$(cat "$INSTALL_DIR/.installed")" == "$(install_key)" ]]
}

install() {
    for f in pom.xml KafkaProbe.java log4j2.xml tools-log4j2.xml; do
        [[ -f "$ASSETS_DIR/$f" ]] || die "missing $ASSETS_DIR/$f"
    done
    installed && return 0
    mkdir -p "$SERVICES_DIR"
    # Serialize concurrent installs of the same version.
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$SERVICES_DIR/.kafka-$KAFKA_VERSION.lock"
        flock 9
        installed && return 0
    fi
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: Maven is needed once to fetch the Kafka jars (e.g. apt-get install maven)"
    find_javac

    say "installing Kafka $KAFKA_VERSION (tools=$KAFKA_TOOLS) into $INSTALL_DIR ..."
    local t0=$SECONDS tmp="$INSTALL_DIR.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local mvn_args=(-B -q -ntp -f "$ASSETS_DIR/pom.xml"
        "-Dkafka.version=$KAFKA_VERSION" "-Dlog4j.version=$LOG4J_VERSION" "-Dslf4j.version=$SLF4J_VERSION"
        -DincludeScope=runtime "-DoutputDirectory=$tmp/libs")
    [[ "$KAFKA_TOOLS" == 1 ]] || mvn_args+=(-DskipTools)
    if ! mvn "${mvn_args[@]}" dependency:copy-dependencies >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        if [[ "$KAFKA_TOOLS" == 1 ]]; then
            die "Maven could not resolve Kafka $KAFKA_VERSION (if only org.apache.kafka:kafka-tools is missing for this version, retry with KAFKA_TOOLS=0)"
        fi
        die "Maven could not resolve Kafka $KAFKA_VERSION"
    fi
    ls "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null 2>&1 ||
        die "kafka_2.13-$KAFKA_VERSION.jar missing after resolution (see $tmp/mvn.log)"

    mkdir -p "$tmp/probe"
    "$JAVAC" -nowarn -d "$tmp/probe" -cp "$tmp/libs/*" "$ASSETS_DIR/KafkaProbe.java" >"$tmp/javac.log" 2>&1 || {
        cat "$tmp/javac.log" >&2
        die "could not compile the readiness probe"
    }
    install_key >"$tmp/.installed"
    rm -rf "$INSTALL_DIR"
    mv "$tmp" "$INSTALL_DIR"
    say "installed Kafka $KAFKA_VERSION ($(find "$LIBS_DIR" -name '*.jar' | wc -l) jars) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------------------
# process helpers

read_pid() {
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

running_pid() {
    local pid
    pid="$(read_pid)" || return 1
    is_our_broker "$pid" || return 1
    echo "$pid"
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

# ---------------------------------------------------------------------------------------------
# commands

stop_broker() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    say "stopping broker (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 200; i++)); do # 20 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "still alive after 20 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$PID_FILE"
    say "stopped"
}

fail_start() {
    say "error: $*"
    if [[ -f "$LOG_FILE" ]]; then
        say "last 80 lines of $LOG_FILE:"
        tail -n 80 "$LOG_FILE" >&2
    fi
    if [[ -s "$OUT_FILE" ]]; then
        say "last 40 lines of $OUT_FILE (JVM stdout/stderr):"
        tail -n 40 "$OUT_FILE" >&2
    fi
    local pid
    if pid="$(running_pid)"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    exit 1
}

write_config() {
    cat >"$CONFIG_FILE" <<EOF
# Generated by tests/services/kafka.sh -- single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR
# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests: no 3 s wait before the first consumer-group rebalance.
group.initial.rebalance.delay.ms=0
# Tests create their topics explicitly; a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=6
EOF
}

# Kafka cluster ids are 16 random bytes, URL-safe base64 without padding (what
# `StorageTool random-uuid` prints); done in bash to save a JVM start. Like Kafka's
# Uuid.randomUuid(), avoid a leading '-' (it would parse as a CLI flag).
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ ${#id} -eq 22 && "$id" != -* && "$id" != AAAAAAAAAAAAAAAAAAAAA[AB] ]] && break
    done
    echo "$id"
}

start_broker() {
    [[ "$KAFKA_PORT" =~ ^[0-9]+$ && "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] ||
        die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must be numbers"
    [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
    find_java
    install

    local t0=$SECONDS
    # A broker left over from an earlier run of this script is ours: stop it first.
    if running_pid >/dev/null; then
        say "a broker from a previous start is still running; stopping it first"
        stop_broker
    fi
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_in_use "$p"; then
            die "port $HOST:$p is already in use by another process; free it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
        fi
    done

    [[ -n "$RUN_DIR" && "$RUN_DIR" != / ]] || die "bad run dir"
    rm -rf "$DATA_DIR" "$LOG_DIR" "$PID_FILE" "$STATE_FILE" "$CONFIG_FILE"
    mkdir -p "$DATA_DIR" "$LOG_DIR"
    write_config

    local jvm_common=(-Djava.awt.headless=true "-Dkafka.logs.dir=$LOG_DIR"
        "-Dlog4j2.configurationFile=$ASSETS_DIR/log4j2.xml")
    local cluster_id
    cluster_id="$(random_cluster_id)"
    say "formatting $DATA_DIR (cluster id $cluster_id) ..."
    if ! "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${jvm_common[@]}" \
        -cp "$(classpath)" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" --standalone \
        >"$LOG_DIR/format.log" 2>&1; then
        cat "$LOG_DIR/format.log" >&2
        fail_start "formatting the storage failed"
    fi

    say "starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT) ..."
    # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of JVM flags
    nohup "$JAVA" "$MARKER" $KAFKA_HEAP_OPTS \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
        "${jvm_common[@]}" -cp "$(classpath)" kafka.Kafka "$CONFIG_FILE" \
        </dev/null >"$OUT_FILE" 2>&1 3>&- 9>&- &
    local pid=$!
    echo "$pid" >"$PID_FILE"
    {
        echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"
        echo "KAFKA_PORT=$KAFKA_PORT"
        echo "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT"
        echo "KAFKA_VERSION=$KAFKA_VERSION"
        echo "KAFKA_TOOLS=$KAFKA_TOOLS"
        echo "KAFKA_PID=$pid"
    } >"$STATE_FILE"

    # Wait: first the TCP port (cheap), then real API calls through the probe.
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while ! port_in_use "$KAFKA_PORT"; do
        kill -0 "$pid" 2>/dev/null || fail_start "broker exited during startup"
        ((SECONDS < deadline)) || fail_start "broker did not open $HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s"
        sleep 0.2
    done
    until probe "$HOST:$KAFKA_PORT" 2>"$LOG_DIR/probe.log"; do
        kill -0 "$pid" 2>/dev/null || fail_start "broker exited during startup"
        ((SECONDS < deadline)) || {
            cat "$LOG_DIR/probe.log" >&2
            fail_start "broker did not answer API calls within ${KAFKA_START_TIMEOUT}s"
        }
        sleep 0.5
    done
    say "ready (pid $pid) after $((SECONDS - t0)) s; log: $LOG_FILE"
    echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT" >&3
}

status_broker() {
    local pid brokers
    pid="$(running_pid)" || { say "not running"; return 1; }
    brokers="$(sed -n 's/^KAFKA_BROKERS=//p' "$STATE_FILE" 2>/dev/null || true)"
    [[ -n "$brokers" ]] || brokers="$HOST:$KAFKA_PORT"
    find_java
    # Use the install the running broker came from.
    local v t
    v="$(sed -n 's/^KAFKA_VERSION=//p' "$STATE_FILE" 2>/dev/null || true)"
    t="$(sed -n 's/^KAFKA_TOOLS=//p' "$STATE_FILE" 2>/dev/null || true)"
    if [[ -n "$v" ]]; then
        KAFKA_VERSION="$v"
        if [[ "$t" == 0 ]]; then
            INSTALL_DIR="$SERVICES_DIR/kafka-$v-notools"
        else
            INSTALL_DIR="$SERVICES_DIR/kafka-$v"
        fi
        LIBS_DIR="$INSTALL_DIR/libs"
        PROBE_DIR="$INSTALL_DIR/probe"
    fi
    if probe "$brokers" 2>/dev/null; then
        say "running (pid $pid), answering at $brokers"
        return 0
    fi
    say "process $pid is running but $brokers does not answer"
    return 1
}

logs_broker() {
    echo "$LOG_FILE" >&3
    if [[ -f "$LOG_FILE" ]]; then
        tail -n "${KAFKA_LOG_LINES:-80}" "$LOG_FILE" >&3
    else
        say "no log yet at $LOG_FILE"
    fi
}

run_class() {
    [[ $# -ge 1 ]] || die "usage: kafka.sh run-class MAIN_CLASS [ARGS...]"
    find_java
    install
    exec 1>&3 3>&-
    exec "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$ASSETS_DIR/tools-log4j2.xml" -cp "$(classpath)" "$@"
}

case "${1:-}" in
    start) start_broker ;;
    stop) stop_broker ;;
    status) status_broker ;;
    logs) logs_broker ;;
    run-class) shift; run_class "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
