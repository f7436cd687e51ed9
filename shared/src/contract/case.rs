//! `revoke.cases` (compacted, key = case id): the verifier's record of one offboarding.
//!
//! This is both the auditor's view and the verifier's changelog: a restarted verifier rebuilds
//! its state from these records, so everything the state machine needs is in here.

use super::{
    EscalationReason, Identity, ObjectEvidence, Outcome, Owner, RareList, RestoreReport,
    TargetKind, VecMap, WorkerInfo,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CASE_SCHEMA: &str = "revoke.case.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Confirmations arrived but the termination itself has not been seen yet.
    Pending,
    Open,
    Closed,
    Escalated,
    /// Held by the blast-radius guard until a person approves or rejects its batch.
    Held,
    Scheduled,
    Rescinded,
    /// Waiting for the blast-radius guard's verdict (released or held); nothing revoked yet.
    Admitting,
    /// Its held batch was rejected (`revoke reject`): nothing was revoked, nothing will be.
    Rejected,
    /// Every target and step is done, but a person's word stood in for a read-back (or
    /// `verifier.closure_review = "all"`): waiting for a reviewer (`revoke review`).
    AwaitingReview,
}

impl CaseState {
    /// Every state, in declaration order: `state as usize` is its index here.
    pub const ALL: [CaseState; 10] = [
        CaseState::Pending,
        CaseState::Open,
        CaseState::Closed,
        CaseState::Escalated,
        CaseState::Held,
        CaseState::Scheduled,
        CaseState::Rescinded,
        CaseState::Admitting,
        CaseState::Rejected,
        CaseState::AwaitingReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Pending => "pending",
            CaseState::Open => "open",
            CaseState::Closed => "closed",
            CaseState::Escalated => "escalated",
            CaseState::Held => "held",
            CaseState::Scheduled => "scheduled",
            CaseState::Rescinded => "rescinded",
            CaseState::Admitting => "admitting",
            CaseState::Rejected => "rejected",
            CaseState::AwaitingReview => "awaiting_review",
        }
    }

    /// No further automatic transition is expected (a late confirmation may still close an
    /// escalated case).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Escalated | CaseState::Rescinded | CaseState::Rejected
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    Pending,
    /// Confirmed with verified evidence.
    Done,
    /// Confirmed as success, but the read-back did not prove it: not enough to close.
    Unverified,
    Failed,
    ManualRequired,
    SkippedProtected,
}

/// Per-target status and evidence.
///
/// The verifier holds one per target of every live case, most of them `pending`: the large parts
/// a pending status lacks (`worker`, `signed`) are boxed so they cost a pointer until set, and
/// strings never edited in place are `Box<str>` (no spare capacity word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetStatus {
    pub state: TargetState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// From `effective_at` to the last object's `removed_at` (or the confirmation time when
    /// nothing had to be removed), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_revoke_ms: Option<i64>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<Box<WorkerInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Box<str>>,
    #[serde(default)]
    pub objects: Vec<ObjectEvidence>,
    /// Earlier reports this one replaced (a failure before a retry succeeded, a manual-step
    /// escalation before a person's `case ack`), newest last, at most `SUPERSEDED_KEPT`: the
    /// evidence of what went wrong stays in the record.
    #[serde(default, skip_serializing_if = "RareList::is_empty")]
    pub superseded: RareList<TargetStatus>,
    /// Workers' reports that arrived after a person had already acknowledged this target
    /// (`case ack`): kept as evidence next to the acknowledgement, they change nothing. In order
    /// of their finish time, at most `SUPERSEDED_KEPT`.
    #[serde(default, skip_serializing_if = "RareList::is_empty")]
    pub late: RareList<TargetStatus>,
    /// How many times the verifier ran this target again after a transient failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrives: u32,
    /// When the verifier runs this target again (a `failed` report whose errors were transient,
    /// while `verifier.redrive_after_secs` has steps left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_at: Option<DateTime<Utc>>,
    /// What, besides this status, rebuilds the worker's report byte for byte, with its fleet
    /// signature: a restore request carries the report back, so workers can check they revoked
    /// what they are asked to give back, and `revoke case --verify` checks its Ed25519 signature
    /// offline. Set when the report carried a fleet HMAC or an Ed25519 signature; absent for
    /// unsigned reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Box<SignedReport>>,
    /// For a person's acknowledgement (`case ack`): whether the verifier proved it theirs
    /// (signed with their current key, holding the attester role) or took it as free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticity: Option<crate::contract::Authenticity>,
    /// For a step (`Case::steps`) done on a person's word: their attestation as published, with
    /// its signature, and how far it was proven theirs. Absent for targets and pending steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Box<crate::contract::AttestedStep>>,
}

