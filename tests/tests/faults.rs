//! Faults the fleet must survive on a real broker, with real processes being killed.
//!
//! Each test asserts: no revocation lost (every case reaches its final state), no case closed
//! twice, and duplicates absorbed; the broker outage also that processes report it as unready,
//! never as wedged (`/readyz` and `/livez`). Figures (takeover time, outage length) are printed, never
//! asserted. These tests stop and kill the broker, so the test command runs them one at a time
//! (`--test-threads=1`), after the other suites; they are `#[ignore]`d in plain `cargo test`.
//!
//! Broker control: `REVOKE_TEST_KAFKA_CTL` names tests/services/kafka.sh (set by tests/run); it
//! acts on the broker described by the inherited KAFKA_PORT / REVOKE_SERVICES_DIR.

use revoke_shared::contract::CaseState;
use revoke_tests::procs::{metric, Proc, ProcFleet};
use revoke_tests::TestEnv;
use std::process::Command;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(240);

fn broker(cmd: &str) {
    let ctl = std::env::var("REVOKE_TEST_KAFKA_CTL")
        .expect("REVOKE_TEST_KAFKA_CTL must name tests/services/kafka.sh");
    let t0 = Instant::now();
    let out = Command::new(&ctl).arg(cmd).output().expect("run kafka.sh");
    assert!(
        out.status.success(),
        "kafka.sh {cmd} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("broker {cmd}: {:.1} s", t0.elapsed().as_secs_f64());
}

/// The broker stopped (or killed) until `resume`: dropped without it — the test panicked while
/// the broker was away — it brings the broker back, so the tests after it find one.
struct BrokerAway {
    resumed: bool,
}

impl BrokerAway {
    fn by(cmd: &str) -> Self {
        broker(cmd);
        Self { resumed: false }
    }

    fn resume(mut self) {
        self.resumed = true;
        broker("resume");
    }
}

impl Drop for BrokerAway {
    fn drop(&mut self) {
        if !self.resumed {
            eprintln!("the test ended with the broker away: bringing it back for the next test");
            let ctl = std::env::var("REVOKE_TEST_KAFKA_CTL").unwrap_or_default();
            let _ = Command::new(ctl).arg("resume").status();
        }
    }
}

fn all_closed_once(fleet: &ProcFleet, n: usize) {
    let log = fleet.wait_cases(LONG, |l| l.count(CaseState::Closed) == n);
    let not_closed: Vec<String> = log
        .latest
        .values()
        .filter(|c| c.state != CaseState::Closed)
        .map(|c| format!("{} {}", c.identity_id, c.state.as_str()))
        .take(10)
        .collect();
    assert_eq!(
        log.count(CaseState::Closed),
        n,
        "not closed: {not_closed:?}"
    );
    assert_eq!(log.latest.len(), n, "cases");
    assert!(
        log.closed_versions.values().all(|v| *v == 1),
        "a case was closed twice"
    );
}

fn wait_closed_at_least(fleet: &ProcFleet, n: usize) {
    let log = fleet.wait_cases(LONG, |l| l.count(CaseState::Closed) >= n);
    assert!(
        log.count(CaseState::Closed) >= n,
        "only {} closed",
        log.count(CaseState::Closed)
    );
}

/// SIGTERMs each process in turn and waits for it to exit.
fn stop_all(procs: impl IntoIterator<Item = Proc>) {
    for p in procs {
        p.sigterm_and_wait();
    }
}

fn take(workers: &mut Vec<Proc>, name: &str) -> Proc {
    let i = workers.iter().position(|p| p.name == name).unwrap();
    workers.remove(i)
}

/// Sleeps `every` at a time while `waiting` holds, for `limit` at the most. The caller asserts
/// what it was waiting for afterwards, so a timeout fails with its own message.
fn wait_while(limit: Duration, every: Duration, mut waiting: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while waiting() && Instant::now() < deadline {
        std::thread::sleep(every);
    }
}

/// How many partitions a process owns in the consumer group `revoke-{group}`, read from its
/// metrics (0 when it reports none yet).
fn assigned_in(fleet: &ProcFleet, group: &str) -> impl Fn(&Proc) -> f64 {
    let series = format!(
        "revoke_assigned_partitions{{consumer=\"{}revoke-{group}\"}}",
        fleet.cfg.kafka.group_prefix
    );
    move |p: &Proc| metric(&p.metrics(), &series).unwrap_or(0.0)
}

/// Kills `first` with SIGKILL and waits until `second` owns all `all` partitions; returns how
/// long the takeover took.
fn kill_and_await_takeover(
    first: Proc,
    second: &Proc,
    assigned: impl Fn(&Proc) -> f64,
    all: f64,
) -> Duration {
    let killed_at = Instant::now();
    first.kill9();
    wait_while(Duration::from_secs(90), Duration::from_millis(100), || {
        assigned(second) < all
    });
    let takeover = killed_at.elapsed();
    assert_eq!(
        assigned(second),
        all,
        "the survivor never got every partition"
    );
    takeover
}

/// The opening of the tests that fault a fleet mid-run: every process spawned on six partitions,
/// `n` generated terminations published, and at least `closed` of them closed before the fault.
fn fleet_mid_run(harness: &TestEnv, n: usize, closed: usize) -> (ProcFleet, Vec<Proc>, Proc) {
    let fleet = ProcFleet::new(harness, 6);
    let (workers, verifier) = fleet.spawn_all();
    fleet.publish_generated(n);
    wait_closed_at_least(&fleet, closed);
    (fleet, workers, verifier)
}

#[test]
#[ignore = "needs a real Kafka broker and kills processes: run the README's test command"]
fn a_worker_killed_mid_run_and_restarted_loses_nothing() {
    let harness = TestEnv::new("kill-worker");
    let (fleet, mut workers, verifier) = fleet_mid_run(&harness, 1000, 100);
    take(&mut workers, "vault").kill9();
    std::thread::sleep(Duration::from_secs(1));
    workers.push(fleet.spawn_worker("vault"));
    all_closed_once(&fleet, 1000);
    stop_all(workers.into_iter().chain([verifier]));
}

#[test]
#[ignore = "needs a real Kafka broker and kills processes: run the README's test command"]
fn a_second_worker_takes_over_a_killed_ones_partitions() {
    let harness = TestEnv::new("takeover");
    let partitions = 6;
    let fleet = ProcFleet::new(&harness, partitions);
    let (mut workers, verifier) = fleet.spawn_all();
    let second = fleet.spawn("vault-2", &["worker", "--target", "vault"]);
    let assigned = assigned_in(&fleet, "vault");
    // A worker group reads several co-partitioned topics: the survivor must own all of them.
    let all = (partitions as usize * revoke::worker::input_topics(&fleet.cfg).len()) as f64;
    let first = take(&mut workers, "vault");
    wait_while(Duration::from_secs(60), Duration::from_millis(200), || {
        assigned(&first) == 0.0 || assigned(&second) == 0.0
    });
    assert!(
        assigned(&first) > 0.0 && assigned(&second) > 0.0,
        "both instances should share the partitions"
    );

    fleet.publish_generated(600);
    wait_closed_at_least(&fleet, 50);
    let takeover = kill_and_await_takeover(first, &second, &assigned, all);
    println!(
        "takeover: the surviving vault worker owned all {all} partitions ({partitions} per topic) {:.1} s after kill -9 \
         (session.timeout.ms {} ms)",
        takeover.as_secs_f64(),
        fleet.cfg.consumer.session_timeout_ms
    );
    all_closed_once(&fleet, 600);
    stop_all(workers.into_iter().chain([second, verifier]));
}

#[test]
#[ignore = "needs a real Kafka broker and kills processes: run the README's test command"]
fn the_verifier_killed_mid_run_rebuilds_and_closes_nothing_twice() {
    let harness = TestEnv::new("kill-verifier");
    let (fleet, workers, verifier) = fleet_mid_run(&harness, 1000, 200);
    verifier.kill9();
    std::thread::sleep(Duration::from_secs(2));
    let verifier = fleet.spawn("verifier-2", &["verifier"]);
    all_closed_once(&fleet, 1000);
    stop_all(workers.into_iter().chain([verifier]));
}

/// Two verifier instances split the partitions: the second joins mid-run (the first hands its
/// partitions over after finishing what it started, the second rebuilds them from the changelog),
/// then the first is killed and the survivor takes over everything. No case lost, none closed
/// twice, and each instance really owned partitions.
#[test]
#[ignore = "needs a real Kafka broker and kills processes: run the README's test command"]
fn two_verifiers_split_the_partitions_and_one_killed_loses_nothing() {
    let harness = TestEnv::new("two-verifiers");
    let partitions = 6;
    let fleet = ProcFleet::new(&harness, partitions);
    let (workers, first) = fleet.spawn_all();
    let assigned = assigned_in(&fleet, "verifier");
    // The verifier reads terminations and confirmations.
    let all = f64::from(partitions * 2);

    fleet.publish_generated(1500);
    wait_closed_at_least(&fleet, 100);
    let joined_at = Instant::now();
    let second = fleet.spawn("verifier-2", &["verifier"]);
    // Each gauge is refreshed every 250 ms: wait until both show the new split.
    let split = || {
        let (a, b) = (assigned(&first), assigned(&second));
        (a > 0.0 && b > 0.0 && a + b == all).then_some((a, b))
    };
    wait_while(Duration::from_secs(60), Duration::from_millis(100), || {
        split().is_none()
    });
    let (a, b) = (assigned(&first), assigned(&second));
    assert!(
        a > 0.0 && b > 0.0 && a + b == all,
        "the two verifiers should split the {all} partitions: {a} + {b}"
    );
    println!(
        "second verifier joined: partitions split {a} + {b}, {:.1} s after it started",
        joined_at.elapsed().as_secs_f64()
    );

    wait_closed_at_least(&fleet, 500);
    let takeover = kill_and_await_takeover(first, &second, &assigned, all);
    println!(
        "the surviving verifier owned all {all} partitions {:.1} s after kill -9 of the other",
        takeover.as_secs_f64()
    );
    all_closed_once(&fleet, 1500);
    stop_all(workers.into_iter().chain([second]));
}

#[test]
#[ignore = "needs a real Kafka broker and restarts it: run the README's test command"]
fn a_broker_crash_and_restart_mid_run_loses_nothing() {
    let harness = TestEnv::new("broker-crash");
    let (fleet, mut procs, verifier) = fleet_mid_run(&harness, 1000, 100);
    procs.push(verifier);
    BrokerAway::by("kill").resume();
    all_closed_once(&fleet, 1000);
    for p in procs.iter_mut() {
        assert!(p.alive(), "{} died during the broker restart", p.name);
    }
    stop_all(procs);
}

/// The longest "went round N s ago" a `/livez` body reports (0 when none parses).
fn longest_round(livez: &str) -> f64 {
    livez
        .lines()
        .filter_map(|l| l.split("went round ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

/// What each process answered while the broker was away.
#[derive(Default, Clone)]
struct Outage {
    unhealthy_after: Option<Duration>,
    unready_after: Option<Duration>,
    ready_gauge_zero: bool,
    longest_round: f64,
    /// The longest time without a /livez 200 (s).
    longest_livez_gap: f64,
}

/// Samples every process for 30 s from `down_at`: each must stay up and answer `/livez` 200 at
/// every sample (asserted at once, naming the process); `/healthz` and `/readyz` 503 and
/// `revoke_ready 0` are recorded when first seen, as time since `stop_at`.
fn sample_outage(procs: &mut [Proc], stop_at: Instant, down_at: Instant) -> Vec<Outage> {
    let mut seen = vec![Outage::default(); procs.len()];
    // When each last answered /livez 200. A kubelet restarts a pod only after failureThreshold
    // (3) failed probes in a row, periodSeconds (10) apart (deploy/k8s/base/patches/probes.yaml):
    // one slow answer is not a restart, 20 s without a 200 would be close to one.
    let mut last_live = vec![Instant::now(); procs.len()];
    while down_at.elapsed() < Duration::from_secs(30) {
        for ((p, o), last) in procs
            .iter_mut()
            .zip(seen.iter_mut())
            .zip(last_live.iter_mut())
        {
            assert!(p.alive(), "{} exited while the broker was away", p.name);
            let live = p.status_text("/livez");
            if live.starts_with("200 ") {
                *last = Instant::now();
            }
            assert!(
                last.elapsed() < Duration::from_secs(20),
                "{}: /livez failed for {:?} while the broker was away (a supervisor would restart it): {live}",
                p.name,
                last.elapsed()
            );
            o.longest_livez_gap = o.longest_livez_gap.max(last.elapsed().as_secs_f64());
            o.longest_round = o.longest_round.max(longest_round(&live));
            if o.unhealthy_after.is_none() && p.health() == Some(503) {
                o.unhealthy_after = Some(stop_at.elapsed());
            }
            if o.unready_after.is_none() && p.status("/readyz") == Some(503) {
                o.unready_after = Some(stop_at.elapsed());
            }
            o.ready_gauge_zero |= metric(&p.metrics(), "revoke_ready ") == Some(0.0);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    seen
}

/// Every process reports `revoke_ready 1`.
fn ready_gauge_is_one(procs: &[Proc]) {
    for p in procs {
        assert_eq!(
            metric(&p.metrics(), "revoke_ready "),
            Some(1.0),
            "{}",
            p.name
        );
    }
}

/// Waits (up to 60 s) until every process answers `path` with 200, then asserts it.
fn all_answer_200(procs: &[Proc], path: &str, when: &str) {
    wait_while(Duration::from_secs(60), Duration::from_millis(250), || {
        procs.iter().any(|p| p.status(path) != Some(200))
    });
    for p in procs {
        assert_eq!(
            p.status(path),
            Some(200),
            "{}: {path} {when}: {}",
            p.name,
            p.status_text(path)
        );
    }
}

/// A broker outage makes every process unready (`/readyz`, `/healthz` 503, `revoke_ready 0`)
/// and never unlive (`/livez` 200 throughout: a supervisor restarts nothing); once it is back,
/// all are ready again and every case closes. A worker started during the outage answers
/// `/livez` 200 and `/readyz` 503 "not yet assigned" until the broker is back and its group
/// assigns it partitions.
#[test]
#[ignore = "needs a real Kafka broker and stops it: run the README's test command"]
fn the_broker_unreachable_for_30_s_makes_processes_unready_not_dead_then_they_resume() {
    let harness = TestEnv::new("broker-away");
    let fleet = ProcFleet::new(&harness, 6);
    let (mut procs, verifier) = fleet.spawn_all();
    procs.push(verifier);
    all_answer_200(&procs, "/healthz", "before the outage");
    all_answer_200(&procs, "/readyz", "before the outage");
    ready_gauge_is_one(&procs);
    fleet.publish_generated(500);
    wait_closed_at_least(&fleet, 50);

    // The processes are sampled only once the broker is down (kafka.sh stop returns then), so
    // their first 503 is timed from the stop's request (the broker stops gracefully, in seconds).
    let stop_at = Instant::now();
    let away = BrokerAway::by("stop");
    let down_at = Instant::now();
    // Started with the broker away: it can never have been assigned anything.
    procs.push(fleet.spawn("vault-fresh", &["worker", "--target", "vault"]));
    let fresh = procs.len() - 1;
    let seen = sample_outage(&mut procs, stop_at, down_at);
    for (p, o) in procs.iter().zip(&seen) {
        let at = |d: Option<Duration>, what: &str| {
            d.unwrap_or_else(|| {
                panic!(
                    "{} never answered {what} 503 while the broker was away",
                    p.name
                )
            })
            .as_secs_f64()
        };
        println!(
            "{}: /healthz 503 {:.1} s and /readyz 503 {:.1} s after the broker's stop began ({:.1} s to stop); \
             /livez never without a 200 for more than {:.1} s (its loops went round at most {:.1} s apart)",
            p.name,
            at(o.unhealthy_after, "/healthz"),
            at(o.unready_after, "/readyz"),
            (down_at - stop_at).as_secs_f64(),
            o.longest_livez_gap,
            o.longest_round
        );
        assert!(
            o.ready_gauge_zero,
            "{}: revoke_ready never 0 while unready",
            p.name
        );
    }
    let why = procs[fresh].status_text("/readyz");
    assert!(
        why.starts_with("503 ") && why.contains("not yet assigned partitions by its group"),
        "the worker started during the outage: {why}"
    );
    assert_eq!(
        assigned_in(&fleet, "vault")(&procs[fresh]),
        0.0,
        "assigned with no broker?"
    );

    away.resume();
    all_closed_once(&fleet, 500);
    all_answer_200(&procs, "/healthz", "after the broker came back");
    all_answer_200(&procs, "/readyz", "after the broker came back");
    ready_gauge_is_one(&procs);
    // Ready means assigned: the fresh worker now shares the vault partitions.
    let fresh_parts = assigned_in(&fleet, "vault")(&procs[fresh]);
    assert!(
        fresh_parts > 0.0,
        "the fresh worker is ready with nothing assigned, in a group of 2 on 6 partitions"
    );
    println!(
        "vault-fresh: ready after the broker came back, {fresh_parts} partitions: {}",
        procs[fresh].status_text("/readyz")
    );
    stop_all(procs);
}
