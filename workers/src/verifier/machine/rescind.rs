//! Rescinds and what follows them: which case a rescind applies to, the rescinded case, the
//! restore requests it sends and the restore reports that answer them.

use super::{Effect, Slot, Verifier};
use crate::verifier::people::{rescind_key, Binding};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    case_id_for, Case, CaseState, EscalationReason, HrEvent, ObjectOutcome, RescindRef,
    RestoreReport, RestoreRequest, TargetKind, RESTORE_REQUEST_SCHEMA,
};
use revoke_shared::metrics::VerifierNote;
use uuid::Uuid;

impl Verifier {
    /// The case a rescind would act on (see `people` for how it binds), if any: the shell reads
    /// a closed one back from the changelog first.
    pub fn rescind_applies_to(&self, ev: &HrEvent) -> Option<Uuid> {
        match self.people.bind(ev) {
            Binding::Term { case, .. } => Some(case),
            Binding::Unknown if ev.data.rescinds.is_some() => Some(ev.case_id()),
            _ => None,
        }
    }

    /// Why the rescind `ev` is refused (dead-lettered), if it is: the shell asks before applying,
    /// since only it holds the record's bytes.
    pub fn rescind_refusal(&self, ev: &HrEvent) -> Option<(&'static str, String)> {
        match self.people.bind(ev) {
            Binding::WrongSource { detail } => Some(("rescind_wrong_source", detail)),
            _ => None,
        }
    }

    /// A rescind of a case that had closed: `record` is its last version from the changelog
    /// (closed cases are kept as a marker only).
    pub(super) fn on_rescind_closed(
        &mut self,
        ev: &HrEvent,
        record: &Case,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let id = record.case_id;
        let own = match self.people.bind(ev) {
            Binding::Term { own, case } if case == id && self.is_closed(&id) => own,
            _ => return self.on_rescind(ev, now),
        };
        self.take(&id);
        let mut out = self.rescind_case(record.clone(), own, ev, now);
        out.extend(self.after_rescind(id, ev, now));
        out
    }

    /// What else a rescind ends once case `id` is rescinded: its replays under way.
    fn after_rescind(&mut self, id: Uuid, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
        if self.case(&id).map(|c| c.state) != Some(CaseState::Rescinded) {
            return Vec::new();
        }
        self.rescind_replays(id, ev, now)
    }

    pub(super) fn on_rescind(&mut self, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
        let note = |case_id: Option<Uuid>, what: VerifierNote| {
            vec![Effect::Note {
                case_id,
                identity_id: ev.subject.clone(),
                what,
            }]
        };
        let (own, case_id) = match self.people.bind(ev) {
            Binding::Replay => return note(None, VerifierNote::RescindReplayed),
            Binding::WrongSource { detail } => {
                return vec![Effect::Refuse {
                    reason: "rescind_wrong_source",
                    detail,
                }]
            }
            Binding::Term { own, case } => (own, case),
            // Named but not seen: confirmations may have come first (a pending case); the rescind
            // stands when its termination arrives.
            Binding::Unknown if ev.data.rescinds.is_some() => (ev.case_id(), ev.case_id()),
            Binding::Unknown => return note(None, VerifierNote::RescindForUnknownCase),
        };
        match self.take(&case_id) {
            None => note(Some(case_id), VerifierNote::RescindForUnknownCase),
            Some(Slot::Closed(c)) => {
                // The shell hands a closed case's record over (`RescindClosed`); without it
                // there is nothing to give back from.
                self.put(case_id, Slot::Closed(c));
                note(Some(case_id), VerifierNote::RescindAfterClose)
            }
            Some(Slot::Live(c)) if c.state == CaseState::Rescinded => {
                self.put(case_id, Slot::Live(c));
                Vec::new()
            }
            Some(Slot::Live(c)) => {
                let mut out = self.rescind_case(*c, own, ev, now);
                out.extend(self.after_rescind(case_id, ev, now));
                out
            }
        }
    }

