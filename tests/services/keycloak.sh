#!/usr/bin/env bash
# Keycloak 26.7 (the identity provider) on loopback, for the IdP tests: a realm `revoke-test`
# imported from tests/services/keycloak/revoke-test-realm.json at every start.
#
#   tests/services/keycloak.sh start    install if needed, start a fresh server, wait until the
#                                       realm's OIDC discovery answers and the admin client gets a
#                                       token; stdout is exactly these lines:
#                                       KEYCLOAK_URL=http://127.0.0.1:PORT
#                                       KEYCLOAK_REALM=revoke-test
#                                       KEYCLOAK_ADMIN_CLIENT_ID=revoke-admin
#                                       KEYCLOAK_ADMIN_CLIENT_SECRET=...
#                                       KEYCLOAK_APP_CLIENT_ID=test-app
#                                       KEYCLOAK_APP_CLIENT_SECRET=...
#                                       KEYCLOAK_BOOTSTRAP_ADMIN=admin
#                                       KEYCLOAK_BOOTSTRAP_PASSWORD=...
#   tests/services/keycloak.sh stop     SIGTERM, up to 10 s, then SIGKILL; exit 0 if not running
#   tests/services/keycloak.sh status   exit 0 if our server runs and answers (one line on stderr)
#
# Install: the zip org.keycloak:keycloak-quarkus-dist:VERSION:zip from Maven Central (`mvn
# dependency:get -Dtransitive=false`: resolving its dependencies fails and is not needed),
# unzipped to ${REVOKE_SERVICES_DIR:-$HOME/.cache/revoke-services}/keycloak-VERSION and built once
# (`kc.sh build`: in-memory H2 `dev-mem`, no health/metrics, hence no management interface), so every start is `kc.sh start --optimized` without the ~40 s build step. Once
# installed, `start` needs neither Maven nor the network. Measured on 2 cores: build ~19 s once, then
# ready in 12-13 s per start (`start-dev`, which rebuilds every time: 31 s).
# Every start is a clean server: the database is in memory and the install's data/ is wiped; the
# realm is imported afresh (--import-realm from data/import/). Tests share one server, so they
# create their own users with unique names per run.
#
# The secrets printed are test credentials fixed in the realm file (and the bootstrap admin's,
# for the master realm); they are printed because the tests need them.
#
# Environment: KEYCLOAK_PORT (18480), KEYCLOAK_MANAGEMENT_PORT (18481), KEYCLOAK_START_TIMEOUT
# (180 s), KEYCLOAK_HEAP (-Xms64m -Xmx768m), KEYCLOAK_VERSION (26.7.3), REVOKE_SERVICES_DIR,
# JAVA_HOME (Java 17+; `java` on PATH otherwise).
set -euo pipefail
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.7.3}"
KEYCLOAK_PORT="${KEYCLOAK_PORT:-18480}"
KEYCLOAK_MANAGEMENT_PORT="${KEYCLOAK_MANAGEMENT_PORT:-18481}"
KEYCLOAK_START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-180}"
KEYCLOAK_HEAP="${KEYCLOAK_HEAP:--Xms64m -Xmx768m}"
ASSETS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/keycloak" && pwd)"
# Keycloak imports only files named after their realm (REALM-realm.json).
REALM_FILE="$ASSETS_DIR/revoke-test-realm.json"
RUN_DIR="$SERVICES_DIR/run/keycloak"
PID_FILE="$RUN_DIR/keycloak.pid"
LOG_FILE="$RUN_DIR/keycloak.log"
KC_HOME="$SERVICES_DIR/keycloak-$KEYCLOAK_VERSION"
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip"
# What the realm file fixes (the realm and its two clients) and the master realm's bootstrap admin.
REALM=revoke-test
ADMIN_CLIENT_ID=revoke-admin
ADMIN_CLIENT_SECRET=revoke-admin-test-secret
APP_CLIENT_ID=test-app
APP_CLIENT_SECRET=test-app-test-secret
BOOTSTRAP_ADMIN=admin
BOOTSTRAP_PASSWORD=revoke-test-admin
# Build-time options, baked into the install by `kc.sh build` (a change rebuilds).
BUILD_OPTS=(--db=dev-mem --health-enabled=false --metrics-enabled=false)
# On both kc.sh's and the JVM's command line (kc.sh passes -D options on): our server on our port,
# never signal anything else.
MARKER="-Drevoke.service=keycloak:$KEYCLOAK_PORT"
PID_MATCH=(-F -e "$MARKER ")
BASE="http://$HOST:$KEYCLOAK_PORT"

