#!/usr/bin/env bash
# moto server (an in-memory AWS API, IAM included) on loopback, for the cloud (IAM) adapter's tests.
#
#   tests/services/moto.sh start    install if needed, start a fresh server, wait until it answers
#                                   an IAM call; stdout is exactly one line:
#                                   MOTO_URL=http://127.0.0.1:PORT
#   tests/services/moto.sh stop     SIGTERM, up to 10 s, then SIGKILL; exit 0 if not running
#   tests/services/moto.sh status   exit 0 if our server runs and answers (one line on stderr)
#
# The `moto_server` binary: `moto_server` on PATH when its Python can import moto's server extras,
# else PyPI `moto[server]` installed into a venv under
# ${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}/moto-venv.
# moto keeps everything in memory: every start is a clean server. It accepts any credentials;
# tests use dummy static ones (AWS_ACCESS_KEY_ID=testing ...). Tests share one server, so they
# use unique names per run and never POST /moto-api/reset.
#
# Environment: MOTO_PORT (15000), MOTO_START_TIMEOUT (30 s), REVOKE_SERVICES_DIR.
set -euo pipefail
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOTO_PORT="${MOTO_PORT:-15000}"
MOTO_START_TIMEOUT="${MOTO_START_TIMEOUT:-30}"
RUN_DIR="$SERVICES_DIR/run/moto"
PID_FILE="$RUN_DIR/moto.pid"
LOG_FILE="$RUN_DIR/moto.log"
VENV="$SERVICES_DIR/moto-venv"
# Our server on our port (never signal anything else).
PID_MATCH=(-E "moto_server.* -p $MOTO_PORT( |$)")

# A moto_server whose interpreter has the server extras (flask, flask_cors).
usable() {
  local bin="$1" py
  [ -x "$bin" ] || return 1
  py=$(head -n1 "$bin" | sed -n 's/^#! *//p' | awk '{print $1}')
  # pyenv shims and wrappers have no python shebang: ask the python on PATH instead.
  case "$py" in
    */python*) ;;
    *) py=python3 ;;
  esac
  "$py" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1
}

find_moto() {
  if [ -x "$VENV/bin/moto_server" ] && usable "$VENV/bin/moto_server"; then
    echo "$VENV/bin/moto_server"; return 0
  fi
  if command -v moto_server >/dev/null 2>&1 && usable "$(command -v moto_server)"; then
    command -v moto_server; return 0
  fi
  command -v python3 >/dev/null || die "moto_server not found and no python3 to install moto[server]"
  log "installing PyPI moto[server] into $VENV"
  python3 -m venv "$VENV" >&2 || die "cannot create a venv at $VENV"
  "$VENV/bin/pip" install -q 'moto[server]' >&2 || die "pip install 'moto[server]' failed"
  [ -x "$VENV/bin/moto_server" ] || die "moto[server] installed no moto_server at $VENV/bin/moto_server"
  echo "$VENV/bin/moto_server"
}

# An IAM call moto answers only when its IAM backend is up (any credentials are accepted).
answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' \
    --data 'Action=ListUsers&Version=2010-05-08' "http://$HOST:$MOTO_PORT/" 2>/dev/null) || return 1
  [ "$code" = "200" ]
}

do_start() {
  command -v curl >/dev/null || die "curl is needed to probe the server"
  local moto; moto=$(find_moto)
  service_clear_http "$MOTO_PORT" MOTO_PORT
  # exec: the pid recorded is the server's own (pyenv shims exec the real script).
  service_launch "$moto" -H "$HOST" -p "$MOTO_PORT"
  service_await answers "$MOTO_START_TIMEOUT" "the server did not answer on $HOST:$MOTO_PORT"
  echo "MOTO_URL=http://$HOST:$MOTO_PORT" >&3
}

do_status() {
  local pid
  if ! pid=$(service_pid); then echo "moto.sh: not running (port $MOTO_PORT)" >&2; exit 1; fi
  if answers; then
    echo "moto.sh: running, pid $pid, http://$HOST:$MOTO_PORT answers" >&2
  else
    echo "moto.sh: pid $pid runs but http://$HOST:$MOTO_PORT does not answer" >&2
    exit 1
  fi
}

case "${1:-}" in
  start) do_start ;;
  stop) service_stop ;;
  status) do_status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