/// The parts of a signed worker report a target status does not hold (see `TargetStatus::signed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedReport {
    pub confirmation_id: Uuid,
    pub case_id: Uuid,
    pub event_id: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub retryable: bool,
    #[serde(default)]
    pub redrive: u32,
    /// The replay the report answers (`Confirmation::replay`), for a replay case's report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Uuid>,
    /// The fleet's HMAC of the report as written (`revoke_fleet_signature` header); empty when
    /// the report carried none (a person's acknowledgement, or a report with only its Ed25519
    /// `record_signature`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
    /// The report's Ed25519 signature (`Confirmation::signature`: a worker's under the fleet's
    /// worker key, or a person's on an acknowledgement), so the report rebuilt from this status
    /// can be checked offline with the published public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_signature: Option<crate::contract::RecordSignature>,
}

impl TargetStatus {
    /// The worker's report this status was made from, as it was signed, with its fleet
    /// signature (none for a person's acknowledgement).
    pub fn signed_report(
        &self,
        identity_id: &str,
        kind: TargetKind,
    ) -> Option<(crate::contract::Confirmation, String)> {
        let s = self.signed.as_ref().filter(|s| !s.signature.is_empty())?;
        Some((self.rebuilt_report(identity_id, kind)?, s.signature.clone()))
    }

