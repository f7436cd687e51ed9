#!/usr/bin/env bash
# A throwaway OpenLDAP slapd (Debian `slapd` 2.5) on loopback, for the directory adapter's tests.
#
#   tests/services/slapd.sh start    install if needed (apt-get slapd ldap-utils), build a fresh
#                                    instance from tests/services/ldap/ (slapd.conf + base LDIF,
#                                    loaded with slapadd), start it, wait until the service account
#                                    can bind; stdout is exactly these lines:
#                                      LDAP_URL=ldap://127.0.0.1:PORT
#                                      LDAP_BASE_DN=dc=revoke,dc=test
#                                      LDAP_BIND_DN=cn=revoker,dc=revoke,dc=test
#                                      LDAP_BIND_PW=<the service account's test-only password>
#                                      LDAP_NOLOCK_DN=cn=revoker-nolock,dc=revoke,dc=test
#                                      LDAP_NOLOCK_PW=<its test-only password>
#   tests/services/slapd.sh stop     SIGTERM (then SIGKILL after 10 s); exit 0 if not running
#   tests/services/slapd.sh status   exit 0 if running and the service account can bind
#
# The instance: mdb database for dc=revoke,dc=test, the ppolicy overlay with a default policy
# (pwdLockout: TRUE, so pwdAccountLockedTime refuses binds), an ACL giving the service account
# cn=revoker write under the suffix and letting users bind, a second service account
# cn=revoker-nolock with the same rights except that pwdAccountLockedTime is read-only to it (a
# revoker whose lock the directory refuses, for half-failing runs), and StartTLS with a self-signed
# certificate for 127.0.0.1 (made with openssl; $RUN_DIR/tls/server.pem). Every start is a clean directory; tests
# create their own ou=run-<uuid> under the suffix, so runs never see each other's entries.
#
# Environment: LDAP_PORT (18389), LDAP_BIND_PW (revoke-test-ldap: a test credential only; the
# same for LDAP_NOLOCK_PW, revoke-test-ldap-nolock; the
# rootdn cn=admin gets a random password per start that is not printed), SLAPD_START_TIMEOUT (30 s),
# REVOKE_SERVICES_DIR (~/.cache/revoke-services); the config, data, pid file and log live in
# $REVOKE_SERVICES_DIR/run/slapd.
set -euo pipefail
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LDAP_PORT="${LDAP_PORT:-18389}"
LDAP_BIND_PW="${LDAP_BIND_PW:-revoke-test-ldap}"
LDAP_NOLOCK_PW="${LDAP_NOLOCK_PW:-revoke-test-ldap-nolock}"
SLAPD_START_TIMEOUT="${SLAPD_START_TIMEOUT:-30}"
SUFFIX="dc=revoke,dc=test"
BIND_DN="cn=revoker,$SUFFIX"
NOLOCK_DN="cn=revoker-nolock,$SUFFIX"
URL="ldap://$HOST:$LDAP_PORT"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$HERE/ldap"
RUN_DIR="$SERVICES_DIR/run/slapd"
PID_FILE="$RUN_DIR/slapd.pid"
LOG_FILE="$RUN_DIR/slapd.log"
CONF="$RUN_DIR/slapd.conf"
# Our slapd, on our config (never signal anything else).
PID_MATCH=("slapd.*$CONF")

