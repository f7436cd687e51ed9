//! A real Prometheus scrapes a running fleet (five workers and a verifier as processes, on the
//! real broker) every second, with rules.yml loaded; the test asks its HTTP API what a person's
//! dashboard and alerts would see.
//!
//! The fleet gets 30 leavers with the blast-radius guard at 20 (so 20 close and 10 are held)
//! and one record that is not an event (dead-lettered). Then, through Prometheus:
//! - every target is up, and every process exports the process series;
//! - `revoke_consumer_lag` carries consumer, topic and partition for every group on its topics;
//!   `revoke_cases` every state, 10 held; the guard's oldest held batch has an age;
//! - the series moved: records handled and time-to-revoke buckets were 0 before the leavers
//!   and count them after;
//! - every rule of rules.yml evaluates without error; the recording rules give data; exactly
//!   the dead-letter alert fires (the verifier started minutes ago, so its first dead letter
//!   counts although its series appeared at 1);
//! - every dashboard query evaluates, and is non-empty unless `dashboard::MAY_BE_EMPTY` says why.

use super::dashboard;
use super::files::{rules_path, RuleFile};
use super::server::{unix_now, Prometheus, Sample};
use revoke_shared::contract::CaseState;
use revoke_tests::procs::ProcFleet;
use revoke_tests::TestEnv;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const KINDS: [&str; 5] = ["directory", "saas", "cloud", "vault", "cicd"];
const LEAVERS: usize = 30;
const GUARD_LIMIT: usize = 20;

/// Retries `check` until it passes or `timeout`; panics with its last problem.
fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(t) => return t,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn by(samples: &[Sample], label: &str) -> BTreeMap<String, f64> {
    samples
        .iter()
        .map(|s| (s.label(label).to_string(), s.value))
        .collect()
}

