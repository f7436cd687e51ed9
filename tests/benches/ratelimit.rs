//! How close to a target's rate limit the fleet runs, and how many of its requests are refused.
//!
//! ```text
//! cargo bench -p revoke-tests --bench ratelimit -- [--seconds S] [--fraction F] [--only okta|graph]
//! ```
//!
//! The target is the GitLab double enforcing a strict limit (N requests per fixed window, then
//! 429), driven through the real `cicd` adapter built by `from_config`, 6 leavers in flight,
//! the worker's default retry policy. Two vendor profiles:
//!
//! - **okta**: ~600 user writes per minute, 429 with `Retry-After` and `RateLimit-*` headers.
//!   Scaled to 60 requests per 6 s window (the same 10 req/s) so a run spans several windows.
//! - **graph**: ~20 identity writes per second per app; its 429 carries no `Retry-After`
//!   (`set_bare_429`).
//!
//! Three ways of driving each:
//!
//! - `no gate`: no rate-limit keys; each call honours a `Retry-After` by itself (`with_retry`).
//! - `adaptive`: `max_concurrency = 8` only: the gate pauses every call on a hint and cuts its
//!   rate (AIMD) on a bare 429.
//! - `limited`: `rate_limit_per_sec` = F × the limit (default 0.95) and `max_concurrency = 8`.
//!
//! Each run lasts S seconds (default 20 for graph, 30 for okta), counted by the double:
//! accepted requests per second against the limit, and the share answered 429. Figures are
//! printed, never asserted.

use revoke::adapters::from_config;
use revoke::revocation::revoke_identity;
use revoke_shared::contract::{Identity, IdentityKind, Outcome, TargetKind};
use revoke_shared::metrics::Metrics;
use revoke_shared::retry::RetryPolicy;
use revoke_tests::gitlab::{self, RateLimit};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Profile {
    name: &'static str,
    limit: u32,
    window: Duration,
    bare_429: bool,
    seconds: u64,
}

impl Profile {
    fn per_sec(&self) -> f64 {
        self.limit as f64 / self.window.as_secs_f64()
    }
}

struct Figures {
    requests: u64,
    throttled: u64,
    secs: f64,
    revoked: usize,
    failed: usize,
}

const IN_FLIGHT: usize = 6;

async fn run(p: &Profile, limits: &str, seconds: u64) -> Figures {
    let d = gitlab::start().await;
    d.set_bare_429(p.bare_429);
    // More leavers than any run finishes.
    let people: Vec<_> = (0..(p.per_sec() as usize * seconds as usize / 4).max(64))
        .map(|i| d.seed_person(&format!("{}{i}", p.name)))
        .collect();
    let var = format!("REVOKE_BENCH_RATELIMIT_TOKEN_{}", p.name.to_uppercase());
    let cfg = d.cicd_config(p.name, &var, limits);
    let policy = RetryPolicy::from_config(&cfg.worker);
    let target = from_config(TargetKind::Cicd, &cfg).await.expect("target");

    d.set_rate_limit(Some(RateLimit {
        limit: p.limit,
        window: p.window,
    }));
    let (r0, t0) = (d.request_count() as u64, d.throttled());
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let people = Arc::new(people);
    let revoked = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (target, next, people) = (target.clone(), next.clone(), people.clone());
            let (revoked, failed) = (revoked.clone(), failed.clone());
            tokio::spawn(async move {
                let metrics = Metrics::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = people.get(i) else { return };
                    let who = Identity {
                        employee_id: format!("E-{}", p.username),
                        email: Some(p.email.clone()),
                        username: Some(p.username.clone()),
                        kind: IdentityKind::Employee,
                    };
                    let r = revoke_identity(&*target, &who, "bench", &policy, &metrics).await;
                    let c = if r.outcome == Outcome::Revoked {
                        &revoked
                    } else {
                        &failed
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let f = Figures {
        requests: d.request_count() as u64 - r0,
        throttled: d.throttled() - t0,
        secs: start.elapsed().as_secs_f64(),
        revoked: revoked.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    };
    for t in tasks {
        t.abort();
    }
    f
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: Option<u64> = opt("--seconds").map(|s| s.parse().expect("--seconds N"));
    let fraction: f64 = opt("--fraction").map_or(0.95, |s| s.parse().expect("--fraction F"));
    let only = opt("--only");
    let profiles = [
        Profile {
            name: "okta",
            limit: 60,
            window: Duration::from_secs(6),
            bare_429: false,
            seconds: 30,
        },
        Profile {
            name: "graph",
            limit: 20,
            window: Duration::from_secs(1),
            bare_429: true,
            seconds: 20,
        },
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:<6} {:<34} {:>7} {:>9} {:>7} {:>8} {:>6} {:>7} {:>8} {:>6}",
        "target",
        "client side",
        "limit/s",
        "accepted/s",
        "% limit",
        "requests",
        "429s",
        "% 429",
        "revoked",
        "failed"
    );
    for p in profiles
        .iter()
        .filter(|p| only.as_deref().is_none_or(|o| o == p.name))
    {
        let secs = seconds.unwrap_or(p.seconds);
        let limited = format!(
            "rate_limit_per_sec = {:.2}\nmax_concurrency = 8",
            p.per_sec() * fraction
        );
        for (mode, limits) in [
            ("no gate".to_string(), String::new()),
            (
                "adaptive (max_concurrency 8)".to_string(),
                "max_concurrency = 8".to_string(),
            ),
            (
                format!("limited ({:.2} req/s, conc. 8)", p.per_sec() * fraction),
                limited,
            ),
        ] {
            let f = rt.block_on(run(p, &limits, secs));
            let accepted = (f.requests - f.throttled) as f64 / f.secs;
            println!(
                "{:<6} {:<34} {:>7.1} {:>9.2} {:>6.1}% {:>8} {:>6} {:>6.2}% {:>8} {:>6}",
                p.name,
                mode,
                p.per_sec(),
                accepted,
                100.0 * accepted / p.per_sec(),
                f.requests,
                f.throttled,
                100.0 * f.throttled as f64 / f.requests.max(1) as f64,
                f.revoked,
                f.failed
            );
        }
    }
}
