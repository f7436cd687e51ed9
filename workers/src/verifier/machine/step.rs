//! Offboarding steps without an API (`[steps.<name>]`): a case opens with every step its
//! identity's kind requires, pending; a person with the `attester` role closes one with a signed
//! attestation (`revoke case ack --step`, `Input::StepAttestation`); a step past its SLA
//! escalates to its owner (`sla_passed`).
//!
//! An attestation is refused (dead-lettered, the step stays pending) when it is not the named
//! person's (`check_decision`: unsigned with signing required, a forged or foreign signature, a
//! person without the role), names a step the case does not have (`unknown_step`), another
//! identity (`identity_mismatch`), an unknown case (`unknown_case`), or a case that does not take
//! attestations now (`step_case_not_open`: it must be open or escalated). Accepted, the step is
//! `done` with `attested` evidence (never "verified"): who, when, the note, the authenticity and
//! the record with its signature, so the step verifies offline. Again (or a second person's
//! word on a step already done): nothing changes.

use super::confirmation::recompute_time_to_revoke;
use super::evidence::raise_steps;
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::Role;
use revoke_shared::contract::{
    Actor, AttestedStep, Authenticity, Case, CaseState, EscalationReason, IdentityKind,
    ObjectEvidence, ObjectOutcome, Provenance, StepAttestation, TargetState, TargetStatus,
    MANUAL_INSTANCE, MANUAL_OBJECT_KIND,
};
use serde_json::Value;
use uuid::Uuid;

/// The action recorded on a step's attested evidence.
pub const STEP_ACTION: &str = "step_attested";

impl Verifier {
    /// Adds the steps an identity of `kind` requires to `case`, pending (kept if already there).
    pub(super) fn open_steps(&self, case: &mut Case, kind: IdentityKind) {
        for name in self.roster.steps_for(kind) {
            case.steps
                .entry(name.to_string())
                .or_insert_with(TargetStatus::pending);
        }
    }

