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

use ldap3::Scope;
use revoke::adapters::active_directory::AdTarget;
use revoke::adapters::TargetError;
use revoke_shared::contract::{Identity, IdentityKind};
use revoke_tests::samba_dc::{
    add, add_computer, add_group, add_user, admin, bind_as, guid_of, lists, set_password, values,
    var,
};
use std::collections::HashSet;

mod forged;
mod lifecycle;
mod paging;
mod pieces;
mod refused;

/// Every seeded user's password (AD's complexity rule applies).
const PW: &str = "Leaver-Test-Pw-1";

/// A user who can sign in: `sam` with `password`, enabled (NORMAL_ACCOUNT).
async fn add_enabled_user(ldap: &mut ldap3::Ldap, ou: &str, sam: &str, password: &str) -> String {
    let mail = format!("{sam}@example.com");
    revoke_tests::samba_dc::add_enabled_user(ldap, ou, sam, &mail, password).await
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

/// A fresh run: the administrator's connection, the run's id and its own OU under the base.
async fn fresh_ou() -> (ldap3::Ldap, String, String) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let ou = format!("OU=run-{run},{}", var("REVOKE_TEST_AD_BASE_DN"));
    let mut ldap = admin().await;
    add_ou(&mut ldap, &ou).await;
    (ldap, run, ou)
}

async fn add_ou(ldap: &mut ldap3::Ldap, dn: &str) {
    add(
        ldap,
        dn,
        vec![("objectClass", HashSet::from(["organizationalUnit"]))],
    )
    .await;
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