    /// The report (a worker's, or a person's acknowledgement) this status was made from, as it
    /// was published: with its `signature`, it verifies offline.
    pub fn rebuilt_report(
        &self,
        identity_id: &str,
        kind: TargetKind,
    ) -> Option<crate::contract::Confirmation> {
        let s = self.signed.as_ref()?;
        let c = crate::contract::Confirmation {
            schema: crate::contract::CONFIRMATION_SCHEMA.into(),
            confirmation_id: s.confirmation_id,
            case_id: s.case_id,
            identity_id: identity_id.to_string(),
            event_id: s.event_id.clone(),
            target: crate::contract::TargetRef {
                kind,
                instance: self.instance.as_deref()?.into(),
            },
            outcome: self.outcome?,
            objects: self.objects.clone(),
            attempts: self.attempts,
            error: self.error.as_deref().map(Into::into),
            retryable: s.retryable,
            redrive: s.redrive,
            replay: s.replay,
            worker: self.worker.as_deref()?.clone(),
            started_at: s.started_at,
            finished_at: self.confirmed_at?,
            fleet_signature: None,
            signature: s.record_signature.clone(),
            authenticity: None,
        };
        Some(c)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How many replaced (or late) reports a target keeps (bounded: the verifier holds open cases
/// in memory).
pub const SUPERSEDED_KEPT: usize = 3;

/// `target.instance` of a confirmation recorded by a person (`revoke case ack`), and so of the
/// target status it made done.
pub const MANUAL_INSTANCE: &str = "manual";

impl TargetStatus {
    pub fn pending() -> TargetStatus {
        TargetStatus {
            state: TargetState::Pending,
            outcome: None,
            instance: None,
            confirmed_at: None,
            time_to_revoke_ms: None,
            attempts: 0,
            worker: None,
            error: None,
            objects: Vec::new(),
            superseded: RareList::new(),
            late: RareList::new(),
            redrives: 0,
            redrive_at: None,
            signed: None,
            authenticity: None,
            attestation: None,
        }
    }

    /// Whether a person's acknowledgement (not a worker) made this target what it is.
    pub fn is_acknowledged(&self) -> bool {
        self.instance.as_deref() == Some(MANUAL_INSTANCE)
    }

    /// This status replacing `old`: `old` (if it was a report, not `pending`) joins the kept
    /// history, oldest dropped first.
    pub fn replacing(mut self, old: Option<TargetStatus>) -> TargetStatus {
        if let Some(mut old) = old {
            let mut history = std::mem::take(&mut old.superseded);
            if old.state != TargetState::Pending {
                history.push(old);
            }
            history.keep_last(SUPERSEDED_KEPT);
            self.superseded = history;
        }
        self
    }

    /// Keeps `report`, a worker's confirmation that arrived after this target was already done,
    /// as evidence (`late`); the status itself does not change. Returns false, recording nothing,
    /// when `report` finished no later than the newest late report kept: a replay, or older news
    /// than the record already holds (so a replay never publishes, even once the oldest were
    /// dropped).
    pub fn record_late(&mut self, mut report: TargetStatus) -> bool {
        if self
            .late
            .last()
            .is_some_and(|newest| report.confirmed_at <= newest.confirmed_at)
        {
            return false;
        }
        report.superseded.clear();
        report.late.clear();
        self.late.push(report);
        self.late.keep_last(SUPERSEDED_KEPT);
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EscalationRecord {
    pub escalation_id: Uuid,
    pub reason: EscalationReason,
    pub targets: Vec<TargetKind>,
    /// The steps (`Case::steps`) the escalation is about, by name (a step's SLA, a deadline
    /// passed with steps pending, a rejected review reopening them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    pub owner: Owner,
    /// 0 for the control owner, n for the n-th further person on the escalation path (see
    /// `Escalation::level`); 0 in records written before escalation paths existed.
    #[serde(default)]
    pub level: u32,
    pub raised_at: DateTime<Utc>,
    pub detail: String,
}

/// The verifier holds every live case in memory: parts most cases never get (`rescind`,
/// `restore_guard`, and `guard` when the guard is off) are boxed, a pointer until set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Case {
    pub schema: String,
    pub case_id: Uuid,
    pub identity_id: String,
    pub state: CaseState,
    /// Increases by one with every published version of this case.
    pub revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// The HR event: id, source and the people who asked for and approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<DateTime<Utc>>,
    /// When the verifier first saw anything of this case.
    pub opened_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub required_targets: Vec<TargetKind>,
    /// A JSON object in target order, as a `BTreeMap` writes it (see `VecMap`).
    pub targets: VecMap<TargetKind, TargetStatus>,
    #[serde(default)]
    pub escalations: Vec<EscalationRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// When the verifier reached the current state.
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescinded_by: Option<String>,
    /// After a rescind: each target's report of what it gave back and what it could not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<RestoreReport>,
    /// The blast-radius guard's verdict: released, or held in a batch and then approved or
    /// rejected by a person. Absent when the guard is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Box<crate::contract::CaseGuard>>,
    /// The HR event's own `time` (when HR issued the termination): a rescind that does not name
    /// its termination only ever applies to one issued before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_time: Option<DateTime<Utc>>,
    /// Further terminations of the same person that arrived while this case was live: they
    /// joined it instead of opening a parallel case (one person, one case). At most
    /// `JOINED_KEPT`; `joined_more` counts the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joined: Vec<JoinedTermination>,
    #[serde(default, skip_serializing_if = "is_zero64")]
    pub joined_more: u64,
    /// The rescind that cancelled this case's own termination (its source and id are the
    /// rescind's idempotency key: the same rescind again changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescind: Option<Box<RescindRef>>,
    /// Why nothing was given back after a rescind: another termination of the person stands
    /// (restores are grants; a person decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_withheld: Option<String>,
    /// The blast-radius guard's verdict on giving access back after a rescind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_guard: Option<Box<crate::contract::CaseGuard>>,
    /// After the case closed: access seen again (`revoke verify`, the watch), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::contract::AccessFinding>,
    /// Shared Signals delivery per receiver: which SETs (jti) each accepted, and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<crate::contract::SignalDelivery>,
    /// The offboarding steps without an API (`[steps.<name>]`) this case requires, by name: each
    /// pending until a person with the `attester` role acknowledges it (`case ack --step`).
    #[serde(default, skip_serializing_if = "VecMap::is_empty")]
    pub steps: VecMap<String, TargetStatus>,
    /// The closure review, when the case needs one (`verifier.closure_review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<crate::contract::CaseReview>>,
    /// A replay case (`revoke replay`): which case's termination it re-drives, at whose request.
    /// Absent on every other case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Box<crate::contract::CaseReplay>>,
    /// The digest (`sha256:<hex>`) of the previous version of this case as published: versions
    /// form a chain, so an altered, removed or reordered version is found
    /// (`revoke case --verify`). Absent on a case's first version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_digest: Option<String>,
    /// The verifier's signature over this version (`crate::signing::record`), set as it is
    /// published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Box<crate::contract::RecordSignature>>,
}

/// A rescind that took effect: who sent it (source, id: its idempotency key), when HR issued
/// it, who asked, and when the verifier applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RescindRef {
    pub source: String,
    pub event_id: String,
    pub time: DateTime<Utc>,
    pub by: String,
    pub applied_at: DateTime<Utc>,
}

/// A further termination of the case's person, joined into the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JoinedTermination {
    pub source: String,
    pub event_id: String,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<DateTime<Utc>>,
    pub joined_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescind: Option<RescindRef>,
}

/// How many joined terminations a case records one by one (the verifier holds live cases in
/// memory; HR systems that re-send in a loop must not grow them).
pub const JOINED_KEPT: usize = 16;

fn is_zero64(n: &u64) -> bool {
    *n == 0
}

impl Case {
    /// A case just opened for `identity_id` at `now`: pending, every required target pending,
    /// nothing yet known of its termination, nothing escalated, rescinded or guarded.
    pub fn opened(
        case_id: Uuid,
        identity_id: &str,
        required_targets: Vec<TargetKind>,
        now: DateTime<Utc>,
    ) -> Case {
        Case {
            schema: CASE_SCHEMA.into(),
            case_id,
            identity_id: identity_id.to_string(),
            state: CaseState::Pending,
            revision: 0,
            identity: None,
            event_id: None,
            source: None,
            reason: None,
            requested_by: None,
            approved_by: None,
            effective_at: None,
            opened_at: now,
            deadline: None,
            targets: required_targets
                .iter()
                .map(|t| (*t, TargetStatus::pending()))
                .collect(),
            required_targets,
            escalations: Vec::new(),
            closed_at: None,
            updated_at: now,
            rescinded_by: None,
            restored: Vec::new(),
            guard: None,
            hr_time: None,
            joined: Vec::new(),
            joined_more: 0,
            rescind: None,
            restore_withheld: None,
            restore_guard: None,
            findings: Vec::new(),
            signals: Vec::new(),
            steps: VecMap::new(),
            review: None,
            replay: None,
            prev_digest: None,
            signature: None,
        }
    }

    /// Whether any of these targets or steps is not done yet (one the case does not track counts
    /// as not done): what keeps an escalation naming them open.
    pub fn any_unfinished(&self, targets: &[TargetKind], steps: &[String]) -> bool {
        targets.iter().any(|t| {
            self.targets
                .get(t)
                .is_none_or(|s| s.state != TargetState::Done)
        }) || steps.iter().any(|n| {
            self.steps
                .get(n)
                .is_none_or(|s| s.state != TargetState::Done)
        })
    }

    /// From the termination's effective time to closing, in milliseconds.
    pub fn time_to_close_ms(&self) -> Option<i64> {
        Some((self.closed_at? - self.effective_at?).num_milliseconds())
    }
}

#[cfg(test)]
mod wire_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Escalation, IdentityKind, ESCALATION_SCHEMA};

