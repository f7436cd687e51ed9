//! `revoke watch`, the long-running process: rebuilds the closed cases within
//! `verifier.watch_secs` from the cases topic, follows it for new versions, polls the sign-in
//! logs every `verifier.watch_poll_secs`, and re-verifies every closed case every
//! `verifier.reverify_every_secs` (when set). Each new finding is published (fleet-signed, acknowledged) once;
//! one not acknowledged is tried again at the next round. Serves `/healthz` (`watch`: failing
//! while findings cannot be published) and the `revoke_watch_*` metrics; stops gracefully.

use super::publish::FindingSink;
use super::selection::Selection;
use super::sign_ins::poll;
use super::targets::Targets;
use super::verify::verify_once;
use super::window::Watched;
use chrono::Utc;
use revoke_shared::config::{Config, ConfigError};
use revoke_shared::consume::Stop;
use revoke_shared::contract::{AccessFinding, Case, CASE_SCHEMA};
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{AccessFound, Health, Metrics, WatchedCases};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HEALTH: &str = "watch";

/// Runs the watch on `targets` until stopped. Nothing to do (both the sign-in watch and the
/// re-verification off, or no target configured) is a `ConfigError`.
pub async fn run_watch(
    cfg: &Config,
    targets: Targets,
    metrics: Metrics,
    health: Health,
    stop: Stop,
) -> anyhow::Result<()> {
    let v = &cfg.verifier;
    if v.watch_secs == 0 && v.reverify_every_secs == 0 {
        return Err(ConfigError::Invalid(
            "revoke watch has nothing to do: verifier.watch_secs and verifier.reverify_every_secs are both 0".into(),
        )
        .into());
    }
    if targets.is_empty() {
        return Err(ConfigError::Invalid(
            "revoke watch has no target to read: configure the adapters in [targets.<kind>]".into(),
        )
        .into());
    }
    let sink = FindingSink::new(cfg, Producer::new(cfg)?).map_err(ConfigError::Invalid)?;
    let worker = super::this_process(cfg);

    // Rebuild: the whole topic once, then follow it from where that read ended.
    let watched = Arc::new(Mutex::new(Watched::default()));
    let from = rebuild(cfg, &watched).await?;
    let follower = {
        let (cfg, watched, stop) = (cfg.clone(), watched.clone(), stop.graceful.clone());
        let watch_secs = v.watch_secs;
        tokio::spawn(async move {
            crate::cases::follow_payloads(&cfg, &from, stop, |p| {
                if let Some(c) = parse_case(p) {
                    watched
                        .lock()
                        .expect("watch lock")
                        .ingest(c, Utc::now(), watch_secs);
                }
            })
            .await
        })
    };
    health.set_ok(HEALTH);
    // Ready (`/readyz`) once its cases are rebuilt: it has no consume loop to say so.
    health.set_ready(HEALTH, Ok(()));
    tracing::info!(cases = watched.lock().expect("watch lock").len(), targets = ?targets.keys().collect::<Vec<_>>(),
        watch_secs = v.watch_secs, poll_secs = v.watch_poll_secs, reverify_every_secs = v.reverify_every_secs,
        "watch started");

    let mut poll_tick = tokio::time::interval(Duration::from_secs(v.watch_poll_secs.max(1)));
    let mut reverify_tick =
        tokio::time::interval(Duration::from_secs(v.reverify_every_secs.max(1)));
    let mut no_log: HashSet<_> = HashSet::new();
    let mut reverified: HashSet<uuid::Uuid> = HashSet::new();
    loop {
        tokio::select! {
            _ = stop.graceful.cancelled() => break,
            _ = poll_tick.tick(), if v.watch_secs > 0 => {
                let cases: Vec<Case> = {
                    let mut w = watched.lock().expect("watch lock");
                    metrics.emit(WatchedCases(w.prune(Utc::now(), v.watch_secs)));
                    w.cases().into_iter().cloned().collect()
                };
                let polled = poll(&cases, &targets, &no_log, &worker, &metrics).await;
                for kind in polled.no_log.difference(&no_log) {
                    tracing::info!(target = %kind, "this target's adapter reads no sign-in log: not asked again");
                }
                no_log.extend(polled.no_log);
                let new: Vec<AccessFinding> = {
                    let w = watched.lock().expect("watch lock");
                    polled.findings.into_iter().filter(|f| w.is_new(f.case_id, f.finding_id)).collect()
                };
                let published = publish(&sink, &new, &metrics, &health).await;
                let mut w = watched.lock().expect("watch lock");
                for f in published {
                    w.mark(f.case_id, f.finding_id);
                }
            }
            _ = reverify_tick.tick(), if v.reverify_every_secs > 0 => {
                match verify_once(cfg, &targets, &Selection::default(), &metrics).await {
                    Ok(run) => {
                        let new: Vec<AccessFinding> = run.findings.into_iter().filter(|f| !reverified.contains(&f.finding_id)).collect();
                        tracing::info!(cases = run.cases, objects = run.rows.len(), new_findings = new.len(), "re-verified closed cases");
                        for f in publish(&sink, &new, &metrics, &health).await {
                            reverified.insert(f.finding_id);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "re-verification failed: tried again at the next round"),
                }
            }
        }
    }
    follower.abort();
    health.remove(HEALTH);
    health.remove_ready(HEALTH);
    Ok(())
}

/// Reads the cases topic to its end into `watched`; returns where to follow it from.
async fn rebuild(cfg: &Config, watched: &Arc<Mutex<Watched>>) -> anyhow::Result<HashMap<i32, i64>> {
    let reader_cfg = cfg.clone();
    let records = tokio::task::spawn_blocking(move || {
        revoke_shared::kafka::read_to_end(
            &reader_cfg,
            &reader_cfg.topics.cases,
            Duration::from_secs(60),
        )
    })
    .await??;
    let mut from = HashMap::new();
    let mut w = watched.lock().expect("watch lock");
    let now = Utc::now();
    for r in records {
        from.insert(r.partition, r.offset + 1);
        if let Some(c) = r.payload.as_deref().and_then(parse_case) {
            w.ingest(c, now, cfg.verifier.watch_secs);
        }
    }
    Ok(from)
}

fn parse_case(payload: &[u8]) -> Option<Case> {
    serde_json::from_slice::<Case>(payload)
        .ok()
        .filter(|c| c.schema == CASE_SCHEMA)
}

/// Publishes each finding (waiting for its acknowledgement); returns those the broker took.
/// Health is failing while any cannot be published; they are tried again at the next round.
async fn publish<'a>(
    sink: &FindingSink,
    findings: &'a [AccessFinding],
    metrics: &Metrics,
    health: &Health,
) -> Vec<&'a AccessFinding> {
    let mut done = Vec::new();
    for f in findings {
        match sink.publish(f).await {
            Ok(()) => {
                tracing::warn!(case_id = %f.case_id, identity = %f.identity_id, kind = f.kind.as_str(),
                    target = %f.target.kind, instance = %f.target.instance, object_id = %f.object_id,
                    "access after the case closed: finding published");
                metrics.emit(AccessFound {
                    kind: f.kind,
                    target: f.target.kind,
                });
                done.push(f);
            }
            Err(e) => {
                health.set_failing(HEALTH, format!("publishing findings: {e}"));
                tracing::error!(error = %e, "a finding was not acknowledged: published again at the next round");
                return done;
            }
        }
    }
    health.set_ok(HEALTH);
    done
}
