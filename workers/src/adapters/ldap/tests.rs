//! Unit tests of the LDAP adapter's pure parts (filter escaping, ids, DNs, times, result codes,
//! values), the config table, and an unreachable directory.

use super::settings::{DEFAULT_SPONSORED_FILTER, DEFAULT_USER_FILTER};
use super::*;
use crate::adapters::ObjectRef;
use crate::adapters::Target;
use ldap3::LdapError;
use revoke_shared::retry::ErrorClass;

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

#[test]
fn filter_values_are_escaped_per_rfc4515() {
    assert_eq!(escape_filter_value("ada"), "ada");
    assert_eq!(escape_filter_value("*"), "\\2a");
    assert_eq!(escape_filter_value("a*"), "a\\2a");
    assert_eq!(escape_filter_value("x)(uid=*"), "x\\29\\28uid=\\2a");
    assert_eq!(escape_filter_value("\\"), "\\5c");
    assert_eq!(escape_filter_value("a\0b"), "a\\00b");
    assert_eq!(escape_filter_value("\"../"), "\"../");
    assert_eq!(escape_filter_value("Zoë (ops)"), "Zoë \\28ops\\29");
    // The same as the crate's own escaping, case of the hex digits aside.
    for v in [
        "*",
        "a*",
        "x)(uid=*",
        "\\",
        "a\0b",
        "Zoë (ops)",
        "../",
        "\"",
    ] {
        assert_eq!(
            escape_filter_value(v).to_lowercase(),
            ldap3::ldap_escape(v).to_lowercase(),
            "{v:?}"
        );
    }
    // A hostile value stays one equality assertion: the filter parses and nothing in it
    // is a wildcard or a nested filter.
    for v in ["*", "a*", "x)(uid=*", "*)(objectClass=*", "\\", "\0", ")("] {
        let f = format!("(&(objectClass=person){})", eq_filter("uid", v));
        assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
        let inner = &f["(&(objectClass=person)(uid=".len()..f.len() - 2];
        assert!(!inner.contains(['*', '(', ')']), "{f}");
    }
}

fn membership(attribute: &'static str, group: &str, value: &str) -> LdapObject {
    LdapObject::GroupMembership(Membership {
        attribute,
        group: group.to_string(),
        value: value.to_string(),
    })
}

fn location(dn: &str, disabled_ou: &str) -> LdapObject {
    LdapObject::AccountLocation {
        dn: dn.to_string(),
        disabled_ou: disabled_ou.to_string(),
    }
}

fn account(dn: &str) -> LdapObject {
    LdapObject::Account { dn: dn.to_string() }
}

#[test]
fn membership_ids_round_trip() {
    for (attr, g, v) in [
        ("member", "cn=eng,ou=groups,dc=x", "uid=ada,ou=people,dc=x"),
        ("uniqueMember", "cn=a|b,dc=x", "uid=100%|ada,dc=x"),
        ("memberUid", "cn=unix,dc=x", "ada"),
        ("member", "cn=x%7Cy,dc=x", "uid=%25,dc=x"),
    ] {
        let id = membership(attr, g, v).id();
        assert_eq!(id.matches('|').count(), 2, "{id}");
        assert_eq!(
            LdapObject::parse("group_membership", &id),
            Some(membership(attr, g, v)),
            "{id}"
        );
    }
    assert_eq!(
        membership("member", "cn=eng,dc=x", "uid=ada,dc=x").id(),
        "member|cn=eng,dc=x|uid=ada,dc=x"
    );
    for bad in [
        "",
        "member",
        "member|cn=g",
        "member||uid=a",
        "member|cn=g|",
        "owner|cn=g|uid=a",
        "member|cn=g|uid=a|x",
    ] {
        assert_eq!(LdapObject::parse("group_membership", bad), None, "{bad}");
    }
}

