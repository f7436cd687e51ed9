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

use crate::adapters::Target;
use crate::restoration::restore_identity;
use crate::restore_claim::{self, claim_for};
use crate::restore_ledger::{ClaimVerdict, RestoreLedger};
use crate::revocation::revoke_identity_rechecking;
use revoke_shared::config::Config;
use revoke_shared::consume::{self, Handler, HandlerError, LoopOptions, Stop};
use revoke_shared::contract::{
    parse_keyed, Confirmation, HrEventKind, RawMessage, RestoreReport, RestoreRequest, TargetRef,
    WorkerInfo, CONFIRMATION_SCHEMA, RESTORE_REPORT_SCHEMA, RESTORE_REQUEST_SCHEMA,
};
use revoke_shared::dlq::dead_letter;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::retry::RetryPolicy;
use revoke_shared::signing::parse_hr_input;
use std::sync::Arc;
use tracing::Instrument;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The consumer group of a target kind's workers: `<prefix>revoke-<kind>`.
pub fn group_for(cfg: &Config, kind: revoke_shared::contract::TargetKind) -> String {
    format!("{}revoke-{}", cfg.kafka.group_prefix, kind.as_str())
}

pub struct WorkerHandler {
    target: Arc<dyn Target>,
    producer: Producer,
    cfg: Config,
    policy: RetryPolicy,
    worker: WorkerInfo,
    group: String,
    metrics: Metrics,
    /// With signing required: the fleet's secret, which signs this worker's reports and checks
    /// the signed report a restore request carries.
    fleet: Option<Arc<revoke_shared::secret::Secret>>,
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
            producer,
            cfg: cfg.clone(),
            group,
            metrics,
            // Read at start-up by `run_worker` (a bad secret stops it there); absent unless
            // signing is required.
            fleet: cfg
                .signing
                .required
                .then(|| cfg.signing.fleet_secret().ok().flatten())
                .flatten(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for WorkerHandler {
    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        if msg.topic == self.cfg.topics.restores {
            return self.handle_restore(msg).await;
        }
        // With `[signing] required`, an event without a valid signature of its source's key is
        // refused here, before anything is decided about it (scheduled or not).
        let event = match parse_hr_input(msg, &self.cfg) {
            Ok(ev) => ev,
            Err(e) => return self.refuse(msg, e).await,
        };
        let case_id = event.case_id();
        let kind = self.target.kind();
        let span = tracing::info_span!("revoke", case_id = %case_id, identity = %event.subject, target = %kind, event_id = %event.id);
        async move {
            if event.kind == HrEventKind::Rescinded {
                // The verifier owns rescinds; workers have nothing to undo automatically yet.
                tracing::info!("rescind seen; the verifier records it");
                return Ok(());
            }
            // A re-drive after a transient failure is for one target kind only; its number goes
            // back in the confirmation, so the verifier can tell this run's report from older ones.
            let mut redrive = 0;
            let mut recheck: Vec<revoke_shared::contract::RecheckObject> = Vec::new();
            if msg.topic == self.cfg.topics.due {
                if let Some(only) = msg.header(revoke_shared::contract::REDRIVE_TARGET_HEADER) {
                    if only != kind.as_str().as_bytes() {
                        return Ok(());
                    }
                    redrive = msg
                        .header(revoke_shared::contract::REDRIVE_COUNT_HEADER)
                        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
                        .unwrap_or(0);
                    // What earlier runs acted on: read back even if not discovered any more.
                    if let Some(raw) = msg.header(revoke_shared::contract::RECHECK_HEADER) {
                        match serde_json::from_slice::<Vec<revoke_shared::contract::RecheckObject>>(raw) {
                            Ok(objects) => recheck = objects,
                            Err(e) => tracing::warn!(error = %e, "unreadable re-check list on a re-drive; ignored"),
                        }
                    }
                    tracing::info!(redrive, recheck = recheck.len(), "re-drive after a transient failure: running the target again");
                }
            }
            // A termination dated in the future waits in the verifier's durable state, which
            // hands it back on the due topic when its time comes; acting now would be early.
            if msg.topic == self.cfg.topics.terminations && event.is_scheduled() {
                tracing::info!(effective_at = ?event.data.effective_at, "scheduled: the verifier hands it over when it is due");
                return Ok(());
            }
            let report = if self.cfg.verifier.is_protected(&event.data.identity) {
                // Break-glass or legal hold: touch nothing; the verifier escalates to the owner.
                tracing::warn!("protected identity (verifier.protected_identities): nothing revoked");
                let now = chrono::Utc::now();
                crate::revocation::RevocationReport {
                    outcome: revoke_shared::contract::Outcome::SkippedProtected,
                    objects: Vec::new(),
                    attempts: 0,
                    error: Some("protected identity (verifier.protected_identities): never revoked automatically".into()),
                    retryable: false,
                    started_at: now,
                    finished_at: now,
                }
            } else {
                revoke_identity_rechecking(&*self.target, &event.data.identity, &self.worker.id, &self.policy, &self.metrics, &recheck).await
            };
            let confirmation = Confirmation {
                schema: CONFIRMATION_SCHEMA.into(),
                confirmation_id: uuid::Uuid::new_v4(),
                case_id,
                identity_id: event.subject.clone(),
                event_id: event.id.clone(),
                target: TargetRef { kind, instance: self.target.instance().to_string() },
                outcome: report.outcome,
                objects: report.objects,
                attempts: report.attempts,
                error: report.error,
                retryable: report.retryable,
                redrive,
                worker: self.worker.clone(),
                started_at: report.started_at,
                finished_at: report.finished_at,
                fleet_signature: None,
            };
            self.send_report(&event.subject, &confirmation)
                .await
                .map_err(|e| HandlerError::Retry(format!("confirmation for case {case_id} on {kind}: {e}")))?;
            self.metrics.revocations.with_label_values(&[kind.as_str(), confirmation.outcome.as_str()]).inc();
            if let (Some(done), Some(eff)) = (confirmation.last_removed_at(), event.data.effective_at) {
                let secs = (done - eff).num_milliseconds().max(0) as f64 / 1000.0;
                self.metrics.time_to_revoke.with_label_values(&[kind.as_str()]).observe(secs);
            }
            match &confirmation.error {
                None => tracing::debug!(outcome = confirmation.outcome.as_str(), objects = confirmation.objects.len(), "confirmed"),
                Some(e) => tracing::warn!(outcome = confirmation.outcome.as_str(), error = %e, "confirmed with error"),
            }
            Ok(())
        }
        .instrument(span)
        .await
    }
}

/// A restore request as the verifier writes it; `Err((reason, detail))` for the DLQ.
pub fn parse_restore_request(msg: &RawMessage) -> Result<RestoreRequest, (&'static str, String)> {
    parse_keyed(
        msg,
        "restore request",
        "malformed_restore_request",
        RESTORE_REQUEST_SCHEMA,
        |r: &RestoreRequest| &r.schema,
        |r: &RestoreRequest| &r.identity_id,
    )
}

impl WorkerHandler {
    /// Sends this worker's report (a revocation's confirmation or a restore report) on the
    /// confirmations topic, fleet-signed when signing is required: the verifier refuses
    /// unsigned reports then, and a restore request later carries the signed confirmation back
    /// as proof of what this fleet revoked.
    async fn send_report<T: serde::Serialize>(
        &self,
        identity: &str,
        c: &T,
    ) -> Result<(), revoke_shared::kafka::KafkaError> {
        let topic = &self.cfg.topics.confirmations;
        let bytes =
            serde_json::to_vec(c).map_err(|source| revoke_shared::kafka::KafkaError::Encode {
                topic: topic.clone(),
                source,
            })?;
        let signature = self.fleet.as_deref().map(|secret| {
            revoke_shared::signing::fleet_signature(secret, topic, identity.as_bytes(), &bytes, &[])
        });
        let headers: Vec<(&str, &str)> = signature
            .as_deref()
            .map(|s| vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, s)])
            .unwrap_or_default();
        self.producer
            .send_bytes(topic, identity, &bytes, &headers, None)
            .await?;
        Ok(())
    }

    /// With signing required, a restore request must carry this fleet's signed report of the
    /// revocation, for this identity and this target, naming every object to give back as
    /// revoked: a restore is a grant, and the request may be forged or misdirected.
    fn check_restore_is_ours(&self, req: &RestoreRequest) -> Result<(), String> {
        let Some(secret) = self.fleet.as_deref() else {
            return Ok(());
        };
        let (Some(report), Some(sig)) = (&req.confirmation, &req.confirmation_signature) else {
            return Err(format!(
                "restore request {} for case {} carries no signed report of the revocation: nothing is given back",
                req.request_id, req.case_id
            ));
        };
        let bytes = serde_json::to_vec(report).map_err(|e| e.to_string())?;
        let topic = &self.cfg.topics.confirmations;
        if !revoke_shared::signing::fleet_signature_matches(
            secret,
            topic,
            req.identity_id.as_bytes(),
            &bytes,
            sig,
        ) {
            return Err(format!(
                "the report carried by restore request {} is not signed by this fleet's workers (or was changed): nothing is given back",
                req.request_id
            ));
        }
        if report.identity_id != req.identity_id
            || report.target.kind != req.target
            || req.target != self.target.kind()
        {
            return Err(format!(
                "restore request {} is for {} on {}, but the signed report is {}'s on {}: nothing is given back",
                req.request_id, req.identity_id, req.target, report.identity_id, report.target.kind
            ));
        }
        for o in req
            .objects
            .iter()
            .filter(|o| o.outcome == revoke_shared::contract::ObjectOutcome::Revoked)
        {
            let ours = report.objects.iter().any(|r| {
                r.outcome == revoke_shared::contract::ObjectOutcome::Revoked
                    && r.object_kind == o.object_kind
                    && r.object_id == o.object_id
                    && r.action == o.action
            });
            if !ours {
                return Err(format!(
                    "restore request {} names {} {} ({}), which the signed report does not show this fleet revoked for {}: nothing is given back",
                    req.request_id, o.object_kind, o.object_id, o.action, req.identity_id
                ));
            }
        }
        Ok(())
    }

    /// A record refused by parsing or a signature check: dead-lettered with the reason, unless
    /// the fault is this process's (keys unreadable), which stops the worker instead.
    async fn refuse(
        &self,
        msg: &RawMessage,
        e: revoke_shared::signing::HrRefusal,
    ) -> Result<(), HandlerError> {
        if !e.is_dead_letter() {
            return Err(HandlerError::Fatal(e.to_string()));
        }
        dead_letter(
            &self.producer,
            &self.cfg.topics.dlq,
            msg,
            e.reason(),
            e.to_string(),
            &self.group,
            &self.metrics,
        )
        .await
    }

    /// Undoes what the case revoked on this worker's target (requests for other targets are
    /// not ours: every worker group reads the topic), then reports back to the verifier.
    async fn handle_restore(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let req = match parse_restore_request(msg) {
            Ok(r) => r,
            Err((reason, detail)) => {
                return dead_letter(
                    &self.producer,
                    &self.cfg.topics.dlq,
                    msg,
                    reason,
                    detail,
                    &self.group,
                    &self.metrics,
                )
                .await
            }
        };
        // With signing required, only what the verifier signed is acted on.
        if let Err(e) = revoke_shared::signing::check_fleet_signature(msg, &self.cfg) {
            return self.refuse(msg, e).await;
        }
        let kind = self.target.kind();
        if req.target != kind {
            return Ok(());
        }
        if let Err(detail) = self.check_restore_is_ours(&req) {
            tracing::warn!(case_id = %req.case_id, identity = %req.identity_id, target = %kind, detail = %detail, "restore refused");
            return dead_letter(
                &self.producer,
                &self.cfg.topics.dlq,
                msg,
                "restore_not_ours",
                detail,
                &self.group,
                &self.metrics,
            )
            .await;
        }
        // Once fleet-wide, and only while fresh: a copy of a genuine request must not grant
        // again. This process's memory first, then the fleet's claims log.
        let ledger = || {
            self.restores
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let claim = claim_for(&req, msg, &self.worker);
        let mut verdict = ledger()
            .admit(
                req.request_id,
                req.requested_at,
                &claim.record,
                chrono::Utc::now(),
            )
            .map_or_else(ClaimVerdict::Refused, |()| ClaimVerdict::Run);
        if verdict == ClaimVerdict::Run {
            verdict = match restore_claim::claim(&self.producer, &self.cfg, &claim).await {
                Ok(v) => v,
                Err(e) => {
                    ledger().abandon(req.request_id, req.requested_at);
                    return Err(HandlerError::Retry(e));
                }
            };
        }
        match verdict {
            ClaimVerdict::Run => {}
            ClaimVerdict::AlreadyCarriedOut => {
                tracing::info!(case_id = %req.case_id, request_id = %req.request_id, "restore request redelivered after it was carried out: nothing to do");
                return Ok(());
            }
            ClaimVerdict::Refused(r) => {
                tracing::warn!(case_id = %req.case_id, identity = %req.identity_id, target = %kind, reason = r.reason, detail = %r.detail, "restore refused");
                return dead_letter(
                    &self.producer,
                    &self.cfg.topics.dlq,
                    msg,
                    r.reason,
                    r.detail,
                    &self.group,
                    &self.metrics,
                )
                .await;
            }
        }
        let span = tracing::info_span!("restore", case_id = %req.case_id, identity = %req.identity_id, target = %kind);
        let done = async {
            let started_at = chrono::Utc::now();
            let objects = restore_identity(
                &*self.target,
                &req.identity,
                &req.objects,
                &self.worker.id,
                &self.policy,
                &self.metrics,
            )
            .await;
            let report = RestoreReport {
                schema: RESTORE_REPORT_SCHEMA.into(),
                request_id: req.request_id,
                case_id: req.case_id,
                identity_id: req.identity_id.clone(),
                target: TargetRef {
                    kind,
                    instance: self.target.instance().to_string(),
                },
                objects,
                worker: self.worker.clone(),
                started_at,
                finished_at: chrono::Utc::now(),
            };
            let left = report.left_for_a_person().count();
            self.send_report(&req.identity_id, &report)
                .await
                .map_err(|e| {
                    HandlerError::Retry(format!(
                        "restore report for case {} on {kind}: {e}",
                        req.case_id
                    ))
                })?;
            tracing::info!(
                objects = report.objects.len(),
                left_for_a_person = left,
                "restored after rescind"
            );
            Ok(())
        }
        .instrument(span)
        .await;
        match &done {
            Ok(()) => restore_claim::mark_done(&self.producer, &self.cfg, &claim).await,
            // Not acknowledged: the record comes again and must run then.
            Err(_) => ledger().abandon(req.request_id, req.requested_at),
        }
        done
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
