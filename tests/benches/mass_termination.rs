//! A mass termination where one target is rate limited: N leavers published at once to a fleet
//! whose `cicd` target is the real adapter against the GitLab double limited to `--limit`
//! requests per second (429 with `Retry-After` past it; the adapter's client side set a little
//! under it), the other four targets simulated. The same N leavers (fresh ids) first go through
//! the fleet without the throttled target: the four others' time is the baseline. Printed side
//! by side: when the last case closed against the floor the throttled target's own calls impose
//! (its accepted requests ÷ its limit), the share of its requests answered 429, and when the
//! other four targets were done for every leaver, with and without the throttled one. Asserts
//! nothing.
//!
//!   REVOKE_TEST_KAFKA=host:port cargo bench -p revoke-tests --bench mass_termination -- --leavers 100 --limit 10
//!
//! Targets (issue 16): completion within 1.1x of the floor, <= 1% of its requests answered 429,
//! the other targets' leavers done as fast as without the throttled one.

use chrono::{DateTime, Utc};
use revoke::fleet::Process;
use revoke::hr::Mode;
use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CaseState, TargetKind, TargetState};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::bench_cases::positive_arg;
use revoke_tests::gitlab::{self, RateLimit};
use revoke_tests::kit::{employee, termination};
use revoke_tests::TestEnv;
use std::time::{Duration, Instant};

const OTHERS: [TargetKind; 4] = [
    TargetKind::Directory,
    TargetKind::Saas,
    TargetKind::Cloud,
    TargetKind::Vault,
];

struct Options {
    leavers: usize,
    limit: u32,
}

fn parse_args() -> Options {
    let mut o = Options {
        leavers: 100,
        limit: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--leavers" => o.leavers = positive_arg(&mut args, "--leavers") as usize,
            "--limit" => o.limit = positive_arg(&mut args, "--limit") as u32,
            "--bench" => {}
            other => {
                eprintln!("unknown argument {other}; use --leavers N --limit R");
                std::process::exit(2)
            }
        }
    }
    o
}

/// What one run saw, in seconds from the publish.
struct Run {
    /// When the last case closed.
    all_closed: f64,
    /// Per leaver, when the four unthrottled targets were all done: p50 and the last.
    others_p50: f64,
    others_last: f64,
    not_closed: usize,
}

fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

fn summarise(cases: &[&Case], published: DateTime<Utc>) -> Run {
    let mut others: Vec<f64> = cases
        .iter()
        .filter_map(|c| {
            OTHERS
                .iter()
                .map(|k| {
                    c.targets
                        .get(k)
                        .filter(|t| t.state == TargetState::Done)
                        .and_then(|t| t.confirmed_at)
                })
                .collect::<Option<Vec<_>>>()
                .and_then(|at| at.into_iter().max())
                .map(|at| secs(published, at))
        })
        .collect();
    others.sort_by(f64::total_cmp);
    let closed: Vec<f64> = cases
        .iter()
        .filter(|c| c.state == CaseState::Closed)
        .filter_map(|c| c.closed_at.map(|at| secs(published, at)))
        .collect();
    Run {
        all_closed: closed.iter().copied().fold(0.0, f64::max),
        others_p50: others.get(others.len() / 2).copied().unwrap_or(-1.0),
        others_last: others.last().copied().unwrap_or(-1.0),
        not_closed: cases.len() - closed.len(),
    }
}