#[test]
fn move_ids_round_trip() {
    let id = location("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x").id();
    assert_eq!(id, "uid=a%7Cb,ou=people,dc=x|ou=disabled,dc=x");
    assert_eq!(
        LdapObject::parse("account_location", &id),
        Some(location("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x"))
    );
    assert_eq!(
        moved_dn("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x").as_deref(),
        Some("uid=a|b,ou=disabled,dc=x")
    );
    assert_eq!(LdapObject::parse("account_location", "uid=a,dc=x"), None);
    assert_eq!(LdapObject::parse("account_location", "|ou=d"), None);
    assert_eq!(LdapObject::parse("account_location", "a|b|c"), None);
}

/// Every kind of object goes through the contract's strings and comes back the same.
#[test]
fn every_ldap_object_round_trips() {
    for o in [
        account("uid=ada,ou=people,dc=example,dc=com"),
        account("cn=Lovelace\\, Ada,ou=people,dc=x"),
        account("cn=ci-bot,ou=services,dc=example,dc=com"),
        membership("member", "cn=eng,ou=groups,dc=x", "uid=ada,ou=people,dc=x"),
        membership("uniqueMember", "cn=a|b,dc=x", "uid=100%|ada,dc=x"),
        membership("memberUid", "cn=unix,ou=groups,dc=x", "ada"),
        location("uid=ada,ou=people,dc=x", "ou=disabled,dc=x"),
        location("cn=a%|b,ou=people,dc=x", "ou=dis|abled,dc=x"),
    ] {
        assert_eq!(
            LdapObject::parse(o.kind(), &o.id()),
            Some(o.clone()),
            "{o:?}"
        );
    }
}

/// Ids as evidence written by the adapter before the typed objects carries them.
#[test]
fn recorded_ldap_ids_parse_to_their_objects() {
    let people = "ou=people,dc=example,dc=com";
    let groups = "ou=groups,dc=example,dc=com";
    let accounts = [
        format!("uid=ada,{people}"),
        "cn=ci-bot,ou=services,dc=example,dc=com".to_string(),
        "cn=Lovelace\\, Ada,dc=x".to_string(),
        "cn=a|b,dc=x".to_string(),
    ];
    for dn in accounts {
        assert_eq!(
            LdapObject::parse("account", &dn),
            Some(account(&dn)),
            "{dn}"
        );
    }
    let memberships = [
        (
            format!("member|cn=eng,{groups}|uid=ada,{people}"),
            membership(
                "member",
                &format!("cn=eng,{groups}"),
                &format!("uid=ada,{people}"),
            ),
        ),
        (
            "uniqueMember|cn=a%7Cb,dc=x|uid=100%25%7Cada,dc=x".to_string(),
            membership("uniqueMember", "cn=a|b,dc=x", "uid=100%|ada,dc=x"),
        ),
        // Lowercase hex was always accepted on the way back.
        (
            "uniqueMember|cn=a%7cb,dc=x|uid=ada,dc=x".to_string(),
            membership("uniqueMember", "cn=a|b,dc=x", "uid=ada,dc=x"),
        ),
        (
            format!("memberUid|cn=unix,{groups}|ada"),
            membership("memberUid", &format!("cn=unix,{groups}"), "ada"),
        ),
        // A DN spelled differently by hand is still a DN: the ownership check decides.
        (
            "member|cn=g,dc=x|UID=Bob, OU=People, dc=x".to_string(),
            membership("member", "cn=g,dc=x", "UID=Bob, OU=People, dc=x"),
        ),
    ];
    for (id, object) in memberships {
        assert_eq!(
            LdapObject::parse("group_membership", &id),
            Some(object),
            "{id}"
        );
    }
    let disabled = "ou=disabled,dc=example,dc=com";
    let moves = [
        (
            format!("uid=ada,{people}|{disabled}"),
            location(&format!("uid=ada,{people}"), disabled),
        ),
        (
            "uid=a%7Cb,ou=people,dc=x|ou=disabled,dc=x".to_string(),
            location("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x"),
        ),
    ];
    for (id, object) in moves {
        assert_eq!(
            LdapObject::parse("account_location", &id),
            Some(object),
            "{id}"
        );
    }
    // What discovery writes is what it always wrote.
    assert_eq!(
        membership("memberUid", "cn=unix,dc=x", "ada").kind(),
        "group_membership"
    );
    assert_eq!(account("uid=ada,dc=x").kind(), "account");
    assert_eq!(account("uid=ada,dc=x").id(), "uid=ada,dc=x");
    assert_eq!(
        location("uid=ada,dc=x", "ou=disabled,dc=x").kind(),
        "account_location"
    );
}

