//! `revoke demo`: the whole fleet in one process on the embedded broker, with simulated targets.
//! Publishes N leavers, waits until every case reaches the state the simulators predict, and
//! prints a summary. Exit 0 only when every case ended as expected.

use super::error::CommandError;
use super::guard::{decide, DecideArgs};
use crate::cases::{follow, CaseLog};
use crate::embedded::Embedded;
use crate::fleet::{wait_for_groups, Fleet};
use crate::hr::{publish_events, synthetic_leaver, Mode};
use chrono::Utc;
use revoke_shared::config::Config;
use revoke_shared::contract::{case_id_for, CaseState, ObjectOutcome, TargetKind};
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Leavers to publish.
    #[arg(long, default_value_t = 100)]
    pub identities: usize,
    /// Share of (identity, target) pairs that fail permanently, to show escalation.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Share of target calls that fail once transiently (retried with backoff).
    #[arg(long, default_value_t = 0.0)]
    pub flaky_rate: f64,
    /// Simulated latency of every target call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Give up waiting for cases after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Publish in CloudEvents binary mode (ce_* headers) instead of structured mode.
    #[arg(long)]
    pub binary: bool,
}

/// `revoke demo`: the simulators set from the flags, the demo run, its summary printed.
pub fn command(mut cfg: Config, a: &DemoArgs, emit: fn(&str)) -> Result<(), CommandError> {
    cfg.simulator.fail_rate = a.fail_rate;
    cfg.simulator.flaky_rate = a.flaky_rate;
    cfg.simulator.latency_ms = a.latency_ms;
    cfg.validate().map_err(CommandError::usage)?;
    if cfg.signing.required {
        return Err(CommandError::usage(anyhow::anyhow!(
            "the demo publishes unsigned synthetic events: run it with signing.required = false (REVOKE_SIGNING__REQUIRED=false)"
        )));
    }
    let opts = DemoOptions {
        identities: a.identities,
        timeout: Duration::from_secs(a.timeout_secs),
        mode: if a.binary {
            Mode::Binary
        } else {
            Mode::Structured
        },
    };
    let summary = run(cfg, opts).map_err(CommandError::job)?;
    emit(&summary.render());
    if summary.ok() {
        Ok(())
    } else {
        Err(CommandError::job(anyhow::anyhow!(
            "some cases did not reach their expected state"
        )))
    }
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub identities: usize,
    pub timeout: Duration,
    pub mode: Mode,
}

#[derive(Debug, Default)]
pub struct DemoSummary {
    pub identities: usize,
    pub closed: usize,
    pub escalated: usize,
    pub unexpected: Vec<String>,
    pub unfinished: usize,
    pub closed_twice: usize,
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    pub elapsed: Duration,
    /// target → outcome → count
    pub outcomes: BTreeMap<TargetKind, BTreeMap<String, usize>>,
    pub objects_revoked: usize,
    pub sponsored_revoked: usize,
    /// Batches the blast-radius guard held (and the demo approved), with their sizes.
    pub held_batches: Vec<(String, usize)>,
}

