//! A person and what they sponsor: revoked, asserted at slapd, run again (no writes), restored.

use super::*;

#[tokio::test]
#[ignore = "needs slapd: run the README's test command"]
async fn ldap_adapter_revokes_a_person_and_what_they_sponsor_then_restores() {
    let (dir, mut l, run) = fresh_run().await;

    // --- seed, as a directory administrator would ------------------------------------------
    run.add_person(&dir, &mut l, "ada", "Ada Lovelace", &[])
        .await;
    let ada = run.person_dn("ada");
    run.add_person(&dir, &mut l, "adam", "Adam Smith", &[])
        .await;
    // bob's line manager is ada: bob is a person, not something ada sponsors.
    run.add_person(&dir, &mut l, "bob", "Bob Byte", &[("manager", &[&ada])])
        .await;
    let (adam, bob) = (run.person_dn("adam"), run.person_dn("bob"));
    let ci_bot = run.dn("cn=ci-bot,ou=services");
    dir.add_bot(&mut l, &ci_bot, "ci-bot", &[&ada], "ci-bot-pw")
        .await;
    let deploy_bot = run.dn("uid=deploy-bot,ou=services");
    dir.add(
        &mut l,
        &deploy_bot,
        &[
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &["deploy-bot"]),
            ("cn", &["deploy bot"]),
            ("sn", &["bot"]),
            ("employeeType", &["service"]),
            ("manager", &[&ada]),
            ("userPassword", &["deploy-bot-pw"]),
        ],
    )
    .await;
    let bob_bot = run.dn("cn=bob-bot,ou=services");
    dir.add_bot(&mut l, &bob_bot, "bob-bot", &[&bob], "bob-bot-pw")
        .await;
    // Groups: ada and bob in eng; ada alone in admins (groupOfNames must keep a member); vpn by
    // uniqueMember; unix by memberUid; legacy lists ada's DN spelled differently (the server's
    // DN matching finds it); ada-team is owned by ada (an owner, not a member, and not an account).
    let legacy_ada = format!("UID=ada, OU=people, {}", run.root);
    for (cn, class, attr, members) in [
        (
            "eng",
            "groupOfNames",
            "member",
            vec![ada.as_str(), bob.as_str()],
        ),
        ("admins", "groupOfNames", "member", vec![ada.as_str()]),
        (
            "legacy",
            "groupOfNames",
            "member",
            vec![legacy_ada.as_str(), bob.as_str()],
        ),
        (
            "vpn",
            "groupOfUniqueNames",
            "uniqueMember",
            vec![ada.as_str(), bob.as_str()],
        ),
        (
            "unix",
            "posixGroup",
            "memberUid",
            vec!["ada", "bob", "adam"],
        ),
    ] {
        let (class_v, cn_v) = ([class], [cn]);
        let mut attrs: Vec<(&str, &[&str])> =
            vec![("objectClass", &class_v), ("cn", &cn_v), (attr, &members)];
        if class == "posixGroup" {
            attrs.push(("gidNumber", &["5000"]));
        }
        dir.add(&mut l, &run.group_dn(cn), &attrs).await;
    }
    let ada_team = run.group_dn("ada-team");
    dir.add(
        &mut l,
        &ada_team,
        &[
            ("objectClass", &["groupOfNames"]),
            ("cn", &["ada-team"]),
            ("owner", &[&ada]),
            ("member", &[&bob]),
        ],
    )
    .await;
    for (dn, pw) in [
        (&ada, "ada-pw"),
        (&adam, "adam-pw"),
        (&bob, "bob-pw"),
        (&ci_bot, "ci-bot-pw"),
        (&deploy_bot, "deploy-bot-pw"),
        (&bob_bot, "bob-bot-pw"),
    ] {
        assert_eq!(
            dir.bind_rc(dn, pw).await,
            0,
            "{dn} cannot bind before the test"
        );
    }

    // --- the adapter, configured as in docs/configuration.md --------------------------------
    let disabled = run.dn("ou=disabled");
    let target = ldap_target(
        &run.config(
            &dir,
            &format!(
                "match_attribute = \"uid\"\nowner_attributes = [\"owner\", \"manager\"]\nsponsored_filter = \"(|(objectClass=simpleSecurityObject)(employeeType=service))\"\ndisabled_ou = \"{disabled}\"\ntimeout_ms = 5000"
            ),
        ),
        "test",
    );
    assert_eq!(target.principal(), dir.bind_dn);
    assert!(!format!("{target:?}").contains(&dir.bind_pw));

    let who = employee(&format!("E-ada-{}", run.id), Some("ada"), None);
    let t0 = Instant::now();
    let first = revoke(&target, &who).await;
    let took = t0.elapsed();
    assert_outcome(&first, Outcome::Revoked);
    eprintln!(
        "ldap: revoked {} objects for one person in {:?} ({} calls)",
        first.objects.len(),
        took,
        first.attempts
    );
    assert_eq!(
        object_ids(&first, "account", Some(false)),
        vec![ada.clone()]
    );
    let mut spons = vec![ci_bot.clone(), deploy_bot.clone()];
    spons.sort();
    assert_eq!(object_ids(&first, "account", Some(true)), spons);
    let mut memberships = vec![
        format!("member|{}|{ada}", run.group_dn("eng")),
        format!("member|{}|{ada}", run.group_dn("admins")),
        format!("member|{}|{ada}", run.group_dn("legacy")),
        format!("uniqueMember|{}|{ada}", run.group_dn("vpn")),
        format!("memberUid|{}|ada", run.group_dn("unix")),
    ];
    memberships.sort();
    assert_eq!(
        object_ids(&first, "group_membership", Some(false)),
        memberships
    );
    assert_eq!(
        object_ids(&first, "account_location", Some(false)),
        vec![format!("{ada}|{disabled}")]
    );
    assert_eq!(first.objects.len(), 9, "{:#?}", first.objects);
    for o in &first.objects {
        assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
        assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        assert_eq!(o.actor.principal, dir.bind_dn);
    }
    // The move is last, so every DN-based step acted on the DN it discovered.
    assert_eq!(
        first.objects.last().unwrap().object_kind,
        "account_location"
    );
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in [&dir.bind_pw, "ada-pw", "ci-bot-pw"] {
        assert!(
            !evidence.contains(secret),
            "a password leaked into evidence"
        );
    }

    // --- what slapd itself says ------------------------------------------------------------
    let ada_moved = format!("uid=ada,{disabled}");
    assert!(
        dir.entry(&mut l, &ada).await.is_none(),
        "ada still in ou=people"
    );
    assert_eq!(
        dir.values(&mut l, &ada_moved, "pwdAccountLockedTime").await,
        vec!["000001010000Z"]
    );
    for dn in [&ci_bot, &deploy_bot] {
        assert_eq!(
            dir.values(&mut l, dn, "pwdAccountLockedTime").await,
            vec!["000001010000Z"],
            "{dn} not locked"
        );
    }
    assert_eq!(
        dir.values(&mut l, &run.group_dn("eng"), "member").await,
        vec![bob.clone()]
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("admins"), "member").await,
        vec![String::new()],
        "the last member is replaced by the placeholder (the empty DN)"
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("legacy"), "member").await,
        vec![bob.clone()]
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("vpn"), "uniqueMember")
            .await,
        vec![bob.clone()]
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("unix"), "memberUid").await,
        vec!["adam".to_string(), "bob".to_string()]
    );
    for dn in [&bob, &adam, &bob_bot, &ada_team] {
        assert!(
            dir.values(&mut l, dn, "pwdAccountLockedTime")
                .await
                .is_empty(),
            "{dn} was locked"
        );
    }
    assert_eq!(
        dir.values(&mut l, &ada_team, "member").await,
        vec![bob.clone()]
    );

    // --- again: nothing new to do, not one write --------------------------------------------
    let before = dir.snapshot(&mut l, &run.root).await;
    let second = revoke(&target, &who).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(!second.objects.is_empty());
    assert!(
        second
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent
                && o.action == "none"
                && o.verified
                && o.removed_at.is_some()),
        "{:#?}",
        second.objects
    );
    assert_eq!(
        object_ids(&second, "account", Some(false)),
        vec![ada_moved.clone()]
    );
    assert_eq!(
        before,
        dir.snapshot(&mut l, &run.root).await,
        "the second run changed the directory (entryCSN/modifyTimestamp moved)"
    );

    // Binds: refused (49) for ada at her new DN and for both bots; bob's side untouched.
    assert_eq!(
        dir.bind_rc(&ada_moved, "ada-pw").await,
        49,
        "ada can still bind"
    );
    assert_eq!(
        dir.bind_rc(&ci_bot, "ci-bot-pw").await,
        49,
        "ci-bot can still bind"
    );
    assert_eq!(
        dir.bind_rc(&deploy_bot, "deploy-bot-pw").await,
        49,
        "deploy-bot can still bind"
    );
    assert_eq!(dir.bind_rc(&bob, "bob-pw").await, 0, "bob was locked out");
    assert_eq!(
        dir.bind_rc(&bob_bot, "bob-bot-pw").await,
        0,
        "bob's bot was locked out"
    );
    assert_eq!(
        dir.bind_rc(&adam, "adam-pw").await,
        0,
        "adam was locked out"
    );

    // --- restore (a rescind) from the first run's evidence ----------------------------------
    let restored = restore(&target, &who, &first.objects).await;
    assert_eq!(restored.len(), 9, "{restored:#?}");
    assert!(
        restored
            .iter()
            .all(|r| r.outcome == RestoreOutcome::Restored),
        "{restored:#?}"
    );
    assert!(
        dir.entry(&mut l, &ada_moved).await.is_none(),
        "ada still in the disabled OU"
    );
    assert!(dir
        .values(&mut l, &ada, "pwdAccountLockedTime")
        .await
        .is_empty());
    for dn in [&ci_bot, &deploy_bot] {
        assert!(
            dir.values(&mut l, dn, "pwdAccountLockedTime")
                .await
                .is_empty(),
            "{dn}"
        );
    }
    let mut eng = vec![ada.clone(), bob.clone()];
    eng.sort();
    assert_eq!(
        dir.values(&mut l, &run.group_dn("eng"), "member").await,
        eng
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("admins"), "member").await,
        vec![ada.clone()],
        "the placeholder stays after restore"
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("legacy"), "member")
            .await
            .len(),
        2
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("vpn"), "uniqueMember")
            .await,
        eng
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("unix"), "memberUid").await,
        vec!["ada".to_string(), "adam".to_string(), "bob".to_string()]
    );
    assert_eq!(
        dir.bind_rc(&ada, "ada-pw").await,
        0,
        "ada cannot bind after restore"
    );
    assert_eq!(
        dir.bind_rc(&ci_bot, "ci-bot-pw").await,
        0,
        "ci-bot cannot bind after restore"
    );
    assert_eq!(dir.bind_rc(&deploy_bot, "deploy-bot-pw").await, 0);
    let again = restore(&target, &who, &first.objects).await;
    assert!(
        again
            .iter()
            .all(|r| r.outcome == RestoreOutcome::AlreadyPresent),
        "{again:#?}"
    );

    // --- identities that must not reach anyone ----------------------------------------------
    let by_mail = ldap_target(&run.config(&dir, "match_attribute = \"mail\""), "test");
    let by_number = ldap_target(
        &run.config(&dir, "match_attribute = \"employeeNumber\""),
        "test",
    );
    let before = dir.snapshot(&mut l, &run.root).await;
    let hostile = [
        "*",
        "a*",
        "ad*",
        "ada*",
        "Ada Lovelace*",
        "*ada",
        "x)(uid=*",
        "*)(objectClass=*",
        "ada)(|(uid=*",
        "\"",
        "../",
        "../ada",
        "\\",
        "\\2a",
        "ada\0",
        "(uid=ada)",
    ];
    for (i, name) in hostile.into_iter().enumerate() {
        for (t, ident) in [
            (&target, employee(&format!("E-h{i}"), Some(name), None)),
            (&by_mail, employee(&format!("E-h{i}"), None, Some(name))),
            (&by_number, employee(name, None, None)),
        ] {
            let r = revoke(t, &ident).await;
            assert!(
                r.objects.is_empty() && r.outcome == Outcome::AlreadyAbsent && r.error.is_none(),
                "identity {name:?} matched something: {:?} {:?} {:#?}",
                r.outcome,
                r.error,
                r.objects
            );
        }
    }
    assert_eq!(
        before,
        dir.snapshot(&mut l, &run.root).await,
        "a hostile identity changed the directory"
    );

    // --- an identity the lookup cannot tell apart: a person decides, nothing is touched -----
    let twin_mail = format!("twin-{}@example.test", run.id);
    for uid in ["twin1", "twin2"] {
        dir.add(
            &mut l,
            &run.person_dn(uid),
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("uid", &[uid]),
                ("cn", &[uid]),
                ("sn", &["twin"]),
                ("mail", &[&twin_mail]),
                ("userPassword", &["twin-pw"]),
            ],
        )
        .await;
    }
    let before = dir.snapshot(&mut l, &run.root).await;
    let r = revoke(
        &by_mail,
        &employee("E-twin", None, Some(&twin_mail.to_uppercase())),
    )
    .await;
    assert_eq!(r.outcome, Outcome::ManualRequired, "{:?}", r.error);
    assert!(r.objects.is_empty());
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("2 entries match"),
        "{:?}",
        r.error
    );
    assert_eq!(before, dir.snapshot(&mut l, &run.root).await);
    // The same mail in another case names the one person it belongs to (caseIgnoreMatch).
    let held = by_mail
        .discover(&employee(
            "E-bob",
            None,
            Some(&format!("BOB-{}@EXAMPLE.TEST", run.id)),
        ))
        .await
        .unwrap();
    assert_eq!(held[0].object_id, bob);

    // --- an identity without the configured attribute is a failure, not "absent" ----------
    let r = revoke(&target, &employee("E-x", None, Some("x@y"))).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.error.unwrap().contains("username"));

    // --- a wrong password is permanent and never printed -------------------------------------
    std::env::set_var("REVOKE_TEST_LDAP_WRONG_PW", "not-the-password-xyz");
    let wrong = ldap_target(
        &run.config(&dir, "")
            .replace(PW_ENV, "REVOKE_TEST_LDAP_WRONG_PW"),
        "wrong",
    );
    match wrong.discover(&who).await {
        Err(e @ TargetError::Permanent(_)) => {
            let s = e.to_string();
            assert!(s.contains("49") && s.contains("password_env"), "{s}");
            assert!(!s.contains("not-the-password-xyz"), "{s}");
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }

    dir.delete_tree(&mut l, &run.root).await;
    assert!(
        dir.entry(&mut l, &run.root).await.is_none(),
        "cleanup left the run's OU"
    );
    let _ = l.unbind().await;
}
