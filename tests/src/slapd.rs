//! The test's own LDAP connection to slapd (`REVOKE_TEST_LDAP_*`), to check an outcome at the
//! peer with plain LDAP rather than through the adapter under test.

use ldap3::{Ldap, LdapConnAsync};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} names the test's slapd"))
}

/// A connection to slapd, not bound.
pub async fn connect() -> Ldap {
    let (conn, ldap) = LdapConnAsync::new(&var("REVOKE_TEST_LDAP_URL"))
        .await
        .expect("slapd reachable");
    ldap3::drive!(conn);
    ldap
}

/// A connection to slapd bound as the administrator.
pub async fn admin() -> Ldap {
    let mut ldap = connect().await;
    ldap.simple_bind(
        &var("REVOKE_TEST_LDAP_BIND_DN"),
        &var("REVOKE_TEST_LDAP_BIND_PW"),
    )
    .await
    .unwrap()
    .success()
    .expect("the administrator binds");
    ldap
}

/// Whether `dn` binds with `pw` at slapd.
pub async fn binds(dn: &str, pw: &str) -> bool {
    let mut ldap = connect().await;
    let ok = ldap.simple_bind(dn, pw).await.is_ok_and(|r| r.rc == 0);
    let _ = ldap.unbind().await;
    ok
}