impl DemoSummary {
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty() && self.unfinished == 0 && self.closed_twice == 0
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nrevoke demo: {} leavers x {} targets in {:.2} s",
            self.identities,
            TargetKind::ALL.len(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(s, "  cases closed     {:>7}", self.closed);
        let _ = writeln!(s, "  cases escalated  {:>7}", self.escalated);
        for (batch, n) in &self.held_batches {
            let _ = writeln!(
                s,
                "  held by the blast-radius guard: {n} cases in batch {batch}, approved by demo-operator (in production a person runs `revoke approve {batch} --digest DIGEST --by NAME` after `revoke guard`)"
            );
        }
        let _ = writeln!(s, "  unfinished       {:>7}", self.unfinished);
        let _ = writeln!(s, "  not as expected  {:>7}", self.unexpected.len());
        let _ = writeln!(s, "  closed twice     {:>7}", self.closed_twice);
        let ms = |v: Option<i64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  time to close    p50 {}  p99 {}  (effective time -> verified closed case)",
            ms(self.p50_ms),
            ms(self.p99_ms)
        );
        let _ = writeln!(
            s,
            "  objects revoked  {:>7}  (of which sponsored credentials: {})",
            self.objects_revoked, self.sponsored_revoked
        );
        let cols = [
            "revoked",
            "already_absent",
            "failed",
            "manual_required",
            "pending",
        ];
        let _ = writeln!(
            s,
            "\n  {:<10} {:>9} {:>15} {:>7} {:>16} {:>8}",
            "target", cols[0], cols[1], cols[2], cols[3], cols[4]
        );
        for (t, m) in &self.outcomes {
            let g = |k: &str| m.get(k).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "  {:<10} {:>9} {:>15} {:>7} {:>16} {:>8}",
                t.as_str(),
                g(cols[0]),
                g(cols[1]),
                g(cols[2]),
                g(cols[3]),
                g(cols[4])
            );
        }
        for u in self.unexpected.iter().take(10) {
            let _ = writeln!(s, "  unexpected: {u}");
        }
        let _ = writeln!(
            s,
            "\n  verdict: {}",
            if self.ok() {
                "every case reached its expected state"
            } else {
                "FAILED"
            }
        );
        s
    }
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[idx.min(sorted.len() - 1)])
}

/// Summarises the case log against what the simulators predict.
pub fn summarise(
    log: &CaseLog,
    expected: &BTreeMap<uuid::Uuid, (String, CaseState)>,
    elapsed: Duration,
) -> DemoSummary {
    let mut s = DemoSummary {
        identities: expected.len(),
        elapsed,
        ..Default::default()
    };
    let mut times = Vec::new();
    for (case_id, (identity, want)) in expected {
        let Some(case) = log.latest.get(case_id) else {
            s.unfinished += 1;
            continue;
        };
        match case.state {
            CaseState::Closed => {
                s.closed += 1;
                if let Some(ms) = case.time_to_close_ms() {
                    times.push(ms);
                }
            }
            CaseState::Escalated => s.escalated += 1,
            _ => s.unfinished += 1,
        }
        if case.state.is_final() && case.state != *want {
            s.unexpected.push(format!(
                "{identity}: expected {}, got {}",
                want.as_str(),
                case.state.as_str()
            ));
        }
        if log.closed_versions.get(case_id).copied().unwrap_or(0) > 1 {
            s.closed_twice += 1;
        }
        for (t, st) in &case.targets {
            let key = st
                .outcome
                .map(|o| o.as_str().to_string())
                .unwrap_or_else(|| "pending".into());
            *s.outcomes.entry(*t).or_default().entry(key).or_default() += 1;
            for o in &st.objects {
                if o.outcome == ObjectOutcome::Revoked {
                    s.objects_revoked += 1;
                    if o.sponsored {
                        s.sponsored_revoked += 1;
                    }
                }
            }
        }
    }
    times.sort_unstable();
    s.p50_ms = percentile(&times, 0.50);
    s.p99_ms = percentile(&times, 0.99);
    s
}

/// Runs the demo on the embedded broker. Blocks the calling thread (the mock cluster lives on it).
pub fn run(mut cfg: Config, opts: DemoOptions) -> anyhow::Result<DemoSummary> {
    let _embedded = Embedded::start(&mut cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_on(cfg, opts))
}

