//! The worker's handler: what it does with one record. A termination (or a re-drive) is revoked
//! on the target and answered with a confirmation; a restore request goes to `restore`. Both
//! reports leave through `send_report`, and refused records through `refuse`.

use super::WorkerHandler;
use crate::revocation::revoke_identity_rechecking;
use revoke_shared::consume::{Handler, HandlerError};
use revoke_shared::contract::{
    Confirmation, HrEventKind, RawMessage, TargetRef, CONFIRMATION_SCHEMA,
};
use revoke_shared::metrics::TargetConfirmed;
use revoke_shared::signing::parse_hr_input;
use tracing::Instrument;

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
        // A replay's run reports on its replay case (`revoke replay`), marked as that replay; the
        // mark is covered by the fleet signature, and names only a case derived from this very
        // termination's.
        let replay = (msg.topic == self.cfg.topics.due)
            .then(|| msg.header(revoke_shared::contract::REPLAY_HEADER))
            .flatten()
            .and_then(|v| uuid::Uuid::parse_str(std::str::from_utf8(v).ok()?).ok());
        let case_id = match replay {
            Some(r) => revoke_shared::contract::replay_case_id(event.case_id(), r),
            None => event.case_id(),
        };
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
                    match replay {
                        Some(r) => tracing::info!(%r, redrive, "replay (revoke replay): running the target again"),
                        None => tracing::info!(redrive, recheck = recheck.len(), "re-drive after a transient failure: running the target again"),
                    }
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
            let mut confirmation = Confirmation {
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
                replay,
                worker: self.worker.clone(),
                started_at: report.started_at,
                finished_at: report.finished_at,
                fleet_signature: None,
                authenticity: None,
                signature: None,
            };
            // Signed as the fleet's worker before the fleet HMAC covers it: the verifier keeps
            // the signature in the case, where an auditor checks it with the published key.
            if let Some(signer) = &self.evidence {
                confirmation.signature = crate::evidence::signature_over(signer, &confirmation);
            }
            self.send_report(&event.subject, &confirmation)
                .await
                .map_err(|e| HandlerError::Retry(format!("confirmation for case {case_id} on {kind}: {e}")))?;
            self.metrics.emit(TargetConfirmed {
                target: kind,
                outcome: confirmation.outcome,
                time_to_revoke: confirmation.last_removed_at().zip(event.data.effective_at).map(|(done, eff)| done - eff),
            });
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

impl WorkerHandler {
    /// Sends this worker's report (a revocation's confirmation or a restore report) on the
    /// confirmations topic, fleet-signed when signing is required: the verifier refuses
    /// unsigned reports then, and a restore request later carries the signed confirmation back
    /// as proof of what this fleet revoked.
    pub(super) async fn send_report<T: serde::Serialize>(
        &self,
        identity: &str,
        c: &T,
    ) -> Result<(), revoke_shared::kafka::KafkaError> {
        crate::signed_report::send_signed_report(
            &self.producer,
            self.fleet.as_deref(),
            &self.cfg.topics.confirmations,
            identity,
            c,
        )
        .await
    }

    /// Sends `msg` to the DLQ with `reason` and `detail`, as refused by this worker's group.
    pub(super) async fn dead_letter(
        &self,
        msg: &RawMessage,
        reason: &'static str,
        detail: String,
    ) -> Result<(), HandlerError> {
        self.dead_letters.send(msg, reason, detail).await
    }

    /// A record refused by parsing or a signature check: dead-lettered with the reason, unless
    /// the fault is this process's (keys unreadable), which stops the worker instead.
    pub(super) async fn refuse(
        &self,
        msg: &RawMessage,
        e: revoke_shared::signing::HrRefusal,
    ) -> Result<(), HandlerError> {
        if !e.is_dead_letter() {
            return Err(HandlerError::Fatal(e.to_string()));
        }
        self.dead_letter(msg, e.reason(), e.to_string()).await
    }
}
