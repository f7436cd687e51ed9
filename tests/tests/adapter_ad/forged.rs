//! Restores an attacker (or a misdirected rescind) would send. A restore is a grant: each is
//! refused or withheld with the reason, and the DC shows that nothing was written.

use super::*;
use revoke::adapters::Target;
use revoke_shared::contract::{Outcome, RestoreOutcome};
use revoke_tests::kit;

fn evidence(
    kind: &str,
    id: &str,
    action: &str,
    sponsored: bool,
) -> revoke_shared::contract::ObjectEvidence {
    let mut e = kit::revoked_evidence(kind, id, action, "forger");
    e.sponsored = sponsored;
    e
}

/// A restore request for `member`'s membership of `group`.
fn membership(group: &uuid::Uuid, member: &uuid::Uuid) -> revoke_shared::contract::ObjectEvidence {
    let id = format!("{group}|{member}");
    evidence("group_membership", &id, "remove_membership", false)
}

/// Disables `dn` as the administrator (someone else's revocation, or an account kept off).
async fn disable(ldap: &mut ldap3::Ldap, dn: &str) {
    ldap.modify(
        dn,
        vec![ldap3::Mod::Replace(
            "userAccountControl",
            HashSet::from(["514"]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap_or_else(|e| panic!("disable {dn}: {e}"));
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn forged_restores_give_nothing_back() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let ada = format!("ada{run}");
    let ada_dn = add_enabled_user(&mut ldap, &ou, &ada, PW).await;
    let eve = format!("eve{run}");
    let eve_dn = add_enabled_user(&mut ldap, &ou, &eve, PW).await;
    disable(&mut ldap, &eve_dn).await;
    let vault = add_group(&mut ldap, &ou, &format!("vault{run}"), &[&eve_dn]).await;
    let elsewhere = format!("OU=elsewhere{run},{}", var("REVOKE_TEST_AD_BASE_DN"));
    add_ou(&mut ldap, &elsewhere).await;
    let outside = add_group(&mut ldap, &elsewhere, &format!("outside{run}"), &[]).await;
    let (ada_g, eve_g) = (
        guid_of(&mut ldap, &ada_dn).await,
        guid_of(&mut ldap, &eve_dn).await,
    );
    let (vault_g, outside_g) = (
        guid_of(&mut ldap, &vault).await,
        guid_of(&mut ldap, &outside).await,
    );
    let admins = format!(
        "CN=Domain Admins,CN=Users,{}",
        var("REVOKE_TEST_AD_BASE_DN")
    );
    let admins_g = guid_of(&mut ldap, &admins).await;
    let t = target(&ou, "");
    // The whole domain as group base: the privileged groups are then in reach, and withheld.
    let wide = target(
        &ou,
        &format!("group_base_dn = {:?}\n", var("REVOKE_TEST_AD_BASE_DN")),
    );
    let who_ada = who(&ada, "x@example.com");

    let watched = [
        ada_dn.as_str(),
        eve_dn.as_str(),
        vault.as_str(),
        outside.as_str(),
        admins.as_str(),
    ];
    let usn = usns(&mut ldap, &watched).await;
    for (target, ev, expected) in [
        // eve's account, asked back for ada.
        (
            &t,
            evidence("account", &eve_g.to_string(), "disable", false),
            RestoreOutcome::Refused,
        ),
        // eve's account as if ada sponsored it.
        (
            &t,
            evidence("account", &eve_g.to_string(), "disable", true),
            RestoreOutcome::Refused,
        ),
        // ada into a group, with eve's GUID as the member.
        (&t, membership(&vault_g, &eve_g), RestoreOutcome::Refused),
        // ada into a group outside group_base_dn.
        (&t, membership(&outside_g, &ada_g), RestoreOutcome::Refused),
        // ada into Domain Admins: outside the base here ...
        (&t, membership(&admins_g, &ada_g), RestoreOutcome::Refused),
        // ... and, with the whole domain as group base, a privileged group: a person decides.
        (
            &wide,
            membership(&admins_g, &ada_g),
            RestoreOutcome::Withheld,
        ),
        // ada's account, with another action than the one that revoked it.
        (
            &t,
            evidence("account", &ada_g.to_string(), "expire", false),
            RestoreOutcome::Refused,
        ),
        // ada moved out of the base.
        (
            &t,
            evidence(
                "account_location",
                &format!("{ada_g}|{elsewhere}"),
                "move",
                false,
            ),
            RestoreOutcome::Refused,
        ),
        // an id that is not this adapter's.
        (
            &t,
            evidence("account", &ada_dn, "disable", false),
            RestoreOutcome::Refused,
        ),
    ] {
        let r = kit::restore(target as &dyn Target, &who_ada, std::slice::from_ref(&ev)).await;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, expected, "{ev:?}: {}", r[0].detail);
        assert!(!r[0].detail.is_empty(), "a reason: {:?}", r[0]);
    }
    assert_eq!(
        usns(&mut ldap, &watched).await,
        usn,
        "a forged restore wrote"
    );
    assert_eq!(bind_as(&eve_dn, PW).await, Err("account disabled".into()));
    assert!(!lists(&mut ldap, &admins, &ada_dn).await);

    // Hostile names revoke nothing: no one is found, nothing is written.
    for name in ["*", &format!("{ada}*"), &format!("{ada})(sAMAccountName=*")] {
        let r = kit::revoke(&t as &dyn Target, &who(name, "x@example.com")).await;
        assert!(r.objects.is_empty(), "{name}: {:#?}", r.objects);
        assert_ne!(r.outcome, Outcome::Failed, "{name}: {:?}", r.error);
    }
    assert_eq!(usns(&mut ldap, &watched).await, usn, "a hostile name wrote");
    assert_eq!(bind_as(&ada_dn, PW).await, Ok(()));
}

/// A service account two people sponsor (`managedBy` one, `manager` the other): the first
/// sponsor's rescind does not undo what the second's termination took.
#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn a_co_sponsored_account_stays_disabled_while_the_other_sponsor_is_revoked() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let ada = format!("ada{run}");
    let ada_dn = add_enabled_user(&mut ldap, &ou, &ada, PW).await;
    let bob = format!("bob{run}");
    let bob_dn = add_enabled_user(&mut ldap, &ou, &bob, PW).await;
    // A computer account (AD's class for services; users have no managedBy): managedBy ada,
    // manager bob.
    let svc = add_computer(
        &mut ldap,
        &ou,
        &format!("svc{run}"),
        &[("managedBy", &ada_dn), ("manager", &bob_dn)],
    )
    .await;
    let t = target(
        &ou,
        "owner_attributes = [\"managedBy\", \"manager\"]\nsponsored_filter = \"(objectClass=computer)\"\n",
    );
    let (who_ada, who_bob) = (who(&ada, "x@example.com"), who(&bob, "y@example.com"));
    let ada_report = kit::revoke(&t as &dyn Target, &who_ada).await;
    kit::assert_outcome(&ada_report, Outcome::Revoked);
    assert_eq!(kit::object_ids(&ada_report, "account", Some(true)).len(), 1);
    let bob_report = kit::revoke(&t as &dyn Target, &who_bob).await;
    kit::assert_outcome(&bob_report, Outcome::Revoked);

    // Ada's termination is rescinded; Bob's stands.
    let restored = kit::restore(&t as &dyn Target, &who_ada, &ada_report.objects).await;
    let sponsored: Vec<_> = restored.iter().filter(|r| r.sponsored).collect();
    assert_eq!(sponsored.len(), 1);
    assert_eq!(
        sponsored[0].outcome,
        RestoreOutcome::Withheld,
        "{}",
        sponsored[0].detail
    );
    let uac: u32 = value(&mut ldap, &svc, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_ne!(uac & 0x2, 0, "still disabled");
    assert_eq!(
        bind_as(&ada_dn, PW).await,
        Ok(()),
        "ada's own account is back"
    );
    // Bob's rescinded too: now it comes back.
    kit::restore(&t as &dyn Target, &who_bob, &bob_report.objects).await;
    let again = kit::restore(&t as &dyn Target, &who_ada, &ada_report.objects).await;
    let sponsored: Vec<_> = again.iter().filter(|r| r.sponsored).collect();
    assert!(
        matches!(
            sponsored[0].outcome,
            RestoreOutcome::Restored | RestoreOutcome::AlreadyPresent
        ),
        "{:?}",
        sponsored[0]
    );
    let uac: u32 = value(&mut ldap, &svc, "userAccountControl")
        .await
        .parse()
        .unwrap();
    assert_eq!(uac & 0x2, 0, "enabled once no sponsor is revoked");
}
