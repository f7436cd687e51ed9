//! What a leaver holds, revoked and restored: hostile identities, lookups by email or extern uid, a
//! last group owner, and fifty leavers at once.

use super::*;

#[tokio::test]
async fn gitlab_adapter_revokes_a_person_and_what_they_sponsor() {
    let d = gitlab::start().await;
    let ada = d.seed_person("ada");
    let adam = d.seed_person("adam"); // shares ada's prefix
    let bob = d.seed_person("bob");
    // ada is also a Developer in a group she shares with bob (no sponsored scan below Maintainer).
    let shared = d.add_group("platform");
    d.add_member(Source::Group(shared), ada.user_id, 30);
    d.add_member(Source::Group(shared), bob.user_id, 50);
    // Tokens in ada's own project that are not hers: bob's, adam's, and one naming nobody.
    let (bobs_deploy, _) = d.add_deploy_token(Source::Project(ada.project_id), "mirror owner:bob");
    let (_, _, adams_bot) = d.add_access_token(
        Source::Project(ada.project_id),
        "adam-bot",
        "owner:adam",
        30,
    );
    let (unmarked_deploy, _) = d.add_deploy_token(Source::Project(ada.project_id), "legacy pull");

    let t = target(&d, "");
    assert_eq!(t.principal(), "gitlab:test", "principal is resolved lazily");
    assert_eq!(
        t.resolve_principal().await.expect("admin token works"),
        "root"
    );

    let who = person(Some("ada"));
    let started = chrono::Utc::now();
    let first = revoke(&t, &who).await;
    assert_outcome(&first, Outcome::Revoked);
    let mut pat_ids: Vec<String> = ada
        .pats
        .iter()
        .map(|(id, _)| format!("personal_access_tokens/{id}"))
        .collect();
    pat_ids.sort();
    assert_eq!(object_ids(&first, "personal_access_token", None), pat_ids);
    assert_eq!(
        object_ids(&first, "ssh_key", None),
        vec![format!("users/{}/keys/{}", ada.user_id, ada.ssh_keys[0])]
    );
    let mut groups = vec![
        format!("groups/{}/members/{}@50", ada.group_id, ada.user_id),
        format!("groups/{shared}/members/{}@30", ada.user_id),
    ];
    groups.sort();
    assert_eq!(object_ids(&first, "group_membership", None), groups);
    assert_eq!(
        object_ids(&first, "project_membership", None),
        vec![format!(
            "projects/{}/members/{}@40",
            ada.project_id, ada.user_id
        )]
    );
    assert_eq!(
        object_ids(&first, "account", None),
        vec![format!("users/{}", ada.user_id)]
    );
    assert_eq!(
        object_ids(&first, "project_access_token", None),
        vec![format!(
            "projects/{}/access_tokens/{}",
            ada.project_id, ada.project_access_token.0
        )]
    );
    assert_eq!(
        object_ids(&first, "group_access_token", None),
        vec![format!(
            "groups/{}/access_tokens/{}",
            ada.group_id, ada.group_access_token.0
        )]
    );
    assert_eq!(
        object_ids(&first, "deploy_token", None),
        vec![format!(
            "projects/{}/deploy_tokens/{}",
            ada.project_id, ada.deploy_token.0
        )]
    );
    assert_eq!(first.objects.len(), 10, "{:#?}", first.objects);
    for o in &first.objects {
        assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
        assert!(o.verified, "{o:?}");
        let at = o.removed_at.expect("removal time");
        assert!(
            at >= started - chrono::Duration::seconds(1) && at <= chrono::Utc::now(),
            "{o:?}"
        );
        assert_eq!(o.actor.principal, "root");
        assert_eq!(
            o.sponsored,
            matches!(
                o.object_kind.as_str(),
                "project_access_token" | "group_access_token" | "deploy_token"
            ),
            "{o:?}"
        );
    }
    // The account is blocked last, after everything it could use.
    assert_eq!(first.objects.last().unwrap().object_kind, "account");
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in ada.pats.iter().map(|(_, s)| s.as_str()).chain([
        ada.project_access_token.1.as_str(),
        ada.group_access_token.1.as_str(),
        ada.deploy_token.1.as_str(),
        d.admin_token(),
    ]) {
        assert!(!evidence.contains(secret), "a secret leaked into evidence");
    }

    // --- what the double itself shows --------------------------------------------------------
    assert_eq!(d.user_state(ada.user_id).as_deref(), Some("blocked"));
    for (id, secret) in &ada.pats {
        assert!(d.pat(*id).unwrap().revoked, "token {id} not revoked");
        assert!(!d.token_works(secret));
    }
    assert!(d.ssh_keys_of(ada.user_id).is_empty());
    assert!(d.memberships_of(ada.user_id).is_empty());
    assert!(d.pat(ada.project_access_token.0).unwrap().revoked);
    assert!(d.pat(ada.group_access_token.0).unwrap().revoked);
    assert!(!d.token_works(&ada.project_access_token.1));
    assert!(d.deploy_token(ada.deploy_token.0).is_none());
    // Not hers: untouched, whatever project they live in.
    assert!(
        d.deploy_token(bobs_deploy).is_some(),
        "bob's deploy token went"
    );
    assert!(
        d.deploy_token(unmarked_deploy).is_some(),
        "an unmarked token went"
    );
    assert!(d.token_works(&adams_bot), "adam's bot token went");
    assert_untouched(&d, &adam);
    assert_untouched(&d, &bob);
    assert_eq!(d.member_level(Source::Group(shared), bob.user_id), Some(50));

    // --- again: no new actions, same end state ----------------------------------------------
    let mark = d.request_count();
    let second = revoke(&t, &who).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(second
        .objects
        .iter()
        .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none" && o.verified));
    assert!(
        d.writes_since(mark).is_empty(),
        "the second run wrote: {:#?}",
        d.writes_since(mark)
    );
    assert_eq!(d.user_state(ada.user_id).as_deref(), Some("blocked"));

    // --- restore (a rescind): unblocked, memberships back at their level; tokens/keys not ---
    let restored = restore(&t, &who, &first.objects).await;
    let outcomes = |kind: &str| kit::restore_outcomes(&restored, kind);
    assert_eq!(
        outcomes("account"),
        vec![RestoreOutcome::Restored],
        "{restored:#?}"
    );
    assert_eq!(
        outcomes("group_membership"),
        vec![RestoreOutcome::Restored; 2]
    );
    assert_eq!(
        outcomes("project_membership"),
        vec![RestoreOutcome::Restored]
    );
    for kind in [
        "personal_access_token",
        "ssh_key",
        "project_access_token",
        "group_access_token",
        "deploy_token",
    ] {
        assert!(
            outcomes(kind)
                .iter()
                .all(|o| *o == RestoreOutcome::Irreversible),
            "{kind}: {restored:#?}"
        );
    }
    assert_eq!(restored.len(), 10);
    assert_eq!(d.user_state(ada.user_id).as_deref(), Some("active"));
    assert_eq!(
        d.member_level(Source::Group(ada.group_id), ada.user_id),
        Some(50)
    );
    assert_eq!(d.member_level(Source::Group(shared), ada.user_id), Some(30));
    assert_eq!(
        d.member_level(Source::Project(ada.project_id), ada.user_id),
        Some(40)
    );
    assert!(!d.token_works(&ada.pats[0].1), "a revoked token came back");
    let again = restore(&t, &who, &first.objects).await;
    assert!(again
        .iter()
        .filter(|r| matches!(
            r.object_kind.as_str(),
            "account" | "group_membership" | "project_membership"
        ))
        .all(|r| r.outcome == RestoreOutcome::AlreadyPresent));
    assert_untouched(&d, &adam);
    assert_untouched(&d, &bob);
}

#[tokio::test]
async fn hostile_identities_revoke_nothing() {
    let d = gitlab::start().await;
    let ada = d.seed_person("ada");
    let adam = d.seed_person("adam");
    let bob = d.seed_person("bob");
    let t = target(&d, "");
    let mark = d.request_count();
    for name in [
        "*",
        "a*",
        "ada*",
        "bo*",
        "x)(uid=*",
        "\"",
        "../",
        "../bob",
        "bob/..",
        "bob/../bob",
        "%62ob",
        " bob",
        "bob\n",
        ".",
        "..",
        "bob.",
        "ad",
        "b",
        "Bob.git",
    ] {
        let r = revoke(&t, &person(Some(name))).await;
        assert!(
            r.objects.is_empty(),
            "identity {name:?} matched: {:#?}",
            r.objects
        );
        assert!(r.error.is_none(), "identity {name:?}: {:?}", r.error);
        assert_eq!(r.outcome, Outcome::AlreadyAbsent, "{name:?}");
    }
    // Names GitLab cannot hold never reach it; the rest went only as an encoded query value.
    let sent: Vec<String> = d.requests()[mark..].iter().map(|r| r.uri.clone()).collect();
    assert!(
        sent.iter().all(|u| !u.contains('*') && !u.contains("..")),
        "{sent:#?}"
    );
    assert!(
        d.writes_since(mark).is_empty(),
        "{:#?}",
        d.writes_since(mark)
    );

    // A server whose username filter is a substring search: the client's exact re-check holds.
    d.set_fuzzy_username(true);
    for name in ["ad", "a", "bo", "dam"] {
        let r = revoke(&t, &person(Some(name))).await;
        assert!(
            r.objects.is_empty(),
            "fuzzy {name:?} matched: {:#?}",
            r.objects
        );
    }
    assert!(d.writes_since(mark).is_empty());
    // Duplicate usernames differing only in case (GitLab forbids them; a broken server may not):
    // a person decides.
    d.add_user("Carl", "carl1@example.com");
    d.add_user("carl", "carl2@example.com");
    let r = revoke(&t, &person(Some("carl"))).await;
    assert_eq!(r.outcome, Outcome::ManualRequired, "{:?}", r.error);
    assert!(r.objects.is_empty());
    assert!(
        r.error.as_deref().unwrap_or("").contains("2 users match"),
        "{:?}",
        r.error
    );
    // An identity without a username cannot be looked up: a failure that says so, nothing revoked.
    let r = revoke(&t, &person(None)).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.error.as_deref().unwrap_or("").contains("no username"),
        "{:?}",
        r.error
    );
    assert!(d.writes_since(mark).is_empty());
    assert_untouched(&d, &ada);
    assert_untouched(&d, &adam);
    assert_untouched(&d, &bob);

    // Even on the fuzzy server, ada is exactly ada: adam keeps everything.
    let r = revoke(&t, &person(Some("ada"))).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert_eq!(d.user_state(ada.user_id).as_deref(), Some("blocked"));
    assert_untouched(&d, &adam);
    assert_untouched(&d, &bob);
}

