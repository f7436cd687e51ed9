//! What a case's evidence says, for the people reading it: acknowledgements, how each target was
//! proven (read back or attested), which escalations are still open, and the wire names of
//! states and outcomes.

use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Authenticity, Case, CaseState, EscalationReason, EscalationRecord, ObjectEvidence,
    ObjectOutcome, Provenance, TargetKind, TargetState, TargetStatus,
};

/// `target.instance` of a confirmation recorded by a person (defined with the case record: the
/// verifier tells an acknowledged target by it).
pub use revoke_shared::contract::MANUAL_INSTANCE;
/// `object_kind` and `action` of a person's acknowledgement (`revoke case ack`): defined with
/// the evidence, which derives an old record's provenance from them.
pub use revoke_shared::contract::{MANUAL_ACTION, MANUAL_OBJECT_KIND};

/// True when the evidence is a person's acknowledgement, not a worker's action.
pub fn is_ack(o: &ObjectEvidence) -> bool {
    o.is_manual()
}

/// A person's confirmation of a manual step, as recorded in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub target: TargetKind,
    /// The person who confirmed (the evidence's `actor.principal`).
    pub by: String,
    /// What they said (the read-back without its `confirmed by <person>: ` prefix).
    pub note: String,
    /// When they say the access was removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When the acknowledgement was recorded (the confirmation's time).
    pub recorded_at: Option<DateTime<Utc>>,
    pub object_id: String,
    /// Where it was recorded from (`revoke-cli@<host>`).
    pub recorded_by: String,
    /// Whether the verifier proved it the person's (signed with their key, attester role);
    /// a record that does not say was never checked: unauthenticated.
    pub authenticity: Authenticity,
}

/// The acknowledgements in a case, in target order.
pub fn acknowledgements(case: &Case) -> Vec<Acknowledgement> {
    let mut out = Vec::new();
    for (kind, st) in &case.targets {
        for o in st.objects.iter().filter(|o| is_ack(o)) {
            let prefix = format!("confirmed by {}: ", o.actor.principal);
            out.push(Acknowledgement {
                target: *kind,
                by: o.actor.principal.clone(),
                note: o
                    .read_back
                    .strip_prefix(&prefix)
                    .unwrap_or(&o.read_back)
                    .to_string(),
                removed_at: o.removed_at,
                recorded_at: st.confirmed_at,
                object_id: o.object_id.clone(),
                recorded_by: o.actor.worker_id.clone(),
                authenticity: st.authenticity.unwrap_or(Authenticity::Unauthenticated),
            });
        }
    }
    out
}

/// How the required targets that are done were proven: by a worker's read-back, or on a
/// person's word (per person, in order of first appearance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proof {
    /// Done targets whose every object was observed gone by a worker.
    pub verified: usize,
    /// Done targets closed on a person's attestation: (person, targets).
    pub attested: Vec<(String, usize)>,
}

impl Proof {
    pub fn of(case: &Case) -> Proof {
        let mut p = Proof::default();
        for t in &case.required_targets {
            let Some(st) = case.targets.get(t).filter(|s| s.state == TargetState::Done) else {
                continue;
            };
            match attested_by(st) {
                Some(person) => match p.attested.iter_mut().find(|(who, _)| who == person) {
                    Some((_, n)) => *n += 1,
                    None => p.attested.push((person.to_string(), 1)),
                },
                None => p.verified += 1,
            }
        }
        p
    }

    pub fn attested_targets(&self) -> usize {
        self.attested.iter().map(|(_, n)| n).sum()
    }

    /// `verified by read-back on 4 targets, attested by alice on 1`.
    pub fn text(&self) -> String {
        let n = |k: usize| format!("{k} target{}", if k == 1 { "" } else { "s" });
        let mut parts = vec![format!("verified by read-back on {}", n(self.verified))];
        for (who, k) in &self.attested {
            parts.push(format!("attested by {who} on {k}"));
        }
        parts.join(", ")
    }
}

/// The person whose statement a target's evidence rests on, if any object is `attested`.
pub fn attested_by(st: &TargetStatus) -> Option<&str> {
    revoke_shared::contract::attested_by(&st.objects)
}

/// What a target's evidence rests on, in one word: `attested` when any object is a person's
/// statement, `observed` when a worker read every object back gone (or found nothing held),
/// else `not_checked` (nothing reported yet, or not all of it proven).
pub fn target_provenance(st: &TargetStatus) -> &'static str {
    if attested_by(st).is_some() {
        Provenance::Attested.as_str()
    } else if st.outcome.is_some_and(|o| o.is_success())
        && st.objects.iter().all(|o| o.is_observed())
    {
        Provenance::Observed.as_str()
    } else {
        Provenance::NotChecked.as_str()
    }
}

/// A target held open although a person attested it: its kind is not in
/// `verifier.attestation_allowed`, so the verifier waits for a worker's read-back.
pub fn attestation_not_accepted(st: &TargetStatus) -> bool {
    st.state == TargetState::Unverified && attested_by(st).is_some()
}

/// The wire name of a target state (`done`, `manual_required`, …).
pub fn target_state_str(s: TargetState) -> &'static str {
    match s {
        TargetState::Pending => "pending",
        TargetState::Done => "done",
        TargetState::Unverified => "unverified",
        TargetState::Failed => "failed",
        TargetState::ManualRequired => "manual_required",
        TargetState::SkippedProtected => "skipped_protected",
    }
}

/// Whether an escalation still needs its owner. On a case not closed or rescinded: while one of
/// its targets is not verified. On a rescinded case: `restore_incomplete` always (re-issuing by
/// hand is not recorded in the case), `rescind_after_revocation` while a target that revoked
/// something has not reported its restore yet; escalations from before the rescind are moot.
/// What happened after close has its own rule (`after_close_escalation_open`): a finding stays
/// open while its case is reopened, an undelivered signal while its receiver is overdue.
pub fn escalation_is_open(case: &Case, e: &EscalationRecord) -> bool {
    if let Some(open) = crate::verifier::machine::after_close_escalation_open(case, e) {
        return open;
    }
    match case.state {
        CaseState::Closed => false,
        CaseState::Rescinded => match e.reason {
            EscalationReason::RestoreIncomplete => true,
            EscalationReason::RescindAfterRevocation => e.targets.iter().any(|t| {
                case.targets.get(t).is_some_and(|s| {
                    s.objects
                        .iter()
                        .any(|o| o.outcome == ObjectOutcome::Revoked)
                }) && !case.restored.iter().any(|r| r.target.kind == *t)
            }),
            _ => false,
        },
        // Waiting for a reviewer: open until the review is made.
        _ if e.reason == EscalationReason::ReviewOverdue => case.state == CaseState::AwaitingReview,
        _ => case.any_unfinished(&e.targets, &e.steps),
    }
}

/// The wire name of an object outcome.
pub fn object_outcome_str(o: ObjectOutcome) -> &'static str {
    match o {
        ObjectOutcome::Revoked => "revoked",
        ObjectOutcome::AlreadyAbsent => "already_absent",
        ObjectOutcome::Failed => "failed",
        ObjectOutcome::ManualRequired => "manual_required",
    }
}
