#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for this project: initdb once, its own port, loopback only.
# Usage: postgres.sh start|stop|status|ready|clean
# Settings: KJ_PG_PORT (15432), KJ_PG_DATABASE (kuaijing), KJ_STATE_DIR (<repo>/.local)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${KJ_STATE_DIR:-$REPO/.local}
PORT=${KJ_PG_PORT:-15432}
DB=${KJ_PG_DATABASE:-kuaijing}
ROOT=$STATE/postgres
DATA=$ROOT/data
RUN=$ROOT/run
LOG=$ROOT/postgres.log
DEADLINE=${KJ_PG_DEADLINE:-60}

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

ensure_installed() {
  if ! BIN=$(find_bin); then
    echo "postgres: server not found; installing Debian's postgresql package (once)" >&2
    # shellcheck source=infra/apt.sh
    . "$REPO/infra/apt.sh"
    apt_install postgresql || {
      echo "postgres: install PostgreSQL 15+ (Debian: postgresql) and try again" >&2
      exit 1
    }
    BIN=$(find_bin)
  fi
  local major
  major=$(basename "$(dirname "$BIN")")
  if [ "$major" -lt 15 ]; then
    echo "postgres: found PostgreSQL $major in $BIN; 15 or newer is needed" >&2
    exit 1
  fi
}

# PostgreSQL refuses to run as root: run its tools as the 'postgres' user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_q() { as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atqc "$1"; }

ready() { as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2 && psql_q 'select 1' >/dev/null 2>&1; }

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init_cluster() {
  mkdir -p "$ROOT"
  chmod 755 "$STATE" "$ROOT"
  if [ "$(id -u)" = 0 ]; then
    # the data folder belongs to 'postgres'; its parents only need to be traversable
    install -d -o postgres -g postgres -m 700 "$DATA"
    install -d -o postgres -g postgres -m 755 "$RUN"
    touch "$LOG" && chown postgres:postgres "$LOG"
  else
    mkdir -p "$DATA" "$RUN" && chmod 700 "$DATA"
  fi
  echo "postgres: initdb in $DATA"
  as_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
}

start() {
  ensure_installed
  if running && ready; then
    echo "postgres: already up on 127.0.0.1:$PORT (data $DATA)"
    ensure_database
    return 0
  fi
  [ -f "$DATA/PG_VERSION" ] || init_cluster
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$DEADLINE" \
    -o "-p $PORT -k $RUN -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
    start >/dev/null || { echo "postgres: did not start; last log lines:" >&2; tail -n 30 "$LOG" >&2; exit 1; }
  local waited=0
  until ready; do
    waited=$((waited + 1))
    if [ "$waited" -ge "$DEADLINE" ]; then
      echo "postgres: no answer to a query on 127.0.0.1:$PORT after ${DEADLINE}s; see $LOG" >&2
      tail -n 30 "$LOG" >&2
      exit 1
    fi
    sleep 1
  done
  ensure_database
  echo "postgres: up on 127.0.0.1:$PORT (data $DATA)"
}

ensure_database() {
  if [ "$(psql_q "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
    psql_q "create database \"$DB\"" >/dev/null
    echo "postgres: created database $DB"
  fi
}

stop() {
  BIN=$(find_bin) || { echo "postgres: not installed"; return 0; }
  if running; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "postgres: stopped (data kept in $DATA)"
  else
    echo "postgres: not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    BIN=$(find_bin) || { echo "postgres: not installed"; exit 3; }
    if running && ready; then echo "postgres: up on 127.0.0.1:$PORT"; else echo "postgres: down"; exit 3; fi ;;
  ready) BIN=$(find_bin) || exit 3; ready ;;
  clean) stop; rm -rf "$ROOT"; echo "postgres: data erased" ;;
  *) echo "usage: $0 start|stop|status|ready|clean" >&2; exit 2 ;;
esac