/// Tampered ids, ids of another kind and ids of other adapters name nothing here.
#[test]
fn tampered_ldap_ids_do_not_parse() {
    let bad = [
        // Another kind's id, or the right id under the wrong kind (a `|` inside a DN's value is
        // legal, so an account_location id may still be some entry's DN).
        ("account", "member|cn=g,dc=x|uid=a,dc=x"),
        ("group_membership", "uid=a,dc=x"),
        ("group_membership", "uid=a,dc=x|ou=disabled,dc=x"),
        ("account_location", "member|cn=g,dc=x|uid=a,dc=x"),
        ("session", "uid=a,dc=x"),
        ("", "uid=a,dc=x"),
        ("Account", "uid=a,dc=x"),
        // Other adapters' ids.
        ("account", "ada"),
        ("account", "access_key/ada/AKIA1"),
        ("group_membership", "Groups/g1/Users/u1"),
        // Not DNs: empty, no attribute type, empty RDNs.
        ("account", ""),
        ("account", " "),
        ("account", "=ada,dc=x"),
        ("account", "uid=ada,"),
        ("account", "uid=ada,,dc=x"),
        ("account", "*"),
        ("account", "x)(uid=*"),
        ("group_membership", "member|cn=g|"),
        ("group_membership", "member||uid=a,dc=x"),
        ("group_membership", "member|*|uid=a,dc=x"),
        ("group_membership", "member|cn=g,dc=x|*"),
        ("group_membership", "member|cn=g,dc=x|x)(uid=*"),
        ("group_membership", "uniqueMember|cn=g,dc=x|ada"),
        ("group_membership", "memberUid|cn=g,dc=x|"),
        ("group_membership", "memberUid|ada|ada"),
        // Attributes a revocation never removes a value of, in any case.
        ("group_membership", "owner|cn=g,dc=x|uid=a,dc=x"),
        ("group_membership", "MEMBER|cn=g,dc=x|uid=a,dc=x"),
        ("group_membership", "member |cn=g,dc=x|uid=a,dc=x"),
        // Extra or missing segments.
        ("group_membership", "member|cn=g,dc=x"),
        ("group_membership", "member|cn=g,dc=x|uid=a,dc=x|"),
        ("group_membership", "member|cn=g,dc=x|uid=a,dc=x|member"),
        ("account_location", "uid=a,dc=x|"),
        ("account_location", "|ou=disabled,dc=x"),
        ("account_location", "uid=a,dc=x|ou=d,dc=x|ou=e,dc=x"),
        ("account_location", "uid=a,dc=x"),
        // A DN without a parent has nowhere to move back to.
        ("account_location", "uid=a|ou=disabled,dc=x"),
        ("account_location", "uid=a,dc=x|disabled"),
    ];
    for (kind, id) in bad {
        assert_eq!(LdapObject::parse(kind, id), None, "{kind} {id:?}");
    }
}

/// Splitting a DN into its RDNs honours escapes and quotes, and shows empty RDNs.
#[test]
fn dns_split_into_rdns() {
    fn rdns(dn: &str) -> Vec<&str> {
        split_rdns(dn).collect()
    }
    assert_eq!(rdns("uid=a, ou=p ,dc=x"), ["uid=a", "ou=p", "dc=x"]);
    assert_eq!(rdns("cn=a\\,b;dc=x"), ["cn=a\\,b", "dc=x"]);
    assert_eq!(rdns("cn=\"a,b\",dc=x"), ["cn=\"a,b\"", "dc=x"]);
    assert_eq!(rdns("uid=a,"), ["uid=a", ""]);
    assert_eq!(rdns(""), [""]);
}

