#!/usr/bin/env bash
# Local single-node Kafka (KRaft, broker+controller) assembled from Maven Central jars.
#
#   kafka.sh start    build the classpath if needed, format storage once, start, wait until ready
#   kafka.sh stop     graceful stop (SIGTERM, up to 30 s, then SIGKILL); keeps data
#   kafka.sh status   print up/down; exit 0 if up, 3 if not
#   kafka.sh clean    stop and erase the data (keeps the downloaded jars)
#   kafka.sh ready    exit 0 if the broker answers a metadata request
#
# Environment (defaults in brackets):
#   KJ_KAFKA_PORT [19092]  KJ_KAFKA_CONTROLLER_PORT [19093]  KJ_STATE_DIR [<repo>/.local]
#   KJ_KAFKA_READY_TIMEOUT [90] seconds   KJ_KAFKA_JVM_OPTS [1 GB heap, G1 at 20 ms, C1 only]
# Everything lives in $KJ_STATE_DIR/kafka: libs/ (jars), data/, server.properties, kafka.out, kafka.pid.
# See docs/decisions/0001-kafka-version-and-assembly.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$HERE/../.." && pwd -P)"

PORT="${KJ_KAFKA_PORT:-19092}"
CPORT="${KJ_KAFKA_CONTROLLER_PORT:-19093}"
STATE="${KJ_STATE_DIR:-$REPO/.local}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd -P)"
READY_TIMEOUT="${KJ_KAFKA_READY_TIMEOUT:-90}"
# Kafka's own heap and collector (G1, 20 ms pause goal: its kafka-run-class.sh and Strimzi's),
# with the C1 compiler only: C2 took 35% more of the broker's CPU here (decisions 0012, 0170)
JVM_OPTS="${KJ_KAFKA_JVM_OPTS:--Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError}"

KDIR="$STATE/kafka"
LIBS="$KDIR/libs"
DATA="$KDIR/data"
CONF="$KDIR/server.properties"
LOG="$KDIR/kafka.out"
PIDFILE="$KDIR/kafka.pid"
BOOTSTRAP="127.0.0.1:$PORT"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
PY="$REPO/.venv/bin/python"

say() { echo "kafka: $*"; }
die() { echo "kafka: $*" >&2; exit 1; }

# Kafka's JVM tools (storage format, readiness fallback): same log config, WARN+ to stderr.
TOOL=("$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkj.kafka.logtarget=SYSTEM_ERR
    -cp "$LIBS/*")

# --- classpath ------------------------------------------------------------------------------

build_libs() {
    local want have=""
    want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
    [[ -f "$LIBS/.pom.sha256" ]] && have="$(cat "$LIBS/.pom.sha256")"
    [[ "$want" == "$have" ]] && return 0
    command -v mvn >/dev/null || die "mvn not found (needed once to fetch the broker jars)"
    say "fetching broker jars from Maven Central into $LIBS (first run only; ~20 s on a fast link)"
    rm -rf "$LIBS.tmp"
    if ! mvn -B -f "$HERE/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$KDIR/mvn.log" 2>&1; then
        tail -n 30 "$KDIR/mvn.log" >&2
        die "mvn dependency:copy-dependencies failed (full output in $KDIR/mvn.log)"
    fi
    echo "$want" >"$LIBS.tmp/.pom.sha256"
    rm -rf "$LIBS" "$CDS" "$CDS.pom" "$CLASSLIST"
    mv "$LIBS.tmp" "$LIBS"
}

# --- class data sharing (decision 0158) ------------------------------------------------------
# A broker restart after a crash is a recovery the chaos run times: about 2 of its 7.5 s on
# this machine were the JVM loading and verifying Kafka's classes. The first start records the
# classes it loads; once it is up, an archive of them is made in the background (about 14 s of
# CPU at low priority, once per jar set); every later start maps the archive instead.

CDS="$KDIR/kafka.jsa"
CLASSLIST="$KDIR/kafka.classlist"

pom_stamp() {
    [[ -f "$LIBS/.pom.sha256" ]] && cat "$LIBS/.pom.sha256"
    return 0
}

cds_opts() {
    if [[ -f "$CDS" && -f "$CDS.pom" && "$(cat "$CDS.pom")" == "$(pom_stamp)" ]]; then
        echo "-XX:SharedArchiveFile=$CDS"
    elif [[ ! -f "$CLASSLIST" ]]; then
        echo "-XX:DumpLoadedClassList=$CLASSLIST"
    fi
}

make_cds_in_background() {
    [[ -s "$CLASSLIST" && ! -f "$CDS" ]] || return 0
    local stamp
    stamp="$(pom_stamp)"
    cp "$CLASSLIST" "$CLASSLIST.snapshot"  # the running broker may still append to the list
    (
        nice -n 19 "$JAVA" -Xshare:dump -XX:SharedClassListFile="$CLASSLIST.snapshot" \
            -XX:SharedArchiveFile="$CDS.tmp" -cp "$LIBS/*" >"$KDIR/cds.log" 2>&1 \
            && echo "$stamp" >"$CDS.pom" && mv -f "$CDS.tmp" "$CDS"
        rm -f "$CDS.tmp" "$CLASSLIST.snapshot"
    ) </dev/null >/dev/null 2>&1 9>&- &
}

