#!/usr/bin/env bash
# A throwaway Samba 4 Active Directory domain controller (Debian `samba`) on loopback, for the
# Active Directory adapter's tests. Samba speaks AD's LDAP semantics (userAccountControl,
# accountExpires, memberOf, objectGUID, unicodePwd, bind errors with AD's `data 533`, …); it is
# evidence of AD protocol behaviour, not a certification against Microsoft AD.
#
#   tests/services/samba.sh start    install if needed (apt-get samba samba-ad-dc
#                                    samba-ad-provision winbind krb5-user ldap-utils), provision a fresh domain REVOKE.TEST into
#                                    $RUN_DIR (no DNS), give it a TLS certificate for 127.0.0.1
#                                    signed by a CA of its own (openssl), start `samba`, wait
#                                    until LDAPS answers the administrator's bind, and create the
#                                    revoker's service account; stdout is exactly these lines:
#                                      AD_URL=ldaps://127.0.0.1:636
#                                      AD_BASE_DN=DC=revoke,DC=test
#                                      AD_BIND_DN=CN=revoker,CN=Users,DC=revoke,DC=test
#                                      AD_BIND_PW=<the revoker's test-only password>
#                                      AD_ADMIN_DN=CN=Administrator,CN=Users,DC=revoke,DC=test
#                                      AD_ADMIN_PW=<the administrator's password, per start>
#                                      AD_CA_FILE=<the CA certificate that signed the DC's>
#   tests/services/samba.sh stop     SIGTERM (then SIGKILL after 10 s); exit 0 if not running
#   tests/services/samba.sh status   exit 0 if running and LDAPS answers the revoker's bind
#
# Samba's LDAP server listens on the standard ports (389, 636; the KDC on 88), on loopback only
# (`interfaces = lo`, `bind interfaces only`); there is no setting to move them, so the start
# fails if something else holds them. Every start provisions a new domain; tests create their
# own OU=run-<uuid> under the base, so runs never see each other's entries.
#
# Environment: AD_BIND_PW (Revoke-Test-AD-1: a test credential only; AD's default password
# complexity applies), SAMBA_START_TIMEOUT (60 s), REVOKE_SERVICES_DIR
# (~/.cache/revoke-services); the domain, config, TLS files, pid and log live in
# $REVOKE_SERVICES_DIR/run/samba.
set -euo pipefail
# shellcheck source=tests/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AD_BIND_PW="${AD_BIND_PW:-Revoke-Test-AD-1}"
SAMBA_START_TIMEOUT="${SAMBA_START_TIMEOUT:-60}"
REALM="REVOKE.TEST"
DOMAIN="REVOKE"
BASE_DN="DC=revoke,DC=test"
BIND_DN="CN=revoker,CN=Users,$BASE_DN"
ADMIN_DN="CN=Administrator,CN=Users,$BASE_DN"
URL="ldaps://$HOST:636"
RUN_DIR="$SERVICES_DIR/run/samba"
PID_FILE="$RUN_DIR/samba.pid"
LOG_FILE="$RUN_DIR/samba.log"
CONF="$RUN_DIR/etc/smb.conf"
# Our samba (the pid file's process, whose title samba rewrites to "samba: root process").
PID_MATCH=("^samba")

install() {
  if command -v samba >/dev/null && command -v samba-tool >/dev/null \
    && command -v ldapsearch >/dev/null && command -v kinit >/dev/null \
    && dpkg -s samba-ad-dc samba-ad-provision >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null || die "samba/ldap-utils missing and no apt-get to install them (install Samba 4 with the AD DC, winbind, krb5-user and ldap-utils)"
  log "installing samba, winbind, krb5-user and ldap-utils (apt-get)"
  # krb5-config asks for a default realm; answer it, and keep the packages' system services off.
  printf '%s\n' "krb5-config krb5-config/default_realm string $REALM" \
    "krb5-config krb5-config/add_servers_realm string $REALM" \
    "krb5-config krb5-config/kerberos_servers string" \
    "krb5-config krb5-config/admin_server string" | debconf-set-selections 2>/dev/null || true
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # samba-ad-dc and samba-ad-provision: the DC and the schema files provisioning reads (only
  # recommended by samba, so named).
  local pkgs=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils)
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${pkgs[@]}" \
      || die "apt-get install ${pkgs[*]} failed"
  fi
  # The packages may start their own daemons; this machine's DC is ours alone.
  for s in samba-ad-dc smbd nmbd winbind; do
    $sudo systemctl stop "$s" >/dev/null 2>&1 || $sudo service "$s" stop >/dev/null 2>&1 || true
  done
  hash -r
  command -v samba >/dev/null || die "samba installed but not found on PATH"
}

