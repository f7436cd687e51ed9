//! Undoing a revocation after a rescind: the verifier's request to one target's workers
//! (`revoke.restores`) and their report back (`revoke.confirmations`, told apart by `schema`).

use super::{Actor, Identity, ObjectEvidence, TargetKind, TargetRef, WorkerInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const RESTORE_REQUEST_SCHEMA: &str = "revoke.restore_request.v1";
pub const RESTORE_REPORT_SCHEMA: &str = "revoke.restore_report.v1";

/// "Give back what this case took on `target`": the evidence the target's confirmation recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RestoreRequest {
    pub schema: String,
    /// Deterministic per (case, target): a re-sent request is recognisably the same.
    pub request_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    pub identity: Identity,
    pub target: TargetKind,
    /// Who rescinded (the rescind's `requested_by`, else its source).
    pub rescinded_by: String,
    /// The confirmation's objects; workers restore only those it revoked.
    pub objects: Vec<ObjectEvidence>,
    pub requested_at: DateTime<Utc>,
    /// The worker's own report of the revocation, exactly as it signed it, and that signature:
    /// with signing required, workers give back only objects a report they can verify says they
    /// revoked for this identity (`restore_not_ours` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<crate::contract::Confirmation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_signature: Option<String>,
}

impl RestoreRequest {
    pub fn id_for(case_id: Uuid, target: TargetKind) -> Uuid {
        Uuid::new_v5(&case_id, format!("restore/{target}").as_bytes())
    }
}

/// A worker's claim on a restore request before it carries it out, on `revoke.restores.claims`
/// (one partition: one order for the whole fleet). A request is carried out only by the first
/// claim of its `(request_id, requested_at)`; a later claim from another record of
/// `revoke.restores` is a copy (`restore_replayed`), one from the same record its redelivery
/// (which runs again, unless that record's claim is `done`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RestoreClaim {
    pub schema: String,
    pub request_id: Uuid,
    pub requested_at: DateTime<Utc>,
    /// The record of `revoke.restores` that carried the request: `partition/offset`.
    pub record: String,
    pub worker: WorkerInfo,
    pub claimed_at: DateTime<Utc>,
    /// Written after the request's report was acknowledged: a redelivery of the same record
    /// then has nothing left to do.
    #[serde(default)]
    pub done: bool,
}

pub const RESTORE_CLAIM_SCHEMA: &str = "revoke.restore_claim.v1";

/// What happened to one object on restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreOutcome {
    Restored,
    AlreadyPresent,
    /// The action cannot be undone (deleted key, revoked token): a person re-issues it.
    Irreversible,
    /// The target refused or kept failing: a person must restore it.
    Failed,
    /// Not given back: the object does not belong to the identity named (the request may be
    /// forged or misdirected). Nothing was changed at the target.
    Refused,
    /// Not given back although it is the identity's: another person's revocation stands on it
    /// (a credential two people sponsor, the other sponsor revoked at the target). It stays
    /// revoked; a person decides.
    Withheld,
}

impl RestoreOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreOutcome::Restored => "restored",
            RestoreOutcome::AlreadyPresent => "already_present",
            RestoreOutcome::Irreversible => "irreversible",
            RestoreOutcome::Failed => "failed",
            RestoreOutcome::Refused => "refused",
            RestoreOutcome::Withheld => "withheld",
        }
    }

    /// The access is back (or was never gone).
    pub fn is_back(self) -> bool {
        matches!(
            self,
            RestoreOutcome::Restored | RestoreOutcome::AlreadyPresent
        )
    }
}

/// Evidence for one object's restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RestoredObject {
    pub object_kind: String,
    pub object_id: String,
    #[serde(default)]
    pub sponsored: bool,
    /// The revocation action this undid (`lock`, `remove_membership`, …).
    pub undoes: String,
    pub outcome: RestoreOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<DateTime<Utc>>,
    pub actor: Actor,
    /// Why it is irreversible, or the error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl RestoredObject {
    /// One line for people: what, where, how it ended and why.
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({}): {}",
            self.object_kind,
            self.object_id,
            self.outcome.as_str(),
            self.detail
        )
    }
}

/// A target worker's answer to a `RestoreRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RestoreReport {
    pub schema: String,
    pub request_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    pub target: TargetRef,
    pub objects: Vec<RestoredObject>,
    pub worker: WorkerInfo,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

impl RestoreReport {
    /// Objects a person must still deal with (irreversible or failed).
    pub fn left_for_a_person(&self) -> impl Iterator<Item = &RestoredObject> {
        self.objects.iter().filter(|o| !o.outcome.is_back())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_names_are_snake_case() {
        let case = Uuid::new_v4();
        assert_eq!(
            RestoreRequest::id_for(case, TargetKind::Saas),
            RestoreRequest::id_for(case, TargetKind::Saas)
        );
        assert_ne!(
            RestoreRequest::id_for(case, TargetKind::Saas),
            RestoreRequest::id_for(case, TargetKind::Vault)
        );
        assert_eq!(
            serde_json::to_value(RestoreOutcome::AlreadyPresent).unwrap(),
            "already_present"
        );
        assert!(RestoreOutcome::Restored.is_back() && !RestoreOutcome::Irreversible.is_back());
        // A withheld object is left for a person (escalated as restore_incomplete).
        assert!(!RestoreOutcome::Withheld.is_back());
        assert_eq!(
            serde_json::to_value(RestoreOutcome::Withheld).unwrap(),
            RestoreOutcome::Withheld.as_str()
        );
    }
}
