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

# All chatter goes to stderr; fd 3 is the real stdout, used for the single result line.
exec 3>&1 1>&2

MOTO_PORT="${MOTO_PORT:-15000}"
MOTO_START_TIMEOUT="${MOTO_START_TIMEOUT:-30}"
HOST="127.0.0.1"
SERVICES_DIR="${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}"
RUN_DIR="$SERVICES_DIR/run/moto"
PID_FILE="$RUN_DIR/moto.pid"
LOG_FILE="$RUN_DIR/moto.log"
VENV="$SERVICES_DIR/moto-venv"

die() { printf 'moto.sh: %s\n' "$*" >&2; exit 1; }

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
  echo "moto.sh: installing PyPI moto[server] into $VENV" >&2
  python3 -m venv "$VENV" >&2 || die "cannot create a venv at $VENV"
  "$VENV/bin/pip" install -q 'moto[server]' >&2 || die "pip install 'moto[server]' failed"
  [ -x "$VENV/bin/moto_server" ] || die "moto[server] installed no moto_server at $VENV/bin/moto_server"
  echo "$VENV/bin/moto_server"
}

# True when the pid in the pid file is a running moto server on our port (never signal anything else).
our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "moto_server.* -p $MOTO_PORT( |$)" || return 1
  echo "$pid"
}

# An IAM call moto answers only when its IAM backend is up (any credentials are accepted).
answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' \
    --data 'Action=ListUsers&Version=2010-05-08' "http://$HOST:$MOTO_PORT/" 2>/dev/null) || return 1
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
  local moto; moto=$(find_moto)
  do_stop
  mkdir -p "$RUN_DIR"
  if curl -s -o /dev/null --max-time 1 "http://$HOST:$MOTO_PORT/" 2>/dev/null; then
    die "port $MOTO_PORT is taken by another process (set MOTO_PORT)"
  fi
  : >"$LOG_FILE"
  # exec: the pid recorded is the server's own (pyenv shims exec the real script).
  nohup "$moto" -H "$HOST" -p "$MOTO_PORT" </dev/null >>"$LOG_FILE" 2>&1 3>&- &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + MOTO_START_TIMEOUT))
  until answers; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "moto.sh: the server did not answer on $HOST:$MOTO_PORT; last lines of $LOG_FILE:" >&2
      tail -n 40 "$LOG_FILE" >&2 || true
      do_stop
      exit 1
    fi
    sleep 0.2
  done
  echo "MOTO_URL=http://$HOST:$MOTO_PORT" >&3
}

do_status() {
  local pid
  if ! pid=$(our_pid); then echo "moto.sh: not running (port $MOTO_PORT)" >&2; exit 1; fi
  if answers; then
    echo "moto.sh: running, pid $pid, http://$HOST:$MOTO_PORT answers" >&2
  else
    echo "moto.sh: pid $pid runs but http://$HOST:$MOTO_PORT does not answer" >&2
    exit 1
  fi
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