#[test]
#[ignore = "needs a real Kafka broker and Debian's prometheus: run the README's test command"]
fn prometheus_scrapes_a_running_fleet_and_evaluates_rules_and_dashboard() {
    let started = Instant::now();
    let harness = TestEnv::new("prom");
    let mut fleet = ProcFleet::new(&harness, 4);
    fleet.env.extend([
        // Lag every second, so the test need not wait librdkafka's default 5 s.
        ("REVOKE_CONSUMER__STATS_INTERVAL_MS".into(), "1000".into()),
        (
            "REVOKE_VERIFIER__GUARD__MAX_TERMINATIONS".into(),
            GUARD_LIMIT.to_string(),
        ),
    ]);
    let (workers, verifier) = fleet.spawn_all();
    let prefix = fleet.cfg.kafka.group_prefix.clone();
    let topics = fleet.cfg.topics.clone();
    let prom = Prometheus::start(
        &[
            ("revoke-worker", workers.iter().map(|w| w.port).collect()),
            ("revoke-verifier", vec![verifier.port]),
        ],
        &rules_path(),
    );
    let fleet_up = started.elapsed();

    // Every target up before anything is published: the "before" of the series that move.
    eventually("targets up", Duration::from_secs(30), || {
        let targets = prom.api("/api/v1/targets", &[])?;
        let active = targets["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = active.iter().filter(|t| t["health"] == "up").count();
        if active.len() == 6 && up == 6 {
            Ok(())
        } else {
            Err(format!("{up} of {} targets up: {active:?}", active.len()))
        }
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = unix_now();

    fleet.publish_generated(LEAVERS);
    harness.block_on(harness.publish_raw_to(
        &topics.terminations,
        Some("E-garbage"),
        b"not an event",
        &[],
    ));
    let log = fleet.wait_cases(Duration::from_secs(120), |l| {
        l.count(CaseState::Closed) == GUARD_LIMIT
            && l.count(CaseState::Held) == LEAVERS - GUARD_LIMIT
    });
    assert_eq!(log.count(CaseState::Closed), GUARD_LIMIT);
    assert_eq!(log.count(CaseState::Held), LEAVERS - GUARD_LIMIT);
    let cases_done = started.elapsed();

    let group = |kind: &str| format!("{prefix}revoke-{kind}");
    let verifier_group = format!("{prefix}revoke-verifier");

    // The process series, from every process.
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        let samples = eventually(name, Duration::from_secs(10), || {
            let s = prom.query(&format!("{name}{{job=~\"revoke.*\"}}"))?;
            (s.len() == 6)
                .then_some(s.clone())
                .ok_or(format!("{} series: {s:?}", s.len()))
        });
        if name == "process_resident_memory_bytes" {
            assert!(samples.iter().all(|s| s.value > 4e6), "{samples:?}");
        }
    }

    // Every process says what it is (version and commit) and whether it is ready.
    let build = eventually("revoke_build_info", Duration::from_secs(10), || {
        let s = prom.query("revoke_build_info{job=~\"revoke.*\"} == 1")?;
        (s.len() == 6)
            .then_some(s.clone())
            .ok_or(format!("{} series: {s:?}", s.len()))
    });
    assert!(
        build
            .iter()
            .all(|s| s.label("version") == env!("CARGO_PKG_VERSION")
                && !s.label("commit").is_empty()),
        "{build:?}"
    );
    eventually("revoke_ready", Duration::from_secs(20), || {
        let s = prom.query("revoke_ready{job=~\"revoke.*\"} == 1")?;
        (s.len() == 6)
            .then_some(())
            .ok_or(format!("{} ready: {s:?}", s.len()))
    });

    // Consumer lag: every worker group on the due topic, the verifier on its inputs, each series
    // with a partition number; never a partition the group does not have.
    eventually("revoke_consumer_lag", Duration::from_secs(30), || {
        let s = prom.query("revoke_consumer_lag")?;
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for x in &s {
            let p: i32 = x
                .label("partition")
                .parse()
                .map_err(|_| format!("partition label: {x:?}"))?;
            if !(0..4).contains(&p) || x.value < 0.0 {
                return Err(format!("{x:?}"));
            }
            seen.insert((
                x.label("consumer").to_string(),
                x.label("topic").to_string(),
            ));
        }
        let mut want: Vec<(String, String)> = KINDS
            .iter()
            .map(|k| (group(k), topics.due.clone()))
            .collect();
        want.push((verifier_group.clone(), topics.terminations.clone()));
        want.push((verifier_group.clone(), topics.confirmations.clone()));
        match want.iter().find(|w| !seen.contains(*w)) {
            None => Ok(()),
            Some(w) => Err(format!("no lag series for {w:?} in {seen:?}")),
        }
    });

    // Cases by state and the guard's held batch.
    eventually("revoke_cases", Duration::from_secs(10), || {
        let states = by(
            &prom.query("revoke_cases{job=\"revoke-verifier\"}")?,
            "state",
        );
        let held = (LEAVERS - GUARD_LIMIT) as f64;
        let want = [
            "pending",
            "open",
            "escalated",
            "held",
            "scheduled",
            "rescinded",
            "admitting",
            "rejected",
            "awaiting_review",
        ];
        if states.len() == want.len()
            && want.iter().all(|s| states.contains_key(*s))
            && states["held"] == held
            && states["open"] == 0.0
        {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    });
    let oldest = prom.query("max(revoke_guard_oldest_held_seconds)").unwrap();
    assert!(oldest.len() == 1 && oldest[0].value > 0.0, "{oldest:?}");

    // They moved: records handled and time-to-revoke buckets, before the leavers and now (a
    // leaver with nothing on a simulated target confirms without a removal time: not counted).
    let handled_q = "sum by (consumer) (revoke_events_handled_total)";
    let all_q = r#"sum by (target) (revoke_time_to_revoke_seconds_bucket{le="+Inf"})"#;
    let fast_q = r#"sum by (target) (revoke_time_to_revoke_seconds_bucket{le="30"})"#;
    let then = by(&prom.query_at(handled_q, before).unwrap(), "consumer");
    let all_before = by(&prom.query_at(all_q, before).unwrap(), "target");
    let (now, all_now) = eventually("the series moved", Duration::from_secs(10), || {
        let now = by(&prom.query(handled_q)?, "consumer");
        let all_now = by(&prom.query(all_q)?, "target");
        let moved = KINDS.iter().all(|k| {
            now.get(&group(k)) == Some(&(GUARD_LIMIT as f64))
                && all_now
                    .get(*k)
                    .is_some_and(|n| *n > 0.0 && *n <= GUARD_LIMIT as f64)
        });
        if moved {
            Ok((now, all_now))
        } else {
            Err(format!("handled {now:?}, time to revoke {all_now:?}"))
        }
    });
    let fast_now = by(&prom.query(fast_q).unwrap(), "target");
    for k in KINDS {
        let before_k = then.get(&group(k)).copied().unwrap_or(0.0);
        assert_eq!(before_k, 0.0, "{k} handled before: {then:?}");
        let before_k = all_before.get(k).copied().unwrap_or(0.0);
        assert_eq!(before_k, 0.0, "{k} time to revoke before: {all_before:?}");
        assert!(fast_now.get(k).is_some_and(|n| *n > 0.0), "{fast_now:?}");
    }
    let verifier_before = then.get(&verifier_group).copied().unwrap_or(0.0);
    assert!(now[&verifier_group] > verifier_before, "{then:?} {now:?}");
    eprintln!("moved: handled {then:?} -> {now:?}; time to revoke observations {all_before:?} -> {all_now:?}");

    // The dead letter, and the alert it raises: the only one firing.
    eventually("the dead-letter alert", Duration::from_secs(20), || {
        let dlq = prom.query("revoke_dlq_total")?;
        if dlq.len() != 1
            || dlq[0].label("reason") != "malformed_json"
            || dlq[0].label("consumer") != verifier_group
        {
            return Err(format!("revoke_dlq_total: {dlq:?}"));
        }
        let alerts = prom.api("/api/v1/alerts", &[])?;
        let firing: BTreeSet<String> = alerts["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["state"] == "firing")
            .map(|a| a["labels"]["alertname"].as_str().unwrap_or("?").to_string())
            .collect();
        if firing == BTreeSet::from(["RevokeDeadLetters".to_string()]) {
            Ok(())
        } else {
            Err(format!("firing {firing:?}; all: {alerts}"))
        }
    });

    // Every rule evaluated, none in error; the recording rules give data.
    let rules = RuleFile::load();
    let rule_count = rules.rules().count();
    eventually(
        "every rule evaluated without error",
        Duration::from_secs(10),
        || {
            let data = prom.api("/api/v1/rules", &[])?;
            let loaded: Vec<&serde_json::Value> = data["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["rules"].as_array().into_iter().flatten())
                .collect();
            if loaded.len() != rule_count {
                return Err(format!(
                    "{} rules loaded, {rule_count} in rules.yml",
                    loaded.len()
                ));
            }
            let bad: Vec<String> = loaded
                .iter()
                .filter(|r| {
                    r["health"] != "ok"
                        || r["lastError"].as_str().is_some_and(|e| !e.is_empty())
                        || r["lastEvaluation"]
                            .as_str()
                            .is_none_or(|t| t.starts_with("0001"))
                })
                .map(|r| {
                    format!(
                        "{} {} {} {}",
                        r["name"], r["health"], r["lastError"], r["lastEvaluation"]
                    )
                })
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(format!("{bad:#?}"))
            }
        },
    );
    // The recording rules give data (evaluated every second, after the series they read).
    eventually("the recording rules", Duration::from_secs(10), || {
        let lag = prom.query("revoke:consumer_lag:sum")?;
        let p99 = by(
            &prom.query("revoke:time_to_revoke_seconds:p99_5m")?,
            "target",
        );
        let dlq = prom.query("revoke:dlq:increase15m")?;
        let escalations = by(&prom.query("revoke:escalations:increase15m")?, "reason");
        // Every group on each of its topics with records: five workers' due topic, the
        // verifier's terminations and confirmations, its decisions group's guard log.
        let ok = lag.len() == 8
            && p99.len() == 5
            && dlq.len() == 1
            && dlq[0].value == 1.0
            // one held batch, one escalation: the verifier's first, counted though its series
            // appeared at 1
            && escalations.get("blast_radius_hold") == Some(&1.0);
        if ok {
            Ok(())
        } else {
            Err(format!(
                "lag {lag:?}\np99 {p99:?}\ndlq {dlq:?}\nescalations {escalations:?}"
            ))
        }
    });

    // Every dashboard query.
    let evaluated =
        dashboard::evaluate(&prom).unwrap_or_else(|problems| panic!("dashboard: {problems:#?}"));
    assert!(
        evaluated.with_data * 3 >= evaluated.queries * 2,
        "most queries have data"
    );

    // Figures: what each scrape costs.
    let samples = by(&prom.query("scrape_samples_scraped").unwrap(), "instance");
    let durations = by(&prom.query("scrape_duration_seconds").unwrap(), "instance");
    let series = prom.query(r#"count({job=~"revoke.*"})"#).unwrap();
    eprintln!("prometheus test figures:");
    eprintln!("  fleet and Prometheus up in {:.1} s; {LEAVERS} leavers handled {:.1} s after start; whole test {:.1} s",
        fleet_up.as_secs_f64(), cases_done.as_secs_f64(), started.elapsed().as_secs_f64());
    for (instance, n) in &samples {
        eprintln!(
            "  scrape {instance}: {n} samples in {:.1} ms",
            durations.get(instance).copied().unwrap_or(f64::NAN) * 1000.0
        );
    }
    eprintln!(
        "  series in Prometheus from the fleet: {}",
        series.first().map_or(0.0, |s| s.value)
    );
    eprintln!("  rules: {rule_count} evaluated without error; dashboard: {} queries, {} with data, {} empty:",
        evaluated.queries, evaluated.with_data, evaluated.empty.len());
    for (what, why) in &evaluated.empty {
        eprintln!("    {what}: {why}");
    }
    drop(prom);
    drop(workers);
    drop(verifier);
}