    /// Applies the rescind `ev` of termination `own` to `case` (where that termination lives).
    pub(super) fn rescind_case(
        &mut self,
        mut case: Case,
        own: Uuid,
        ev: &HrEvent,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let by = ev
            .data
            .requested_by
            .clone()
            .unwrap_or_else(|| ev.source.clone());
        let rref = RescindRef {
            source: ev.source.clone(),
            event_id: ev.id.clone(),
            time: ev.time,
            by: by.clone(),
            applied_at: now,
        };
        let identity = case.identity_id.clone();
        self.people.mark_rescinded(&identity, own, rescind_key(ev));
        let mut effects = Vec::new();
        if own != case.case_id {
            // A joined termination: recorded; the case goes on while another of its stands.
            if let Some(j) = case
                .joined
                .iter_mut()
                .find(|j| case_id_for(&j.source, &j.event_id) == own)
            {
                j.rescind = Some(rref.clone());
            }
        } else {
            case.rescind = Some(Box::new(rref.clone()));
        }
        if self
            .people
            .case_stands_without(&identity, case.case_id, own)
        {
            let state = case.state;
            let detail = format!(
                "termination rescinded by event {} ({}), but another termination of {identity} in this case stands: nothing is given back; the case goes on",
                ev.id, ev.source
            );
            self.withhold_restore(&mut case, detail, now, &mut effects);
            if matches!(
                state,
                CaseState::Closed | CaseState::Scheduled | CaseState::Admitting | CaseState::Held
            ) {
                case.state = state; // the escalation informs; it does not reopen or release
            }
            return self.publish(case, now, effects);
        }
        case.rescinded_by = Some(by);
        if matches!(
            case.state,
            CaseState::Scheduled | CaseState::Admitting | CaseState::Held
        ) {
            // Before its effective time (or its release by the guard) nothing was revoked: the
            // rescind simply cancels it.
            case.state = CaseState::Rescinded;
            let mut effects = self.publish(case, now, Vec::new());
            effects.push(Effect::Note {
                case_id: Some(own),
                identity_id: ev.subject.clone(),
                what: VerifierNote::CancelledBeforeEffective,
            });
            return effects;
        }
        let was_closed = case.state == CaseState::Closed;
        let targets: Vec<TargetKind> = case.targets.keys().copied().collect();
        let others = self.people.standing_besides(&identity, case.case_id);
        if !others.is_empty() {
            // Restores are grants: not while the person is terminated by something else.
            let list: Vec<String> = others.iter().map(Uuid::to_string).collect();
            let detail = format!(
                "termination rescinded by event {} ({}), but {identity} has {} other termination(s) that stand (case {}): nothing is given back; a person decides",
                ev.id,
                ev.source,
                others.len(),
                list.join(", ")
            );
            self.withhold_restore(&mut case, detail, now, &mut effects);
            case.state = CaseState::Rescinded;
            return self.publish(case, now, effects);
        }
        self.escalate(
            &mut case,
            EscalationReason::RescindAfterRevocation,
            targets,
            format!(
                "termination rescinded by event {}{}: workers give back what they revoked that can be undone{}; what cannot is escalated as restore_incomplete",
                ev.id,
                if was_closed { " after the case closed" } else { "" },
                if self.policy.guard.enabled { " once the blast-radius guard lets the restore through" } else { "" }
            ),
            now,
            &mut effects,
        );
        case.state = CaseState::Rescinded;
        self.ask_restores(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// Nothing is given back on any of the case's targets: `detail` (why) goes on the case and to
    /// its owner, who decides.
    fn withhold_restore(
        &self,
        case: &mut Case,
        detail: String,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        case.restore_withheld = Some(detail.clone());
        let targets = case.targets.keys().copied().collect();
        self.escalate(
            case,
            EscalationReason::RestoreWithheld,
            targets,
            detail,
            now,
            effects,
        );
    }

    pub(super) fn on_restored(&mut self, r: &RestoreReport, now: DateTime<Utc>) -> Vec<Effect> {
        let mut case = match self.take(&r.case_id) {
            Some(Slot::Live(c)) if c.state == CaseState::Rescinded => *c,
            Some(slot) => {
                self.put(r.case_id, slot);
                return vec![Effect::Note {
                    case_id: Some(r.case_id),
                    identity_id: r.identity_id.clone(),
                    what: VerifierNote::RestoreReportForCaseNotRescinded,
                }];
            }
            None => {
                return vec![Effect::Note {
                    case_id: Some(r.case_id),
                    identity_id: r.identity_id.clone(),
                    what: VerifierNote::RestoreReportForUnknownCase,
                }]
            }
        };
        if case.restored.iter().any(|x| x == r) {
            self.put(r.case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        // The latest report per target stands (a re-sent request is answered again).
        case.restored.retain(|x| x.target.kind != r.target.kind);
        case.restored.push(r.clone());
        let mut effects = Vec::new();
        let left: Vec<String> = r.left_for_a_person().map(|o| o.describe()).collect();
        if !left.is_empty() {
            self.escalate(
                &mut case,
                EscalationReason::RestoreIncomplete,
                vec![r.target.kind],
                format!(
                    "{}: {} of {} objects could not be given back: {}",
                    r.target.kind,
                    left.len(),
                    r.objects.len(),
                    left.join("; ")
                ),
                now,
                &mut effects,
            );
            case.state = CaseState::Rescinded;
        }
        self.publish(case, now, effects)
    }
}

/// Restore requests for `targets` of a rescinded case (those where it revoked something).
pub(super) fn push_restores(
    case: &Case,
    targets: impl Iterator<Item = TargetKind>,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    for t in targets {
        if let Some(req) = restore_request(case, t, now) {
            effects.push(Effect::Restore(req));
        }
    }
}

/// Whether a rescinded case may ask for restores now: nothing withheld it, and the guard (if it
/// was asked) let it through or a person approved.
pub(super) fn restores_released(case: &Case, guard_on: bool) -> bool {
    case.restore_withheld.is_none()
        && case
            .restore_guard
            .as_ref()
            .map_or(!guard_on, |g| g.released_at.is_some())
}

/// A rescinded case whose restore asked the guard and has no verdict yet (or is held).
pub(super) fn restore_undecided(case: &Case) -> bool {
    case.restore_withheld.is_none()
        && case
            .restore_guard
            .as_ref()
            .is_some_and(|g| g.released_at.is_none() && g.decision.is_none())
}

/// The restore request for `target` of a rescinded case, if the case revoked something there.
pub(super) fn restore_request(
    case: &Case,
    target: TargetKind,
    now: DateTime<Utc>,
) -> Option<RestoreRequest> {
    let status = case.targets.get(&target)?;
    if !status
        .objects
        .iter()
        .any(|o| o.outcome == ObjectOutcome::Revoked)
    {
        return None;
    }
    let signed = status.signed_report(&case.identity_id, target);
    Some(RestoreRequest {
        schema: RESTORE_REQUEST_SCHEMA.into(),
        request_id: RestoreRequest::id_for(case.case_id, target),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        identity: case.identity.clone()?,
        target,
        rescinded_by: case.rescinded_by.clone().unwrap_or_default(),
        objects: status.objects.clone(),
        requested_at: now,
        confirmation: signed.as_ref().map(|(c, _)| c.clone()),
        confirmation_signature: signed.map(|(_, sig)| sig).filter(|s| !s.is_empty()),
    })
}
