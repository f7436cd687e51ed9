//! Talking to GitLab: pagination, rate limits, token and connection problems, redirects.

use super::*;

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
    let resp = admin_get(
        &d,
        &format!("personal_access_tokens?user_id={}&per_page=2", p.user_id),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["x-total"], "9");
    assert_eq!(h["x-total-pages"], "5");
    assert_eq!(h["x-page"], "1");
    assert_eq!(h["x-next-page"], "2");
    assert!(h["link"].to_str().unwrap().contains("rel=\"next\""));
    let resp = admin_get(&d, &format!("users/{}/keys?per_page=500", p.user_id)).await;
    assert_eq!(resp.headers()["x-per-page"], "100");
    assert_eq!(resp.headers()["x-next-page"], "");

    let t = target(&d, "per_page = 2");
    let mark = d.request_count();
    let r = revoke(&t, &person(Some("paige"))).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert_eq!(object_ids(&r, "personal_access_token", None).len(), 9);
    assert_eq!(object_ids(&r, "ssh_key", None).len(), 5);
    assert_eq!(object_ids(&r, "group_membership", None).len(), 4);
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
        assert_outcome(&r, Outcome::Revoked);
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