/// The demo against any broker whose topics exist (used by `run` and by tests on a real broker).
pub async fn run_on(cfg: Config, opts: DemoOptions) -> anyhow::Result<DemoSummary> {
    let metrics = Metrics::new();
    let health = Health::new();
    if !cfg.metrics.listen.is_empty() {
        match revoke_shared::metrics::serve(&cfg.metrics.listen, metrics.clone(), health.clone())
            .await
        {
            Ok(addr) => {
                eprintln!("metrics on http://{addr}/metrics, health on http://{addr}/healthz")
            }
            Err(e) => {
                tracing::warn!(listen = %cfg.metrics.listen, error = %e, "metrics endpoint not started")
            }
        }
    }
    let fleet = Fleet::start_simulated(&cfg, &metrics, &health);

    let log = Arc::new(Mutex::new(CaseLog::default()));
    let stop_follow = CancellationToken::new();
    let follower = {
        let (cfg, log, stop) = (cfg.clone(), log.clone(), stop_follow.clone());
        tokio::spawn(async move { follow(&cfg, log, stop).await })
    };

    // Publish once every group has its partitions, so the figures measure the pipeline, not the
    // group join.
    wait_for_groups(&cfg, &metrics, Duration::from_secs(60)).await;

    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let source = "urn:revoke:demo-hr";
    let started = Instant::now();
    let now = Utc::now();
    let events: Vec<_> = (0..opts.identities)
        .map(|i| synthetic_leaver(i, source, &run_id, now))
        .collect();
    let mut expected = BTreeMap::new();
    for ev in &events {
        let fails = cfg.verifier.required_targets.iter().any(|t| {
            fleet
                .simulators
                .get(t)
                .is_some_and(|s| s.fails_permanently(&ev.subject))
        });
        let want = if fails {
            CaseState::Escalated
        } else {
            CaseState::Closed
        };
        expected.insert(case_id_for(source, &ev.id), (ev.subject.clone(), want));
    }
    let producer = Producer::with_timeout(&cfg, Duration::from_secs(60))?;
    publish_events(&producer, &cfg.topics.terminations, &events, opts.mode).await?;
    eprintln!(
        "published {} terminations in {:.2} s; waiting for cases to finish",
        events.len(),
        started.elapsed().as_secs_f64()
    );

    let deadline = Instant::now() + opts.timeout;
    let mut approved: Vec<(String, usize)> = Vec::new();
    loop {
        let (finished, held) = {
            let log = log.lock().expect("case log lock");
            let held: BTreeMap<String, usize> = expected
                .keys()
                .filter_map(|id| log.latest.get(id))
                .filter(|c| c.state == CaseState::Held)
                .filter_map(|c| c.guard.as_ref()?.batch.clone())
                .fold(BTreeMap::new(), |mut m, b| {
                    *m.entry(b).or_default() += 1;
                    m
                });
            let finished = expected
                .keys()
                .filter(|id| log.latest.get(id).is_some_and(|c| c.state.is_final()))
                .count();
            (finished, held)
        };
        // More leavers than `verifier.guard.max_terminations` at once: the guard holds the rest
        // for a person. The demo plays that person once every case has the guard's verdict
        // (so the batch no longer grows).
        for (batch, n) in held {
            if approved.iter().any(|(b, _)| *b == batch) {
                continue;
            }
            let waiting_for_verdict = {
                let log = log.lock().expect("case log lock");
                expected.keys().any(|id| {
                    log.latest
                        .get(id)
                        .is_none_or(|c| c.state == CaseState::Admitting)
                })
            };
            if waiting_for_verdict {
                continue; // the batch may still grow
            }
            let args = DecideArgs {
                batch: batch.clone(),
                by: "demo-operator".into(),
                note: Some("revoke demo: approved automatically".into()),
                // The demo approves whatever its batch holds once it stopped growing.
                digest: None,
                only: Vec::new(),
                except: Vec::new(),
                key: Default::default(),
            };
            decide(
                &cfg,
                &args,
                revoke_shared::contract::Decision::Approve,
                |l| eprintln!("{l}"),
            )
            .await?;
            approved.push((batch, n));
        }
        if finished == expected.len() || Instant::now() > deadline {
            break;
        }
        if fleet
            .workers
            .iter()
            .chain(fleet.verifier.iter())
            .any(|c| c.is_finished())
        {
            tracing::error!("a fleet component stopped early");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    // Give straggling duplicate versions a moment to show up before judging "closed twice".
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_follow.cancel();
    follower.await??;
    let stopped = fleet.stop().await;
    let mut summary = summarise(&log.lock().expect("case log lock"), &expected, elapsed);
    summary.held_batches = approved;
    stopped?;
    Ok(summary)
}
