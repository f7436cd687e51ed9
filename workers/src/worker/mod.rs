//! The Kafka shell of a target worker: one consumer group per target kind (`revoke-<kind>`).
//!
//! For each termination the verifier releases on `revoke.due` (with the blast-radius guard on,
//! the default: after the guard let it through or a person approved it; with it off, straight
//! from `hr.terminations`) it revokes the identity on its target, then emits a confirmation on
//! `revoke.confirmations`. Scheduled terminations and re-drives arrive on `revoke.due` too;
//! restore requests after a rescind arrive on `revoke.restores` and are answered with a restore
//! report on `revoke.confirmations`. With signing required, records on those two topics must
//! carry the fleet's signature. A record counts as handled — its offset may be stored — only
//! once what it produced (or its dead letter) is acknowledged.
//!
//! One concept per file: this file (the worker's state and its consume loop), `handler` (a
//! record → a revocation and its confirmation), `restore` (a restore request → checks → a
//! restore and its report), `restore_ledger` (the pure "each restore request once" decisions)
//! and `restore_claim` (their fleet-wide claims log on Kafka).

mod handler;
mod restore;
pub mod restore_claim;
pub mod restore_ledger;

pub use restore::parse_restore_request;

use crate::adapters::Target;
use restore_ledger::RestoreLedger;
use revoke_shared::config::Config;
use revoke_shared::consume::{self, LoopOptions, Stop};
use revoke_shared::contract::WorkerInfo;
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::retry::RetryPolicy;
use std::sync::Arc;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The consumer group of a target kind's workers: `<prefix>revoke-<kind>`.
pub fn group_for(cfg: &Config, kind: revoke_shared::contract::TargetKind) -> String {
    format!("{}revoke-{}", cfg.kafka.group_prefix, kind.as_str())
}

/// A worker's state: its target, where it reports, and what it has already restored. Its
/// records are handled in `handler` (terminations, re-drives) and `restore` (restore requests).
pub struct WorkerHandler {
    target: Arc<dyn Target>,
    producer: Producer,
    cfg: Config,
    policy: RetryPolicy,
    worker: WorkerInfo,
    dead_letters: DeadLetters,
    metrics: Metrics,
    /// With signing required: the fleet's secret, which signs this worker's reports and checks
    /// the signed report a restore request carries.
    fleet: Option<Arc<revoke_shared::secret::Secret>>,
    /// The worker's evidence key: signs every confirmation (Ed25519, `signature`), before the
    /// fleet HMAC is computed over it. Absent: confirmations are unsigned.
    evidence: Option<Arc<revoke_shared::signing::RecordSigner>>,
    /// Restore requests this process took within `worker.restore_max_age_secs`: a copy of a
    /// genuine request is not carried out twice.
    restores: std::sync::Mutex<RestoreLedger>,
}

impl WorkerHandler {
    pub fn new(
        target: Arc<dyn Target>,
        producer: Producer,
        cfg: &Config,
        metrics: Metrics,
    ) -> WorkerHandler {
        let group = group_for(cfg, target.kind());
        WorkerHandler {
            policy: RetryPolicy::from_config(&cfg.worker),
            worker: WorkerInfo {
                id: cfg.worker.worker_id(),
                version: VERSION.to_string(),
            },
            restores: std::sync::Mutex::new(RestoreLedger::new(cfg.worker.restore_max_age_secs)),
            target,
            dead_letters: DeadLetters::new(
                producer.clone(),
                cfg.topics.dlq.clone(),
                group,
                metrics.clone(),
            ),
            producer,
            cfg: cfg.clone(),
            metrics,
            // Read at start-up by `run_worker` (a bad secret stops it there); absent unless
            // signing is required.
            fleet: cfg
                .signing
                .required
                .then(|| cfg.signing.fleet_secret().ok().flatten())
                .flatten(),
            // Checked at start-up by `run_worker` (a key not listed for workers stops it there).
            evidence: revoke_shared::signing::evidence_signer(
                &cfg.signing,
                revoke_shared::config::EvidenceRole::Worker,
            )
            .ok()
            .flatten()
            .map(Arc::new),
        }
    }
}

/// What every worker group reads: what the verifier releases (`due`: scheduled terminations
/// when they come due, re-drives, and — with the blast-radius guard on — every termination the
/// guard let through or a person approved), and restore requests after a rescind (co-partitioned
/// by identity). With the guard off, also the terminations themselves.
pub fn input_topics(cfg: &Config) -> Vec<String> {
    let mut topics = Vec::new();
    if !cfg.verifier.guard.enabled {
        topics.push(cfg.topics.terminations.clone());
    }
    topics.push(cfg.topics.due.clone());
    topics.push(cfg.topics.restores.clone());
    topics
}

/// Runs a worker for `target` until stopped.
pub async fn run_worker(
    cfg: &Config,
    target: Arc<dyn Target>,
    metrics: Metrics,
    health: Health,
    stop: Stop,
) -> anyhow::Result<()> {
    let group = group_for(cfg, target.kind());
    // The evidence key, if any, must be a current worker key listed in [[signing.evidence_keys]].
    revoke_shared::signing::evidence_signer(
        &cfg.signing,
        revoke_shared::config::EvidenceRole::Worker,
    )
    .map_err(revoke_shared::config::ConfigError::Invalid)?;
    if cfg.signing.required {
        // Read the keys now: a secret that cannot be read is a configuration error at start-up,
        // not a failure on the first event.
        cfg.signing
            .key_set()
            .map_err(revoke_shared::config::ConfigError::Invalid)?;
        cfg.signing
            .fleet_secret()
            .map_err(revoke_shared::config::ConfigError::Invalid)?;
    }
    let producer = Producer::new(cfg)?;
    let topics = input_topics(cfg);
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    let consumer = consume::subscribe(cfg, &group, &topics)?;
    let handler = Arc::new(WorkerHandler::new(
        target,
        producer.clone(),
        cfg,
        metrics.clone(),
    ));
    tracing::info!(group = %group, topic = %cfg.topics.terminations, due = %cfg.topics.due, "worker started");
    let opts = LoopOptions::new(cfg, &group, metrics, health);
    let result = consume::run(consumer, handler, opts, stop).await;
    producer.flush(std::time::Duration::from_secs(10));
    tracing::info!(group = %group, "worker stopped");
    Ok(result?)
}
