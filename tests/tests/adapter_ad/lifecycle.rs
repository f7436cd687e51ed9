//! The whole contract at the DC: a leaver, what they sponsor and a look-alike; revoked, read
//! back, run again (nothing written), restored, restored again (nothing written) — each step
//! checked with AD's own answers (binds, kinit, attributes).

use super::*;
use revoke::adapters::Target;
use revoke_shared::contract::{ObjectOutcome, Outcome, RestoreOutcome};
use revoke_tests::kit;

/// A computer account (a service account in AD's class hierarchy) that can bind with `PW`,
/// `managedBy` the sponsor.
async fn add_service_account(
    ldap: &mut ldap3::Ldap,
    ou: &str,
    name: &str,
    sponsor: &str,
) -> String {
    let dn = add_computer(ldap, ou, name, &[("managedBy", sponsor)]).await;
    set_password(ldap, &dn, PW, 0x1000).await;
    dn
}

/// The outcome of every restored object of `kind`.
fn outcomes(
    restored: &[revoke_shared::contract::RestoredObject],
    kind: &str,
) -> Vec<RestoreOutcome> {
    kit::restore_outcomes(restored, kind)
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn a_leaver_and_their_service_account_are_revoked_read_back_and_restored() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let ada = format!("ada{run}");
    let ada_dn = add_enabled_user(&mut ldap, &ou, &ada, PW).await;
    // A look-alike whose name starts with the leaver's, in the same groups.
    let twin = format!("{ada}x");
    let twin_dn = add_enabled_user(&mut ldap, &ou, &twin, PW).await;
    let eng = add_group(&mut ldap, &ou, &format!("eng{run}"), &[&ada_dn, &twin_dn]).await;
    let ops = add_group(&mut ldap, &ou, &format!("ops{run}"), &[&ada_dn]).await;
    // A nested group: ops is a member of it, ada is not directly.
    let all = add_group(&mut ldap, &ou, &format!("all{run}"), &[&ops]).await;
    let svc = add_service_account(&mut ldap, &ou, &format!("svc{run}"), &ada_dn).await;
    let twin_svc = add_service_account(&mut ldap, &ou, &format!("tsvc{run}"), &twin_dn).await;
    let expires_before = values(&mut ldap, &ada_dn, "accountExpires").await;
    assert_eq!(
        bind_as(&ada_dn, PW).await,
        Ok(()),
        "the leaver signs in before"
    );
    assert_eq!(
        bind_as(&svc, PW).await,
        Ok(()),
        "the service account signs in before"
    );
    assert_eq!(kinit(&ada, PW), Ok(()), "the leaver gets a ticket before");

    let t = target(&ou, "");
    let who = who(&ada, &format!("{ada}@example.com"));
    let report = kit::revoke(&t as &dyn Target, &who).await;
    kit::assert_outcome(&report, Outcome::Revoked);
    let ada_guid = guid_of(&mut ldap, &ada_dn).await.to_string();
    let svc_guid = guid_of(&mut ldap, &svc).await.to_string();
    assert_eq!(
        kit::object_ids(&report, "account", Some(false)),
        vec![ada_guid.clone()]
    );
    assert_eq!(
        kit::object_ids(&report, "account", Some(true)),
        vec![svc_guid]
    );
    let mut groups = vec![
        format!("{}|{ada_guid}", guid_of(&mut ldap, &eng).await),
        format!("{}|{ada_guid}", guid_of(&mut ldap, &ops).await),
    ];
    groups.sort();
    assert_eq!(kit::object_ids(&report, "group_membership", None), groups);
    assert_eq!(kit::object_ids(&report, "account_expiry", None).len(), 1);
    assert_eq!(report.objects.len(), 5, "{:#?}", report.objects);
    for o in &report.objects {
        assert!(o.verified, "{o:?}");
        assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
        assert!(o.removed_at.is_some(), "{o:?}");
    }

    // At the DC: AD's own reasons, the groups, the bits; the look-alike keeps everything.
    assert_eq!(bind_as(&ada_dn, PW).await, Err("account disabled".into()));
    let refused = kinit(&ada, PW).expect_err("the KDC refuses the leaver");
    assert!(refused.contains("revoked"), "kinit: {refused}");
    assert_eq!(bind_as(&svc, PW).await, Err("account disabled".into()));
    assert!(!lists(&mut ldap, &eng, &ada_dn).await && !lists(&mut ldap, &ops, &ada_dn).await);
    assert!(
        lists(&mut ldap, &all, &ops).await,
        "the nested group stays nested"
    );
    assert!(values(&mut ldap, &ada_dn, "memberOf").await.is_empty());
    assert!(lists(&mut ldap, &eng, &twin_dn).await);
    assert_eq!(bind_as(&twin_dn, PW).await, Ok(()));
    assert_eq!(kinit(&twin, PW), Ok(()));
    assert_eq!(bind_as(&twin_svc, PW).await, Ok(()));
    let uac: u32 = value(&mut ldap, &ada_dn, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_eq!(uac, 0x202, "ACCOUNTDISABLE added, NORMAL_ACCOUNT kept");
    let svc_uac: u32 = value(&mut ldap, &svc, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_eq!(svc_uac, 0x1002, "the service account's other bits kept");

    // A second run writes nothing.
    let touched = [ada_dn.as_str(), svc.as_str(), eng.as_str(), ops.as_str()];
    let usn = usns(&mut ldap, &touched).await;
    let again = kit::revoke(&t as &dyn Target, &who).await;
    kit::assert_outcome(&again, Outcome::AlreadyAbsent);
    assert!(
        again
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.verified),
        "{:#?}",
        again.objects
    );
    // The memberships are gone, so the second run lists none.
    assert_eq!(again.objects.len(), 3, "{:#?}", again.objects);
    assert_eq!(usns(&mut ldap, &touched).await, usn, "the second run wrote");

    // Restored from the first run's evidence: all of it comes back.
    let restored = kit::restore(&t as &dyn Target, &who, &report.objects).await;
    for r in &restored {
        assert_eq!(r.outcome, RestoreOutcome::Restored, "{r:?}");
    }
    assert_eq!(bind_as(&ada_dn, PW).await, Ok(()));
    assert_eq!(kinit(&ada, PW), Ok(()));
    assert_eq!(bind_as(&svc, PW).await, Ok(()));
    assert!(lists(&mut ldap, &eng, &ada_dn).await && lists(&mut ldap, &ops, &ada_dn).await);
    assert_eq!(
        values(&mut ldap, &ada_dn, "accountExpires").await,
        expires_before
    );
    let uac: u32 = value(&mut ldap, &ada_dn, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_eq!(uac, 0x200);

    // Restored again (a replay): nothing to do, nothing written.
    let usn = usns(&mut ldap, &touched).await;
    let replayed = kit::restore(&t as &dyn Target, &who, &report.objects).await;
    for r in &replayed {
        assert_eq!(r.outcome, RestoreOutcome::AlreadyPresent, "{r:?}");
    }
    assert_eq!(
        usns(&mut ldap, &touched).await,
        usn,
        "the replayed restore wrote"
    );
    assert_eq!(outcomes(&replayed, "group_membership").len(), 2);
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn the_password_reset_and_the_disabled_ou_and_what_a_restore_cannot_undo() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let people = format!("OU=people,{ou}");
    let disabled = format!("OU=disabled,{ou}");
    add_ou(&mut ldap, &people).await;
    add_ou(&mut ldap, &disabled).await;
    let bo = format!("bo{run}");
    let bo_dn = add_enabled_user(&mut ldap, &people, &bo, PW).await;
    let pwd_before = value(&mut ldap, &bo_dn, "pwdLastSet").await;

    let t = target(
        &ou,
        &format!("reset_password = true\ndisabled_ou = {disabled:?}\n"),
    );
    let who = who(&bo, "x@example.com");
    let report = kit::revoke(&t as &dyn Target, &who).await;
    kit::assert_outcome(&report, Outcome::Revoked);
    let kinds: Vec<&str> = report
        .objects
        .iter()
        .map(|o| o.object_kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        ["account", "account_expiry", "password", "account_location"],
        "{:#?}",
        report.objects
    );
    assert!(report
        .objects
        .iter()
        .all(|o| o.verified && o.outcome == ObjectOutcome::Revoked));

    // At the DC: the entry is in the disabled OU, its password changed, the old one refused.
    let moved = format!("CN={bo},{disabled}");
    assert_eq!(
        values(&mut ldap, &moved, "sAMAccountName").await,
        vec![bo.clone()]
    );
    assert_ne!(value(&mut ldap, &moved, "pwdLastSet").await, pwd_before);
    assert!(bind_as(&moved, PW).await.is_err());
    assert!(kinit(&bo, PW).is_err());

    // A second run: nothing left to reset or move, nothing written.
    let usn = usns(&mut ldap, &[&moved]).await;
    let again = kit::revoke(&t as &dyn Target, &who).await;
    kit::assert_outcome(&again, Outcome::AlreadyAbsent);
    let kinds: Vec<&str> = again
        .objects
        .iter()
        .map(|o| o.object_kind.as_str())
        .collect();
    assert_eq!(kinds, ["account", "account_expiry"], "{:#?}", again.objects);
    assert_eq!(
        usns(&mut ldap, &[&moved]).await,
        usn,
        "the second run wrote"
    );

    // Restored: enabled and back where it was; the password is the one thing that stays.
    let restored = kit::restore(&t as &dyn Target, &who, &report.objects).await;
    assert_eq!(outcomes(&restored, "account"), [RestoreOutcome::Restored]);
    assert_eq!(
        outcomes(&restored, "account_expiry"),
        [RestoreOutcome::Restored]
    );
    assert_eq!(
        outcomes(&restored, "account_location"),
        [RestoreOutcome::Restored]
    );
    assert_eq!(
        outcomes(&restored, "password"),
        [RestoreOutcome::Irreversible]
    );
    let back = values(&mut ldap, &bo_dn, "sAMAccountName").await;
    assert_eq!(back, vec![bo.clone()], "back under OU=people");
    let uac: u32 = value(&mut ldap, &bo_dn, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_eq!(uac & 0x2, 0, "enabled");
    // The KDC refuses the old password. (Samba still accepts it in a simple bind for a while
    // after the reset, as AD accepts a previous password for NTLM during
    // OldPasswordAllowedPeriod: the reset is defence in depth behind the disable, never the
    // revocation itself.)
    let kdc = kinit(&bo, PW).expect_err("the old password gets no ticket");
    assert!(kdc.contains("Password incorrect"), "kinit: {kdc}");
}