#[test]
fn dns_split_and_compare() {
    assert_eq!(
        split_first_rdn("uid=ada,ou=people,dc=x"),
        Some(("uid=ada", "ou=people,dc=x"))
    );
    assert_eq!(
        split_first_rdn("cn=Lovelace\\, Ada,ou=people,dc=x"),
        Some(("cn=Lovelace\\, Ada", "ou=people,dc=x"))
    );
    assert_eq!(
        split_first_rdn("cn=\"a,b\",dc=x"),
        Some(("cn=\"a,b\"", "dc=x"))
    );
    assert_eq!(split_first_rdn("cn=a\\\\,dc=x"), Some(("cn=a\\\\", "dc=x")));
    assert_eq!(split_first_rdn("dc=x"), None);
    assert_eq!(split_first_rdn(""), None);
    assert!(dn_eq("UID=Ada, OU=People,dc=X", "uid=ada,ou=people,dc=x"));
    assert!(dn_eq("cn=Ada Lovelace,dc=x", "cn=ada lovelace , dc=x"));
    assert!(!dn_eq("cn=Ada Lovelace,dc=x", "cn=AdaLovelace,dc=x"));
    assert!(!dn_eq("uid=ada,dc=x", "uid=adam,dc=x"));
    assert!(!dn_eq("cn=a\\,b,dc=x", "cn=a,b,dc=x"));
    assert!(dn_within("uid=ada,ou=People,dc=x", "ou=people, dc=x"));
    assert!(dn_within("ou=people,dc=x", "ou=people,dc=x"));
    assert!(dn_within(
        "uid=ada,ou=disabled,ou=people,dc=x",
        "ou=people,dc=x"
    ));
    assert!(!dn_within("uid=ada,ou=disabled,dc=x", "ou=people,dc=x"));
    assert!(!dn_within("ou=people,dc=x", "uid=ada,ou=people,dc=x"));
    // An escaped comma is part of a value, not a level.
    assert!(!dn_within("cn=a\\,ou=people,dc=x", "ou=people,dc=x"));
    assert!(dn_within("cn=a\\,ou=people,dc=x", "dc=x"));
    assert!(!dn_within("uid=ada,ou=xpeople,dc=x", "ou=people,dc=x"));
}

#[test]
fn generalized_times() {
    let t = parse_generalized_time("20240131235959Z").unwrap();
    assert_eq!(t.to_rfc3339(), "2024-01-31T23:59:59+00:00");
    let t = parse_generalized_time("20240131235959.25Z").unwrap();
    assert_eq!(t.timestamp_subsec_millis(), 250);
    assert_eq!(parse_generalized_time("20240131235959"), None);
    assert_eq!(parse_generalized_time("2024013123Z"), None);
    assert_eq!(parse_generalized_time("20241331235959Z"), None);
    assert_eq!(parse_generalized_time("x"), None);
    assert!(generalized_time_ok(PERMANENT_LOCK));
    assert!(generalized_time_ok("20240131235959Z"));
    assert!(generalized_time_ok("2024013123Z"));
    assert!(!generalized_time_ok("20240131235959"));
    assert!(!generalized_time_ok("now"));
    assert!(!generalized_time_ok("2024Z"));
}

#[test]
fn result_codes_are_classified() {
    for rc in [3, 51, 52, 81, 85, 91] {
        assert_eq!(classify_result_code(rc), ErrorClass::Transient, "{rc}");
    }
    for rc in [1, 2, 4, 10, 16, 20, 32, 34, 49, 50, 53, 65, 68, 80] {
        assert_eq!(classify_result_code(rc), ErrorClass::Permanent, "{rc}");
    }
    assert!(result_hint(49).contains("password_env"));
    let io = |k| LdapError::Io {
        source: std::io::Error::new(k, "x"),
    };
    assert_eq!(
        connect_error_class(&io(std::io::ErrorKind::ConnectionRefused)),
        ErrorClass::Transient
    );
    assert_eq!(
        connect_error_class(&io(std::io::ErrorKind::InvalidData)),
        ErrorClass::Permanent
    );
    assert_eq!(
        connect_error_class(&LdapError::UnknownScheme("http".into())),
        ErrorClass::Permanent
    );
}

