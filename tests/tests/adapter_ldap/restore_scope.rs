//! Restores give back only what is the person's: forged and misdirected evidence is refused.

use super::*;

/// Hand-made evidence, as a forged or misdirected rescind would carry it: values and entries
/// of other people, a group outside group_base_dn, a move to somewhere else. Every one is
/// refused and slapd shows nothing changed; the person's own objects still come back.
#[tokio::test]
#[ignore = "needs slapd: run the README's test command"]
async fn ldap_restore_gives_back_only_what_is_the_persons() {
    let (dir, mut l, run) = fresh_run().await;
    run.add_person(&dir, &mut l, "ada", "Ada Lovelace", &[])
        .await;
    let lock = ["000001010000Z"];
    run.add_person(
        &dir,
        &mut l,
        "bob",
        "Bob Byte",
        &[("pwdAccountLockedTime", &lock)],
    )
    .await;
    let (ada, bob) = (run.person_dn("ada"), run.person_dn("bob"));
    let bob_bot = run.dn("cn=bob-bot,ou=services");
    dir.add(
        &mut l,
        &bob_bot,
        &[
            ("objectClass", &["device", "simpleSecurityObject"]),
            ("cn", &["bob-bot"]),
            ("owner", &[&bob]),
            ("userPassword", &["bob-bot-pw"]),
            ("pwdAccountLockedTime", &lock),
        ],
    )
    .await;
    let (g, unix) = (run.group_dn("g"), run.group_dn("unix"));
    dir.add_group(&mut l, &g, "g", &[""]).await;
    dir.add(
        &mut l,
        &unix,
        &[
            ("objectClass", &["posixGroup"]),
            ("cn", &["unix"]),
            ("gidNumber", &["5002"]),
        ],
    )
    .await;
    // A group the revocation never looks at (outside group_base_dn).
    let outside = run.dn("cn=root-admins,ou=services");
    dir.add_group(&mut l, &outside, "root-admins", &[""]).await;
    // carol has been moved to the disabled OU by her own case.
    let disabled = run.dn("ou=disabled");
    let carol_moved = format!("uid=carol,{disabled}");
    dir.add(
        &mut l,
        &carol_moved,
        &[
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &["carol"]),
            ("cn", &["Carol"]),
            ("sn", &["Carol"]),
            ("userPassword", &["carol-pw"]),
        ],
    )
    .await;
    let target = ldap_target(
        &run.config(
            &dir,
            &format!(
                "disabled_ou = \"{disabled}\"\nsponsored_base_dn = \"{}\"",
                run.dn("ou=services")
            ),
        )
        .replace(
            &format!("base_dn = \"{}\"", run.root),
            &format!("base_dn = \"{}\"", run.dn("ou=people")),
        ),
        "test",
    );
    let who = employee("E-ada", Some("ada"), None);
    let ev = |kind: &str, id: String, sponsored: bool, action: &str| ObjectEvidence {
        sponsored,
        removed_at: None,
        ..kit::revoked_evidence(kind, &id, action, &dir.bind_dn)
    };

    let forged = vec![
        ev(
            "group_membership",
            format!("member|{g}|{bob}"),
            false,
            "remove_membership",
        ),
        // bob's DN spelled differently: still bob's.
        ev(
            "group_membership",
            format!("member|{g}|UID=Bob, OU=People, {}", run.root),
            false,
            "remove_membership",
        ),
        ev(
            "group_membership",
            format!("memberUid|{unix}|bob"),
            false,
            "remove_membership",
        ),
        // memberUid matches exactly (caseExactIA5Match): `Ada` is not ada's uid.
        ev(
            "group_membership",
            format!("memberUid|{unix}|Ada"),
            false,
            "remove_membership",
        ),
        // ada's own DN, but in a group the revoker never removes anyone from.
        ev(
            "group_membership",
            format!("member|{outside}|{ada}"),
            false,
            "remove_membership",
        ),
        ev("account", bob.clone(), false, "lock"),
        ev("account", bob.clone(), true, "lock"),
        ev("account", bob_bot.clone(), true, "lock"),
        // Moving carol back, in ada's name.
        ev(
            "account_location",
            format!("uid=carol,{}|{disabled}", run.dn("ou=people")),
            false,
            "move",
        ),
    ];
    let before = dir.snapshot(&mut l, &run.root).await;
    let restored = restore(&target, &who, &forged).await;
    assert_eq!(restored.len(), forged.len());
    for r in &restored {
        assert_eq!(
            r.outcome,
            RestoreOutcome::Refused,
            "{} {} was not refused: {r:#?}",
            r.object_kind,
            r.object_id
        );
        assert!(
            !r.detail.is_empty() && !r.detail.contains(&dir.bind_pw),
            "{r:?}"
        );
    }
    assert_eq!(
        before,
        dir.snapshot(&mut l, &run.root).await,
        "a refused restore changed the directory"
    );
    assert_eq!(dir.values(&mut l, &g, "member").await, vec![String::new()]);
    assert!(dir.values(&mut l, &unix, "memberUid").await.is_empty());
    assert_eq!(
        dir.values(&mut l, &outside, "member").await,
        vec![String::new()]
    );
    assert_eq!(
        dir.values(&mut l, &bob, "pwdAccountLockedTime").await,
        vec!["000001010000Z"]
    );
    assert_eq!(
        dir.values(&mut l, &bob_bot, "pwdAccountLockedTime").await,
        vec!["000001010000Z"]
    );
    assert!(
        dir.entry(&mut l, &carol_moved).await.is_some(),
        "carol was moved back"
    );
    assert_eq!(dir.bind_rc(&bob, "bob-pw").await, 49);

    // ada's own case, revoked for real and moved: a move back to another parent than where she
    // came from is refused; her real evidence restores everything.
    let add_member = ldap3::Mod::Add("member", HashSet::from([ada.as_str()]));
    assert_eq!(l.modify(&g, vec![add_member]).await.unwrap().rc, 0);
    let revoked = revoke(&target, &who).await;
    assert_outcome(&revoked, Outcome::Revoked);
    assert_eq!(revoked.objects.len(), 3, "{:#?}", revoked.objects);
    let ada_moved = format!("uid=ada,{disabled}");
    assert!(dir.entry(&mut l, &ada_moved).await.is_some());
    let elsewhere = ev(
        "account_location",
        format!("uid=ada,{}|{disabled}", run.dn("ou=services")),
        false,
        "move",
    );
    let r = restore(&target, &who, &[elsewhere]).await;
    assert_eq!(r[0].outcome, RestoreOutcome::Refused, "{r:#?}");
    assert!(
        dir.entry(&mut l, &ada_moved).await.is_some(),
        "ada was moved elsewhere"
    );
    // ada's real evidence, restored in bob's name: nothing of it is bob's.
    let before = dir.snapshot(&mut l, &run.root).await;
    let as_bob = restore(
        &target,
        &employee("E-bob", Some("bob"), None),
        &revoked.objects,
    )
    .await;
    assert!(
        as_bob.iter().all(|o| o.outcome == RestoreOutcome::Refused),
        "{as_bob:#?}"
    );
    assert_eq!(before, dir.snapshot(&mut l, &run.root).await);
    let r = restore(&target, &who, &revoked.objects).await;
    assert!(
        r.iter().all(|o| o.outcome == RestoreOutcome::Restored),
        "{r:#?}"
    );
    assert_eq!(dir.bind_rc(&ada, "ada-pw").await, 0);
    let mut members = dir.values(&mut l, &g, "member").await;
    members.sort();
    assert!(members.contains(&ada), "{members:?}");

    dir.delete_tree(&mut l, &run.root).await;
    let _ = l.unbind().await;
}
