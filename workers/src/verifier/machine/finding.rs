//! Access seen again after a case closed (`revoke verify`, `revoke watch`): each finding is
//! recorded in the case once (by its deterministic `finding_id`), escalated to the target's owner
//! (`access_returned` or `access_after_departure`, climbing the target's escalation path like any
//! escalation), and the case is reopened as `escalated`: a closed case whose access came back is
//! not closed in any auditor's sense. Its `closed_at` stays: when it had closed is evidence too.
//!
//! Refused (dead-lettered with the reason, nothing recorded): a finding for a case nobody knows
//! (`unknown_case`), naming another identity than the case (`identity_mismatch`), for a case that
//! never closed (`case_not_closed`: re-verification and the watch only look at closed cases), for
//! a rescinded case (`case_rescinded`: its access was given back on purpose, so seeing it again
//! is expected) or a rejected one (`case_rejected`: nothing was revoked).

use super::evidence::{raise_as, Raise};
use super::{Effect, Verifier};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    AccessFinding, Case, CaseState, EscalationReason, EscalationRecord, FindingKind,
};
use uuid::Uuid;

impl Verifier {
    pub(super) fn on_finding(
        &mut self,
        f: &AccessFinding,
        closed: Option<&Case>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let case = match self.known_case(&f.case_id, closed) {
            Ok(case) => case,
            Err((reason, detail)) => return vec![Effect::Refuse { reason, detail }],
        };
        if let Some((reason, detail)) = refusal(case, f) {
            return vec![Effect::Refuse { reason, detail }];
        }
        if case.findings.iter().any(|x| x.finding_id == f.finding_id) {
            return Vec::new(); // the same observation again (a replay, a second watcher)
        }
        let Some(mut case) = self.take_known(&f.case_id, closed) else {
            return Vec::new();
        };
        case.findings.push(f.clone());
        let reason = reason_of(f.kind);
        let r = Raise {
            reason,
            targets: vec![f.target.kind],
            level: 0,
            owner: self.policy.owner_of(Some(f.target.kind)),
            detail: detail_of(&case, f),
        };
        let mut effects = Vec::new();
        let id = escalation_id(case.case_id, f.finding_id);
        raise_as(&mut case, id, r, now, &mut effects); // the case is `escalated` from here
        self.publish(case, now, effects)
    }
}

/// Why `case` does not take the finding `f`, if it does not.
fn refusal(case: &Case, f: &AccessFinding) -> Option<(&'static str, String)> {
    let id = case.case_id;
    if f.identity_id != case.identity_id {
        return Some((
            "identity_mismatch",
            format!(
                "the finding names identity {}, but case {id} is {}'s",
                f.identity_id, case.identity_id
            ),
        ));
    }
    match case.state {
        CaseState::Rescinded => Some((
            "case_rescinded",
            format!(
                "case {id} was rescinded: its access was given back on purpose, so {} on {} is expected, not a finding",
                f.kind.as_str(),
                f.target.kind
            ),
        )),
        CaseState::Rejected => Some((
            "case_rejected",
            format!("case {id} was rejected by a person: nothing was revoked, so access there is expected"),
        )),
        _ if case.closed_at.is_none() => Some((
            "case_not_closed",
            format!(
                "case {id} never closed ({}): findings are about access seen again after close",
                case.state.as_str()
            ),
        )),
        _ => None,
    }
}

fn reason_of(kind: FindingKind) -> EscalationReason {
    match kind {
        FindingKind::AccessReturned => EscalationReason::AccessReturned,
        FindingKind::SignInAfterDeparture => EscalationReason::AccessAfterDeparture,
    }
}

fn detail_of(case: &Case, f: &AccessFinding) -> String {
    let seen = match f.kind {
        FindingKind::AccessReturned => "present again",
        FindingKind::SignInAfterDeparture => "signed in",
    };
    format!(
        "{} ({}): {} {} {seen} at {} after the case closed at {}; read back: {} (by {} as {}); the case is reopened for a person",
        f.target.kind,
        f.target.instance,
        f.object_kind,
        f.object_id,
        f.observed_at.to_rfc3339(),
        case.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        f.read_back,
        f.worker.id,
        f.principal
    )
}

/// The escalation of one finding at level 0: each finding is its own matter for the owner (the
/// same finding again has the same id, so it is raised once).
fn escalation_id(case_id: Uuid, finding_id: Uuid) -> Uuid {
    Uuid::new_v5(
        &case_id,
        format!("{case_id}/finding/{finding_id}").as_bytes(),
    )
}

/// The id of escalation `base` at `level` of its path. A finding's escalation has its own id
/// (`escalation_id`), so its path's levels derive from it: two findings on one target climb
/// separately. Every other escalation keeps `Escalation::id_at` (reminders, raised under ids of
/// their own, so climb with the hold they remind of).
pub(super) fn level_id(case_id: Uuid, base: &EscalationRecord, level: u32) -> Uuid {
    if is_finding(base.reason) {
        Uuid::new_v5(
            &case_id,
            format!("{case_id}/{}/level/{level}", base.escalation_id).as_bytes(),
        )
    } else {
        revoke_shared::contract::Escalation::id_with_steps(
            case_id,
            base.reason,
            &base.targets,
            &base.steps,
            level,
        )
    }
}

fn is_finding(r: EscalationReason) -> bool {
    matches!(
        r,
        EscalationReason::AccessReturned | EscalationReason::AccessAfterDeparture
    )
}

/// A case reopened by access seen again after it closed: `escalated` with a `closed_at` and
/// findings (nothing else makes a closed case escalated again). Such a case stays live; a
/// confirmation or a tick never closes it again (a person decides).
pub fn reopened_by_finding(case: &Case) -> bool {
    case.state == CaseState::Escalated && case.closed_at.is_some() && !case.findings.is_empty()
}

/// Whether an escalation about what happened after close is still open, for the rule `revoke
/// case` and the escalation paths share (`None`: not such an escalation). A finding stays open
/// while its case is reopened (`escalated`): a rescind gives the access back, which moots it. An
/// undelivered signal stays open while its receiver has SETs not accepted.
pub fn after_close_escalation_open(case: &Case, e: &EscalationRecord) -> Option<bool> {
    if is_finding(e.reason) {
        return Some(case.state == CaseState::Escalated);
    }
    (e.reason == EscalationReason::SignalUndelivered)
        .then(|| super::signal::still_overdue(case, e.escalation_id))
}
