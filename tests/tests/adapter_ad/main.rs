//! The Active Directory adapter against a real Samba 4 AD domain controller
//! (`tests/services/samba.sh`, `REVOKE_TEST_AD_*`): being built (issue 17), so far the lookup —
//! the person found by sAMAccountName and recorded by the objectGUID the DC holds; hostile and
//! look-alike names find nobody; two people with one mail are ambiguous. Checked at the peer
//! with the test's own LDAP client.

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use revoke::adapters::active_directory::AdTarget;
use revoke::adapters::TargetError;
use revoke_shared::contract::{Identity, IdentityKind};
use std::collections::HashSet;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} names the test's Samba DC"))
}

/// The test's own connection, bound as the domain's administrator (certificate not checked:
/// the adapter's check is what is under test).
async fn admin() -> ldap3::Ldap {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &var("REVOKE_TEST_AD_URL"))
        .await
        .expect("the DC answers");
    ldap3::drive!(conn);
    ldap.simple_bind(
        &var("REVOKE_TEST_AD_ADMIN_DN"),
        &var("REVOKE_TEST_AD_ADMIN_PW"),
    )
    .await
    .unwrap()
    .success()
    .expect("the administrator binds");
    ldap
}

async fn add_user(ldap: &mut ldap3::Ldap, ou: &str, sam: &str, mail: &str) -> String {
    let dn = format!("CN={sam},{ou}");
    ldap.add(
        &dn,
        vec![
            (
                "objectClass",
                HashSet::from(["top", "person", "organizationalPerson", "user"]),
            ),
            ("sAMAccountName", HashSet::from([sam])),
            ("mail", HashSet::from([mail])),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap_or_else(|e| panic!("add {dn}: {e}"));
    dn
}

async fn guid_of(ldap: &mut ldap3::Ldap, dn: &str) -> uuid::Uuid {
    let (entries, _) = ldap
        .search(dn, Scope::Base, "(objectClass=*)", vec!["objectGUID"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = SearchEntry::construct(entries.into_iter().next().unwrap());
    uuid::Uuid::from_bytes_le(e.bin_attrs["objectGUID"][0].clone().try_into().unwrap())
}

fn who(username: &str, email: &str) -> Identity {
    Identity {
        employee_id: "E1".into(),
        email: Some(email.into()),
        username: Some(username.into()),
        kind: IdentityKind::Employee,
    }
}

fn target(ou: &str, extra: &str) -> AdTarget {
    target_trusting(&var("REVOKE_TEST_AD_CA_FILE"), ou, extra)
}

fn target_trusting(ca_file: &str, ou: &str, extra: &str) -> AdTarget {
    std::env::set_var("REVOKE_TEST_AD_REVOKER_PW", var("REVOKE_TEST_AD_BIND_PW"));
    let t: toml::Table = format!(
        "url = {:?}\nca_file = {ca_file:?}\nbind_dn = {:?}\npassword_env = \"REVOKE_TEST_AD_REVOKER_PW\"\nbase_dn = {ou:?}\n{extra}",
        var("REVOKE_TEST_AD_URL"),
        var("REVOKE_TEST_AD_BIND_DN"),
    )
    .parse()
    .unwrap();
    AdTarget::from_table(&t, "ad").expect("the table")
}

/// A user who can sign in: `sam` with `password`, enabled (NORMAL_ACCOUNT).
async fn add_enabled_user(ldap: &mut ldap3::Ldap, ou: &str, sam: &str, password: &str) -> String {
    let dn = add_user(ldap, ou, sam, &format!("{sam}@example.com")).await;
    let pw = revoke::adapters::active_directory::syntax::unicode_pwd(password);
    ldap.modify(
        &dn,
        vec![
            ldap3::Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([pw])),
            ldap3::Mod::Replace(
                b"userAccountControl".to_vec(),
                HashSet::from([b"512".to_vec()]),
            ),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap_or_else(|e| panic!("enable {dn}: {e}"));
    dn
}

/// Whether `dn` binds with `password` at the DC; else AD's reason (`data <code>`).
async fn bind_as(dn: &str, password: &str) -> Result<(), String> {
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &var("REVOKE_TEST_AD_URL"))
        .await
        .unwrap();
    ldap3::drive!(conn);
    let r = ldap.simple_bind(dn, password).await.unwrap();
    let _ = ldap.unbind().await;
    match r.rc {
        0 => Ok(()),
        _ => Err(
            revoke::adapters::active_directory::syntax::bind_refusal(&r.text)
                .map_or_else(|| format!("rc {} {}", r.rc, r.text), str::to_string),
        ),
    }
}
