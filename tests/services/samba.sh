#!/usr/bin/env bash
# A throwaway Samba 4 Active Directory domain controller (Debian `samba`) on loopback, for the
# Active Directory adapter's tests. Samba speaks AD's LDAP semantics (userAccountControl,
# accountExpires, memberOf, objectGUID, unicodePwd, bind errors with AD's `data 533`, …); it is
# evidence of AD protocol behaviour, not a certification against Microsoft AD.
#
#   tests/services/samba.sh start    install if needed (apt-get samba samba-ad-dc
#                                    samba-ad-provision winbind krb5-user ldap-utils openssl),
#                                    provision a fresh domain REVOKE.TEST into $RUN_DIR (no DNS),
#                                    give it a TLS certificate for 127.0.0.1 signed by a CA of
#                                    its own, create the revoker's service account with delegated
#                                    rights (below), write a krb5.conf for the realm, start
#                                    `samba` and wait until LDAPS answers the administrator's and
#                                    the revoker's binds and the KDC listens; stdout is exactly
#                                    these lines:
#                                      AD_URL=ldaps://127.0.0.1:636
#                                      AD_BASE_DN=DC=revoke,DC=test
#                                      AD_BIND_DN=CN=revoker,CN=Users,DC=revoke,DC=test
#                                      AD_BIND_PW=<the revoker's test-only password>
#                                      AD_ADMIN_DN=CN=Administrator,CN=Users,DC=revoke,DC=test
#                                      AD_ADMIN_PW=<the administrator's password, per start>
#                                      AD_CA_FILE=<the CA certificate that signed the DC's>
#                                      AD_KRB5_CONFIG=<krb5.conf: realm REVOKE.TEST, KDC
#                                        127.0.0.1:88, no DNS; use as KRB5_CONFIG>
#   tests/services/samba.sh stop     SIGTERM (then SIGKILL after 10 s); exit 0 if not running
#   tests/services/samba.sh status   exit 0 if running and LDAPS answers the revoker's bind
#
# The revoker is in no administrative group. Rights delegated on the domain (delegate_revoker)
# let it, anywhere under the base: on users and computers write userAccountControl and
# accountExpires and reset the password (User-Force-Change-Password: a unicodePwd replace over
# LDAPS); on groups write member; move users from one OU to another (AD's rights for that, CC
# and DC of users on OUs, also let it create or delete a user in an OU). Reading is what every
# authenticated user may read. Everything else is refused (insufficientAccessRights, 50), and
# the protected accounts and groups (Administrator, krbtgt, the DC's account, Domain Admins,
# Administrators, …) refuse the delegated writes too, as AD's AdminSDHolder makes them
# (set_rights; Samba has no SDProp of its own).
#
# Samba's LDAP server listens on the standard ports (389, 636; the KDC on 88), on loopback only
# (`interfaces = lo`, `bind interfaces only`); there is no setting to move them, so the start
# fails if something else holds them. Every start provisions a new domain; tests create their
# own OU=run-<uuid> under the base, so runs never see each other's entries. Its KDC refuses a
# disabled or expired account's kinit with "Client's credentials have been revoked"
# (KDC_ERR_CLIENT_REVOKED), once the password is right.
#
# Environment: AD_BIND_PW (Revoke-Test-AD-1: a test credential only; AD's default password
# complexity applies), SAMBA_START_TIMEOUT (60 s), REVOKE_SERVICES_DIR
# (~/.cache/revoke-services); the domain, config, TLS files, krb5.conf, pid and log live in
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
KRB5_CONF="$RUN_DIR/krb5.conf"
# Our samba (the pid file's process, whose title samba rewrites to "samba: root process").
PID_MATCH=("^samba")

install() {
  if command -v samba >/dev/null && command -v samba-tool >/dev/null \
    && command -v ldapsearch >/dev/null && command -v kinit >/dev/null \
    && command -v openssl >/dev/null && dpkg -s samba-ad-dc samba-ad-provision >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null || die "samba/ldap-utils missing and no apt-get to install them (install Samba 4 with the AD DC, winbind, krb5-user, ldap-utils and openssl)"
  log "installing samba, winbind, krb5-user, ldap-utils and openssl (apt-get)"
  # krb5-config asks for a default realm; answer it, and keep the packages' system services off.
  printf '%s\n' "krb5-config krb5-config/default_realm string $REALM" \
    "krb5-config krb5-config/add_servers_realm string $REALM" \
    "krb5-config krb5-config/kerberos_servers string" \
    "krb5-config krb5-config/admin_server string" | debconf-set-selections 2>/dev/null || true
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # samba-ad-dc and samba-ad-provision: the DC and the schema files provisioning reads (only
  # recommended by samba, so named). samba brings python3-samba (set_rights uses it).
  # openssl makes the DC's certificate (usually present already, not on a minimal image).
  local pkgs=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils openssl)
  # A brand-new machine has no package lists yet: the first install fails, update, retry.
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
# The KDC (a process of its own in samba) accepts TCP connections on port 88.
kdc_listens() { (exec 9<>"/dev/tcp/$HOST/88") 2>/dev/null; }

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

