#!/usr/bin/env bash
# A SCIM 2.0 server (PyPI `scim2-server`, in memory) on loopback, for the saas adapter's tests.
#
#   tests/services/scim.sh start    install if needed, start, wait until it answers; prints exactly
#                                   `SCIM_URL=http://127.0.0.1:PORT/v2` on stdout
#   tests/services/scim.sh stop     SIGTERM (then SIGKILL after 10 s); exit 0 if not running
#   tests/services/scim.sh status   exit 0 if running and answering
#
# Environment: SCIM_PORT (18080), SCIM_TOKEN (revoke-test-token: the bearer token the server
# accepts), SCIM_START_TIMEOUT (30 s), REVOKE_SERVICES_DIR (~/.cache/revoke-services); the pid file
# and log live in $REVOKE_SERVICES_DIR/run/scim.
set -euo pipefail

# All chatter goes to stderr; fd 3 is the real stdout, used for the single result line.
exec 3>&1 1>&2

SCIM_PORT="${SCIM_PORT:-18080}"
SCIM_TOKEN="${SCIM_TOKEN:-revoke-test-token}"
SCIM_START_TIMEOUT="${SCIM_START_TIMEOUT:-30}"
HOST="127.0.0.1"
SERVICES_DIR="${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}"
RUN_DIR="$SERVICES_DIR/run/scim"
PID_FILE="$RUN_DIR/scim.pid"
LOG_FILE="$RUN_DIR/scim.log"
BASE="http://$HOST:$SCIM_PORT/v2"

log() { printf 'scim.sh: %s\n' "$*"; }
die() { log "$*"; exit 1; }

running_pid() {
  # Prints the pid from the pid file if that process is alive and is our scim2-server.
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q scim2-server || return 1
  printf '%s\n' "$pid"
}

answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 -H "Authorization: Bearer $SCIM_TOKEN" \
    "$BASE/ServiceProviderConfig" 2>/dev/null) || return 1
  [ "$code" = 200 ]
}

install() {
  command -v scim2-server >/dev/null && return 0
  local py
  py=$(command -v python3 || command -v python) || die "python3 is needed to install scim2-server"
  log "installing scim2-server (pip)"
  "$py" -m pip install --quiet scim2-server || die "pip install scim2-server failed"
  hash -r
  command -v scim2-server >/dev/null || die "scim2-server installed but not on PATH (pip's bin dir?)"
}

stop() {
  local pid
  pid=$(running_pid) || { rm -f "$PID_FILE"; return 0; }
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

start() {
  command -v curl >/dev/null || die "curl is needed"
  install
  stop
  mkdir -p "$RUN_DIR"
  if answers; then
    die "something else already answers on $BASE; set SCIM_PORT"
  fi
  log "starting scim2-server on $HOST:$SCIM_PORT (log: $LOG_FILE)"
  nohup scim2-server --hostname "$HOST" --port "$SCIM_PORT" --bearer-token "$SCIM_TOKEN" \
    >"$LOG_FILE" 2>&1 </dev/null 3>&- &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + SCIM_START_TIMEOUT))
  until answers; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      tail -n 30 "$LOG_FILE" || true
      die "scim2-server exited during start"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOG_FILE" || true
      stop
      die "scim2-server did not answer within ${SCIM_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  printf 'SCIM_URL=%s\n' "$BASE" >&3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null && answers ;;
  *) die "usage: $0 start|stop|status" ;;
esac
