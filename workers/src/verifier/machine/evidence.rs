//! Closing and escalating: evaluating a case's targets, recording escalations in the case and
//! publishing the next revision; the words the evidence lines use.

use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Case, CaseState, Escalation, EscalationReason, EscalationRecord, Owner, TargetKind,
    TargetState, TargetStatus, ESCALATION_SCHEMA,
};
use std::collections::BTreeMap;
use uuid::Uuid;

impl Verifier {
    /// Closes or escalates `case` from its target statuses.
    pub(super) fn evaluate(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if matches!(
            case.state,
            CaseState::Rescinded
                | CaseState::Pending
                | CaseState::Scheduled
                | CaseState::Admitting
                | CaseState::Held
                | CaseState::Rejected
                | CaseState::AwaitingReview
        ) || super::finding::reopened_by_finding(case)
        {
            // Reopened by access seen again after close: a confirmation does not close it again.
            return;
        }
        let all_done = case.required_targets.iter().all(|t| {
            case.targets
                .get(t)
                .is_some_and(|s| s.state == TargetState::Done)
        });
        let steps_done = case.steps.values().all(|s| s.state == TargetState::Done);
        if all_done && steps_done {
            if let Some(why) = self.review_needed(case) {
                // A person's word stood in for a read-back: a second person looks first.
                Verifier::await_review(case, why, now);
                return;
            }
            case.state = CaseState::Closed;
            case.closed_at = Some(now);
            return;
        }
        for (reason, state) in [
            (
                EscalationReason::ProtectedIdentity,
                TargetState::SkippedProtected,
            ),
            (
                EscalationReason::ManualRequired,
                TargetState::ManualRequired,
            ),
            (EscalationReason::TargetFailed, TargetState::Failed),
        ] {
            // Only targets not yet escalated for this reason: each owner hears of a failure once.
            let targets: Vec<TargetKind> = case
                .targets
                .iter()
                .filter(|(t, s)| {
                    s.state == state
                        && !case
                            .escalations
                            .iter()
                            .any(|e| e.reason == reason && e.targets.contains(t))
                })
                .map(|(t, _)| *t)
                .collect();
            if targets.is_empty() {
                continue;
            }
            let detail = targets
                .iter()
                .map(|t| {
                    format!(
                        "{t}: {}",
                        case.targets[t]
                            .error
                            .clone()
                            .unwrap_or_else(|| state_word(state).into())
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            self.escalate(case, reason, targets, detail, now, effects);
        }
    }

    /// Records an escalation to the control owner on the case (once per reason and set of
    /// targets) and emits it.
    pub(super) fn escalate(
        &self,
        case: &mut Case,
        reason: EscalationReason,
        targets: Vec<TargetKind>,
        detail: String,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        let owner = self.policy.owner_of(targets.first().copied());
        let r = Raise {
            reason,
            targets,
            level: 0,
            owner,
            detail,
        };
        raise(case, r, now, effects);
    }

    /// Stores the case back and returns the effects with its new version first.
    pub(super) fn publish(
        &mut self,
        mut case: Case,
        now: DateTime<Utc>,
        effects: Vec<Effect>,
    ) -> Vec<Effect> {
        case.revision += 1;
        case.updated_at = now;
        let mut out = Vec::with_capacity(effects.len() + 1);
        if case.state == CaseState::Closed {
            self.put_closed(&case);
            out.push(Effect::Case(case));
        } else {
            out.push(Effect::Case(case.clone()));
            self.put(case.case_id, Slot::Live(Box::new(case)));
        }
        out.extend(effects);
        out
    }
}

/// An escalation to raise on a case: why, about which targets, at which level of its path, to
/// whom, and what a person does about it.
pub(super) struct Raise {
    pub reason: EscalationReason,
    pub targets: Vec<TargetKind>,
    pub level: u32,
    pub owner: Owner,
    pub detail: String,
}

/// Records the escalation `r` of `case` (once per reason, targets and level) and emits it.
pub(super) fn raise(case: &mut Case, r: Raise, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
    let id = Escalation::id_at(case.case_id, r.reason, &r.targets, r.level);
    raise_as(case, id, r, now, effects);
}

/// `raise` under a given id (reminders have their own).
pub(super) fn raise_as(
    case: &mut Case,
    id: Uuid,
    r: Raise,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    raise_full(case, id, r, Vec::new(), now, effects);
}

/// Records an escalation about `steps` (`[steps.<name>]`, with no targets) to `owner`, once per
/// reason and steps, and emits it.
pub(super) fn raise_steps(
    case: &mut Case,
    reason: EscalationReason,
    steps: Vec<String>,
    owner: Owner,
    detail: String,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    let id = Escalation::id_with_steps(case.case_id, reason, &[], &steps, 0);
    let r = Raise {
        reason,
        targets: Vec::new(),
        level: 0,
        owner,
        detail,
    };
    raise_full(case, id, r, steps, now, effects);
}

/// `raise_as` for an escalation that also names steps.
pub(super) fn raise_full(
    case: &mut Case,
    id: Uuid,
    r: Raise,
    steps: Vec<String>,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    let Raise {
        reason,
        targets,
        level,
        owner,
        detail,
    } = r;
    case.state = CaseState::Escalated;
    if case.escalations.iter().any(|e| e.escalation_id == id) {
        return;
    }
    let evidence = case
        .targets
        .iter()
        .map(|(t, s)| {
            format!(
                "{t}: {}{}",
                status_word(s),
                s.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        })
        .chain(
            case.steps
                .iter()
                .map(|(n, s)| format!("step {n}: {}", status_word(s))),
        )
        .collect();
    case.escalations.push(EscalationRecord {
        escalation_id: id,
        reason,
        targets: targets.clone(),
        steps: steps.clone(),
        owner: owner.clone(),
        level,
        raised_at: now,
        detail: detail.clone(),
    });
    effects.push(Effect::Escalate(Escalation {
        schema: ESCALATION_SCHEMA.into(),
        escalation_id: id,
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        reason,
        targets,
        steps,
        owner,
        level,
        deadline: case.deadline,
        raised_at: now,
        detail,
        evidence,
    }));
}

/// One bit per target kind, for `Verifier::acked_when_closed`.
pub(super) fn target_bit(t: TargetKind) -> u8 {
    let i = TargetKind::ALL.iter().position(|k| *k == t).unwrap_or(0);
    1 << i
}

/// Required targets with no verified confirmation and no failure reported: still waiting.
pub(super) fn unconfirmed(case: &Case) -> Vec<TargetKind> {
    case.required_targets
        .iter()
        .copied()
        .filter(|t| {
            case.targets
                .get(t)
                .is_none_or(|s| matches!(s.state, TargetState::Pending | TargetState::Unverified))
        })
        .collect()
}

pub(super) fn state_word(s: TargetState) -> &'static str {
    match s {
        TargetState::Pending => "pending",
        TargetState::Done => "revoked (verified)",
        TargetState::Unverified => "reported revoked but not verified",
        TargetState::Failed => "failed",
        TargetState::ManualRequired => "manual step required",
        TargetState::SkippedProtected => "skipped: protected identity",
    }
}

/// How a target's status reads in escalations and summaries: a target done on a person's word
/// says so instead of "verified".
pub(super) fn status_word(s: &TargetStatus) -> &'static str {
    use revoke_shared::contract::attested_by;
    match s.state {
        TargetState::Done if s.attestation.is_some() => "done (attested by a person)",
        TargetState::Done if attested_by(&s.objects).is_some() => "revoked (attested by a person)",
        TargetState::Unverified if attested_by(&s.objects).is_some() => {
            "attested by a person; attestation does not close this target (verifier.attestation_allowed)"
        }
        st => state_word(st),
    }
}

/// Per target, the keys used in reports: kept here so the CLI and tests agree.
pub fn target_summary(case: &Case) -> BTreeMap<TargetKind, &'static str> {
    case.targets
        .iter()
        .map(|(t, s)| (*t, status_word(s)))
        .collect()
}
