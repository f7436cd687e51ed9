//! Terminations: a new case, or the live case of the same person that the termination joins.

use super::confirmation::recompute_time_to_revoke;
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::contract::{
    Case, CaseState, EscalationReason, HrEvent, JoinedTermination, TargetState, TargetStatus,
    JOINED_KEPT,
};
use revoke_shared::metrics::VerifierNote;
use uuid::Uuid;

impl Verifier {
    pub(super) fn new_case(&self, case_id: Uuid, identity_id: &str, now: DateTime<Utc>) -> Case {
        Case::opened(
            case_id,
            identity_id,
            self.policy.required_targets.clone(),
            now,
        )
    }

    pub(super) fn on_termination(&mut self, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
        let case_id = ev.case_id();
        if self.people.joined_into(&ev.subject, case_id).is_some() {
            return Vec::new(); // a joined termination again
        }
        let pending = match self.take(&case_id) {
            Some(Slot::Closed(c)) => {
                self.put(case_id, Slot::Closed(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) if c.event_id.is_some() => {
                // Duplicate termination.
                self.put(case_id, Slot::Live(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) => Some(*c), // confirmations (and maybe a rescind) came first
            None => None,
        };
        let rescinded_first = pending
            .as_ref()
            .is_some_and(|c| c.state == CaseState::Rescinded);
        if !rescinded_first {
            if let Some(live) = self.live_case_of(&ev.subject, case_id) {
                return self.join(live, ev, pending, now);
            }
        }
        let mut case = pending.unwrap_or_else(|| self.new_case(case_id, &ev.subject, now));
        let d = &ev.data;
        case.hr_time = Some(ev.time);
        case.identity = Some(d.identity.clone());
        case.event_id = Some(ev.id.clone());
        case.source = Some(ev.source.clone());
        case.reason = d.reason.clone();
        case.requested_by = d.requested_by.clone();
        case.approved_by = d.approved_by.clone();
        case.effective_at = d.effective_at;
        // Which targets must confirm depends on who left (policy by identity kind).
        case.required_targets = self.policy.required_for(d.identity.kind);
        for t in &case.required_targets {
            case.targets.entry(*t).or_insert_with(TargetStatus::pending);
        }
        // And the steps without an API its kind requires (`[steps]`), pending from the start.
        self.open_steps(&mut case, d.identity.kind);
        // The clock starts at the effective time, but never before the verifier heard of it.
        let start = d.effective_at.map_or(now, |e| e.max(now));
        case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        for status in case.targets.values_mut() {
            recompute_time_to_revoke(status, case.effective_at);
        }
        // A rescind that overtook its termination stands: the record is completed, not reopened.
        if case.state != CaseState::Rescinded {
            case.state = if ev.is_scheduled() {
                CaseState::Scheduled
            } else {
                CaseState::Open
            };
        }
        self.people.note_case(&case);
        let mut effects = Vec::new();
        if self.policy.is_protected(&d.identity) && case.state != CaseState::Rescinded {
            // Never revoked automatically: the owner decides, now (workers skip it too).
            let targets = case.required_targets.clone();
            self.escalate(
                &mut case,
                EscalationReason::ProtectedIdentity,
                targets,
                "the identity is on verifier.protected_identities (break-glass or legal hold): nothing is revoked automatically".into(),
                now,
                &mut effects,
            );
        }
        if self.policy.guard.enabled
            && !matches!(case.state, CaseState::Rescinded | CaseState::Scheduled)
        {
            // Nothing reaches the workers before the guard's verdict; the deadline starts then.
            self.ask_guard(&mut case, now, &mut effects);
        }
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// The person's live case (not `except`) a new termination joins: one whose termination
    /// stands and that is still at work or waiting (scheduled, admitting, held, open, escalated,
    /// awaiting its closure review).
    pub(super) fn live_case_of(&self, identity: &str, except: Uuid) -> Option<Uuid> {
        self.people
            .standing_cases(identity)
            .into_iter()
            .filter(|id| *id != except)
            .find(|id| {
                self.case(id).is_some_and(|c| {
                    c.event_id.is_some()
                        && matches!(
                            c.state,
                            CaseState::Scheduled
                                | CaseState::Admitting
                                | CaseState::Held
                                | CaseState::Open
                                | CaseState::Escalated
                                | CaseState::AwaitingReview
                        )
                })
            })
    }

    /// Records `ev`, a further termination of the person of case `into`, in that case instead
    /// of opening a parallel one. What its early confirmations proved (`pending`) joins too; an
    /// earlier effective time brings a scheduled case forward.
    pub(super) fn join(
        &mut self,
        into: Uuid,
        ev: &HrEvent,
        pending: Option<Case>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let Some(mut case) = self.take_live(&into) else {
            return Vec::new();
        };
        self.people.note_termination(ev, into);
        if case.joined.len() < JOINED_KEPT {
            case.joined.push(JoinedTermination {
                source: ev.source.clone(),
                event_id: ev.id.clone(),
                time: ev.time,
                effective_at: ev.data.effective_at,
                joined_at: now,
                rescind: None,
            });
        } else {
            case.joined_more += 1;
        }
        let earlier = match (ev.data.effective_at, case.effective_at) {
            (Some(new), Some(old)) => new < old,
            (None, Some(_)) => true,
            _ => false,
        };
        if case.state == CaseState::Scheduled && earlier {
            case.effective_at = ev.data.effective_at.or(Some(ev.time));
            let start = case.effective_at.map_or(now, |e| e.max(now));
            case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        }
        for (t, s) in pending.into_iter().flat_map(|p| p.targets) {
            let mine = case.targets.get(&t).map(|x| x.state);
            if s.state == TargetState::Done && mine != Some(TargetState::Done) {
                let old = case.targets.remove(&t);
                case.targets.insert(t, s.replacing(old));
            }
        }
        let mut effects = vec![Effect::Note {
            case_id: Some(into),
            identity_id: ev.subject.clone(),
            what: VerifierNote::TerminationJoinedLiveCase,
        }];
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }
}
