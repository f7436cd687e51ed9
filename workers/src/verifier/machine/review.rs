//! Closure review (four eyes): once every target and step of a case is done, a case where a
//! person's word stood in for a read-back (any target or step attested; every case with
//! `verifier.closure_review = "all"`) waits in `awaiting_review` instead of closing. A reviewer's
//! decision (`revoke review`, `Input::Review`) closes it or reopens what it names.
//!
//! A review is refused (dead-lettered with the reason, nothing changes) when it is not the named
//! person's or they lack the `reviewer` role (`check_decision`), when the case is not awaiting
//! review (`review_case_not_awaiting`), when it was made on other evidence than the case holds
//! now (`review_evidence_changed`: the digest is `Case::evidence_digest`), when the reviewer is
//! the case's attester, approver or owner (`review_conflict_of_interest`), when a rejection names
//! a step or target the case does not have (`review_unknown_reopen`) or nothing attested is left
//! to reopen (`review_nothing_to_reopen`), for an unknown case (`unknown_case`) or another
//! identity (`identity_mismatch`). The same review again changes nothing.
//!
//! Accepted: the case closes with the review recorded (who, when, authenticity, the digest).
//! Rejected: the named steps and targets (default: every attested one) are pending again, the
//! rejection is kept (`CaseReview::rejected`), the owner is escalated (`review_rejected`); a
//! new attestation brings the case back to review. A review not made within
//! `verifier.review_sla_secs` escalates to the owner once per wait (`review_overdue`, in
//! `review_overdue`).

use super::evidence::{raise_full, Raise};
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Utc};
use revoke_shared::config::{ClosureReview, Role};
use revoke_shared::contract::{
    attested_by, Authenticity, Case, CaseReview, CaseState, Escalation, EscalationReason, Owner,
    ReviewRecord, ReviewVerdict, TargetKind, TargetState, TargetStatus,
};
use serde_json::Value;

/// What a rejection reopens.
#[derive(Debug, Default, PartialEq, Eq)]
struct Reopen {
    targets: Vec<TargetKind>,
    steps: Vec<String>,
}

impl Verifier {
    /// Why `case` (every target and step done) needs a review before it closes, if it does.
    pub(super) fn review_needed(&self, case: &Case) -> Option<String> {
        match self.policy.closure_review {
            ClosureReview::None => None,
            ClosureReview::All => Some("verifier.closure_review = all".into()),
            ClosureReview::Attested => {
                let names = attested_names(case);
                (!names.is_empty()).then(|| format!("attested: {}", names.join(", ")))
            }
        }
    }

    /// Puts `case` (every target and step done, `why` it needs a review) in `awaiting_review`.
    pub(super) fn await_review(case: &mut Case, why: String, now: DateTime<Utc>) {
        if case.state == CaseState::AwaitingReview {
            return;
        }
        case.state = CaseState::AwaitingReview;
        let rejected = case.review.take().map(|r| r.rejected).unwrap_or_default();
        case.review = Some(Box::new(CaseReview::asked(why, now, rejected)));
    }