# A krb5.conf for this realm alone: the KDC samba runs on loopback (`kdc` in `server services`),
# no DNS. Clients use it with KRB5_CONFIG=$KRB5_CONF (and a KRB5CCNAME of their own).
write_krb5_conf() {
  cat >"$KRB5_CONF" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false

[realms]
	$REALM = {
		kdc = $HOST:88
	}

[domain_realm]
	.${REALM,,} = $REALM
	${REALM,,} = $REALM
EOF
}

# The revoker's rights: object ACEs on the domain (the base), inherit-only (CIIO), each limited
# to one class of object by its inherited-object type, so they take effect on the objects below
# and never on the domain object itself. Reading needs nothing added: Authenticated Users may
# read users, groups and computers (objectGUID, memberOf, member, whenChanged, pwdLastSet, …).
# The GUIDs are schemaIDGUIDs from CN=Schema,CN=Configuration (classes, attributes) and a
# rightsGuid from CN=Extended-Rights,CN=Configuration; Samba's are AD's.
#   classes:     user bf967aba-0de6-11d0-a285-00aa003049e2
#                computer bf967a86-0de6-11d0-a285-00aa003049e2
#                group bf967a9c-0de6-11d0-a285-00aa003049e2
#                organizationalUnit bf967aa5-0de6-11d0-a285-00aa003049e2
#   attributes:  userAccountControl bf967a68-0de6-11d0-a285-00aa003049e2
#                accountExpires bf967915-0de6-11d0-a285-00aa003049e2
#                member bf9679c0-0de6-11d0-a285-00aa003049e2
#                name bf967a0e-0de6-11d0-a285-00aa003049e2
#                cn bf96793f-0de6-11d0-a285-00aa003049e2
#   extended right: User-Force-Change-Password 00299570-246d-11d0-a768-00aa006e0529
# The protected accounts and groups never get them (set_rights).
delegate_revoker() {
  # The trustee: set_rights puts the revoker's SID in its place.
  local sid=REVOKER_SID
  local user=bf967aba-0de6-11d0-a285-00aa003049e2 computer=bf967a86-0de6-11d0-a285-00aa003049e2
  local group=bf967a9c-0de6-11d0-a285-00aa003049e2 ou=bf967aa5-0de6-11d0-a285-00aa003049e2
  local uac=bf967a68-0de6-11d0-a285-00aa003049e2 expires=bf967915-0de6-11d0-a285-00aa003049e2
  local member=bf9679c0-0de6-11d0-a285-00aa003049e2 name=bf967a0e-0de6-11d0-a285-00aa003049e2
  local cn=bf96793f-0de6-11d0-a285-00aa003049e2 reset=00299570-246d-11d0-a768-00aa006e0529
  local aces="" cls
  # Users, and computers (a sponsored service account may be one):
  for cls in "$user" "$computer"; do
    # WP userAccountControl: disable the account (set ACCOUNTDISABLE, 0x2).
    aces+="(OA;CIIO;WP;$uac;$cls;$sid)"
    # WP accountExpires: expire it (now).
    aces+="(OA;CIIO;WP;$expires;$cls;$sid)"
    # CR User-Force-Change-Password: reset the password without knowing it (a unicodePwd
    # replace over LDAPS); no write right on unicodePwd itself is needed or given.
    aces+="(OA;CIIO;CR;$reset;$cls;$sid)"
  done
  # Groups: WP member, to take the leaver out (AD's right is write, add and remove alike).
  aces+="(OA;CIIO;WP;$member;$group;$sid)"
  # Moving a user to another OU (modify DN with a new superior) needs, as AD (and Samba's acl
  # module) checks it: WP on the user's name and on its RDN attribute (cn), …
  aces+="(OA;CIIO;WP;$name;$user;$sid)(OA;CIIO;WP;$cn;$user;$sid)"
  # … and on OUs, create-child (CC, at the new parent) and delete-child (DC, at the old one) for
  # user objects only: moves between OUs, not into or out of the built-in containers
  # (CN=Users, CN=Computers), and no other class. Each of the four is needed (without any one
  # of them Samba refuses the move). CC/DC also let it create or delete a user in an OU; AD
  # has no narrower right that allows the move.
  aces+="(OA;CIIO;CCDC;$user;$ou;$sid)"
  set_rights "$aces"
}