slapd_bin() {
  local p
  for p in "$(command -v slapd 2>/dev/null || true)" /usr/sbin/slapd; do
    [ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}

install() {
  if slapd_bin >/dev/null && command -v ldapwhoami >/dev/null && command -v slappasswd >/dev/null; then
    return 0
  fi
  command -v apt-get >/dev/null || die "slapd/ldap-utils missing and no apt-get to install them (install OpenLDAP's slapd 2.5+ and ldap-utils)"
  log "installing slapd and ldap-utils (apt-get)"
  # Install the package without its default system instance: no /etc/ldap/slapd.d, no service.
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections 2>/dev/null || true
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends slapd ldap-utils; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends slapd ldap-utils \
      || die "apt-get install slapd ldap-utils failed"
  fi
  hash -r
  slapd_bin >/dev/null || die "slapd installed but not found (looked on PATH and in /usr/sbin)"
}

# The package's schema and module folders (Debian: /etc/ldap/schema, /usr/lib/ldap).
find_dir() {
  local want="$1" d
  shift
  for d in "$@"; do
    [ -e "$d/$want" ] && { echo "$d"; return 0; }
  done
  d=$(dpkg -L slapd 2>/dev/null | grep "/$want\$" | head -n 1 || true)
  [ -n "$d" ] && { dirname "$d"; return 0; }
  return 1
}

answers() {
  LDAPTLS_REQCERT=never timeout 5 ldapwhoami -x -H "$URL" -D "$BIND_DN" -w "$LDAP_BIND_PW" >/dev/null 2>&1
}

render() {
  # render TEMPLATE OUT: fills the @NAME@ placeholders (values never contain '|').
  sed -e "s|@SCHEMA_DIR@|$SCHEMA_DIR|g" -e "s|@MODULE_DIR@|$MODULE_DIR|g" \
    -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@SUFFIX@|$SUFFIX|g" -e "s|@BIND_DN@|$BIND_DN|g" \
    -e "s|@ROOT_PW_HASH@|$ROOT_PW_HASH|g" -e "s|@BIND_PW_HASH@|$BIND_PW_HASH|g" \
    -e "s|@NOLOCK_DN@|$NOLOCK_DN|g" -e "s|@NOLOCK_PW_HASH@|$NOLOCK_PW_HASH|g" "$1" >"$2"
}

make_tls() {
  # A self-signed certificate for 127.0.0.1/localhost, for StartTLS on the same port.
  : >"$RUN_DIR/tls.conf"
  if ! command -v openssl >/dev/null; then
    log "openssl not found: no StartTLS on this instance"
    return 0
  fi
  mkdir -p "$RUN_DIR/tls"
  if openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$RUN_DIR/tls/server.key" -out "$RUN_DIR/tls/server.pem" >/dev/null 2>&1; then
    printf 'TLSCertificateFile %s\nTLSCertificateKeyFile %s\n' \
      "$RUN_DIR/tls/server.pem" "$RUN_DIR/tls/server.key" >"$RUN_DIR/tls.conf"
  else
    log "openssl could not make a certificate: no StartTLS on this instance"
  fi
}

start() {
  install
  local slapd
  slapd=$(slapd_bin)
  service_stop
  SCHEMA_DIR=$(find_dir core.schema /etc/ldap/schema /etc/openldap/schema) \
    || die "cannot find OpenLDAP's core.schema (dpkg -L slapd)"
  MODULE_DIR=$(find_dir back_mdb.la /usr/lib/ldap /usr/lib/x86_64-linux-gnu/ldap /usr/lib64/openldap) \
    || die "cannot find OpenLDAP's module folder with back_mdb (dpkg -L slapd)"
  [ -e "$MODULE_DIR/ppolicy.la" ] || [ -e "$MODULE_DIR/ppolicy.so" ] \
    || die "no ppolicy module in $MODULE_DIR (slapd 2.5+ ships it)"
  if answers; then
    die "something already answers on $URL; set LDAP_PORT"
  fi
  if (exec 9<>"/dev/tcp/$HOST/$LDAP_PORT") 2>/dev/null; then
    die "port $LDAP_PORT is taken by another process (set LDAP_PORT)"
  fi
  case "$LDAP_BIND_PW" in *'|'* | *$'\n'*) die "LDAP_BIND_PW must not contain '|' or a newline" ;; esac
  case "$LDAP_NOLOCK_PW" in *'|'* | *$'\n'*) die "LDAP_NOLOCK_PW must not contain '|' or a newline" ;; esac

  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR/data"
  chmod 700 "$RUN_DIR"
  ROOT_PW_HASH=$(slappasswd -s "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')")
  BIND_PW_HASH=$(slappasswd -s "$LDAP_BIND_PW")
  NOLOCK_PW_HASH=$(slappasswd -s "$LDAP_NOLOCK_PW")
  make_tls
  render "$TEMPLATES/slapd.conf.in" "$CONF"
  render "$TEMPLATES/base.ldif.in" "$RUN_DIR/base.ldif"
  "$slapd" -Tt -u -f "$CONF" >>"$LOG_FILE" 2>&1 || { tail -n 30 "$LOG_FILE"; die "slapd.conf does not check (slaptest)"; }
  "$slapd" -Ta -f "$CONF" -l "$RUN_DIR/base.ldif" >>"$LOG_FILE" 2>&1 \
    || { tail -n 30 "$LOG_FILE"; die "slapadd of the base entries failed"; }

  log "starting slapd on $URL (log: $LOG_FILE)"
  # -d 256 (stats) keeps slapd in the foreground, logging to stderr; $! is slapd itself.
  service_launch "$slapd" -f "$CONF" -h "$URL/" -d 256
  service_await answers "$SLAPD_START_TIMEOUT" "slapd did not accept the service account's bind" 0.1
  printf 'LDAP_URL=%s\nLDAP_BASE_DN=%s\nLDAP_BIND_DN=%s\nLDAP_BIND_PW=%s\nLDAP_NOLOCK_DN=%s\nLDAP_NOLOCK_PW=%s\n' \
    "$URL" "$SUFFIX" "$BIND_DN" "$LDAP_BIND_PW" "$NOLOCK_DN" "$LDAP_NOLOCK_PW" >&3
}

case "${1:-}" in
  start) start ;;
  stop) service_stop ;;
  status) service_pid >/dev/null && answers ;;
  *) die "usage: $0 start|stop|status" ;;
esac