/// Runs N leavers through a fleet of `kinds` on `cfg` (cicd from its `[targets.cicd]` table,
/// the others simulated) until every case closed.
fn run(mut env: TestEnv, cfg: Config, usernames: &[String], kinds: &[TargetKind]) -> Run {
    env.cfg = cfg.clone();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    env.block_on(async {
        let (metrics, health) = (Metrics::new(), Health::new());
        let mut fleet = Vec::new();
        for kind in kinds {
            let t = revoke::adapters::from_config(*kind, &cfg)
                .await
                .unwrap_or_else(|e| panic!("[targets.{kind}]: {e}"));
            fleet.push(Process::Worker(t).spawn(&cfg, metrics.clone(), health.clone()));
        }
        fleet.push(Process::Verifier.spawn(&cfg, metrics.clone(), health.clone()));
        let groups: Vec<String> = kinds
            .iter()
            .map(|k| revoke::worker::group_for(&cfg, *k))
            .chain([revoke::verifier::group(&cfg)])
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !groups
            .iter()
            .all(|g| metrics.assigned_partitions.with_label_values(&[g]).get() > 0)
        {
            assert!(Instant::now() < deadline, "groups never got partitions");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let events: Vec<_> = usernames
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let who = employee(
                    &format!("E-{run_id}-{i}"),
                    Some(u),
                    Some(&format!("{u}@example.com")),
                );
                termination(format!("mass-{run_id}-{i}"), who)
            })
            .collect();
        let ids: Vec<_> = events.iter().map(|e| e.case_id()).collect();
        let published = Utc::now();
        env.publish(&events, Mode::Structured).await;
        let log = env
            .wait_cases(Duration::from_secs(3600), |l| {
                ids.iter().all(|id| {
                    l.latest
                        .get(id)
                        .is_some_and(|c| c.state == CaseState::Closed)
                })
            })
            .await;
        let cases: Vec<&Case> = ids.iter().filter_map(|id| log.latest.get(id)).collect();
        let r = summarise(&cases, published);
        for c in fleet {
            let _ = c.stop().await;
        }
        r
    })
}

fn main() {
    let o = parse_args();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let double = rt.block_on(gitlab::start());
    let usernames: Vec<String> = (0..o.leavers)
        .map(|i| {
            let u = format!("mass{i:05}");
            let id = double.add_user(&u, &format!("{u}@example.com"));
            double.add_pat(id, &format!("{u}-laptop"), &["api"]);
            u
        })
        .collect();
    // The test namespace's settings, with production's retries and back-off for the workers.
    let settings = |env: &mut TestEnv| {
        env.cfg.worker = Config::default().worker;
        env.cfg.verifier.guard.enabled = false;
        env.cfg.verifier.deadline_secs = 24 * 3600;
        env.cfg.simulator.latency_ms = 0;
    };
    let mut base = TestEnv::new("mass-base");
    settings(&mut base);
    println!(
        "mass termination: {} leavers at once on the {} broker; cicd limited to {} requests/s",
        o.leavers, base.broker, o.limit
    );

    // Without the throttled target.
    let mut cfg = base.cfg.clone();
    cfg.verifier.required_targets = OTHERS.to_vec();
    let without = run(base, cfg, &usernames, &OTHERS);

    // With it: the double limits, the adapter stays a little under the limit.
    let mut env = TestEnv::new("mass-limited");
    settings(&mut env);
    let limits = format!(
        "rate_limit_per_sec = {:.2}\nmax_concurrency = 8",
        f64::from(o.limit) * 0.95
    );
    let cicd = double.cicd_config("mass", "REVOKE_BENCH_MASS_TOKEN", &limits);
    let mut cfg = env.cfg.clone();
    cfg.targets = cicd.targets;
    double.set_rate_limit(Some(RateLimit {
        limit: o.limit,
        window: Duration::from_secs(1),
    }));
    let (r0, t0) = (double.request_count() as u64, double.throttled());
    let with = run(env, cfg, &usernames, &TargetKind::ALL);
    let requests = double.request_count() as u64 - r0;
    let throttled = double.throttled() - t0;
    let floor = (requests - throttled) as f64 / f64::from(o.limit);

    println!(
        "  {:<34} {:>12} {:>14} {:>14} {:>10}",
        "fleet", "all closed s", "others p50 s", "others last s", "not closed"
    );
    for (name, r) in [
        ("without the throttled target", &without),
        ("with cicd limited", &with),
    ] {
        println!(
            "  {name:<34} {:>12.1} {:>14.1} {:>14.1} {:>10}",
            r.all_closed, r.others_p50, r.others_last, r.not_closed
        );
    }
    println!(
        "  cicd: {requests} requests ({:.1} per leaver), {throttled} answered 429 ({:.2}%; target <= 1%); floor {floor:.1} s; completion {:.1} s = {:.2}x the floor (target <= 1.1)",
        requests as f64 / o.leavers as f64,
        100.0 * throttled as f64 / requests.max(1) as f64,
        with.all_closed,
        with.all_closed / floor.max(0.001)
    );
    println!(
        "  the other four targets done for every leaver: {:.1} s with the throttled target, {:.1} s without (ratio {:.2})",
        with.others_last,
        without.others_last,
        with.others_last / without.others_last.max(0.001)
    );
}
