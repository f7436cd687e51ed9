# Sourced by the service scripts (moto.sh, openbao.sh, scim.sh, slapd.sh, kafka.sh): what each of
# them does the same way — where its files live, its messages, and for a one-process server the
# pid file, start, wait and stop. Not a command of its own.
#
# The sourcing script names its server's files after sourcing (RUN_DIR, PID_FILE, LOG_FILE) and
# sets PID_MATCH, the grep arguments that recognise its server's command line in /proc, so that
# nothing else is ever signalled.

# All chatter goes to stderr; fd 3 is the real stdout, used for the result lines.
exec 3>&1 1>&2

HOST="127.0.0.1"
SERVICES_DIR="${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}"
SERVICE="$(basename "$0")"

# To stderr even inside $(...), where stdout is the value.
log() { printf '%s: %s\n' "$SERVICE" "$*" >&2; }
die() { log "$*"; exit 1; }

# Prints the pid from the pid file if that process is alive and is our server (PID_MATCH).
service_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "${PID_MATCH[@]}" || return 1
  printf '%s\n' "$pid"
}

# SIGTERM, up to 10 s, then SIGKILL; success if it was not running.
service_stop() {
  local pid
  pid=$(service_pid) || { rm -f "$PID_FILE"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

# service_clear_http PORT VAR: stops our server and empties its log; fails if anything else
# still answers HTTP on PORT (VAR: the setting that moves it).
service_clear_http() {
  service_stop
  mkdir -p "$RUN_DIR"
  if curl -s -o /dev/null --max-time 1 "http://$HOST:$1/" 2>/dev/null; then
    die "port $1 is taken by another process (set $2)"
  fi
  : >"$LOG_FILE"
}

# service_launch CMD [ARGS...]: runs the server in the background, appending to LOG_FILE, and
# records its pid (the command must be, or exec, the server itself).
service_launch() {
  nohup "$@" </dev/null >>"$LOG_FILE" 2>&1 3>&- &
  echo $! >"$PID_FILE"
}

# service_await PROBE TIMEOUT WHAT [POLL]: runs PROBE every POLL seconds (0.2) until it succeeds.
# If the server exits first, or TIMEOUT seconds pass, prints the last lines of its log, stops it
# and fails ("WHAT within TIMEOUTs").
service_await() {
  local probe="$1" timeout="$2" what="$3" poll="${4:-0.2}"
  local deadline=$((SECONDS + timeout))
  until "$probe"; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      tail -n 40 "$LOG_FILE" || true
      service_stop
      die "the server exited during start"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOG_FILE" || true
      service_stop
      die "$what within ${timeout}s"
    fi
    sleep "$poll"
  done
}