find_java() {
  local java="java"
  [ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null 2>&1 || die "java not found: Keycloak needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
}

# The zip in the local Maven repository, fetched with `mvn dependency:get` if it is not there.
find_zip() {
  local repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
  local rel="org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  if [ ! -f "$repo/$rel" ]; then
    command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once to fetch $ARTIFACT (e.g. apt-get install maven)"
    log "fetching $ARTIFACT (Maven Central)"
    mvn -B -q -ntp dependency:get "-Dartifact=$ARTIFACT" -Dtransitive=false >&2 || die "mvn dependency:get $ARTIFACT failed"
    if [ ! -f "$repo/$rel" ]; then
      repo=$(mvn -B -q -ntp help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null) || true
    fi
  fi
  [ -f "$repo/$rel" ] || die "$ARTIFACT is not in the local Maven repository ($repo) after dependency:get"
  echo "$repo/$rel"
}

# Unzips and builds once; again when the version or the build options change.
install() {
  local key="$KEYCLOAK_VERSION ${BUILD_OPTS[*]}"
  if [ -x "$KC_HOME/bin/kc.sh" ] && [ "$(cat "$KC_HOME/.installed" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  if [ ! -x "$KC_HOME/bin/kc.sh" ]; then
    command -v unzip >/dev/null || die "unzip not found (e.g. apt-get install unzip)"
    local zip tmp; zip=$(find_zip)
    mkdir -p "$SERVICES_DIR"
    tmp=$(mktemp -d "$SERVICES_DIR/keycloak-unzip.XXXXXX")
    log "unzipping $zip"
    unzip -q "$zip" -d "$tmp" || { rm -rf "$tmp"; die "unzip $zip failed"; }
    [ -x "$tmp/keycloak-$KEYCLOAK_VERSION/bin/kc.sh" ] || { rm -rf "$tmp"; die "no keycloak-$KEYCLOAK_VERSION/bin/kc.sh in $zip"; }
    rm -rf "$KC_HOME"
    mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$KC_HOME"
    rmdir "$tmp"
  fi
  log "building Keycloak once (kc.sh build ${BUILD_OPTS[*]}; under a minute)"
  rm -f "$KC_HOME/.installed"
  JAVA_OPTS_KC_HEAP="$KEYCLOAK_HEAP" "$KC_HOME/bin/kc.sh" build "${BUILD_OPTS[@]}" >"$SERVICES_DIR/keycloak-build.log" 2>&1 || {
    tail -n 40 "$SERVICES_DIR/keycloak-build.log" >&2
    die "kc.sh build failed (log: $SERVICES_DIR/keycloak-build.log)"
  }
  echo "$key" >"$KC_HOME/.installed"
}

# Pids of every process carrying our marker (kc.sh and its JVM), our own shell excluded.
marked_pids() {
  local d cmd
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = "$$" ] && continue
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    case "$cmd" in *"$MARKER "*) echo "${d#/proc/}" ;; esac
  done
}

# kc.sh forwards SIGTERM to its JVM and waits for it; a JVM left behind (kc.sh killed first) is
# then signalled itself, by its marker.
do_stop() {
  service_stop
  local left
  left=$(marked_pids)
  [ -n "$left" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $left 2>/dev/null || true
  for _ in $(seq 1 100); do
    left=$(marked_pids)
    [ -n "$left" ] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null || true
}

# The realm's OIDC discovery answers: the server is up and the realm imported.
discovery() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
    "$BASE/realms/$REALM/.well-known/openid-configuration" 2>/dev/null) || return 1
  [ "$code" = 200 ]
}

# The admin client's credentials grant works (the secret printed is the realm file's).
admin_client_works() {
  curl -s --max-time 10 -u "$ADMIN_CLIENT_ID:$ADMIN_CLIENT_SECRET" -d grant_type=client_credentials \
    "$BASE/realms/$REALM/protocol/openid-connect/token" 2>/dev/null | grep -q '"access_token"'
}

do_start() {
  command -v curl >/dev/null || die "curl is needed to probe the server"
  [ -f "$REALM_FILE" ] || die "the realm file $REALM_FILE is missing"
  find_java
  install
  do_stop
  service_clear_http "$KEYCLOAK_PORT" KEYCLOAK_PORT
  # A clean server: nothing of an earlier run's data/ (the database itself is in memory).
  rm -rf "$KC_HOME/data"
  mkdir -p "$KC_HOME/data/import"
  cp "$REALM_FILE" "$KC_HOME/data/import/"
  local t0=$SECONDS
  # kc.sh runs the JVM as its child; both carry MARKER. Plain HTTP on loopback only; local caches
  # (a runtime option in 26.7: without it the JVM forms a JGroups cluster on every interface).
  export KC_BOOTSTRAP_ADMIN_USERNAME="$BOOTSTRAP_ADMIN" KC_BOOTSTRAP_ADMIN_PASSWORD="$BOOTSTRAP_PASSWORD" \
    JAVA_OPTS_KC_HEAP="$KEYCLOAK_HEAP"
  service_launch "$KC_HOME/bin/kc.sh" "$MARKER" start --optimized \
    --http-enabled=true --http-host="$HOST" --http-port="$KEYCLOAK_PORT" \
    --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" --hostname-strict=false \
    --cache=local --import-realm
  service_await discovery "$KEYCLOAK_START_TIMEOUT" "the realm $REALM did not answer on $BASE" 1
  admin_client_works || { tail -n 40 "$LOG_FILE" || true; do_stop; die "the $ADMIN_CLIENT_ID client gets no token: the realm file and this script disagree"; }
  log "ready in $((SECONDS - t0)) s (log: $LOG_FILE)"
  {
    echo "KEYCLOAK_URL=$BASE"
    echo "KEYCLOAK_REALM=$REALM"
    echo "KEYCLOAK_ADMIN_CLIENT_ID=$ADMIN_CLIENT_ID"
    echo "KEYCLOAK_ADMIN_CLIENT_SECRET=$ADMIN_CLIENT_SECRET"
    echo "KEYCLOAK_APP_CLIENT_ID=$APP_CLIENT_ID"
    echo "KEYCLOAK_APP_CLIENT_SECRET=$APP_CLIENT_SECRET"
    echo "KEYCLOAK_BOOTSTRAP_ADMIN=$BOOTSTRAP_ADMIN"
    echo "KEYCLOAK_BOOTSTRAP_PASSWORD=$BOOTSTRAP_PASSWORD"
  } >&3
}

do_status() {
  local pid
  if ! pid=$(service_pid); then echo "keycloak.sh: not running (port $KEYCLOAK_PORT)" >&2; exit 1; fi
  if discovery; then
    echo "keycloak.sh: running, pid $pid, $BASE/realms/$REALM answers" >&2
  else
    echo "keycloak.sh: pid $pid runs but $BASE/realms/$REALM does not answer" >&2
    exit 1
  fi
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