# LDAPS answers a simple bind as BIND (password PW), with the DC's certificate checked: a
# search of the root DSE (Samba does not answer ldapwhoami's "Who am I?" operation).
binds_as() {
  LDAPTLS_CACERT="$RUN_DIR/tls/ca.pem" LDAPTLS_REQCERT=demand \
    timeout 5 ldapsearch -x -H "$URL" -D "$1" -w "$2" -b "" -s base dn >/dev/null 2>&1
}
admin_answers() { binds_as "$ADMIN_DN" "$ADMIN_PW"; }
answers() { binds_as "$BIND_DN" "$AD_BIND_PW"; }

make_tls() {
  # A CA of our own and the DC's certificate for 127.0.0.1/localhost, signed by it: the adapter
  # verifies the certificate (its ca_file), as it must in production.
  command -v openssl >/dev/null || die "openssl is needed to make the DC's certificate"
  local t="$RUN_DIR/tls"
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=revoke test CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1 || die "openssl could not make the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$t/key.pem" -out "$t/req.pem" >/dev/null 2>&1 || die "openssl could not make the request"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$t/san.ext"
  openssl x509 -req -in "$t/req.pem" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -extfile "$t/san.ext" -out "$t/cert.pem" >/dev/null 2>&1 || die "openssl could not sign the DC's certificate"
  # Samba refuses a key file others can read.
  chmod 600 "$t/key.pem" "$t/ca.key"
}

# Sets OPTION = VALUE in [global] of the provisioned smb.conf (replacing what provision wrote).
set_global() {
  sed -i -e "/^[[:space:]]*$1[[:space:]]*=/d" -e "/^\[global\]/a\\	$1 = $2" "$CONF"
}

start() {
  install
  service_stop
  for port in 389 636 88; do
    if (exec 9<>"/dev/tcp/$HOST/$port") 2>/dev/null; then
      die "port $port is taken by another process (Samba's AD services cannot move)"
    fi
  done
  case "$AD_BIND_PW" in *$'\n'*) die "AD_BIND_PW must not contain a newline" ;; esac
  ADMIN_PW="Adm-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')-9"

  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  chmod 700 "$RUN_DIR"
  log "provisioning domain $REALM in $RUN_DIR"
  samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=NONE --adminpass="$ADMIN_PW" --targetdir="$RUN_DIR" --host-name=dc1 \
    --option="interfaces=lo" --option="bind interfaces only=yes" >>"$LOG_FILE" 2>&1 \
    || { tail -n 30 "$LOG_FILE"; die "samba-tool domain provision failed"; }
  make_tls
  mkdir -p "$RUN_DIR/run" "$RUN_DIR/log"
  set_global "log file" "$RUN_DIR/log/%m.log"
  set_global "pid directory" "$RUN_DIR/run"
  set_global "ntp signd socket directory" "$RUN_DIR/run/ntp_signd"
  set_global "winbindd socket directory" "$RUN_DIR/run/winbindd"
  set_global "server services" "ldap cldap kdc rpc"
  set_global "prefork children" "1"
  set_global "tls enabled" "yes"
  set_global "tls keyfile" "$RUN_DIR/tls/key.pem"
  set_global "tls certfile" "$RUN_DIR/tls/cert.pem"
  set_global "tls cafile" "$RUN_DIR/tls/ca.pem"

  log "starting samba (log: $LOG_FILE)"
  # -i: in the foreground, so $! is samba itself and our stop reaches it.
  service_launch samba -i -s "$CONF"
  service_await admin_answers "$SAMBA_START_TIMEOUT" "LDAPS did not accept the administrator's bind" 0.5

  # The revoker: the account the adapter binds as (its rights: docs/adapters.md).
  samba-tool user create revoker "$AD_BIND_PW" -s "$CONF" >>"$LOG_FILE" 2>&1 \
    || { tail -n 20 "$LOG_FILE"; die "could not create the revoker's account"; }
  samba-tool group addmembers "Domain Admins" revoker -s "$CONF" >>"$LOG_FILE" 2>&1 \
    || die "could not give the revoker its rights"
  service_await answers 20 "LDAPS did not accept the revoker's bind" 0.2
  printf 'AD_URL=%s\nAD_BASE_DN=%s\nAD_BIND_DN=%s\nAD_BIND_PW=%s\nAD_ADMIN_DN=%s\nAD_ADMIN_PW=%s\nAD_CA_FILE=%s\n' \
    "$URL" "$BASE_DN" "$BIND_DN" "$AD_BIND_PW" "$ADMIN_DN" "$ADMIN_PW" "$RUN_DIR/tls/ca.pem" >&3
}

case "${1:-}" in
  start) start ;;
  stop) service_stop ;;
  status) service_pid >/dev/null && answers ;;
  *) die "usage: $0 start|stop|status" ;;
esac
