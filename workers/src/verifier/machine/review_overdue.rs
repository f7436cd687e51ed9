//! A closure review not made in time: a case waiting in `awaiting_review` longer than
//! `verifier.review_sla_secs` is escalated once per wait to its owner (`review_overdue`); the
//! case keeps waiting. The escalation's id is derived from when the wait began and kept in the
//! case record, so a restarted verifier does not raise it again.

use super::evidence::{raise_full, Raise};
use super::review::attested_parts;
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{Case, CaseState, Escalation, EscalationReason};
use uuid::Uuid;

impl Verifier {
    /// Cases waiting for their review longer than `verifier.review_sla_secs`: one
    /// `review_overdue` escalation per wait, to the owner; the case keeps waiting.
    pub(super) fn escalate_review_overdue(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let sla = self.policy.review_sla_secs;
        if sla == 0 {
            return Vec::new();
        }
        let due = |c: &Case| -> Option<Uuid> {
            let r = c
                .review
                .as_ref()
                .filter(|_| c.state == CaseState::AwaitingReview)?;
            let when = super::tick::after(r.asked_at, sla)?;
            let id = overdue_id(c, r.asked_at);
            (when <= now && !c.escalations.iter().any(|e| e.escalation_id == id)).then_some(id)
        };
        let mut out = Vec::new();
        for case_id in self.live_ids(|c| due(c).is_some()) {
            let Some(mut case) = self.take_live(&case_id) else {
                continue;
            };
            let Some(id) = due(&case) else {
                self.put(case_id, Slot::Live(Box::new(case)));
                continue;
            };
            let (targets, steps) = attested_parts(&case);
            let asked = case.review.as_ref().map(|r| r.asked_at).unwrap_or(now);
            let detail = format!(
                "case {case_id} has waited for its closure review since {} (verifier.review_sla_secs = {sla}): a reviewer decides with `revoke review {case_id} --accept|--reject --digest {} --by REVIEWER`",
                asked.to_rfc3339(),
                case.evidence_digest()
            );
            let owner = self.owner_for(&case, &targets, &steps);
            let raise = Raise {
                reason: EscalationReason::ReviewOverdue,
                targets,
                level: 0,
                owner,
                detail,
            };
            let mut effects = Vec::new();
            raise_full(&mut case, id, raise, steps, now, &mut effects);
            case.state = CaseState::AwaitingReview; // still waiting for the reviewer
            out.extend(self.publish(case, now, effects));
        }
        out
    }
}

/// The id of the review-overdue escalation of the wait that began at `asked_at`.
fn overdue_id(c: &Case, asked_at: DateTime<Utc>) -> Uuid {
    Escalation::occasion_id(
        c.case_id,
        EscalationReason::ReviewOverdue,
        &asked_at.to_rfc3339(),
    )
}
