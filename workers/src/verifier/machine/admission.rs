//! The blast-radius guard's side of a case: asking for release, applying the guard's verdicts
//! on terminations and on restores, releasing, and asking again when unanswered.

use super::evidence::{raise, Raise};
use super::rescind::{push_restores, restore_undecided};
use super::tick::due_event;
use super::{Effect, Verifier, READMIT_SECS};
use crate::verifier::guard::{Judged, Verdict};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::contract::{
    Admission, AdmissionKind, Case, CaseGuard, CaseState, Decision, EscalationReason, Owner,
    TargetKind,
};
use revoke_shared::metrics::VerifierNote;

impl Verifier {
    /// Makes `case` wait for the guard's verdict and asks for it.
    pub(super) fn ask_guard(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        case.state = CaseState::Admitting;
        case.deadline = None;
        case.guard
            .get_or_insert_with(|| Box::new(CaseGuard::asked(now)))
            .asked_at = now;
        let targets = case.required_targets.clone();
        effects.push(ask(case, AdmissionKind::Termination, targets, now));
    }

    /// After a rescind nothing else stands against: asks the workers to give back what the case
    /// revoked — through the guard when it is on (restores are grants), else at once.
    pub(super) fn ask_restores(
        &self,
        case: &mut Case,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        if self.policy.guard.enabled {
            case.restore_guard
                .get_or_insert_with(|| Box::new(CaseGuard::asked(now)))
                .asked_at = now;
            let targets = case.targets.keys().copied().collect();
            effects.push(ask(case, AdmissionKind::Restore, targets, now));
            return;
        }
        push_restores(case, case.targets.keys().copied(), now, effects);
    }

    /// The guard's verdict on a case waiting for it (anything else is a repeat: ignored).
    pub(super) fn on_guard(&mut self, j: &Judged, now: DateTime<Utc>) -> Vec<Effect> {
        if j.asks == AdmissionKind::Restore {
            return self.on_restore_verdict(j, now);
        }
        let Some(mut case) = self.take_waiting(&j.case_id, |case| {
            case.state == CaseState::Admitting
                || (case.state == CaseState::Held && matches!(j.verdict, Verdict::Decided { .. }))
        }) else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        let kind = AdmissionKind::Termination;
        match self.take_verdict(&mut case, kind, &j.verdict, now, &mut effects) {
            Verdicted::Release => self.release(&mut case, now, &mut effects),
            Verdicted::Held => case.state = CaseState::Held,
            Verdicted::Rejected => {
                case.state = CaseState::Rejected;
                self.people.mark_rejected(&case.identity_id, case.case_id);
                effects.push(Effect::Note {
                    case_id: Some(case.case_id),
                    identity_id: case.identity_id.clone(),
                    what: VerifierNote::RejectedByPerson,
                });
            }
        }
        self.publish(case, now, effects)
    }

    /// The guard's verdict on giving back what a rescinded case revoked.
    pub(super) fn on_restore_verdict(&mut self, j: &Judged, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(mut case) = self.take_waiting(&j.case_id, |case| {
            case.state == CaseState::Rescinded
                && restore_undecided(case)
                && (case
                    .restore_guard
                    .as_ref()
                    .is_some_and(|g| g.batch.is_none())
                    || matches!(j.verdict, Verdict::Decided { .. }))
        }) else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        let kind = AdmissionKind::Restore;
        match self.take_verdict(&mut case, kind, &j.verdict, now, &mut effects) {
            Verdicted::Release => {
                if let Some(g) = case.restore_guard.as_mut() {
                    g.released_at = Some(now);
                }
                let targets: Vec<TargetKind> = case.targets.keys().copied().collect();
                push_restores(&case, targets.into_iter(), now, &mut effects);
            }
            // Raising the batch's escalation marked the case Escalated; it stays Rescinded (the
            // state it waited in) until its restores are decided.
            Verdicted::Held => case.state = CaseState::Rescinded,
            Verdicted::Rejected => effects.push(Effect::Note {
                case_id: Some(case.case_id),
                identity_id: case.identity_id.clone(),
                what: VerifierNote::RestoreRejectedByPerson,
            }),
        }
        self.publish(case, now, effects)
    }