    pub(super) fn on_review(
        &mut self,
        r: &ReviewRecord,
        raw: &Value,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let mut case = match self.take(&r.case_id) {
            // A closed case never changes (a replay of the review that closed it).
            Some(Slot::Closed(c)) => {
                self.put(r.case_id, Slot::Closed(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) => *c,
            None => {
                return vec![Effect::Refuse {
                    reason: "unknown_case",
                    detail: format!("no case {} is known: nothing to review", r.case_id),
                }]
            }
        };
        let judged = self.judge_review(&case, r, raw);
        let (authenticity, reopen) = match judged {
            Ok(Some(x)) => x,
            Ok(None) => {
                self.put(r.case_id, Slot::Live(Box::new(case)));
                return Vec::new();
            }
            Err((reason, detail)) => {
                self.put(r.case_id, Slot::Live(Box::new(case)));
                return vec![Effect::Refuse { reason, detail }];
            }
        };
        let mut effects = Vec::new();
        let review = case
            .review
            .get_or_insert_with(|| Box::new(CaseReview::asked(String::new(), now, Vec::new())));
        match r.verdict {
            ReviewVerdict::Accept => {
                review.verdict = Some(ReviewVerdict::Accept);
                review.by = Some(r.by.clone());
                review.at = Some(r.at);
                review.authenticity = Some(authenticity);
                review.evidence_digest = Some(r.evidence_digest.clone());
                review.note = r.note.clone();
                review.record = Some(Box::new(r.clone()));
                case.state = CaseState::Closed;
                case.closed_at = Some(now);
            }
            ReviewVerdict::Reject => {
                review.rejected.push(r.clone());
                for t in &reopen.targets {
                    let old = case.targets.remove(t);
                    case.targets
                        .insert(*t, TargetStatus::pending().replacing(old));
                }
                for s in &reopen.steps {
                    let old = case.steps.remove(s);
                    case.steps
                        .insert(s.clone(), TargetStatus::pending().replacing(old));
                }
                let names = reopen
                    .targets
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .chain(reopen.steps.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", ");
                let detail = format!(
                    "closure review rejected by {} ({}){}: reopened {names}; attest them again (`revoke case ack {} --step|--target ...`), then the case is reviewed again",
                    r.by,
                    authenticity.as_str(),
                    r.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default(),
                    case.case_id
                );
                let owner = self.owner_for(&case, &reopen.targets, &reopen.steps);
                let id = Escalation::occasion_id(
                    case.case_id,
                    EscalationReason::ReviewRejected,
                    &r.review_id.to_string(),
                );
                let raise = Raise {
                    reason: EscalationReason::ReviewRejected,
                    targets: reopen.targets,
                    level: 0,
                    owner,
                    detail,
                };
                raise_full(&mut case, id, raise, reopen.steps, now, &mut effects);
            }
        }
        self.publish(case, now, effects)
    }

    /// Whether review `r` decides `case`: `Ok(Some((authenticity, what a rejection reopens)))`,
    /// `Ok(None)` for a replay, `Err` refused with a bounded reason (pure).
    fn judge_review(
        &self,
        case: &Case,
        r: &ReviewRecord,
        raw: &Value,
    ) -> Result<Option<(Authenticity, Reopen)>, (&'static str, String)> {
        let id = case.case_id;
        if r.identity_id != case.identity_id {
            return Err((
                "identity_mismatch",
                format!(
                    "the review names identity {}, but case {id} is {}'s",
                    r.identity_id, case.identity_id
                ),
            ));
        }
        let replay = case
            .review
            .as_ref()
            .is_some_and(|x| x.rejected.iter().any(|y| y.review_id == r.review_id));
        if replay {
            return Ok(None);
        }
        if case.state != CaseState::AwaitingReview {
            return Err((
                "review_case_not_awaiting",
                format!("case {id} is {}, not awaiting review", case.state.as_str()),
            ));
        }
        let authenticity = revoke_shared::signing::check_decision(
            raw,
            &r.by,
            Role::Reviewer,
            &self.roster.people,
            self.roster.signing_required,
        )
        .map_err(|e| (e.reason(), format!("review of case {id}: {e}")))?;
        let now_digest = case.evidence_digest();
        if r.evidence_digest != now_digest {
            return Err((
                "review_evidence_changed",
                format!(
                    "the review of case {id} was made on evidence {} but the case now holds {now_digest}: look again (`revoke case {id}`)",
                    r.evidence_digest.chars().take(80).collect::<String>()
                ),
            ));
        }
        if let Some(role) = self.conflict_of(case, &r.by) {
            return Err((
                "review_conflict_of_interest",
                format!(
                    "{} is the case's {role}: a closure review needs a second person",
                    r.by
                ),
            ));
        }
        let reopen = match r.verdict {
            ReviewVerdict::Accept => Reopen::default(),
            ReviewVerdict::Reject => reopen_of(case, &r.reopen)?,
        };
        Ok(Some((authenticity, reopen)))
    }

    /// Which of the case's parts `by` played, if any: attester, approver or owner.
    fn conflict_of(&self, case: &Case, by: &str) -> Option<&'static str> {
        // Current attestations and those a rejection set aside: whoever vouched for any part of
        // the evidence does not review it.
        let attested = case
            .targets
            .values()
            .chain(case.steps.values())
            .flat_map(|s| std::iter::once(s).chain(s.superseded.iter()))
            .any(|s| attested_by(&s.objects) == Some(by));
        if attested {
            return Some("attester");
        }
        let approver = [&case.guard, &case.restore_guard]
            .into_iter()
            .flatten()
            .any(|g| g.decided_by.as_deref() == Some(by));
        if approver {
            return Some("approver");
        }
        if self
            .roster
            .owner_ids(case, &self.policy)
            .iter()
            .any(|o| o == by)
        {
            return Some("owner");
        }
        None
    }

    /// Who hears of a rejected or overdue review: the owner of the first step (else target) it
    /// concerns.
    pub(super) fn owner_for(&self, case: &Case, targets: &[TargetKind], steps: &[String]) -> Owner {
        match (steps.first(), targets.first()) {
            (Some(s), _) => self.roster.step_owner(s, &self.policy),
            (None, Some(t)) => self.policy.owner_of(Some(*t)),
            (None, None) => self.policy.owner_of(case.required_targets.first().copied()),
        }
    }
}

/// The targets and steps done on a person's word.
/// When a review last rejected the case, if one did. Evidence made before that (a replayed
/// attestation, acknowledgement or worker report) cannot stand in again for what the reviewer set
/// aside: a reopened step or target is done again only by evidence made after the rejection.
pub(super) fn rejected_at(case: &Case) -> Option<DateTime<Utc>> {
    case.review.as_ref()?.rejected.last().map(|r| r.at)
}

/// The refusal of evidence made at `at` for `what` when it predates the case's last rejection.
pub(super) fn before_rejection(
    case: &Case,
    at: DateTime<Utc>,
    what: &str,
) -> Option<(&'static str, String)> {
    let rejected = rejected_at(case).filter(|t| at <= *t)?;
    Some((
        "evidence_before_rejection",
        format!(
            "{what} dates from {}, before the review rejected case {} at {}: evidence the reviewer set aside does not count again (a replay?); make it anew",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            case.case_id,
            rejected.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    ))
}

pub(super) fn attested_parts(case: &Case) -> (Vec<TargetKind>, Vec<String>) {
    let done_attested =
        |s: &TargetStatus| s.state == TargetState::Done && attested_by(&s.objects).is_some();
    let targets = case
        .targets
        .iter()
        .filter(|(_, s)| done_attested(s))
        .map(|(t, _)| *t)
        .collect();
    let steps = case
        .steps
        .iter()
        .filter(|(_, s)| done_attested(s))
        .map(|(n, _)| n.clone())
        .collect();
    (targets, steps)
}

/// Their names, targets first (for `CaseReview::why`).
fn attested_names(case: &Case) -> Vec<String> {
    let (targets, steps) = attested_parts(case);
    targets
        .iter()
        .map(|t| t.as_str().to_string())
        .chain(steps)
        .collect()
}

/// What a rejection naming `names` reopens (empty: every attested target and step).
fn reopen_of(case: &Case, names: &[String]) -> Result<Reopen, (&'static str, String)> {
    let mut out = Reopen::default();
    if names.is_empty() {
        let (targets, steps) = attested_parts(case);
        out = Reopen { targets, steps };
    }
    for n in names {
        if case.steps.contains_key(n) {
            out.steps.push(n.clone());
        } else if let Some(t) = n
            .parse::<TargetKind>()
            .ok()
            .filter(|t| case.targets.contains_key(t))
        {
            out.targets.push(t);
        } else {
            return Err((
                "review_unknown_reopen",
                format!(
                    "case {} has no step or target {:?} to reopen",
                    case.case_id,
                    n.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    if out.targets.is_empty() && out.steps.is_empty() {
        return Err((
            "review_nothing_to_reopen",
            format!(
                "nothing in case {} was attested: name the steps or targets to reopen (--reopen)",
                case.case_id
            ),
        ));
    }
    out.targets.dedup();
    out.steps.dedup();
    Ok(out)
}