#[tokio::test]
async fn lookup_by_email_or_extern_uid_and_block_off() {
    let d = gitlab::start().await;
    let eve = d.seed_person("eve");
    let evelyn = d.seed_person("evelyn");
    d.add_identity(eve.user_id, "ldapmain", "E-eve");
    d.add_identity(evelyn.user_id, "saml", "E-eve");

    // By email, without blocking: credentials and memberships go, the account stays active.
    let t = target(
        &d,
        "match_attribute = \"email\"\nblock = false\nsponsor_marker = \"\"",
    );
    let r = revoke(&t, &person(Some("eve"))).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert!(object_ids(&r, "account", None).is_empty());
    assert!(
        object_ids(&r, "deploy_token", None).is_empty(),
        "sponsored discovery is off"
    );
    assert_eq!(d.user_state(eve.user_id).as_deref(), Some("active"));
    assert!(d.memberships_of(eve.user_id).is_empty());
    assert!(d.deploy_token(eve.deploy_token.0).is_some());
    for hostile in ["*@example.com", "eve", "eve@", "@example.com"] {
        let who = Identity {
            email: Some(hostile.into()),
            ..person(Some("x"))
        };
        let r = revoke(&t, &who).await;
        assert!(
            r.objects.is_empty() && r.error.is_none(),
            "{hostile:?}: {r:?}"
        );
    }
    assert_untouched(&d, &evelyn);

    // By extern_uid on the configured provider: an already blocked account is already absent,
    // and the same uid on another provider (evelyn's saml identity) is not a match.
    d.set_user_state(eve.user_id, "blocked");
    let t = target(
        &d,
        "match_attribute = \"extern_uid\"\nextern_uid_provider = \"ldapmain\"",
    );
    let who = person(Some("eve")); // employee id E-eve
    let r = revoke(&t, &who).await;
    assert_outcome(&r, Outcome::AlreadyAbsent);
    assert_eq!(
        object_ids(&r, "account", None),
        vec![format!("users/{}", eve.user_id)]
    );
    assert_untouched(&d, &evelyn);
}