# set_rights ACES: first does what AD's SDProp does to the protected accounts and groups (and
# AdminSDHolder itself), which Samba does not do: their DACL stops inheriting from above (the
# inherited ACEs are kept, as explicit ones), so rights delegated on the domain never reach
# them. Without this the revoker's `member` write lets it add itself to Domain Admins, and its
# userAccountControl write disable the Administrator. Protected, as in AD: Administrator,
# krbtgt, Domain Admins, Domain Controllers, Schema Admins, Enterprise Admins, Read-only Domain
# Controllers, Key Admins, Enterprise Key Admins (the last two only at a newer functional
# level), Administrators, Account Operators, Server Operators, Print Operators, Backup
# Operators, Replicator, and every member of those groups, nested or by primary group (the
# DC's own computer account); the domain's other groups and users (in CN=Users and CN=Builtin
# too) are not, as in AD. Then adds ACES (REVOKER_SID: the revoker's SID) to the domain's DACL
# in one change, which Samba propagates to the objects below. On the database, before samba
# starts; one Python process (python3-samba, the bindings samba-tool runs on) keeps it short.
set_rights() {
  /usr/bin/python3 - "$CONF" "$1" >>"$LOG_FILE" 2>&1 <<'EOF' \
    || { tail -n 20 "$LOG_FILE"; die "could not set the revoker's rights"; }
import re, sys
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils

lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(session_info=system_session(), lp=lp)
dom = security.dom_sid(str(db.get_domain_sid()))
base = str(db.domain_dn())
utils = SDUtils(db)
dacl_only = ["sd_flags:1:%d" % security.SECINFO_DACL]

groups = ["%s-%d" % (dom, r) for r in (512, 516, 518, 519, 521, 526, 527)] + [
    "S-1-5-32-%d" % r for r in (544, 548, 549, 550, 551, 552)]
accounts = ["%s-%d" % (dom, r) for r in (500, 502)]
dns = {"CN=AdminSDHolder,CN=System," + base}
for sid in groups + accounts:
    for m in db.search(base, expression="(objectSid=%s)" % sid, attrs=[]):
        dns.add(str(m.dn))
        if sid in groups:
            chain = "(memberOf:1.2.840.113556.1.4.1941:=%s)" % m.dn
            dns.update(str(x.dn) for x in db.search(base, expression=chain, attrs=[]))
            # Members by their primary group too (the DC's account: Domain Controllers).
            if sid.startswith(str(dom) + "-"):
                primary = "(primaryGroupID=%s)" % sid.rsplit("-", 1)[1]
                dns.update(str(x.dn) for x in db.search(base, expression=primary, attrs=[]))

def explicit(ace):
    f = ace[1:-1].split(";")
    f[1] = "".join(f[1][i:i + 2] for i in range(0, len(f[1]), 2) if f[1][i:i + 2] != "ID")
    return "(" + ";".join(f) + ")"

for dn in sorted(dns):
    sddl = utils.read_sd_on_dn(dn, controls=dacl_only).as_sddl(dom)
    dacl = sddl[sddl.index("D:"):].split("S:")[0]
    aces = "".join(explicit(a) for a in re.findall(r"\([^)]*\)", dacl))
    protected = security.descriptor.from_sddl("D:PAI" + aces, dom)
    utils.modify_sd_on_dn(dn, protected, controls=dacl_only)
    print("protected (as AdminSDHolder would):", dn)

revoker = db.search(base, expression="(sAMAccountName=revoker)", attrs=["objectSid"])
sid = str(ndr_unpack(security.dom_sid, revoker[0]["objectSid"][0]))
utils.dacl_prepend_aces(base, sys.argv[2].replace("REVOKER_SID", sid), controls=dacl_only)
print("delegated to the revoker (%s) on %s:" % (sid, base), sys.argv[2].replace("REVOKER_SID", sid))
EOF
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

  write_krb5_conf

  # The revoker: the account the adapter binds as, with delegated rights only (never an admin
  # group). Set up in the domain's database before samba starts, so no client ever sees the DC
  # without them.
  samba-tool user create revoker "$AD_BIND_PW" -s "$CONF" >>"$LOG_FILE" 2>&1 \
    || { tail -n 20 "$LOG_FILE"; die "could not create the revoker's account"; }
  delegate_revoker

  log "starting samba (log: $LOG_FILE)"
  # -i: in the foreground, so $! is samba itself and our stop reaches it.
  service_launch samba -i -s "$CONF"
  service_await admin_answers "$SAMBA_START_TIMEOUT" "LDAPS did not accept the administrator's bind" 0.5
  service_await answers 20 "LDAPS did not accept the revoker's bind" 0.2
  service_await kdc_listens 20 "the KDC did not listen on port 88" 0.2
  printf '%s\n' "AD_URL=$URL" "AD_BASE_DN=$BASE_DN" "AD_BIND_DN=$BIND_DN" "AD_BIND_PW=$AD_BIND_PW" \
    "AD_ADMIN_DN=$ADMIN_DN" "AD_ADMIN_PW=$ADMIN_PW" "AD_CA_FILE=$RUN_DIR/tls/ca.pem" \
    "AD_KRB5_CONFIG=$KRB5_CONF" >&3
}

case "${1:-}" in
  start) start ;;
  stop) service_stop ;;
  status) service_pid >/dev/null && answers ;;
  *) die "usage: $0 start|stop|status" ;;
esac
