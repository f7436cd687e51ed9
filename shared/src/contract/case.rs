//! `revoke.cases` (compacted, key = case id): the verifier's record of one offboarding.
//!
//! This is both the auditor's view and the verifier's changelog: a restarted verifier rebuilds
//! its state from these records, so everything the state machine needs is in here.

use super::{
    EscalationReason, Identity, ObjectEvidence, Outcome, Owner, RestoreReport, TargetKind,
    WorkerInfo,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub const CASE_SCHEMA: &str = "revoke.case.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Confirmations arrived but the termination itself has not been seen yet.
    Pending,
    Open,
    Closed,
    Escalated,
    Held,
    Scheduled,
    Rescinded,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Pending => "pending",
            CaseState::Open => "open",
            CaseState::Closed => "closed",
            CaseState::Escalated => "escalated",
            CaseState::Held => "held",
            CaseState::Scheduled => "scheduled",
            CaseState::Rescinded => "rescinded",
        }
    }

    /// No further automatic transition is expected (a late confirmation may still close an
    /// escalated case).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Escalated | CaseState::Rescinded
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub state: TargetState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// From `effective_at` to the last object's `removed_at` (or the confirmation time when
    /// nothing had to be removed), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_revoke_ms: Option<i64>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub objects: Vec<ObjectEvidence>,
    /// Earlier reports this one replaced (a failure before a retry succeeded, a manual-step
    /// escalation before a person's `case ack`), newest last, at most `SUPERSEDED_KEPT`: the
    /// evidence of what went wrong stays in the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<TargetStatus>,
}

/// How many replaced reports a target keeps (bounded: the verifier holds open cases in memory).
pub const SUPERSEDED_KEPT: usize = 3;

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
            superseded: Vec::new(),
        }
    }

    /// This status replacing `old`: `old` (if it was a report, not `pending`) joins the kept
    /// history, oldest dropped first.
    pub fn replacing(mut self, old: Option<TargetStatus>) -> TargetStatus {
        if let Some(mut old) = old {
            let mut history = std::mem::take(&mut old.superseded);
            if old.state != TargetState::Pending {
                history.push(old);
            }
            let drop = history.len().saturating_sub(SUPERSEDED_KEPT);
            history.drain(..drop);
            self.superseded = history;
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRecord {
    pub escalation_id: Uuid,
    pub reason: EscalationReason,
    pub targets: Vec<TargetKind>,
    pub owner: Owner,
    pub raised_at: DateTime<Utc>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub targets: BTreeMap<TargetKind, TargetStatus>,
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
}

impl Case {
    /// From the termination's effective time to closing, in milliseconds.
    pub fn time_to_close_ms(&self) -> Option<i64> {
        Some((self.closed_at? - self.effective_at?).num_milliseconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Escalation, IdentityKind, ESCALATION_SCHEMA};

    fn sample() -> Case {
        let now = Utc::now();
        let mut targets = BTreeMap::new();
        targets.insert(TargetKind::Vault, TargetStatus::pending());
        let owner = Owner {
            name: "vault-team".into(),
            contact: "vault@example.com".into(),
        };
        Case {
            schema: CASE_SCHEMA.into(),
            case_id: Uuid::new_v4(),
            identity_id: "E1".into(),
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
            reason: None,
            requested_by: Some("hr:bob".into()),
            approved_by: None,
            effective_at: Some(now),
            opened_at: now,
            deadline: Some(now),
            required_targets: vec![TargetKind::Vault],
            targets,
            escalations: vec![EscalationRecord {
                escalation_id: Escalation::id_for(
                    Uuid::nil(),
                    EscalationReason::DeadlinePassed,
                    &[TargetKind::Vault],
                ),
                reason: EscalationReason::DeadlinePassed,
                targets: vec![TargetKind::Vault],
                owner,
                raised_at: now,
                detail: "deadline passed".into(),
            }],
            closed_at: None,
            updated_at: now,
            rescinded_by: None,
            restored: Vec::new(),
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
            owner: Owner {
                name: "cloud".into(),
                contact: "c@example.com".into(),
            },
            deadline: None,
            raised_at: Utc::now(),
            detail: "403".into(),
            evidence: vec!["cloud: failed".into()],
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["reason"], "target_failed");
        assert_eq!(serde_json::from_value::<Escalation>(v).unwrap(), e);
    }
}
