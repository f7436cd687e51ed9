//! More than fits in one answer: a person sponsoring more service accounts than one page of the
//! adapter's paged search (500) and than Active Directory's MaxPageSize (1000) — each found (only
//! the paged search finds sponsored accounts), each disabled at the DC. Samba answers an unpaged
//! search of them whole (measured: 1,050 entries), where AD stops at 1,000; what this proves is
//! that the adapter follows the paged-results cookie through every page (three here).

use super::*;
use revoke::adapters::Target;
use revoke_shared::contract::Outcome;
use revoke_tests::kit;

/// Sponsored accounts seeded: over AD's MaxPageSize.
const ACCOUNTS: usize = 1_050;

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn more_sponsored_accounts_than_a_page_are_all_found_and_disabled() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let cy = format!("cy{run}");
    let cy_dn = add_enabled_user(&mut ldap, &ou, &cy, PW).await;
    let services = format!("OU=services,{ou}");
    add_ou(&mut ldap, &services).await;
    let seeding = std::time::Instant::now();
    for i in 0..ACCOUNTS {
        let name = format!("s{run}{i}");
        add_computer(&mut ldap, &services, &name, &[("managedBy", &cy_dn)]).await;
    }
    println!(
        "seeded {ACCOUNTS} service accounts in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let t = target(&ou, "");
    let who = who(&cy, "x@example.com");
    let revoking = std::time::Instant::now();
    let report = kit::revoke(&t as &dyn Target, &who).await;
    println!("revoked in {:.1} s", revoking.elapsed().as_secs_f64());
    kit::assert_outcome(&report, Outcome::Revoked);
    assert_eq!(
        kit::object_ids(&report, "account", Some(true)).len(),
        ACCOUNTS
    );
    let (enabled, _) = ldap
        .search(
            &services,
            Scope::OneLevel,
            "(&(objectClass=computer)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            vec!["1.1"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(enabled.is_empty(), "{} still enabled", enabled.len());
}
