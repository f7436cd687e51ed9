//! Many leavers at once, and values slapd treats specially (escaping, temporary lockouts).

use super::*;

/// Many leavers at once through one adapter (one shared connection): all locked and out of their
/// groups, nobody else touched. Prints the throughput.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run the README's test command"]
async fn ldap_adapter_handles_many_leavers_concurrently() {
    const N: usize = 100;
    let (dir, mut l, run) = fresh_run().await;
    let uids: Vec<String> = (0..N).map(|i| format!("p{i:03}")).collect();
    for uid in &uids {
        run.add_person(&dir, &mut l, uid, &format!("Person {uid}"), &[])
            .await;
    }
    run.add_person(&dir, &mut l, "stayer", "Stay Er", &[]).await;
    let stayer = run.person_dn("stayer");
    let mut all: Vec<String> = uids.iter().map(|u| run.person_dn(u)).collect();
    all.push(stayer.clone());
    let all_refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let uid_refs: Vec<&str> = uids.iter().map(String::as_str).chain(["stayer"]).collect();
    dir.add_group(&mut l, &run.group_dn("everyone"), "everyone", &all_refs)
        .await;
    dir.add(
        &mut l,
        &run.group_dn("unix"),
        &[
            ("objectClass", &["posixGroup"]),
            ("cn", &["unix"]),
            ("gidNumber", &["5001"]),
            ("memberUid", &uid_refs),
        ],
    )
    .await;

    let target = std::sync::Arc::new(ldap_target(&run.config(&dir, ""), "test"));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for u in &uids {
        let who = employee(&format!("E-{u}"), Some(u), None);
        let target = target.clone();
        tasks.spawn(async move { revoke(target.as_ref(), &who).await });
    }
    let reports = tasks.join_all().await;
    let took = t0.elapsed();
    let objects: usize = reports.iter().map(|r| r.objects.len()).sum();
    eprintln!(
        "ldap: {N} leavers ({objects} objects: lock + 2 memberships each) revoked concurrently over one connection in {took:?} ({:.0} leavers/s)",
        N as f64 / took.as_secs_f64()
    );
    for r in &reports {
        assert_outcome(r, Outcome::Revoked);
        assert_eq!(r.objects.len(), 3, "{:#?}", r.objects);
    }
    assert_eq!(
        dir.values(&mut l, &run.group_dn("everyone"), "member")
            .await,
        vec![stayer.clone()]
    );
    assert_eq!(
        dir.values(&mut l, &run.group_dn("unix"), "memberUid").await,
        vec!["stayer".to_string()]
    );
    for uid in &uids {
        assert_eq!(
            dir.values(&mut l, &run.person_dn(uid), "pwdAccountLockedTime")
                .await,
            vec!["000001010000Z"]
        );
    }
    assert!(dir
        .values(&mut l, &stayer, "pwdAccountLockedTime")
        .await
        .is_empty());
    assert_eq!(dir.bind_rc(&stayer, "stayer-pw").await, 0);

    dir.delete_tree(&mut l, &run.root).await;
    let _ = l.unbind().await;
}