    fn sample() -> Case {
        let now = Utc::now();
        let owner = Owner {
            name: "vault-team".into(),
            contact: "vault@example.com".into(),
        };
        Case {
            state: CaseState::Escalated,
            revision: 3,
            identity: Some(Identity {
                employee_id: "E1".into(),
                email: None,
                username: Some("ada".into()),
                kind: IdentityKind::Contractor,
            }),
            event_id: Some("evt-1".into()),
            source: Some("urn:hr".into()),
            requested_by: Some("hr:bob".into()),
            effective_at: Some(now),
            deadline: Some(now),
            escalations: vec![EscalationRecord {
                escalation_id: Escalation::id_for(
                    Uuid::nil(),
                    EscalationReason::DeadlinePassed,
                    &[TargetKind::Vault],
                ),
                reason: EscalationReason::DeadlinePassed,
                targets: vec![TargetKind::Vault],
                steps: Vec::new(),
                owner,
                level: 0,
                raised_at: now,
                detail: "deadline passed".into(),
            }],
            ..Case::opened(Uuid::new_v4(), "E1", vec![TargetKind::Vault], now)
        }
    }

    #[test]
    fn case_round_trip_and_wire_names() {
        let c = sample();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["state"], "escalated");
        assert_eq!(v["targets"]["vault"]["state"], "pending");
        assert_eq!(v["escalations"][0]["reason"], "deadline_passed");
        assert!(v.get("closed_at").is_none(), "absent optionals are omitted");
        assert_eq!(serde_json::from_value::<Case>(v).unwrap(), c);
    }

    #[test]
    fn unknown_state_is_rejected() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["state"] = "maybe".into();
        assert!(serde_json::from_value::<Case>(v).is_err());
    }

    #[test]
    fn escalation_round_trip_and_deterministic_id() {
        let case_id = Uuid::new_v4();
        let id = Escalation::id_for(
            case_id,
            EscalationReason::TargetFailed,
            &[TargetKind::Cloud],
        );
        assert_eq!(
            id,
            Escalation::id_for(
                case_id,
                EscalationReason::TargetFailed,
                &[TargetKind::Cloud]
            )
        );
        assert_ne!(
            id,
            Escalation::id_for(
                case_id,
                EscalationReason::TargetFailed,
                &[TargetKind::Vault]
            )
        );
        assert_ne!(
            id,
            Escalation::id_for(
                case_id,
                EscalationReason::ManualRequired,
                &[TargetKind::Cloud]
            )
        );
        let e = Escalation {
            schema: ESCALATION_SCHEMA.into(),
            escalation_id: id,
            case_id,
            identity_id: "E1".into(),
            reason: EscalationReason::TargetFailed,
            targets: vec![TargetKind::Cloud],
            steps: Vec::new(),
            owner: Owner {
                name: "cloud".into(),
                contact: "c@example.com".into(),
            },
            level: 2,
            deadline: None,
            raised_at: Utc::now(),
            detail: "403".into(),
            evidence: vec!["cloud: failed".into()],
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["reason"], "target_failed");
        assert_eq!(v["level"], 2);
        assert_eq!(serde_json::from_value::<Escalation>(v).unwrap(), e);
    }

    #[test]
    fn escalation_levels_have_their_own_ids_and_old_records_read_as_level_0() {
        let case_id = Uuid::new_v4();
        let targets = [TargetKind::Vault];
        let r = EscalationReason::TargetFailed;
        // Level 0 keeps the id escalations had before paths existed.
        assert_eq!(
            Escalation::id_at(case_id, r, &targets, 0),
            Escalation::id_for(case_id, r, &targets)
        );
        let levels: std::collections::HashSet<Uuid> = (0..4)
            .map(|l| Escalation::id_at(case_id, r, &targets, l))
            .collect();
        assert_eq!(levels.len(), 4);
        assert_eq!(
            Escalation::id_at(case_id, r, &targets, 1),
            Escalation::id_at(case_id, r, &targets, 1)
        );

        // A case record and an escalation as written by an earlier release (no `level`).
        let mut v = serde_json::to_value(sample()).unwrap();
        v["escalations"][0].as_object_mut().unwrap().remove("level");
        let c: Case = serde_json::from_value(v).unwrap();
        assert_eq!(c.escalations[0].level, 0);
        let old = serde_json::json!({
            "schema": ESCALATION_SCHEMA, "escalation_id": Uuid::nil(), "case_id": Uuid::nil(),
            "identity_id": "E1", "reason": "deadline_passed", "targets": ["vault"],
            "owner": {"name": "o", "contact": "c"}, "raised_at": "2026-11-24T09:00:00Z",
            "detail": "d", "evidence": []
        });
        assert_eq!(serde_json::from_value::<Escalation>(old).unwrap().level, 0);
    }

    #[test]
    fn late_reports_are_kept_apart_bounded_and_replays_record_nothing() {
        let t = |s: i64| {
            let mut st = TargetStatus::pending();
            st.state = TargetState::Done;
            st.confirmed_at = Some(DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s));
            st
        };
        let mut acked = t(100);
        acked.instance = Some(MANUAL_INSTANCE.into());
        assert!(acked.is_acknowledged() && !t(1).is_acknowledged());
        assert!(
            acked.record_late(t(50)),
            "late by arrival, not by finish time"
        );
        assert!(!acked.record_late(t(50)), "the same report again");
        for s in [60, 70, 80] {
            assert!(acked.record_late(t(s)));
        }
        assert_eq!(acked.late.len(), SUPERSEDED_KEPT);
        assert_eq!(acked.late[0].confirmed_at, t(60).confirmed_at);
        // The dropped oldest, replayed, does not come back.
        assert!(!acked.record_late(t(50)));
        assert_eq!(acked.state, TargetState::Done);
        assert_eq!(acked.confirmed_at, t(100).confirmed_at);
        let v = serde_json::to_value(&acked).unwrap();
        assert_eq!(v["late"].as_array().unwrap().len(), 3);
        assert!(serde_json::to_value(t(1)).unwrap().get("late").is_none());
    }
}