#[test]
fn attribute_names_and_filters_from_config() {
    for ok in ["owner", "manager", "x-sponsor", "2.5.4.32"] {
        assert!(attribute_name_ok(ok), "{ok}");
    }
    for bad in ["", "owner)(", "a b", "1.", "-x", "o*"] {
        assert!(!attribute_name_ok(bad), "{bad}");
    }
    assert!(filter_ok(DEFAULT_USER_FILTER));
    assert!(filter_ok(DEFAULT_SPONSORED_FILTER));
    assert!(!filter_ok("objectClass=person"));
    assert!(!filter_ok("(objectClass=person"));
}

const MINIMAL: &str = "url = \"ldap://127.0.0.1:389\"\nbind_dn = \"cn=revoker,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"\n";

#[test]
fn config_defaults_and_redaction() {
    std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
    let t = LdapTarget::from_table(&table(MINIMAL), "main").unwrap();
    assert_eq!(t.group_base_dn, "dc=x");
    assert_eq!(t.sponsored_base_dn, "dc=x");
    assert_eq!(t.match_attribute(), MatchAttribute::Uid);
    assert_eq!(t.owner_attributes, vec!["owner".to_string()]);
    assert_eq!(t.lock_value, PERMANENT_LOCK);
    assert_eq!(t.user_filter, DEFAULT_USER_FILTER);
    assert_eq!(t.disabled_ou, None);
    assert_eq!(t.last_member_placeholder, "");
    assert_eq!(t.principal(), "cn=revoker,dc=x");
    assert_eq!(t.session.timeout, std::time::Duration::from_secs(10));
    assert!(!t.session.starttls && matches!(t.session.trust, connection::Trust::System));
    assert!(!format!("{t:?}").contains("s3cret"), "{t:?}");
    let t = LdapTarget::from_table(
        &table(&format!(
            "{MINIMAL}group_base_dn = \"ou=groups,dc=x\"\nmatch_attribute = \"employeeNumber\"\nowner_attributes = [\"owner\", \"manager\"]\ndisabled_ou = \"ou=disabled,dc=x\"\nlock_value = \"20240101000000Z\"\nprincipal = \"revoker\"\ntimeout_ms = 500\nstarttls = true"
        )),
        "main",
    )
    .unwrap();
    assert_eq!(t.group_base_dn, "ou=groups,dc=x");
    assert_eq!(t.match_attribute(), MatchAttribute::EmployeeNumber);
    assert_eq!(t.owner_attributes, vec!["owner", "manager"]);
    assert_eq!(t.disabled_ou.as_deref(), Some("ou=disabled,dc=x"));
    assert_eq!(t.principal(), "revoker");
    assert!(t.session.starttls);
}

/// A CA certificate (EC P-256, made with openssl for this test; its key is not kept).
pub(crate) const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBlDCCATmgAwIBAgIUZ0MJUbLhcERVFfiLS8ncWzGSf8AwCgYIKoZIzj0EAwIw\nHjEcMBoGA1UEAwwTcmV2b2tlIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDUwMzEwMzla\nGA8yMTI2MTExMTAzMTAzOVowHjEcMBoGA1UEAwwTcmV2b2tlIHVuaXQgdGVzdCBD\nQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMbpmmYvfD5g/EUaON7HFHj9QUvS\n+XWB3rVpZzSnRk51nGnwkKQKpnIvfKBx2V3BgoBIwZwc5VaGXzi19lZnN5yjUzBR\nMB0GA1UdDgQWBBTiArSdksFJ1zcdcVrxZ9Qsj8/2PTAfBgNVHSMEGDAWgBTiArSd\nksFJ1zcdcVrxZ9Qsj8/2PTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA\nMEYCIQCSluX/dnH1RY8LU43uf6HqDv8Amy35XCw2Ljm2dDO25gIhAMjvYJaYxQSI\nzYmE0OM2fMYFvVWfFdz31eJvA+B9qm2G\n-----END CERTIFICATE-----\n";