    pub(super) fn on_step_attestation(
        &mut self,
        a: &StepAttestation,
        raw: &Value,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let refuse = |reason: &'static str, detail: String| vec![Effect::Refuse { reason, detail }];
        let mut case = match self.take(&a.case_id) {
            // A closed case never changes (a replay of the attestation that closed it).
            Some(Slot::Closed(c)) => {
                self.put(a.case_id, Slot::Closed(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) => *c,
            None => {
                return refuse(
                    "unknown_case",
                    format!("no case {} is known: nothing to attest", a.case_id),
                )
            }
        };
        let verdict = self.judge_attestation(&case, a, raw);
        let authenticity = match verdict {
            Ok(Some(auth)) => auth,
            Ok(None) => {
                self.put(a.case_id, Slot::Live(Box::new(case)));
                return Vec::new();
            }
            Err((reason, detail)) => {
                self.put(a.case_id, Slot::Live(Box::new(case)));
                return refuse(reason, detail);
            }
        };
        let key = a.step.clone();
        let old = case.steps.remove(&key);
        let mut status = attested_status(a, authenticity).replacing(old);
        recompute_time_to_revoke(&mut status, case.effective_at);
        case.steps.insert(key, status);
        let mut effects = Vec::new();
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// Whether `a` may make its step done: `Ok(Some(authenticity))` yes, `Ok(None)` nothing to
    /// do (the step is already done), `Err` refused with a bounded reason (pure).
    fn judge_attestation(
        &self,
        case: &Case,
        a: &StepAttestation,
        raw: &Value,
    ) -> Result<Option<Authenticity>, (&'static str, String)> {
        let id = case.case_id;
        if a.identity_id != case.identity_id {
            return Err((
                "identity_mismatch",
                format!(
                    "the attestation names identity {}, but case {id} is {}'s",
                    a.identity_id, case.identity_id
                ),
            ));
        }
        let Some(status) = case.steps.get(&a.step) else {
            let known: Vec<&str> = case.steps.keys().map(String::as_str).collect();
            return Err((
                "unknown_step",
                format!(
                    "case {id} has no step {:?} (its steps: {})",
                    a.step.chars().take(64).collect::<String>(),
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if status.state == TargetState::Done {
            return Ok(None);
        }
        if !matches!(case.state, CaseState::Open | CaseState::Escalated) {
            return Err((
                "step_case_not_open",
                format!(
                    "case {id} is {}: a step is attested only while the case is open or escalated",
                    case.state.as_str()
                ),
            ));
        }
        if let Some(refusal) = super::review::before_rejection(
            case,
            a.at,
            &format!("the attestation of step {}", a.step),
        ) {
            return Err(refusal);
        }
        revoke_shared::signing::check_decision(
            raw,
            &a.by,
            Role::Attester,
            &self.roster.people,
            self.roster.signing_required,
        )
        .map(Some)
        .map_err(|e| {
            (
                e.reason(),
                format!("attestation of step {} of case {id}: {e}", a.step),
            )
        })
    }

    /// Steps past their own SLA (`sla_secs` from the effective time), still pending and not yet
    /// escalated for it: one `sla_passed` escalation per step, to the step's owner.
    pub(super) fn escalate_step_sla(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        if self.roster.steps.values().all(|s| s.sla_secs == 0) {
            return Vec::new();
        }
        let ids: Vec<Uuid> = self.live_ids(|c| !self.steps_late(c, now).is_empty());
        let mut out = Vec::new();
        for id in ids {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            for (name, due) in self.steps_late(&case, now) {
                let step = &self.roster.steps[&name];
                let detail = format!(
                    "step {name} ({}) has not been attested within its SLA of {}s (due {}): `revoke case ack {} --step {name} --by PERSON --note ...`",
                    step.description,
                    step.sla_secs,
                    due.to_rfc3339(),
                    case.case_id
                );
                let owner = self.roster.step_owner(&name, &self.policy);
                raise_steps(
                    &mut case,
                    EscalationReason::SlaPassed,
                    vec![name],
                    owner,
                    detail,
                    now,
                    &mut effects,
                );
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// The pending steps of `c` past their SLA at `now` and not yet escalated for it, with when
    /// they were due.
    fn steps_late(&self, c: &Case, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        if !matches!(c.state, CaseState::Open | CaseState::Escalated) {
            return Vec::new();
        }
        let Some(start) = self.clock_start(c) else {
            return Vec::new();
        };
        pending_steps(c)
            .into_iter()
            .filter_map(|name| {
                let sla = self.roster.steps.get(&name)?.sla_secs;
                let due = super::tick::after(start, sla).filter(|_| sla > 0)?;
                let told = c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::SlaPassed && e.steps.contains(&name));
                (due <= now && !told).then_some((name, due))
            })
            .collect()
    }

    /// When a case's clock started: the effective time, else its deadline's start.
    fn clock_start(&self, c: &Case) -> Option<DateTime<Utc>> {
        c.effective_at.or_else(|| {
            c.deadline
                .map(|d| d - Duration::seconds(self.policy.deadline_secs as i64))
        })
    }
}

/// The case's steps not done yet, by name.
pub(super) fn pending_steps(case: &Case) -> Vec<String> {
    case.steps
        .iter()
        .filter(|(_, s)| s.state != TargetState::Done)
        .map(|(n, _)| n.clone())
        .collect()
}

/// A step made done by the attestation `a`: the person's word, recorded as such.
pub(super) fn attested_status(a: &StepAttestation, authenticity: Authenticity) -> TargetStatus {
    TargetStatus {
        state: TargetState::Done,
        instance: Some(MANUAL_INSTANCE.into()),
        confirmed_at: Some(a.at),
        objects: vec![ObjectEvidence {
            object_kind: MANUAL_OBJECT_KIND.into(),
            object_id: format!("step:{}:{}", a.step, a.attestation_id),
            sponsored: false,
            action: STEP_ACTION.into(),
            outcome: ObjectOutcome::Revoked,
            removed_at: Some(a.at),
            actor: Actor {
                worker_id: "revoke-cli".into(),
                principal: a.by.clone(),
            },
            verified: false,
            provenance: Provenance::Attested,
            read_back: format!(
                "attested by {} ({}): {}",
                a.by,
                authenticity.as_str(),
                a.note
            ),
            error: None,
        }],
        attestation: Some(Box::new(AttestedStep {
            authenticity,
            record: a.clone(),
        })),
        ..TargetStatus::pending()
    }
}
