#!/usr/bin/env bash
# Prometheus for `make demo`: scrapes the four services on loopback at the ports their settings
# give (KJ_*_HTTP_PORT), with deploy/prometheus's rules, on 127.0.0.1:${KJ_PROMETHEUS_PORT:-19090};
# its configuration and data in $KJ_STATE_DIR/prometheus (the data anew at each start).
#   start | stop | status
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port="${KJ_PROMETHEUS_PORT:-19090}"
dir="${KJ_STATE_DIR:-$PWD/.local}/prometheus"
pidfile="$dir/prometheus.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
    if running; then echo "prometheus: already running on :$port"; exit 0; fi
    command -v prometheus >/dev/null || bash deploy/install-tools.sh
    # a fresh store each start: the board drawn at the end shows this run's events only, as the
    # run's report does (an earlier run's within the 15-minute window made them differ)
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    .venv/bin/python -m deploy.demo_config "$dir/demo.yml"
    prometheus --config.file="$dir/demo.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=2d \
        >"$dir/prometheus.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
        if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
            echo "prometheus: http://127.0.0.1:$port (rules from deploy/prometheus/rules.yml)"
            exit 0
        fi
        running || { cat "$dir/prometheus.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "prometheus: not ready after 30 s, see $dir/prometheus.log" >&2
    exit 1
    ;;
stop)
    if running; then kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
    ;;
status)
    running && echo "prometheus: running on :$port" || { echo "prometheus: stopped"; exit 1; }
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