    /// The one step a guard verdict takes on a case, for a termination or a restore alike: the
    /// case's guard record for `asks` keeps the verdict, and the first case of a held batch
    /// raises the batch's escalation. What the verdict leaves to do is the caller's.
    fn take_verdict(
        &self,
        case: &mut Case,
        asks: AdmissionKind,
        verdict: &Verdict,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Verdicted {
        let g = match asks {
            AdmissionKind::Termination => &mut case.guard,
            AdmissionKind::Restore => &mut case.restore_guard,
        }
        .get_or_insert_with(|| Box::new(CaseGuard::asked(now)));
        match verdict {
            Verdict::Released => Verdicted::Release,
            Verdict::Held {
                batch,
                why,
                opens_batch,
            } => {
                record_hold(g, batch, why, now);
                if *opens_batch {
                    // One escalation per batch: its first case carries it.
                    let (targets, detail) = match asks {
                        AdmissionKind::Termination => (
                            case.required_targets.clone(),
                            format!(
                                "blast-radius guard: batch {batch} held: {why}; nothing in it is revoked until a person runs `revoke guard` (its cases and digest), then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`); later cases join the batch while the burst lasts (`revoke guard` lists it)"
                            ),
                        ),
                        AdmissionKind::Restore => (
                            case.targets.keys().copied().collect(),
                            format!(
                                "blast-radius guard: restores batch {batch} held: {why}; nothing in it is given back until a person runs `revoke guard` (its cases and digest), then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`)"
                            ),
                        ),
                    };
                    self.raise_hold(case, targets, detail, now, effects);
                }
                Verdicted::Held
            }
            Verdict::Decided {
                batch,
                why,
                decision,
                proof,
            } => {
                record_decision(g, batch, why, decision, proof.as_deref(), now);
                match decision.decision {
                    Decision::Approve => Verdicted::Release,
                    Decision::Reject => Verdicted::Rejected,
                }
            }
        }
    }

    /// The one escalation of a held batch, to the guard's owner; `detail` says what a person
    /// does about it.
    fn raise_hold(
        &self,
        case: &mut Case,
        targets: Vec<TargetKind>,
        detail: String,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        let r = Raise {
            reason: EscalationReason::BlastRadiusHold,
            targets,
            level: 0,
            owner: self.guard_owner(),
            detail,
        };
        raise(case, r, now, effects);
    }

    pub(super) fn guard_owner(&self) -> Owner {
        self.policy
            .guard
            .owner
            .clone()
            .unwrap_or_else(|| self.policy.owner_of(None))
    }

    /// Hands `case` to the workers: its deadline starts now (or at its effective time).
    pub(super) fn release(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if let Some(g) = case.guard.as_mut() {
            g.released_at = Some(now);
        }
        let start = case.effective_at.map_or(now, |e| e.max(now));
        case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        match (due_event(case, now), case.replay.as_ref()) {
            (Some(ev), None) => effects.push(Effect::Due(ev)),
            // A replay runs only its targets, each told it is that replay's run.
            (Some(ev), Some(r)) => {
                for target in &case.required_targets {
                    effects.push(Effect::Redrive {
                        event: ev.clone(),
                        target: *target,
                        n: 0,
                        recheck: Vec::new(),
                        replay: Some(r.request.replay_id),
                    });
                }
            }
            (None, _) => effects.push(Effect::Note {
                case_id: Some(case.case_id),
                identity_id: case.identity_id.clone(),
                what: VerifierNote::ReleasedCaseWithoutTermination,
            }),
        }
        // A protected identity was escalated when it arrived; that stands.
        case.state = if case.escalations.is_empty() {
            CaseState::Open
        } else {
            CaseState::Escalated
        };
        self.evaluate(case, now, effects);
    }

    /// Cases whose admission went unanswered (a verifier stopped between writing the case and
    /// its admission, or the guard log was unreadable): ask again.
    pub(super) fn readmit(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let stale_after = |g: Option<&CaseGuard>| {
            g.is_none_or(|g| g.asked_at + Duration::seconds(READMIT_SECS) <= now)
        };
        let stale = self.live_ids(|c| {
            (c.state == CaseState::Admitting && stale_after(c.guard.as_deref()))
                || (c.state == CaseState::Rescinded
                    && restore_undecided(c)
                    && c.restore_guard.as_ref().is_some_and(|g| g.batch.is_none())
                    && stale_after(c.restore_guard.as_deref()))
        });
        let mut out = Vec::new();
        for id in stale {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            if case.state == CaseState::Admitting {
                self.ask_guard(&mut case, now, &mut effects);
            } else {
                self.ask_restores(&mut case, now, &mut effects);
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }
}

/// What a guard verdict leaves to do once the case's guard record keeps it.
enum Verdicted {
    /// Released, or a person approved the batch: go ahead.
    Release,
    /// Held in a batch until a person decides it.
    Held,
    /// A person rejected the batch.
    Rejected,
}

/// The guard's question about `case`: may `asks` go ahead on `targets`?
fn ask(case: &Case, asks: AdmissionKind, targets: Vec<TargetKind>, now: DateTime<Utc>) -> Effect {
    Effect::Admit(Admission {
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        asks,
        targets,
        at: now,
    })
}

/// A held verdict on the guard record: which batch, since when, why.
fn record_hold(g: &mut CaseGuard, batch: &str, why: &str, now: DateTime<Utc>) {
    g.batch = Some(batch.to_string());
    g.held_at = Some(now);
    g.why = Some(why.to_string());
}

/// A person's decision on the held batch `batch`, as the case's guard record keeps it (for a
/// release or for a restore alike).
pub(super) fn record_decision(
    g: &mut CaseGuard,
    batch: &str,
    why: &str,
    decision: &revoke_shared::contract::BatchDecision,
    proof: Option<&crate::verifier::guard::DecisionProof>,
    now: DateTime<Utc>,
) {
    g.batch = Some(batch.to_string());
    g.why.get_or_insert_with(|| why.to_string());
    g.held_at.get_or_insert(now);
    g.decision = Some(decision.decision);
    g.decided_by = Some(decision.by.clone());
    g.decided_at = Some(decision.at);
    g.note = decision.note.clone();
    // Whether the decision was proven its person's, with what lets an auditor check it offline.
    g.decided_authenticity = proof.map(|p| p.authenticity);
    g.decision_signature = proof.and_then(|p| p.signature.clone()).map(Box::new);
    g.decision_digest = proof.map(|p| p.digest.clone());
}
