//! The Active Directory adapter against a real Samba 4 AD domain controller
//! (`tests/services/samba.sh`, `REVOKE_TEST_AD_*`, which the README's test command sets).
//!
//! People, groups and sponsored accounts are seeded over LDAP as the domain's administrator
//! (never through the adapter), each run in its own `OU=run-<uuid>`; every outcome is checked at
//! the DC with the test's own client: a simple bind as the leaver refused with AD's reason
//! (`data 533`, account disabled), `kinit` refused by the DC's KDC, `member` values, the control
//! bits, and `uSNChanged` (a second run or a replayed restore that writes nothing leaves it
//! as it was). Samba is evidence of AD's protocol behaviour, not a certification against
//! Microsoft AD.
//!
//! - `pieces`: each step on its own (lookup by each match attribute, over LDAPS and StartTLS;
//!   disable, expire, memberships, a rename between discovery and revocation);
//! - `lifecycle`: the whole contract — revoke, read back, run again, restore, restore again;
//!   with the password reset and the disabled OU too;
//! - `forged`: restores an attacker or a mistake would send — another person's objects, a
//!   privileged group, a co-sponsored account, a move out of the base — refused or withheld,
//!   nothing written;
//! - `refused`: the DC refuses part of a revocation (a Domain Admin's membership): failed, never
//!   verified, the rest done;
//! - `paging`: more sponsored accounts than a page (and than AD's MaxPageSize).

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use revoke::adapters::active_directory::AdTarget;
use revoke::adapters::TargetError;
use revoke_shared::contract::{Identity, IdentityKind};
use std::collections::HashSet;

mod forged;
mod lifecycle;
mod paging;
mod pieces;
mod refused;

/// Every seeded user's password (AD's complexity rule applies).
const PW: &str = "Leaver-Test-Pw-1";

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

/// A fresh run: the administrator's connection, the run's id and its own OU under the base.
async fn fresh_ou() -> (ldap3::Ldap, String, String) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let ou = format!("OU=run-{run},{}", var("REVOKE_TEST_AD_BASE_DN"));
    let mut ldap = admin().await;
    add_ou(&mut ldap, &ou).await;
    (ldap, run, ou)
}

async fn add_ou(ldap: &mut ldap3::Ldap, dn: &str) {
    ldap.add(
        dn,
        vec![("objectClass", HashSet::from(["organizationalUnit"]))],
    )
    .await
    .unwrap()
    .success()
    .unwrap_or_else(|e| panic!("OU {dn}: {e}"));
}

/// A global security group `CN=<name>,<ou>` listing `members`; its DN.
async fn add_group(ldap: &mut ldap3::Ldap, ou: &str, name: &str, members: &[&str]) -> String {
    let dn = format!("CN={name},{ou}");
    let mut attrs = vec![
        ("objectClass", HashSet::from(["top", "group"])),
        ("sAMAccountName", HashSet::from([name])),
    ];
    if !members.is_empty() {
        attrs.push(("member", members.iter().copied().collect()));
    }
    ldap.add(&dn, attrs)
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("group {dn}: {e}"));
    dn
}

/// The values of `attr` on `dn` as the administrator reads them (empty when absent).
async fn values(ldap: &mut ldap3::Ldap, dn: &str, attr: &str) -> Vec<String> {
    let (rs, _) = ldap
        .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("reading {attr} of {dn}: {e}"));
    let e = SearchEntry::construct(rs.into_iter().next().expect("the entry"));
    e.attrs
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// One single value of `attr` on `dn`.
async fn value(ldap: &mut ldap3::Ldap, dn: &str, attr: &str) -> String {
    let v = values(ldap, dn, attr).await;
    assert_eq!(v.len(), 1, "{attr} of {dn}: {v:?}");
    v[0].clone()
}

/// The `uSNChanged` of each of `dns`: equal before and after means nothing was written.
async fn usns(ldap: &mut ldap3::Ldap, dns: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for dn in dns {
        out.push(value(ldap, dn, "uSNChanged").await);
    }
    out
}

/// Whether `member_dn` is among the `member` values of `group`.
async fn lists(ldap: &mut ldap3::Ldap, group: &str, member_dn: &str) -> bool {
    values(ldap, group, "member")
        .await
        .iter()
        .any(|m| m.eq_ignore_ascii_case(member_dn))
}

/// Whether `sam` gets a Kerberos ticket from the DC's KDC with `password` (`kinit`, in a
/// credential cache of its own); else what kinit printed.
fn kinit(sam: &str, password: &str) -> Result<(), String> {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("revoke-ad-kinit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = std::process::Command::new("kinit")
        .arg(format!("{sam}@REVOKE.TEST"))
        .env("KRB5_CONFIG", var("REVOKE_TEST_AD_KRB5_CONFIG"))
        .env("KRB5CCNAME", format!("FILE:{}", dir.join("cc").display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kinit runs (krb5-user)");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
