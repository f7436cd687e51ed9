//! The `cicd` adapter (GitLab REST API v4) against the in-process GitLab double
//! (`revoke_tests::gitlab`): no external peer, so these run with plain `cargo test`.
//!
//! Each test starts its own double, seeds people directly in its state (never through the
//! adapter), builds the adapter from a `[targets.cicd]` table through `Config::load` as the binary
//! does, and asserts by reading the double's state or asking its HTTP API.

use revoke::adapters::gitlab::GitlabTarget;
use revoke::adapters::{Target, TargetError};
use revoke::restoration::{restore_identity, RestoreOutcome};
use revoke::revocation::{revoke_identity, RevocationReport};
use revoke_shared::contract::{
    Actor, Identity, IdentityKind, ObjectEvidence, ObjectOutcome, Outcome,
};
use revoke_shared::metrics::Metrics;
use revoke_tests::gitlab::{self, GitlabDouble, RateLimit, SeededPerson, Source};
use revoke_tests::quick_retries as policy;
use std::time::Duration;

/// The adapter from a complete config file's `[targets.cicd]` table (through `Config::load`), with
/// `token` in an environment variable unique to this call.
fn target_with_token(d: &GitlabDouble, token: &str, extra: &str) -> GitlabTarget {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let var = format!("REVOKE_TEST_GITLAB_TOKEN_{}", tag.to_uppercase());
    std::env::set_var(&var, token);
    let path = std::env::temp_dir().join(format!("revoke-gitlab-{tag}.toml"));
    std::fs::write(
        &path,
        format!(
            "[targets.cicd]\nbase_url = \"{}\"\ntoken_env = \"{var}\"\n{extra}\n",
            d.url()
        ),
    )
    .unwrap();
    let cfg = revoke_shared::Config::load(Some(&path), std::iter::empty()).expect("config loads");
    let _ = std::fs::remove_file(&path);
    GitlabTarget::from_table(&cfg.targets["cicd"], "test").expect("[targets.cicd] config")
}

fn target(d: &GitlabDouble, extra: &str) -> GitlabTarget {
    target_with_token(d, d.admin_token(), extra)
}

fn person(username: Option<&str>) -> Identity {
    Identity {
        employee_id: format!("E-{}", username.unwrap_or("none")),
        email: username.map(|u| format!("{u}@example.com")),
        username: username.map(str::to_string),
        kind: IdentityKind::Employee,
    }
}

/// Everything `p` holds is still there and works (checked in the double's state).
fn assert_untouched(d: &GitlabDouble, p: &SeededPerson) {
    let who = &p.username;
    assert_eq!(
        d.user_state(p.user_id).as_deref(),
        Some("active"),
        "{who} was blocked"
    );
    for (id, secret) in &p.pats {
        assert!(
            !d.pat(*id).unwrap().revoked,
            "{who}'s token {id} was revoked"
        );
        assert!(d.token_works(secret), "{who}'s token {id} stopped working");
    }
    assert_eq!(
        d.ssh_keys_of(p.user_id),
        p.ssh_keys,
        "{who} lost an SSH key"
    );
    assert_eq!(
        d.member_level(Source::Group(p.group_id), p.user_id),
        Some(50)
    );
    assert_eq!(
        d.member_level(Source::Project(p.project_id), p.user_id),
        Some(40)
    );
    assert!(
        d.token_works(&p.project_access_token.1),
        "{who}'s project bot token was revoked"
    );
    assert!(
        d.token_works(&p.group_access_token.1),
        "{who}'s group bot token was revoked"
    );
    assert!(
        d.deploy_token(p.deploy_token.0).is_some(),
        "{who}'s deploy token was deleted"
    );
}

