//! Client-side rate limiting against a target that enforces a strict limit: the GitLab double
//! answering 429 once more than N requests arrive in its window — with `Retry-After` and
//! `RateLimit-*` headers (GitLab's way) or with none (Microsoft Graph's way). Many leavers go
//! through the real `cicd` adapter built by `from_config` from a `[targets.cicd]` table with the
//! rate-limit keys; the outcomes are read back from the double, and the only figures asserted are
//! the double's own counts (429s, requests before an advertised Retry-After).

use revoke::adapters::{from_config, Target};
use revoke::revocation::revoke_identity;
use revoke_shared::contract::{Identity, IdentityKind, Outcome, TargetKind};
use revoke_shared::metrics::{rate_limit_metrics, Metrics};
use revoke_shared::retry::RetryPolicy;
use revoke_tests::gitlab::{self, GitlabDouble, RateLimit, SeededPerson};
use std::sync::Arc;
use std::time::Duration;

/// Patient enough that a throttled call is retried rather than failed.
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        initial: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
        max_total: Duration::from_secs(60),
    }
}

fn person(username: &str) -> Identity {
    Identity {
        employee_id: format!("E-{username}"),
        email: Some(format!("{username}@example.com")),
        username: Some(username.to_string()),
        kind: IdentityKind::Employee,
    }
}

/// The `cicd` target as the worker builds it, with `limits` added to its table.
async fn target(d: &GitlabDouble, instance: &str, limits: &str) -> Arc<dyn Target> {
    let var = format!("REVOKE_TEST_RATELIMIT_TOKEN_{}", instance.to_uppercase());
    let cfg = d.cicd_config(instance, &var, limits);
    from_config(TargetKind::Cicd, &cfg)
        .await
        .expect("[targets.cicd] with limits")
}

/// Revokes `people` concurrently; asserts every one revoked, verified, and gone in the double.
async fn revoke_all(d: &GitlabDouble, t: &Arc<dyn Target>, people: &[SeededPerson]) {
    let runs: Vec<_> = people
        .iter()
        .map(|p| {
            let t = t.clone();
            let who = person(&p.username);
            tokio::spawn(async move {
                revoke_identity(&*t, &who, "w1", &policy(), &Metrics::new()).await
            })
        })
        .collect();
    for (p, run) in people.iter().zip(runs) {
        let r = run.await.unwrap();
        assert_eq!(r.outcome, Outcome::Revoked, "{}: {:?}", p.username, r.error);
        assert!(r.objects.iter().all(|o| o.verified), "{}", p.username);
        assert_eq!(d.user_state(p.user_id).as_deref(), Some("blocked"));
        assert!(d.memberships_of(p.user_id).is_empty());
        assert!(p.pats.iter().all(|(id, _)| d.pat(*id).unwrap().revoked));
    }
}

fn seed(d: &GitlabDouble, prefix: &str, n: usize) -> Vec<SeededPerson> {
    (0..n)
        .map(|i| d.seed_person(&format!("{prefix}{i}")))
        .collect()
}

/// Graph-style: the double allows 50 requests per second and answers a bare 429 beyond. The
/// target is configured at 45 req/s (90%): the leavers all complete and at most 1% of the
/// requests the double saw were answered 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_side_limit_below_the_servers_keeps_429s_under_one_percent() {
    let d = gitlab::start().await;
    let people = seed(&d, "graph", 16);
    d.set_bare_429(true);
    let t = target(
        &d,
        "graphlike",
        "rate_limit_per_sec = 45\nmax_concurrency = 8",
    )
    .await;
    d.set_rate_limit(Some(RateLimit {
        limit: 50,
        window: Duration::from_secs(1),
    }));
    let before = d.request_count();
    revoke_all(&d, &t, &people).await;
    let requests = (d.request_count() - before) as u64;
    let throttled = d.throttled();
    println!("graph-like: {requests} requests, {throttled} answered 429");
    assert!(
        requests > 16 * 10,
        "every leaver made its requests: {requests}"
    );
    assert!(
        throttled * 100 <= requests,
        "{throttled} of {requests} requests answered 429 (more than 1%)"
    );
}

/// GitLab-style: 30 requests per second, then 429 with `Retry-After`. With one request in
/// flight at a time and no client-side rate, every window ends in a 429: the gate must pause
/// every call until the advertised time — the double saw no request before it — and the work
/// still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_every_call_until_the_advertised_time() {
    let d = gitlab::start().await;
    let people = seed(&d, "gl", 6);
    let t = target(&d, "gitlablike", "max_concurrency = 1").await;
    d.set_rate_limit(Some(RateLimit {
        limit: 30,
        window: Duration::from_secs(1),
    }));
    revoke_all(&d, &t, &people).await;
    assert!(d.throttled() > 0, "the run never met the limit");
    assert_eq!(
        d.early_requests(),
        0,
        "requests came before an advertised Retry-After"
    );
    let seen = rate_limit_metrics()
        .received_429
        .with_label_values(&["cicd", "gitlablike"])
        .get();
    assert_eq!(seen, d.throttled(), "every 429 reached the gate");
}

/// Graph-style without a configured rate: the gate learns the limit from bare 429s (AIMD). The
/// leavers all complete, and the gate now runs at an adaptive rate it did not have before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_429s_without_a_configured_rate_slow_the_gate_down() {
    let d = gitlab::start().await;
    let people = seed(&d, "aimd", 12);
    d.set_bare_429(true);
    let t = target(&d, "aimdlike", "max_concurrency = 8").await;
    d.set_rate_limit(Some(RateLimit {
        limit: 40,
        window: Duration::from_secs(1),
    }));
    let m = rate_limit_metrics();
    let labels = ["cicd", "aimdlike"];
    revoke_all(&d, &t, &people).await;
    assert!(d.throttled() > 0, "the run never met the limit");
    assert_eq!(
        m.received_429.with_label_values(&labels).get(),
        d.throttled()
    );
    let rate = m.effective_rate.with_label_values(&labels).get();
    assert!(rate > 0.0, "the gate adopted an adaptive rate: {rate}");
    assert!(
        m.throttled.with_label_values(&labels).get() > 0,
        "calls were held back client-side"
    );
}
