//! The test's own LDAP client to the Samba AD DC (`tests/services/samba.sh`,
//! `REVOKE_TEST_AD_*`): seeding users, groups and service accounts as the domain's administrator
//! and checking outcomes at the peer (AD's reason for a refused bind, GUIDs) with plain LDAP,
//! never through the adapter under test. Its certificate is not checked here: the adapter's
//! check is what the adapter tests prove.

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry};
use std::collections::HashSet;

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} names the test's Samba DC: run the README's test command")
    })
}

/// A connection to the DC, and the answer to a simple bind as `dn`.
pub async fn connect(dn: &str, password: &str) -> (Ldap, LdapResult) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &var("REVOKE_TEST_AD_URL"))
        .await
        .expect("the DC answers");
    ldap3::drive!(conn);
    let r = ldap.simple_bind(dn, password).await.expect("a bind answer");
    (ldap, r)
}

/// A connection bound as the domain's administrator.
pub async fn admin() -> Ldap {
    let (ldap, r) = connect(
        &var("REVOKE_TEST_AD_ADMIN_DN"),
        &var("REVOKE_TEST_AD_ADMIN_PW"),
    )
    .await;
    assert_eq!(r.rc, 0, "the administrator binds: {r}");
    ldap
}

/// Whether `dn` binds with `password`; else AD's reason (`account disabled` for `data 533`, …).
pub async fn bind_as(dn: &str, password: &str) -> Result<(), String> {
    let (mut ldap, r) = connect(dn, password).await;
    let _ = ldap.unbind().await;
    match r.rc {
        0 => Ok(()),
        _ => Err(
            revoke::adapters::active_directory::syntax::bind_refusal(&r.text)
                .map_or_else(|| format!("rc {} {}", r.rc, r.text), str::to_string),
        ),
    }
}

/// Adds the entry `dn` with `attrs`, panicking with the DC's answer if it refuses.
pub async fn add(ldap: &mut Ldap, dn: &str, attrs: Vec<(&str, HashSet<&str>)>) {
    ldap.add(dn, attrs)
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
}

/// Sets `password` on `dn` (`unicodePwd`, over TLS) and `userAccountControl` to `control`.
pub async fn set_password(ldap: &mut Ldap, dn: &str, password: &str, control: u32) {
    let pw = revoke::adapters::active_directory::syntax::unicode_pwd(password);
    let control = control.to_string().into_bytes();
    ldap.modify(
        dn,
        vec![
            Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([pw])),
            Mod::Replace(b"userAccountControl".to_vec(), HashSet::from([control])),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap_or_else(|e| panic!("password of {dn}: {e}"));
}

/// A user `CN=<sam>,<ou>` with `mail` that cannot sign in yet (no password, disabled as AD
/// creates it); its DN.
pub async fn add_user(ldap: &mut Ldap, ou: &str, sam: &str, mail: &str) -> String {
    let dn = format!("CN={sam},{ou}");
    let class = HashSet::from(["top", "person", "organizationalPerson", "user"]);
    let attrs = vec![
        ("objectClass", class),
        ("sAMAccountName", HashSet::from([sam])),
        ("mail", HashSet::from([mail])),
    ];
    add(ldap, &dn, attrs).await;
    dn
}

/// An enabled user (NORMAL_ACCOUNT) `CN=<sam>,<ou>` with `mail` and `password`; its DN.
pub async fn add_enabled_user(
    ldap: &mut Ldap,
    ou: &str,
    sam: &str,
    mail: &str,
    password: &str,
) -> String {
    let dn = add_user(ldap, ou, sam, mail).await;
    set_password(ldap, &dn, password, 0x200).await;
    dn
}

/// A computer account `CN=<name>,<ou>` (AD's class for services; `sAMAccountName` `<name>$`,
/// WORKSTATION_TRUST_ACCOUNT) with `attrs` besides (e.g. `managedBy`); its DN.
pub async fn add_computer(ldap: &mut Ldap, ou: &str, name: &str, attrs: &[(&str, &str)]) -> String {
    let dn = format!("CN={name},{ou}");
    let sam = format!("{name}$");
    let class = ["top", "person", "organizationalPerson", "user", "computer"];
    let mut all = vec![
        ("objectClass", HashSet::from(class)),
        ("sAMAccountName", HashSet::from([sam.as_str()])),
        ("userAccountControl", HashSet::from(["4096"])),
    ];
    all.extend(attrs.iter().map(|(a, v)| (*a, HashSet::from([*v]))));
    add(ldap, &dn, all).await;
    dn
}

/// The `objectGUID` of `dn`, as AD's tools print it.
pub async fn guid_of(ldap: &mut Ldap, dn: &str) -> uuid::Uuid {
    let (entries, _) = ldap
        .search(dn, Scope::Base, "(objectClass=*)", vec!["objectGUID"])
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("reading {dn}: {e}"));
    let e = SearchEntry::construct(entries.into_iter().next().expect("the entry"));
    uuid::Uuid::from_bytes_le(e.bin_attrs["objectGUID"][0].clone().try_into().unwrap())
}

/// The values of `attr` on `dn` (empty when absent).
pub async fn values(ldap: &mut Ldap, dn: &str, attr: &str) -> Vec<String> {
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

/// Whether `member_dn` is among the `member` values of `group`.
pub async fn lists(ldap: &mut Ldap, group: &str, member_dn: &str) -> bool {
    values(ldap, group, "member")
        .await
        .iter()
        .any(|m| m.eq_ignore_ascii_case(member_dn))
}

/// A global security group `CN=<name>,<ou>` listing `members`; its DN.
pub async fn add_group(ldap: &mut Ldap, ou: &str, name: &str, members: &[&str]) -> String {
    let dn = format!("CN={name},{ou}");
    let mut attrs = vec![
        ("objectClass", HashSet::from(["top", "group"])),
        ("sAMAccountName", HashSet::from([name])),
    ];
    if !members.is_empty() {
        attrs.push(("member", members.iter().copied().collect()));
    }
    add(ldap, &dn, attrs).await;
    dn
}