#[test]
fn a_ca_file_is_trusted_alone_and_a_bad_one_is_refused_naming_it() {
    std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
    let dir = std::env::temp_dir().join(format!("revoke-ca-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("ca.pem");
    std::fs::write(&good, TEST_CA_PEM).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let with = |extra: String| LdapTarget::from_table(&table(&format!("{MINIMAL}{extra}")), "main");
    let t = with(format!("ca_file = {:?}\n", good.display().to_string())).unwrap();
    assert!(matches!(t.session.trust, connection::Trust::CaFile(_)));
    let err = with(format!("ca_file = {:?}\n", empty.display().to_string())).unwrap_err();
    assert!(
        err.contains("ca_file") && err.contains("no PEM certificate"),
        "{err}"
    );
    let err = with("ca_file = \"/nonexistent/ca.pem\"\n".into()).unwrap_err();
    assert!(
        err.contains("ca_file") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
    let err = with(format!(
        "ca_file = {:?}\ntls_no_verify = true\n",
        good.display().to_string()
    ))
    .unwrap_err();
    assert!(err.contains("not both"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Why the config table `toml` is refused.
fn config_error(toml: &str) -> String {
    LdapTarget::from_table(&table(toml), "main").err().unwrap()
}

#[test]
fn config_errors_name_the_key() {
    std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
    let err = |extra: &str| config_error(&format!("{MINIMAL}{extra}"));
    assert!(err("password = \"inline\"").contains("unknown key"));
    assert!(err("match_attribute = \"cn\"").contains("match_attribute"));
    assert!(err("owner_attributes = [\"owner)(uid=*\"]").contains("owner_attributes"));
    assert!(err("owner_attributes = \"owner\"").contains("owner_attributes"));
    assert!(err("user_filter = \"uid=*\"").contains("user_filter"));
    assert!(err("lock_value = \"now\"").contains("lock_value"));
    assert!(err("disabled_ou = \"disabled\"").contains("disabled_ou"));
    assert!(err("timeout_ms = 0").contains("timeout_ms"));
    assert!(err("starttls = \"yes\"").contains("starttls"));
    assert!(err("password_file = \"/x\"").contains("exactly one"));
    let e = config_error("url = \"http://x\"\nbind_dn = \"cn=a,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"");
    assert!(e.contains("ldap://"), "{e}");
    let e = config_error("url = \"ldap://x\"\nbind_dn = \"cn=a,dc=x\"\npassword_env = \"REVOKE_LDAP_UNSET_PW\"\nbase_dn = \"dc=x\"");
    assert!(
        e.contains("REVOKE_LDAP_UNSET_PW") && !e.contains("s3cret"),
        "{e}"
    );
    let e = config_error(
        "url = \"ldap://x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"",
    );
    assert!(e.contains("bind_dn"), "{e}");
}

#[test]
fn values_compare_like_case_ignore_match() {
    assert!(case_ignore_eq("Ada", "ada"));
    assert!(case_ignore_eq(" ada ", "ada"));
    assert!(case_ignore_eq("Ada  Lovelace", "ada lovelace"));
    assert!(!case_ignore_eq("ada", "adam"));
    assert!(!case_ignore_eq("ada*", "ada"));
    assert!(!case_ignore_eq("ada\0", "ada"));
}

#[test]
fn identity_fields_feed_the_match_attribute() {
    let who = Identity {
        employee_id: "E1".into(),
        email: Some("ada@x".into()),
        username: Some(String::new()),
        kind: revoke_shared::contract::IdentityKind::Employee,
    };
    assert_eq!(MatchAttribute::Uid.value(&who), None);
    assert_eq!(MatchAttribute::Mail.value(&who), Some("ada@x"));
    assert_eq!(MatchAttribute::EmployeeNumber.value(&who), Some("E1"));
}

#[tokio::test]
async fn an_unreachable_directory_is_transient_and_names_no_password() {
    std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
    let t = LdapTarget::from_table(
        &table("url = \"ldap://127.0.0.1:9\"\nbind_dn = \"cn=revoker,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"\ntimeout_ms = 2000"),
        "main",
    )
    .unwrap();
    let who = Identity {
        employee_id: "E1".into(),
        email: None,
        username: Some("ada".into()),
        kind: revoke_shared::contract::IdentityKind::Employee,
    };
    match Target::discover(&t, &who).await {
        Err(e @ TargetError::Transient(_)) => {
            assert!(!e.to_string().contains("s3cret"), "{e}");
            assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
}
