//! A person and what they sponsor: revoked, asserted at moto, run again, restored; matching by tag,
//! the delete policy and ambiguous matches.

use super::*;

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_revokes_a_person_and_what_they_sponsor() {
    let (moto, run) = Moto::with_run().await;
    let ada = format!("ada-{run}");
    let ada2 = format!("ada-{run}x"); // shares ada's name as a prefix
    let bob = format!("bob-{run}");
    let ada_bot = format!("ada-bot-{run}"); // sponsored by ada, by username
    let ada_ci = format!("ci-{run}"); // sponsored by ada, by employee id
    let bob_bot = format!("bob-bot-{run}"); // sponsored by bob
    let (g1, g2) = (format!("eng-{run}"), format!("ops-{run}"));
    let ada_eid = format!("E-{run}");

    // --- seed, as an operator would, through the IAM API -----------------------------------
    moto.user(&ada, &[("employee_id", &ada_eid)]).await;
    for u in [&ada2, &bob] {
        moto.user(u, &[]).await;
    }
    moto.user(&ada_bot, &[("owner", &ada)]).await;
    moto.user(&ada_ci, &[("owner", &ada_eid), ("team", "ci")])
        .await;
    moto.user(&bob_bot, &[("owner", &bob)]).await;
    let (ak1, ask1) = moto.key(&ada).await;
    let (ak2, ask2) = moto.key(&ada).await;
    let (bot_key, bot_secret) = moto.key(&ada_bot).await;
    let (ci_key, _) = moto.key(&ada_ci).await;
    for u in [&ada2, &bob, &bob_bot] {
        moto.key(u).await;
    }
    for u in [&ada, &ada2, &bob] {
        moto.login_profile(u).await;
    }
    moto.group(&g1, &[&ada, &ada2, &bob]).await;
    moto.group(&g2, &[&ada]).await;
    let serial = moto.mfa(&ada).await;
    moto.mfa(&bob).await;
    let ssh = moto.ssh_key(&ada).await;
    moto.ssh_key(&bob).await;
    let cert = moto.cert(&ada).await;
    moto.cert(&bob).await;
    let mut bystanders = Vec::new();
    for u in [&ada2, &bob, &bob_bot] {
        bystanders.push(moto.footprint(u).await);
    }

    // --- the adapter, configured as in docs/configuration.md (defaults: keys deactivated, SSH keys and
    //     certificates deleted, sponsored users found by the `owner` tag) --------------------
    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let principal = target.principal().to_string();
    assert!(principal.starts_with("arn:aws:iam::"), "{principal}");
    assert!(!principal.contains(DUMMY_SECRET));

    let who = employee(
        &ada_eid,
        Some(&ada),
        Some(&format!("ada-{run}@example.com")),
    );
    let started = Instant::now();
    let first = revoke(&target, &who).await;
    let took = started.elapsed();
    // A sponsored user needs a new owner: a person must act, so the target is manual_required.
    assert_outcome(&first, Outcome::ManualRequired);
    assert_object_ids(
        &first,
        vec![
            (
                "access_key",
                false,
                vec![
                    format!("access_key/{ada}/{ak1}"),
                    format!("access_key/{ada}/{ak2}"),
                ],
            ),
            ("login_profile", false, vec![format!("login_profile/{ada}")]),
            (
                "group_membership",
                false,
                vec![
                    format!("group_membership/{g1}/{ada}"),
                    format!("group_membership/{g2}/{ada}"),
                ],
            ),
            ("mfa_device", false, vec![format!("mfa/{ada}/{serial}")]),
            ("ssh_key", false, vec![format!("ssh_key/{ada}/{ssh}")]),
            (
                "signing_cert",
                false,
                vec![format!("signing_cert/{ada}/{cert}")],
            ),
            (
                "access_key",
                true,
                vec![
                    format!("access_key/{ada_bot}/{bot_key}"),
                    format!("access_key/{ada_ci}/{ci_key}"),
                ],
            ),
            (
                "sponsored_user_ownership",
                true,
                vec![
                    format!("sponsored_user/{ada_bot}"),
                    format!("sponsored_user/{ada_ci}"),
                ],
            ),
            (
                "issued_sessions",
                false,
                vec![format!("issued_sessions/{ada}")],
            ),
        ],
    );
    assert_eq!(first.objects.len(), 13, "{:#?}", first.objects);
    for o in &first.objects {
        assert_eq!(o.actor.principal, principal);
        if o.object_kind == "sponsored_user_ownership" {
            assert_eq!(o.outcome, ObjectOutcome::ManualRequired, "{o:?}");
            assert_eq!(o.action, "transfer_ownership");
            let e = o.error.as_deref().unwrap_or_default();
            assert!(e.contains("needs a new owner"), "{e}");
        } else {
            assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
            assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        }
    }
    // The sponsored keys are deactivated before the ownership escalation.
    let pos = |kind: &str| {
        first
            .objects
            .iter()
            .rposition(|o| o.object_kind == kind && o.sponsored)
            .unwrap()
    };
    let first_transfer = first
        .objects
        .iter()
        .position(|o| o.object_kind == "sponsored_user_ownership")
        .unwrap();
    assert!(pos("access_key") < first_transfer);
    let action_of = |id: &str| {
        first
            .objects
            .iter()
            .find(|o| o.object_id == id)
            .map(|o| o.action.clone())
            .unwrap()
    };
    assert_eq!(action_of(&format!("access_key/{ada}/{ak1}")), "deactivate");
    assert_eq!(action_of(&format!("ssh_key/{ada}/{ssh}")), "delete");
    // Evidence names key ids, never secrets.
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in [&ask1, &ask2, &bot_secret, &DUMMY_SECRET.to_string()] {
        assert!(
            !evidence.contains(secret.as_str()),
            "a secret leaked into evidence"
        );
    }
    eprintln!(
        "iam (authorization_details scan): first run over {} objects took {:?} ({} calls incl. discovery)",
        first.objects.len(),
        took,
        first.attempts
    );

    // --- what moto itself says ---------------------------------------------------------------
    let ada_keys = moto.keys(&ada).await;
    assert_eq!(ada_keys.len(), 2, "deactivated, not deleted: {ada_keys:?}");
    assert!(
        ada_keys.iter().all(|(_, s)| s == "Inactive"),
        "{ada_keys:?}"
    );
    assert!(!moto.has_login_profile(&ada).await, "ada can still sign in");
    assert!(moto.groups(&ada).await.is_empty(), "ada still in groups");
    assert!(
        moto.mfa_serials(&ada).await.is_empty(),
        "ada's MFA still on"
    );
    assert!(
        moto.ssh_keys(&ada).await.is_empty(),
        "ada's SSH key still there"
    );
    assert!(
        moto.certs(&ada).await.is_empty(),
        "ada's certificate still there"
    );
    assert_eq!(moto.keys(&ada_bot).await, only(&bot_key, "Inactive"));
    assert_eq!(moto.keys(&ada_ci).await, only(&ci_key, "Inactive"));
    for (u, before) in [&ada2, &bob, &bob_bot].into_iter().zip(&bystanders) {
        assert_eq!(&moto.footprint(u).await, before, "{u} was touched");
    }

    // --- again: nothing new to do, same end state; the ownership transfer still waits ---------
    let second = revoke(&target, &who).await;
    assert_outcome(&second, Outcome::ManualRequired);
    for o in &second.objects {
        if o.object_kind == "sponsored_user_ownership" {
            assert_eq!(o.outcome, ObjectOutcome::ManualRequired, "{o:?}");
        } else {
            assert!(
                o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none" && o.verified,
                "{o:?}"
            );
        }
    }
    // Deleted things are no longer listed; deactivated keys are (as already absent).
    assert_eq!(
        object_ids(&second, "access_key", Some(false)),
        object_ids(&first, "access_key", Some(false))
    );
    assert!(object_ids(&second, "login_profile", Some(false)).is_empty());
    assert!(object_ids(&second, "group_membership", Some(false)).is_empty());
    assert!(moto.keys(&ada).await.iter().all(|(_, s)| s == "Inactive"));

    // A person takes the sponsored users over: the escalation resolves.
    moto.retag(&ada_bot, "owner", &bob).await;
    moto.retag(&ada_ci, "owner", &format!("carol-{run}")).await;
    let third = revoke(&target, &who).await;
    assert_outcome(&third, Outcome::AlreadyAbsent);
    assert!(object_ids(&third, "sponsored_user_ownership", Some(true)).is_empty());

    // --- restore (a rescind) from the first run's evidence -----------------------------------
    let restored = restore(&target, &who, &first.objects).await;
    let outcome_of = |kind: &str, sponsored: bool| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|r| r.object_kind == kind && r.sponsored == sponsored)
            .map(|r| r.outcome)
            .collect()
    };
    assert_eq!(
        outcome_of("access_key", false),
        vec![RestoreOutcome::Restored; 2],
        "{restored:#?}"
    );
    // The sponsored users were taken over by others meanwhile (re-tagged above): their keys are
    // no longer the leaver's to get back, whoever holds them now decides.
    assert_eq!(
        outcome_of("access_key", true),
        vec![RestoreOutcome::Refused; 2],
        "{restored:#?}"
    );
    assert_eq!(
        outcome_of("issued_sessions", false),
        vec![RestoreOutcome::Restored]
    );
    assert_eq!(
        outcome_of("group_membership", false),
        vec![RestoreOutcome::Restored; 2]
    );
    for kind in ["login_profile", "mfa_device", "ssh_key", "signing_cert"] {
        assert_eq!(
            outcome_of(kind, false),
            vec![RestoreOutcome::Irreversible],
            "{kind}: {restored:#?}"
        );
    }
    assert!(
        outcome_of("sponsored_user_ownership", true).is_empty(),
        "a manual step is not restored"
    );
    assert!(restored
        .iter()
        .filter(|r| r.outcome == RestoreOutcome::Irreversible)
        .all(|r| !r.detail.is_empty()));
    assert!(moto.keys(&ada).await.iter().all(|(_, s)| s == "Active"));
    assert_eq!(
        moto.groups(&ada).await,
        sorted(vec![g1.clone(), g2.clone()])
    );
    assert_eq!(
        moto.keys(&ada_bot).await,
        only(&bot_key, "Inactive"),
        "bob's bot now: not re-activated for ada"
    );
    assert!(!moto.has_login_profile(&ada).await);
    assert!(moto.mfa_serials(&ada).await.is_empty());
    let again = restore(&target, &who, &first.objects).await;
    for r in &again {
        let expected = match r.object_kind.as_str() {
            "access_key" if r.sponsored => RestoreOutcome::Refused,
            "access_key" | "group_membership" | "issued_sessions" => RestoreOutcome::AlreadyPresent,
            _ => RestoreOutcome::Irreversible,
        };
        assert_eq!(r.outcome, expected, "{r:?}");
    }

    // --- identities that must not reach anyone ------------------------------------------------
    let before_hostile = moto.footprint(&ada).await;
    hostile_identities_revoke_nothing(&target, &run, &bob).await;
    hostile_identities_revoke_nothing(&target, &run, &ada).await;
    assert_eq!(moto.footprint(&ada).await, before_hostile);
    for (u, before) in [&ada2, &bob, &bob_bot].into_iter().zip(&bystanders) {
        assert_eq!(&moto.footprint(u).await, before, "{u} was touched");
    }
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_by_tag_with_delete_policy_and_ambiguity() {
    let (moto, run) = Moto::with_run().await;
    let eid = format!("E-{run}");
    // The IAM user name differs from the HR username: found by its employee_id tag.
    let user = format!("cy.{run}");
    let other = format!("dee.{run}");
    let g = format!("dev-{run}");
    moto.user(&user, &[("employee_id", &eid)]).await;
    moto.user(&other, &[("employee_id", &format!("{eid}0"))])
        .await;
    let (k1, _) = moto.key(&user).await;
    let (k2, _) = moto.key(&user).await;
    // One key already inactive: deleted all the same (the policy is delete).
    moto.deactivate_key(&user, &k2).await;
    moto.key(&other).await;
    moto.group(&g, &[&user, &other]).await;
    let ssh = moto.ssh_key(&user).await;
    let cert = moto.cert(&user).await;
    let other_before = moto.footprint(&other).await;

    let target = iam_target(
        &format!(
            "{}\nmatch = \"tag\"\ntag_key = \"employee_id\"\naccess_keys = \"delete\"\nssh_keys = \"deactivate\"\nsigning_certs = \"deactivate\"\nuser_scan = \"list_user_tags\"\nprincipal = \"revoke-test\"\ntimeout_ms = 5000",
            base_table(&moto.url)
        ),
        "tagged",
    )
    .await
    .expect("iam config");
    assert_eq!(target.principal(), "revoke-test");
    let who = employee(&eid, Some("cy"), None);
    let started = Instant::now();
    let first = revoke(&target, &who).await;
    eprintln!(
        "iam (tag match, list_user_tags scan): first run over {} objects took {:?}",
        first.objects.len(),
        started.elapsed()
    );
    assert_outcome(&first, Outcome::Revoked);
    assert_eq!(
        object_ids(&first, "access_key", Some(false)),
        sorted(vec![
            format!("access_key/{user}/{k1}"),
            format!("access_key/{user}/{k2}")
        ])
    );
    assert!(first
        .objects
        .iter()
        .filter(|o| o.object_kind == "access_key")
        .all(|o| o.action == "delete" && o.outcome == ObjectOutcome::Revoked));
    assert!(moto.keys(&user).await.is_empty(), "keys not deleted");
    assert!(moto.groups(&user).await.is_empty());
    assert_eq!(moto.ssh_keys(&user).await, only(&ssh, "Inactive"));
    assert_eq!(moto.certs(&user).await, only(&cert, "Inactive"));
    assert_eq!(
        moto.footprint(&other).await,
        other_before,
        "{other} was touched"
    );

    let second = revoke(&target, &who).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(second
        .objects
        .iter()
        .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none"));
    assert_eq!(
        second.objects.len(),
        3,
        "the inactive SSH key and certificate, and the deny on older sessions"
    );

    let restored = restore(&target, &who, &first.objects).await;
    let by_kind = |kind: &str| kit::restore_outcomes(&restored, kind);
    assert_eq!(by_kind("access_key"), vec![RestoreOutcome::Irreversible; 2]);
    assert_eq!(by_kind("group_membership"), vec![RestoreOutcome::Restored]);
    assert_eq!(by_kind("ssh_key"), vec![RestoreOutcome::Restored]);
    assert_eq!(by_kind("signing_cert"), vec![RestoreOutcome::Restored]);
    assert_eq!(moto.ssh_keys(&user).await, only(&ssh, "Active"));
    assert_eq!(moto.certs(&user).await, only(&cert, "Active"));
    assert_eq!(moto.groups(&user).await, vec![g.clone()]);

    // Two users carry the same employee id: a person decides, nothing is touched.
    let dup = format!("cy2.{run}");
    moto.user(&dup, &[("employee_id", &eid)]).await;
    moto.key(&dup).await;
    let before = (moto.footprint(&user).await, moto.footprint(&dup).await);
    let r = revoke(&target, &who).await;
    assert_outcome(&r, Outcome::ManualRequired);
    assert!(r.objects.is_empty());
    let e = r.error.unwrap_or_default();
    assert!(e.contains(&user) && e.contains(&dup), "{e}");
    assert_eq!(
        (moto.footprint(&user).await, moto.footprint(&dup).await),
        before
    );

    // Hostile employee ids match no tag exactly.
    for (i, name) in ["*", "a*", "x)(uid=*", "\"", "../", &format!("{eid}*")]
        .into_iter()
        .enumerate()
    {
        let r = revoke(&target, &employee(name, Some(&format!("h{i}")), None)).await;
        assert!(r.objects.is_empty(), "{name:?}: {:#?}", r.objects);
        assert!(r.error.is_none(), "{name:?}: {:?}", r.error);
    }
    assert_eq!(
        moto.footprint(&other).await,
        other_before,
        "{other} was touched"
    );
}