fn ids(r: &RevocationReport, kind: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .objects
        .iter()
        .filter(|o| o.object_kind == kind)
        .map(|o| o.object_id.clone())
        .collect();
    v.sort();
    v
}

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
    let first = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        first.outcome,
        Outcome::Revoked,
        "{:?}\n{:#?}",
        first.error,
        first.objects
    );
    let mut pat_ids: Vec<String> = ada
        .pats
        .iter()
        .map(|(id, _)| format!("personal_access_tokens/{id}"))
        .collect();
    pat_ids.sort();
    assert_eq!(ids(&first, "personal_access_token"), pat_ids);
    assert_eq!(
        ids(&first, "ssh_key"),
        vec![format!("users/{}/keys/{}", ada.user_id, ada.ssh_keys[0])]
    );
    let mut groups = vec![
        format!("groups/{}/members/{}@50", ada.group_id, ada.user_id),
        format!("groups/{shared}/members/{}@30", ada.user_id),
    ];
    groups.sort();
    assert_eq!(ids(&first, "group_membership"), groups);
    assert_eq!(
        ids(&first, "project_membership"),
        vec![format!(
            "projects/{}/members/{}@40",
            ada.project_id, ada.user_id
        )]
    );
    assert_eq!(
        ids(&first, "account"),
        vec![format!("users/{}", ada.user_id)]
    );
    assert_eq!(
        ids(&first, "project_access_token"),
        vec![format!(
            "projects/{}/access_tokens/{}",
            ada.project_id, ada.project_access_token.0
        )]
    );
    assert_eq!(
        ids(&first, "group_access_token"),
        vec![format!(
            "groups/{}/access_tokens/{}",
            ada.group_id, ada.group_access_token.0
        )]
    );
    assert_eq!(
        ids(&first, "deploy_token"),
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
    let second = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        second.outcome,
        Outcome::AlreadyAbsent,
        "{:?}\n{:#?}",
        second.error,
        second.objects
    );
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
    let restored =
        restore_identity(&t, &who, &first.objects, "w1", &policy(), &Metrics::new()).await;
    let outcomes = |kind: &str| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|r| r.object_kind == kind)
            .map(|r| r.outcome)
            .collect()
    };
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
    let again = restore_identity(&t, &who, &first.objects, "w1", &policy(), &Metrics::new()).await;
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
        let r = revoke_identity(&t, &person(Some(name)), "w1", &policy(), &Metrics::new()).await;
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
        let r = revoke_identity(&t, &person(Some(name)), "w1", &policy(), &Metrics::new()).await;
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
    let r = revoke_identity(&t, &person(Some("carl")), "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::ManualRequired, "{:?}", r.error);
    assert!(r.objects.is_empty());
    assert!(
        r.error.as_deref().unwrap_or("").contains("2 users match"),
        "{:?}",
        r.error
    );
    // An identity without a username cannot be looked up: a failure that says so, nothing revoked.
    let r = revoke_identity(&t, &person(None), "w1", &policy(), &Metrics::new()).await;
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
    let r = revoke_identity(&t, &person(Some("ada")), "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert_eq!(d.user_state(ada.user_id).as_deref(), Some("blocked"));
    assert_untouched(&d, &adam);
    assert_untouched(&d, &bob);
}

#[tokio::test]
async fn lists_are_followed_across_pages() {
    let d = gitlab::start().await;
    let p = d.seed_person("paige");
    let mut extra_pats = Vec::new();
    for i in 0..7 {
        extra_pats.push(d.add_pat(p.user_id, &format!("script-{i}"), &["read_api"]));
    }
    for i in 0..4 {
        d.add_ssh_key(p.user_id, &format!("host-{i}"));
    }
    for i in 0..3 {
        let g = d.add_group(&format!("g{i}"));
        d.add_member(Source::Group(g), p.user_id, 20);
    }
    // The double pages like GitLab: headers and links, per_page capped at 100.
    let http = reqwest::Client::new();
    let resp = http
        .get(format!(
            "{}/api/v4/personal_access_tokens?user_id={}&per_page=2",
            d.url(),
            p.user_id
        ))
        .header("PRIVATE-TOKEN", d.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["x-total"], "9");
    assert_eq!(h["x-total-pages"], "5");
    assert_eq!(h["x-page"], "1");
    assert_eq!(h["x-next-page"], "2");
    assert!(h["link"].to_str().unwrap().contains("rel=\"next\""));
    let resp = http
        .get(format!(
            "{}/api/v4/users/{}/keys?per_page=500",
            d.url(),
            p.user_id
        ))
        .header("PRIVATE-TOKEN", d.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-per-page"], "100");
    assert_eq!(resp.headers()["x-next-page"], "");

    let t = target(&d, "per_page = 2");
    let mark = d.request_count();
    let r = revoke_identity(&t, &person(Some("paige")), "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert_eq!(ids(&r, "personal_access_token").len(), 9);
    assert_eq!(ids(&r, "ssh_key").len(), 5);
    assert_eq!(ids(&r, "group_membership").len(), 4);
    for (id, _) in p.pats.iter().chain(&extra_pats) {
        assert!(
            d.pat(*id).unwrap().revoked,
            "token {id} on a later page survived"
        );
    }
    assert!(d.ssh_keys_of(p.user_id).is_empty());
    assert!(d.memberships_of(p.user_id).is_empty());
    let listed_pages: Vec<String> = d.requests()[mark..]
        .iter()
        .filter(|r| r.uri.contains("/personal_access_tokens?"))
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(listed_pages.len(), 5, "{listed_pages:#?}");
    assert!(listed_pages.iter().all(|u| u.contains("per_page=2")));
}

#[tokio::test]
async fn rate_limits_are_transient_and_retried_through() {
    let d = gitlab::start().await;
    let p = d.seed_person("rita");
    let bob = d.seed_person("bob");
    let t = target(&d, "");
    t.resolve_principal().await.unwrap();

    // One request per minute, already used: the double answers 429 the way GitLab does.
    d.set_rate_limit(Some(RateLimit {
        limit: 1,
        window: Duration::from_secs(60),
    }));
    let http = reqwest::Client::new();
    let get_user = || {
        http.get(format!("{}/api/v4/user", d.url()))
            .header("PRIVATE-TOKEN", d.admin_token())
            .send()
    };
    assert_eq!(get_user().await.unwrap().status(), 200);
    let resp = get_user().await.unwrap();
    assert_eq!(resp.status(), 429);
    let h = resp.headers();
    let retry_after: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(h["ratelimit-limit"], "1");
    assert_eq!(h["ratelimit-remaining"], "0");
    assert!(h.contains_key("ratelimit-reset") && h.contains_key("ratelimit-resettime"));
    assert_eq!(resp.text().await.unwrap(), "Retry later\n");

    match t.discover(&person(Some("rita"))).await {
        Err(
            e @ TargetError::RateLimited {
                retry_after: Some(_),
                ..
            },
        ) => {
            let m = e.to_string();
            assert!(m.contains("429") && m.contains("Retry-After"), "{m}");
            assert!(!m.contains(d.admin_token()));
        }
        other => panic!("expected a transient error, got {other:?}"),
    }

    // A short window: the quick retry policy rides through the 429s and the work completes.
    // Discovery is retried as a whole (8 requests here), so one must fit in a window; the third
    // attempt always starts ≥ 30 ms after the first 429, in a fresh window. Each run starts on an
    // exhausted window; on a machine so slow that the window ends first, run again (new person).
    d.set_rate_limit(Some(RateLimit {
        limit: 10,
        window: Duration::from_millis(30),
    }));
    let mut hit = false;
    for i in 0..10 {
        let p = if i == 0 {
            p.clone()
        } else {
            d.seed_person(&format!("rita{i}"))
        };
        while get_user().await.unwrap().status() != 429 {}
        let before = d.throttled();
        let m = Metrics::new();
        let r = revoke_identity(&t, &person(Some(&p.username)), "w1", &policy(), &m).await;
        assert_eq!(
            r.outcome,
            Outcome::Revoked,
            "{:?}\n{:#?}",
            r.error,
            r.objects
        );
        assert!(r.objects.iter().all(|o| o.verified));
        assert_eq!(d.user_state(p.user_id).as_deref(), Some("blocked"));
        assert!(d.memberships_of(p.user_id).is_empty());
        assert!(p.pats.iter().all(|(id, _)| d.pat(*id).unwrap().revoked));
        if d.throttled() > before {
            assert!(m.retries.with_label_values(&["cicd"]).get() > 0);
            hit = true;
            break;
        }
    }
    assert!(hit, "no run ever met the rate limit");
    d.set_rate_limit(None);
    assert_untouched(&d, &bob);
}

#[tokio::test]
async fn token_and_connection_problems_are_classified_without_secrets() {
    let d = gitlab::start().await;
    let p = d.seed_person("nina");
    let who = person(Some("nina"));

    // A non-administrator's token: refused before anything is looked up.
    let (_, weak) = d.add_pat(p.user_id, "mine", &["api"]);
    let t = target_with_token(&d, &weak, "");
    match t.discover(&who).await {
        Err(e @ TargetError::Permanent(_)) => {
            let m = e.to_string();
            assert!(m.contains("not an administrator"), "{m}");
            assert!(!m.contains(&weak));
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    // An unknown token: 401, permanent, with the scopes hint.
    let t = target_with_token(&d, "glpat-not-a-real-token", "");
    match t.discover(&who).await {
        Err(e @ TargetError::Permanent(_)) => {
            let m = e.to_string();
            assert!(m.contains("401") && m.contains("scopes"), "{m}");
            assert!(!m.contains("glpat-not-a-real-token"));
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    // Nobody listening: transient.
    std::env::set_var("REVOKE_TEST_GITLAB_DEAD_TOKEN", d.admin_token());
    let dead = GitlabTarget::from_table(
        &"base_url = \"http://127.0.0.1:9\"\ntoken_env = \"REVOKE_TEST_GITLAB_DEAD_TOKEN\"\ntimeout_ms = 2000"
            .parse()
            .unwrap(),
        "dead",
    )
    .unwrap();
    match dead.discover(&who).await {
        Err(e @ TargetError::Transient(_)) => assert!(!e.to_string().contains(d.admin_token())),
        other => panic!("expected a transient error, got {other:?}"),
    }
    assert_eq!(d.user_state(p.user_id).as_deref(), Some("active"));
    assert!(!format!("{t:?}").contains("glpat-not-a-real-token"));
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
    let r = revoke_identity(&t, &person(Some("eve")), "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert!(ids(&r, "account").is_empty());
    assert!(
        ids(&r, "deploy_token").is_empty(),
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
        let r = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
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
    let r = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        r.outcome,
        Outcome::AlreadyAbsent,
        "{:?}\n{:#?}",
        r.error,
        r.objects
    );
    assert_eq!(ids(&r, "account"), vec![format!("users/{}", eve.user_id)]);
    assert_untouched(&d, &evelyn);
}

#[tokio::test]
async fn a_last_group_owner_needs_a_person_but_is_still_blocked() {
    let d = gitlab::start().await;
    let sam = d.seed_person("sam");
    let solo = d.add_group("sams-own");
    d.add_member(Source::Group(solo), sam.user_id, 50);
    let t = target(&d, "");
    let r = revoke_identity(&t, &person(Some("sam")), "w1", &policy(), &Metrics::new()).await;
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

/// The double answers like GitLab where the adapter relies on it.
#[tokio::test]
async fn the_double_answers_like_gitlab() {
    let d = gitlab::start().await;
    let p = d.seed_person("gus");
    let (_, weak) = d.add_pat(p.user_id, "gus-own", &["api"]);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str| {
        http.request(method, format!("{}/api/v4/{path}", d.url()))
            .header("PRIVATE-TOKEN", token.to_string())
            .send()
    };
    let json = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        (s, r.json::<serde_json::Value>().await.unwrap_or_default())
    };
    use reqwest::Method as M;
    let admin = d.admin_token().to_string();
    let u = p.user_id;
    assert_eq!(
        json(call(M::GET, "user", "nope").await.unwrap()).await,
        (401, serde_json::json!({"message": "401 Unauthorized"}))
    );
    assert_eq!(
        json(
            call(M::GET, &format!("users/{u}/memberships"), &weak)
                .await
                .unwrap()
        )
        .await,
        (403, serde_json::json!({"message": "403 Forbidden"}))
    );
    assert_eq!(
        json(call(M::GET, "users/9999", &admin).await.unwrap()).await,
        (404, serde_json::json!({"message": "404 User Not Found"}))
    );
    let (s, me) = json(call(M::GET, "user", &weak).await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(
        me.get("is_admin").is_none() && me.get("email").is_none(),
        "{me}"
    );
    let (s, users) = json(call(M::GET, "users?username=GUS", &admin).await.unwrap()).await;
    assert_eq!(
        (s, users[0]["id"].as_u64()),
        (200, Some(u)),
        "username= is case-insensitive"
    );
    let (s, ms) = json(
        call(M::GET, &format!("users/{u}/memberships"), &admin)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let mut types: Vec<&str> = ms
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["Namespace", "Project"]);
    // Block: 201 true, again 201 null; blocking yourself 403; the blocked user's token 403.
    let block = format!("users/{u}/block");
    assert_eq!(
        json(call(M::POST, &block, &admin).await.unwrap()).await,
        (201, serde_json::json!(true))
    );
    assert_eq!(
        json(call(M::POST, &block, &admin).await.unwrap()).await,
        (201, serde_json::Value::Null)
    );
    assert_eq!(
        call(M::POST, "users/1/block", &admin)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(call(M::GET, "user", &weak).await.unwrap().status(), 403);
    assert_eq!(
        json(
            call(M::POST, &format!("users/{u}/unblock"), &admin)
                .await
                .unwrap()
        )
        .await,
        (201, serde_json::json!(true))
    );
    // Revoking a token: 204, and 204 again; the token no longer authenticates.
    let pat = format!("personal_access_tokens/{}", p.pats[0].0);
    assert_eq!(call(M::DELETE, &pat, &admin).await.unwrap().status(), 204);
    assert_eq!(call(M::DELETE, &pat, &admin).await.unwrap().status(), 204);
    let (s, t) = json(call(M::GET, &pat, &admin).await.unwrap()).await;
    assert_eq!(
        (s, &t["revoked"], &t["active"]),
        (200, &serde_json::json!(true), &serde_json::json!(false))
    );
    assert_eq!(
        call(M::GET, "user", &p.pats[0].1).await.unwrap().status(),
        401
    );
    // Members: 204 on removal, 404 after; re-adding 201, twice 409.
    let member = format!("projects/{}/members/{u}", p.project_id);
    assert_eq!(
        call(M::DELETE, &member, &admin).await.unwrap().status(),
        204
    );
    assert_eq!(
        call(M::DELETE, &member, &admin).await.unwrap().status(),
        404
    );
    let add = || {
        http.post(format!(
            "{}/api/v4/projects/{}/members",
            d.url(),
            p.project_id
        ))
        .header("PRIVATE-TOKEN", admin.clone())
        .json(&serde_json::json!({"user_id": u, "access_level": 40}))
        .send()
    };
    assert_eq!(add().await.unwrap().status(), 201);
    assert_eq!(add().await.unwrap().status(), 409);
    // Deploy tokens are destroyed; access tokens revoked with their bot's membership.
    let dt = format!(
        "projects/{}/deploy_tokens/{}",
        p.project_id, p.deploy_token.0
    );
    assert_eq!(call(M::DELETE, &dt, &admin).await.unwrap().status(), 204);
    assert_eq!(call(M::GET, &dt, &admin).await.unwrap().status(), 404);
    let at = format!(
        "projects/{}/access_tokens/{}",
        p.project_id, p.project_access_token.0
    );
    assert_eq!(call(M::DELETE, &at, &admin).await.unwrap().status(), 204);
    let (s, t) = json(call(M::GET, &at, &admin).await.unwrap()).await;
    assert_eq!((s, &t["active"]), (200, &serde_json::json!(false)));
    assert!(!d.token_works(&p.project_access_token.1));
    // The last human Owner of a group stays, even for an administrator.
    let g = d.add_group("solo");
    d.add_member(Source::Group(g), u, 50);
    assert_eq!(
        call(M::DELETE, &format!("groups/{g}/members/{u}"), &admin)
            .await
            .unwrap()
            .status(),
        403
    );
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
        set.spawn(async move {
            revoke_identity(
                t.as_ref(),
                &person(Some(&name)),
                "w1",
                &policy(),
                &Metrics::new(),
            )
            .await
        });
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

/// Hand-made evidence of an object, outcome revoked, as a forged or misdirected rescind carries.
fn forged(object_kind: &str, object_id: &str, action: &str) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: object_kind.into(),
        object_id: object_id.into(),
        sponsored: false,
        action: action.into(),
        outcome: ObjectOutcome::Revoked,
        removed_at: Some(chrono::Utc::now()),
        actor: Actor {
            worker_id: "w1".into(),
            principal: "root".into(),
        },
        verified: true,
        provenance: revoke_shared::contract::Provenance::Observed,
        read_back: String::new(),
        error: None,
    }
}

/// `GET <path>` on the double's HTTP API as its administrator (not through the adapter).
async fn api_get(d: &GitlabDouble, path: &str) -> serde_json::Value {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v4/{path}", d.url().trim_end_matches('/')))
        .header("PRIVATE-TOKEN", d.admin_token())
        .send()
        .await
        .expect("double reachable");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// (user id, access level) of every member of a group, read over the double's API.
async fn group_members(d: &GitlabDouble, gid: u64) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = api_get(d, &format!("groups/{gid}/members"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_u64().unwrap(),
                m["access_level"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort_unstable();
    v
}

/// A restore is a grant: a hand-made evidence object re-adding ANOTHER user (bob) to a group at
/// Owner level, or unblocking bob, restored for ada, is refused; so is ada's own membership at
/// an access level GitLab does not define. At the double nothing changes.
#[tokio::test]
async fn restore_refuses_what_is_not_the_persons() {
    let d = gitlab::start().await;
    let ada = d.seed_person("ada");
    let bob = d.seed_person("bob");
    let vault = d.add_group("crown-jewels");
    d.add_member(Source::Group(vault), 1, 50);
    d.set_user_state(bob.user_id, "blocked");
    let t = target(&d, "");
    let who = person(Some("ada"));
    let first = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(first.outcome, Outcome::Revoked, "{:?}", first.error);

    let members_before = group_members(&d, vault).await;
    let writes_from = d.request_count();
    let forged_evidence = [
        forged(
            "group_membership",
            &format!("groups/{vault}/members/{}@50", bob.user_id),
            "remove_membership",
        ),
        forged("account", &format!("users/{}", bob.user_id), "block"),
        forged(
            "group_membership",
            &format!("groups/{vault}/members/{}@60", ada.user_id),
            "remove_membership",
        ),
    ];
    let restored =
        restore_identity(&t, &who, &forged_evidence, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(restored.len(), 3, "{restored:?}");
    for r in &restored {
        assert_eq!(r.outcome, RestoreOutcome::Refused, "{r:?}");
    }
    assert!(
        restored[0].detail.contains("access level 60"),
        "{restored:?}"
    );
    // At the double, over its API: the group's members unchanged, bob still blocked, ada too.
    assert_eq!(group_members(&d, vault).await, members_before);
    assert_eq!(
        api_get(&d, &format!("users/{}", bob.user_id)).await["state"],
        "blocked"
    );
    assert_eq!(
        api_get(&d, &format!("users/{}", ada.user_id)).await["state"],
        "blocked"
    );
    assert!(
        d.writes_since(writes_from).is_empty(),
        "{:?}",
        d.writes_since(writes_from)
    );
}

/// A GitLab answering 302 to another port: the adapter follows nothing, the error names the
/// location, and the redirect target receives no request (so no `PRIVATE-TOKEN`).
#[tokio::test]
async fn redirects_are_not_followed_with_the_token() {
    let peer = revoke_tests::redirect::RedirectPeer::start().await;
    let var = format!("REVOKE_TEST_GITLAB_REDIRECT_{}", std::process::id());
    std::env::set_var(&var, "glpat-redirect-secret");
    let table: toml::Table = format!(
        "base_url = \"{}\"\ntoken_env = \"{var}\"\nprincipal = \"root\"\n",
        peer.redirecting
    )
    .parse()
    .unwrap();
    let t = GitlabTarget::from_table(&table, "test").unwrap();
    let e = t.discover(&person(Some("ada"))).await.unwrap_err();
    let TargetError::Permanent(m) = &e else {
        panic!("a redirect is a permanent error: {e:?}")
    };
    assert!(
        m.contains("302") && m.contains(&format!("{}/api/v4/", peer.sink)),
        "{m}"
    );
    assert!(!m.contains("glpat-redirect-secret"), "{m}");
    assert_eq!(peer.received(), Vec::<String>::new());
}
