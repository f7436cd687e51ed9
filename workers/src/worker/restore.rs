//! Restore requests after a rescind: a restore is a grant, so before anything is given back the
//! request must be the verifier's (signed), for this target, backed by this fleet's signed report
//! of the revocation, and not a copy of one already carried out (`restore_ledger` in this process,
//! `restore_claim` across the fleet). Then `restoration` undoes the revocation and a restore
//! report goes back to the verifier.

use super::restore_claim::{self, claim_for};
use super::restore_ledger::ClaimVerdict;
use super::WorkerHandler;
use crate::restoration::restore_identity;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::{
    parse_keyed, RawMessage, RestoreReport, RestoreRequest, TargetRef, RESTORE_REPORT_SCHEMA,
    RESTORE_REQUEST_SCHEMA,
};
use tracing::Instrument;

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

    /// Undoes what the case revoked on this worker's target (requests for other targets are
    /// not ours: every worker group reads the topic), then reports back to the verifier.
    pub(super) async fn handle_restore(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let req = match parse_restore_request(msg) {
            Ok(r) => r,
            Err((reason, detail)) => return self.dead_letter(msg, reason, detail).await,
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
            return self.dead_letter(msg, "restore_not_ours", detail).await;
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
                return self.dead_letter(msg, r.reason, r.detail).await;
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