#[tokio::test]
async fn a_last_group_owner_needs_a_person_but_is_still_blocked() {
    let d = gitlab::start().await;
    let sam = d.seed_person("sam");
    let solo = d.add_group("sams-own");
    d.add_member(Source::Group(solo), sam.user_id, 50);
    let t = target(&d, "");
    let r = revoke(&t, &person(Some("sam"))).await;
    assert_eq!(r.outcome, Outcome::ManualRequired, "{:?}", r.error);
    let stuck: Vec<_> = r
        .objects
        .iter()
        .filter(|o| o.outcome != ObjectOutcome::Revoked)
        .collect();
    assert_eq!(stuck.len(), 1, "{:#?}", r.objects);
    assert_eq!(
        stuck[0].object_id,
        format!("groups/{solo}/members/{}@50", sam.user_id)
    );
    assert_eq!(stuck[0].outcome, ObjectOutcome::ManualRequired);
    assert!(
        stuck[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("last Owner"),
        "{:?}",
        stuck[0].error
    );
    // Everything else went, the account included.
    assert_eq!(d.user_state(sam.user_id).as_deref(), Some("blocked"));
    assert_eq!(
        d.memberships_of(sam.user_id),
        vec![(Source::Group(solo), 50)]
    );
    assert!(sam.pats.iter().all(|(id, _)| d.pat(*id).unwrap().revoked));
}

/// 50 leavers revoked at once through one adapter (as a worker does), next to a bystander who
/// shares their name prefix; prints what it measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_leavers_at_once() {
    let d = gitlab::start().await;
    let people: Vec<SeededPerson> = (0..50)
        .map(|i| d.seed_person(&format!("leaver{i}")))
        .collect();
    let bystander = d.seed_person("leaver");
    let t = std::sync::Arc::new(target(&d, ""));
    t.resolve_principal().await.unwrap();
    let mark = d.request_count();
    let started = std::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for p in &people {
        let (t, name) = (t.clone(), p.username.clone());
        set.spawn(async move { revoke(t.as_ref(), &person(Some(&name))).await });
    }
    let mut reports = Vec::new();
    while let Some(r) = set.join_next().await {
        reports.push(r.unwrap());
    }
    let elapsed = started.elapsed();
    let requests = d.request_count() - mark;
    for r in &reports {
        assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
        assert_eq!(r.objects.len(), 9);
        assert!(r
            .objects
            .iter()
            .all(|o| o.verified && o.outcome == ObjectOutcome::Revoked));
    }
    for p in &people {
        assert_eq!(d.user_state(p.user_id).as_deref(), Some("blocked"));
        assert!(d.memberships_of(p.user_id).is_empty());
        assert!(d.deploy_token(p.deploy_token.0).is_none());
    }
    assert_untouched(&d, &bystander);
    eprintln!(
        "gitlab double: 50 leavers x 9 objects in {:?}, {requests} requests ({} per leaver)",
        elapsed,
        requests / 50
    );
}
