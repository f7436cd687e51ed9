//! Access that came back after a case closed: what `revoke watch` and `revoke verify` report on
//! the confirmations topic (keyed by identity, like the workers' reports), for the verifier to
//! record in the closed case and escalate to its owner.
//!
//! A finding is an observation at the target, never a change: the watch and the re-verification
//! only read.

use super::{TargetRef, WorkerInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ACCESS_FINDING_SCHEMA: &str = "revoke.access_finding.v1";

/// What was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An object the evidence says is gone was read back present again (an account re-enabled
    /// or re-provisioned by another system, a key re-created).
    AccessReturned,
    /// The target's own sign-in log shows a successful sign-in by the leaver after the removal.
    SignInAfterDeparture,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::AccessReturned => "access_returned",
            FindingKind::SignInAfterDeparture => "access_after_departure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccessFinding {
    pub schema: String,
    /// Deterministic (see [`AccessFinding::id_for`]): the same observation reported twice, by two
    /// watchers or after a restart, is recorded once.
    pub finding_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    pub kind: FindingKind,
    pub target: TargetRef,
    /// The object the evidence named (`access_returned`), or `sign_in` with the target's event id.
    pub object_kind: String,
    pub object_id: String,
    /// When the target says it happened (the sign-in's time), else when it was read.
    pub observed_at: DateTime<Utc>,
    /// What the read showed, in words (never a secret).
    pub read_back: String,
    /// The process that read it and the principal it read with.
    pub worker: WorkerInfo,
    pub principal: String,
}

impl AccessFinding {
    /// The id of one observation: the case, the kind, the target instance, the object, and a
    /// `mark` that tells observations of the same object apart (the sign-in's event id; for a
    /// returned object, the time of the evidence it contradicts — re-reading it again finds the
    /// same thing).
    pub fn id_for(
        case_id: Uuid,
        kind: FindingKind,
        target: &TargetRef,
        object_kind: &str,
        object_id: &str,
        mark: &str,
    ) -> Uuid {
        let name = format!(
            "{case_id}/finding/{}/{}/{}/{object_kind}/{object_id}/{mark}",
            kind.as_str(),
            target.kind.as_str(),
            target.instance
        );
        Uuid::new_v5(&case_id, name.as_bytes())
    }
}