# --- process and readiness ------------------------------------------------------------------

# Prints the pid if the pid file names a live broker started from our config.
broker_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $CONF" || return 1
    echo "$pid"
}

# One bounded metadata request. Prefers the repo's aiokafka (fast); falls back to a JVM tool.
ready() {
    local rc=2
    if [[ -x "$PY" ]]; then
        rc=0
        timeout 10 "$PY" - "$BOOTSTRAP" 2>/dev/null <<'PYEOF' || rc=$?
import asyncio, sys
try:
    from aiokafka import AIOKafkaClient
except ImportError:
    sys.exit(2)

async def main(bootstrap):
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(client.bootstrap(), 8)
        return 0 if client.cluster.brokers() else 1
    except Exception:
        return 1
    finally:
        await client.close()

sys.exit(asyncio.run(main(sys.argv[1])))
PYEOF
    fi
    if [[ $rc -eq 2 ]]; then  # no venv or no aiokafka in it
        [[ -d "$LIBS" ]] || return 1
        rc=0
        timeout 20 "${TOOL[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
            --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1 || rc=$?
    fi
    return "$rc"
}

# Whether anything accepts a connection on the broker's port (bash's /dev/tcp: no process to
# start). Closed means no broker can answer; open is not ready (the listener binds before the
# broker serves).
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

show_log_tail() {
    echo "---- last 30 lines of $LOG ----" >&2
    tail -n 30 "$LOG" >&2 2>/dev/null || true
    echo "----" >&2
}

# --- subcommands ----------------------------------------------------------------------------

cmd_start() {
    local pid t0 deadline
    t0=$SECONDS
    if pid="$(broker_pid)"; then
        if ready; then
            say "already up on $BOOTSTRAP"
            return 0
        fi
        say "pid $pid is running but not answering yet; waiting for it"
    else
        # a metadata probe only when something listens: after a kill it costs a restart a
        # Python start-up on a busy machine
        if port_open && ready; then
            die "something else answers on $BOOTSTRAP (no broker of ours in $KDIR); set KJ_KAFKA_PORT"
        fi
        build_libs
        sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@DATA_DIR@|$DATA|g" \
            "$HERE/server.properties.template" >"$CONF"
        if [[ ! -f "$DATA/meta.properties" ]]; then
            local cid
            cid="$("${TOOL[@]}" kafka.tools.StorageTool random-uuid)"
            "${TOOL[@]}" kafka.tools.StorageTool format -t "$cid" -c "$CONF" -g >/dev/null \
                || die "storage format failed"
            say "formatted $DATA (cluster id $cid)"
        fi
        [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
        # shellcheck disable=SC2086  # JVM_OPTS is a list of flags
        nohup "$JAVA" $JVM_OPTS $(cds_opts) -server -Djava.awt.headless=true \
            -Dkafka.logs.dir="$KDIR" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
            -cp "$LIBS/*" kafka.Kafka "$CONF" >"$LOG" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$PIDFILE"
    fi

    deadline=$((SECONDS + READY_TIMEOUT))
    # cheap looks at the port until it opens, then metadata probes: each probe is a Python
    # start-up that would compete with the broker's own on a 2-core machine
    until port_open && ready; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "kafka: broker process $pid exited during startup" >&2
            show_log_tail
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "kafka: not ready on $BOOTSTRAP after ${READY_TIMEOUT}s (pid $pid still running; 'kafka.sh stop' to kill it)" >&2
            show_log_tail
            exit 1
        fi
        if port_open; then sleep 0.5; else sleep 0.1; fi
    done
    say "up on $BOOTSTRAP (pid $pid, ready after $((SECONDS - t0))s; log $LOG)"
    make_cds_in_background
}

cmd_stop() {
    local pid i
    if ! pid="$(broker_pid)"; then
        rm -f "$PIDFILE"
        say "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid still running after 30s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PIDFILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid="$(broker_pid)"; then
        if ready; then
            say "up on $BOOTSTRAP (pid $pid)"
            return 0
        fi
        say "down: pid $pid is running but not answering on $BOOTSTRAP"
        return 3
    fi
    say "down"
    return 3
}

cmd_clean() {
    cmd_stop
    rm -rf "$DATA" "$CONF" "$LOG" "$LOG.1"
    say "erased $DATA (jars kept in $LIBS)"
}

main() {
    mkdir -p "$KDIR"
    case "${1:-}" in
        start | stop | clean)
            # One start/stop/clean at a time (parallel test sessions, make -j).
            exec 9>"$KDIR/.lock"
            flock -w 150 9 || die "another kafka.sh holds $KDIR/.lock"
            "cmd_$1"
            ;;
        status) cmd_status ;;
        ready) ready ;;
        *)
            echo "usage: $(basename "$0") start|stop|status|clean|ready" >&2
            exit 2
            ;;
    esac
}

main "$@"