/// Values that are legal in a directory but special in filters, DNs or object ids (a uid with
/// `*`, `(`, `)` and `\`, a group name with `|`), a lockout ppolicy set after failed binds
/// (it expires: not a revocation), and the relevant neighbours left alone.
#[tokio::test]
#[ignore = "needs slapd: run the README's test command"]
async fn ldap_adapter_handles_special_values_and_temporary_lockouts() {
    let (dir, mut l, run) = fresh_run().await;
    // uid `o*(x)\y`: in the DN the backslash is escaped (RFC 4514), in filters all four
    // characters are (RFC 4515).
    let odd_uid = "o*(x)\\y";
    let odd_as_added = run.dn("uid=o*(x)\\\\y,ou=people");
    dir.add(
        &mut l,
        &odd_as_added,
        &[
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &[odd_uid]),
            ("cn", &["Odd"]),
            ("sn", &["Odd"]),
            ("userPassword", &["odd-pw"]),
        ],
    )
    .await;
    // The DN as the server writes it (`\5C` for the backslash): what evidence carries.
    let odd = dir
        .entry(&mut l, &odd_as_added)
        .await
        .expect("odd entry")
        .dn;
    // Neighbours whose names a broken escaping would reach: `o`, `ox`, and one named `o*`.
    for uid in ["o", "ox", "o*"] {
        run.add_person(&dir, &mut l, uid, &format!("N {uid}"), &[])
            .await;
    }
    let stamp = "20200101000000Z";
    run.add_person(
        &dir,
        &mut l,
        "cy",
        "Cy Locked",
        &[("pwdAccountLockedTime", &[stamp])],
    )
    .await;
    let cy = run.person_dn("cy");
    let neighbours: Vec<String> = ["o", "ox", "o*"].iter().map(|u| run.person_dn(u)).collect();
    let ops = run.group_dn("ops|oncall");
    let mut members: Vec<&str> = neighbours.iter().map(String::as_str).collect();
    members.push(&odd);
    members.push(&cy);
    dir.add_group(&mut l, &ops, "ops|oncall", &members).await;
    assert_eq!(dir.bind_rc(&odd, "odd-pw").await, 0);
    // odd's bot lives in ou=services, outside the people subtree the adapter looks people up in.
    let odd_bot = run.dn("cn=odd-bot,ou=services");
    dir.add_bot(&mut l, &odd_bot, "odd-bot", &[&odd_as_added], "odd-bot-pw")
        .await;

    let target = ldap_target(
        &run.config(
            &dir,
            &format!("sponsored_base_dn = \"{}\"", run.dn("ou=services")),
        )
        .replace(
            &format!("base_dn = \"{}\"", run.root),
            &format!("base_dn = \"{}\"", run.dn("ou=people")),
        ),
        "test",
    );
    let r = revoke(&target, &employee("E-odd", Some(odd_uid), None)).await;
    assert_outcome(&r, Outcome::Revoked);
    assert_eq!(object_ids(&r, "account", Some(false)), vec![odd.clone()]);
    assert_eq!(object_ids(&r, "account", Some(true)), vec![odd_bot.clone()]);
    assert_eq!(dir.bind_rc(&odd_bot, "odd-bot-pw").await, 49);
    let membership = object_ids(&r, "group_membership", Some(false));
    assert_eq!(membership.len(), 1, "{membership:?}");
    // `|` in the group's name is written %7C, so the id splits back into its three parts.
    assert_eq!(
        membership[0],
        format!("member|{}|{odd}", ops.replace('|', "%7C"))
    );
    assert_eq!(dir.bind_rc(&odd, "odd-pw").await, 49);
    let mut left = dir.values(&mut l, &ops, "member").await;
    left.sort();
    let mut expected: Vec<String> = neighbours.clone();
    expected.push(cy.clone());
    expected.sort();
    assert_eq!(left, expected, "a neighbour lost its membership");
    for (dn, uid) in neighbours.iter().zip(["o", "ox", "o*"]) {
        assert!(
            dir.values(&mut l, dn, "pwdAccountLockedTime")
                .await
                .is_empty(),
            "{dn}"
        );
        assert_eq!(dir.bind_rc(dn, &format!("{uid}-pw")).await, 0, "{dn}");
    }

    // Restore after the group was deleted: the membership cannot come back (reported
    // irreversible, with the reason); the account and the bot are unlocked.
    let r_odd = r;
    assert_eq!(l.delete(&ops).await.unwrap().rc, 0);
    let restored = restore(
        &target,
        &employee("E-odd", Some(odd_uid), None),
        &r_odd.objects,
    )
    .await;
    let outcome = |kind: &str, sponsored: bool| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|o| o.object_kind == kind && o.sponsored == sponsored)
            .map(|o| o.outcome)
            .collect()
    };
    assert_eq!(
        outcome("group_membership", false),
        vec![RestoreOutcome::Irreversible]
    );
    assert!(restored.iter().any(
        |o| o.outcome == RestoreOutcome::Irreversible && o.detail.contains("no longer exists")
    ));
    assert_eq!(outcome("account", false), vec![RestoreOutcome::Restored]);
    assert_eq!(outcome("account", true), vec![RestoreOutcome::Restored]);
    assert_eq!(dir.bind_rc(&odd, "odd-pw").await, 0);
    assert_eq!(dir.bind_rc(&odd_bot, "odd-bot-pw").await, 0);

    // cy holds a lockout with a time (what ppolicy writes after failed binds; it expires after
    // pwdLockoutDuration): revoking replaces it with the permanent lock, and says so.
    let r = revoke(&target, &employee("E-cy", Some("cy"), None)).await;
    assert_outcome(&r, Outcome::Revoked);
    let account = r
        .objects
        .iter()
        .find(|o| o.object_kind == "account")
        .unwrap();
    assert_eq!(account.outcome, ObjectOutcome::Revoked, "{account:?}");
    assert_eq!(
        dir.values(&mut l, &cy, "pwdAccountLockedTime").await,
        vec!["000001010000Z"]
    );
    let restored = restore(&target, &employee("E-cy", Some("cy"), None), &r.objects).await;
    assert!(
        restored
            .iter()
            .all(|o| o.outcome == RestoreOutcome::Restored),
        "{restored:#?}"
    );
    assert_eq!(dir.bind_rc(&cy, "cy-pw").await, 0, "cy is not unlocked");

    dir.delete_tree(&mut l, &run.root).await;
    let _ = l.unbind().await;
}
