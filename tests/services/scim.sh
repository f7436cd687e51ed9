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
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCIM_PORT="${SCIM_PORT:-18080}"
SCIM_TOKEN="${SCIM_TOKEN:-revoke-test-token}"
SCIM_START_TIMEOUT="${SCIM_START_TIMEOUT:-30}"
RUN_DIR="$SERVICES_DIR/run/scim"
PID_FILE="$RUN_DIR/scim.pid"
LOG_FILE="$RUN_DIR/scim.log"
BASE="http://$HOST:$SCIM_PORT/v2"
# Our scim2-server (never signal anything else).
PID_MATCH=(scim2-server)

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

start() {
  command -v curl >/dev/null || die "curl is needed"
  install
  service_stop
  mkdir -p "$RUN_DIR"
  if answers; then
    die "something else already answers on $BASE; set SCIM_PORT"
  fi
  log "starting scim2-server on $HOST:$SCIM_PORT (log: $LOG_FILE)"
  : >"$LOG_FILE"
  service_launch scim2-server --hostname "$HOST" --port "$SCIM_PORT" --bearer-token "$SCIM_TOKEN"
  service_await answers "$SCIM_START_TIMEOUT" "scim2-server did not answer"
  printf 'SCIM_URL=%s\n' "$BASE" >&3
}

case "${1:-}" in
  start) start ;;
  stop) service_stop ;;
  status) service_pid >/dev/null && answers ;;
  *) die "usage: $0 start|stop|status" ;;
esac
