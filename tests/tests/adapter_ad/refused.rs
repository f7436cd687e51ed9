//! The DC refuses part of a revocation: a leaver who is a Domain Admin. The delegated revoker
//! may disable them (in AD, SDProp would protect even that within the hour) but not touch
//! Domain Admins, which AdminSDHolder protects. The evidence says exactly that — the account
//! disabled and read back, the membership failed with the DC's reason, never "verified" — and
//! the case fails for a person to finish, the DC showing the membership still there.

use super::*;
use revoke::adapters::Target;
use revoke_shared::contract::{ObjectOutcome, Outcome};
use revoke_tests::kit;

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn a_domain_admins_membership_the_dc_refuses_is_reported_failed_not_verified() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let root = var("REVOKE_TEST_AD_BASE_DN");
    let admins = format!("CN=Domain Admins,CN=Users,{root}");
    let dan = format!("dan{run}");
    let dan_dn = add_enabled_user(&mut ldap, &ou, &dan, PW).await;
    let eng = add_group(&mut ldap, &ou, &format!("eng{run}"), &[&dan_dn]).await;
    let add = |m| ldap3::Mod::Add("member", HashSet::from([m]));
    ldap.modify(&admins, vec![add(dan_dn.as_str())])
        .await
        .unwrap()
        .success()
        .expect("the administrator makes dan a Domain Admin");

    let t = target(&ou, &format!("group_base_dn = {root:?}\n"));
    let report = kit::revoke(&t as &dyn Target, &who(&dan, "x@example.com")).await;
    kit::assert_outcome(&report, Outcome::Failed);
    let admins_g = guid_of(&mut ldap, &admins).await;
    let failed: Vec<_> = report
        .objects
        .iter()
        .filter(|o| o.object_id.starts_with(&admins_g.to_string()))
        .collect();
    assert_eq!(failed.len(), 1, "{:#?}", report.objects);
    assert_eq!(failed[0].outcome, ObjectOutcome::Failed, "{:?}", failed[0]);
    assert!(!failed[0].verified);
    let reason = failed[0].error.as_deref().unwrap_or_default();
    assert!(
        reason.contains("50") || reason.to_lowercase().contains("insufficient"),
        "{reason}"
    );
    assert!(!reason.contains(PW) && !reason.contains(&var("REVOKE_TEST_AD_BIND_PW")));
    // What the DC allowed is done and read back.
    for o in report
        .objects
        .iter()
        .filter(|o| !o.object_id.starts_with(&admins_g.to_string()))
    {
        assert!(o.verified && o.outcome == ObjectOutcome::Revoked, "{o:?}");
    }
    assert_eq!(bind_as(&dan_dn, PW).await, Err("account disabled".into()));
    assert!(!lists(&mut ldap, &eng, &dan_dn).await);
    assert!(
        lists(&mut ldap, &admins, &dan_dn).await,
        "the DC refused it: still listed"
    );

    // The shared DC keeps one Domain Admin.
    ldap.modify(
        &admins,
        vec![ldap3::Mod::Delete(
            "member",
            HashSet::from([dan_dn.as_str()]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
}
