//! Confirmations: a worker's report becomes a target's status in its case (or waits in a
//! `pending` case for its termination).

use super::evidence::target_bit;
use super::rescind::{push_restores, restores_released};
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{
    CaseState, Confirmation, ObjectOutcome, Outcome, RecheckObject, SignedReport, TargetState,
    TargetStatus, MANUAL_INSTANCE,
};
use revoke_shared::metrics::VerifierNote;

impl Verifier {
    pub(super) fn on_confirmation(&mut self, c: &Confirmation, now: DateTime<Utc>) -> Vec<Effect> {
        // A joined termination's run reports on the case it joined.
        let case_id = self
            .people
            .joined_into(&c.identity_id, c.case_id)
            .unwrap_or(c.case_id);
        let by_worker = c.target.instance != MANUAL_INSTANCE;
        let mut case = match self.take(&case_id) {
            Some(Slot::Closed(x)) => {
                self.put(case_id, Slot::Closed(x));
                // A worker finishing after a person acknowledged the target: the record cannot
                // take it any more, but it is worth a log line and a count. Anything else
                // arriving for a closed case is a replay.
                let acked = self
                    .acked_when_closed
                    .get(&case_id)
                    .is_some_and(|bits| bits & target_bit(c.target.kind) != 0);
                if acked && by_worker {
                    return vec![Effect::Note {
                        case_id: Some(case_id),
                        identity_id: c.identity_id.clone(),
                        what: VerifierNote::LateConfirmationAfterClose,
                    }];
                }
                return Vec::new();
            }
            Some(Slot::Live(x)) => *x,
            None if self.pending_count() >= self.policy.max_pending_cases => {
                // Bounded: a flood of confirmations for cases nobody terminated must not grow
                // the verifier. A real termination arriving later still opens its case.
                return vec![Effect::Note {
                    case_id: Some(case_id),
                    identity_id: c.identity_id.clone(),
                    what: VerifierNote::StrayConfirmationDropped,
                }];
            }
            // A replay's report opens nothing: its replay case is opened by the request.
            None if c.replay.is_some() => {
                return vec![Effect::Note {
                    case_id: Some(case_id),
                    identity_id: c.identity_id.clone(),
                    what: VerifierNote::StrayConfirmationDropped,
                }];
            }
            None => self.new_case(case_id, &c.identity_id, now),
        };
        // A report on a replay case answers that replay, and only a replay's report does.
        let replay = case.replay.as_ref().map(|r| r.request.replay_id);
        if c.replay != replay {
            self.put(case_id, Slot::Live(Box::new(case)));
            let said = |r: Option<uuid::Uuid>| r.map_or("none".to_string(), |r| r.to_string());
            return vec![Effect::Refuse {
                reason: "replay_mark_mismatch",
                detail: format!(
                    "the {} report {} says replay {}, but case {case_id} is replay {}",
                    c.target.kind,
                    c.confirmation_id,
                    said(c.replay),
                    said(replay)
                ),
            }];
        }
        let new_state = target_state_of(c, &self.policy);
        let current = case.targets.get_mut(&c.target.kind);
        if let Some(done) = current.filter(|s| s.state == TargetState::Done) {
            // Verified gone stays gone. A worker's report after a person's acknowledgement is
            // kept next to it (both facts stay in the record); any other later news is noise.
            let keep = by_worker
                && done.is_acknowledged()
                && matches!(case.state, CaseState::Open | CaseState::Escalated)
                && done.record_late(status_of(c, &self.policy));
            if !keep {
                self.put(case_id, Slot::Live(Box::new(case)));
                return Vec::new();
            }
            return self.publish(case, now, Vec::new());
        }
        // A target a review reopened is done again only by evidence made after the rejection.
        let what = format!("the {} report {}", c.target.kind, c.confirmation_id);
        if let Some((reason, detail)) = super::review::before_rejection(&case, c.finished_at, &what)
        {
            self.put(case_id, Slot::Live(Box::new(case)));
            return vec![Effect::Refuse { reason, detail }];
        }
        let current = case.targets.get(&c.target.kind);
        // After re-drive n, only runs answering it count (a re-emitted report of an earlier run
        // must not look new) — and proof of success always does.
        let stale_after_redrive =
            current.is_some_and(|s| c.redrive < s.redrives && new_state != TargetState::Done);
        let changes = match current.map(|s| (s.state, s.confirmed_at)) {
            _ if stale_after_redrive => false,
            None | Some((TargetState::Pending, _)) => true,
            Some((TargetState::Done, _)) => false, // handled above
            // An older report replayed after a newer one must not move the target backwards —
            // except a verified success: proof that access is gone always counts.
            Some((_, Some(seen))) if c.finished_at < seen && new_state != TargetState::Done => {
                false
            }
            Some((old, _)) => old != new_state,
        };
        if !changes {
            self.put(case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        let old = case.targets.remove(&c.target.kind);
        let redrives = old.as_ref().map_or(0, |s| s.redrives);
        let mut status = status_of(c, &self.policy).replacing(old);
        status.redrives = redrives;
        // Errors that were all transient (an outage, a 429 storm) may pass: the target runs
        // again later, on the verifier's clock, while steps are left. Its escalation stands.
        // (Planned for a case still waiting for its termination too: it fires once the case is
        // open, as confirmations may overtake their termination.)
        if status.state == TargetState::Failed && c.retryable && case.state != CaseState::Rescinded
        {
            status.redrive_at = self
                .policy
                .redrive_after_secs
                .get(redrives as usize)
                .map(|secs| now + Duration::seconds(*secs as i64));
        }
        recompute_time_to_revoke(&mut status, case.effective_at);
        case.targets.insert(c.target.kind, status);
        let mut effects = Vec::new();
        if case.state == CaseState::Rescinded {
            // Revoked after the rescind (the worker was already at work): give it back too —
            // once restores are let through, and never while another termination stands.
            if restores_released(&case, self.policy.guard.enabled) {
                push_restores(&case, std::iter::once(c.target.kind), now, &mut effects);
            }
        } else if case.state != CaseState::Pending {
            // A replay's report may show access that came back, and count for the case it
            // replays (`replay`).
            let replayed = self.replay_report(&mut case, c, now, &mut effects);
            self.evaluate(&mut case, now, &mut effects);
            let mut out = self.publish(case, now, effects);
            out.extend(replayed);
            return out;
        }
        self.publish(case, now, effects)
    }
}

fn by_worker(c: &Confirmation) -> bool {
    c.target.instance != MANUAL_INSTANCE
}

/// A confirmation as a target status (before it replaces or joins anything).
pub(super) fn status_of(c: &Confirmation, policy: &VerifierConfig) -> TargetStatus {
    TargetStatus {
        state: target_state_of(c, policy),
        outcome: Some(c.outcome),
        instance: Some(c.target.instance.as_str().into()),
        confirmed_at: Some(c.finished_at),
        time_to_revoke_ms: None,
        attempts: c.attempts,
        worker: Some(Box::new(c.worker.clone())),
        error: c.error.as_deref().map(Into::into),
        objects: c.objects.clone(),
        superseded: Default::default(),
        late: Default::default(),
        redrives: 0,
        redrive_at: None,
        // Kept whenever the report was signed at all (fleet HMAC, Ed25519 or both): a worker's
        // report or a person's acknowledgement, rebuilt from the case to check its signatures.
        signed: (c.fleet_signature.is_some() || c.signature.is_some()).then(|| {
            Box::new(SignedReport {
                confirmation_id: c.confirmation_id,
                case_id: c.case_id,
                event_id: c.event_id.clone(),
                started_at: c.started_at,
                retryable: c.retryable,
                redrive: c.redrive,
                replay: c.replay,
                signature: c.fleet_signature.clone().unwrap_or_default(),
                record_signature: c.signature.clone(),
            })
        }),
        authenticity: c.authenticity.filter(|_| !by_worker(c)),
        attestation: None,
    }
}

/// The termination a scheduled case stands for, as the workers will read it from the due topic:
/// the same source and id (so the same case id), the identity and HR fields from the record.
/// The objects a target's earlier runs (this report and the ones it replaced) acted on —
/// revoked, or tried to: what a re-run must read back even if its discovery no longer finds them
/// (gone by that earlier run's hand, or by a call whose answer was lost), so the closing report
/// names them. Nothing-to-do and person-needed objects are not acted on, so not re-read.
pub(super) fn earlier_objects(status: &TargetStatus) -> Vec<RecheckObject> {
    let mut out: Vec<RecheckObject> = Vec::new();
    for report in std::iter::once(status).chain(status.superseded.iter()) {
        for o in &report.objects {
            if !matches!(o.outcome, ObjectOutcome::Revoked | ObjectOutcome::Failed) {
                continue;
            }
            if out
                .iter()
                .any(|r| r.object_kind == o.object_kind && r.object_id == o.object_id)
            {
                continue;
            }
            out.push(RecheckObject {
                object_kind: o.object_kind.clone(),
                object_id: o.object_id.clone(),
                sponsored: o.sponsored,
                action: o.action.clone(),
                removed_at: o.removed_at.filter(|_| o.verified),
            });
        }
    }
    out
}

/// A report's target state. Proven gone by a worker's read-back (`observed`): done. Stated by a
/// person (`attested`, `revoke case ack`): done only where `verifier.attestation_allowed` lists
/// the kind — it then closes the target but is never called verified; elsewhere it stays
/// `unverified` (recorded, waiting for a worker's read-back), so the case does not close on it.
pub(super) fn target_state_of(c: &Confirmation, policy: &VerifierConfig) -> TargetState {
    match c.outcome {
        Outcome::Revoked | Outcome::AlreadyAbsent if c.is_verified() => TargetState::Done,
        Outcome::Revoked | Outcome::AlreadyAbsent
            if c.is_attested() && policy.attestation_closes(c.target.kind) =>
        {
            TargetState::Done
        }
        Outcome::Revoked | Outcome::AlreadyAbsent => TargetState::Unverified,
        Outcome::Failed => TargetState::Failed,
        Outcome::ManualRequired => TargetState::ManualRequired,
        Outcome::SkippedProtected => TargetState::SkippedProtected,
    }
}

/// From the effective time to the last removal (or to the confirmation when nothing was removed).
pub(super) fn recompute_time_to_revoke(
    status: &mut TargetStatus,
    effective_at: Option<DateTime<Utc>>,
) {
    if status.state != TargetState::Done {
        status.time_to_revoke_ms = None;
        return;
    }
    let end = status
        .objects
        .iter()
        .filter_map(|o| o.removed_at)
        .max()
        .or(status.confirmed_at);
    status.time_to_revoke_ms = match (effective_at, end) {
        (Some(e), Some(end)) => Some((end - e).num_milliseconds().max(0)),
        _ => None,
    };
}
