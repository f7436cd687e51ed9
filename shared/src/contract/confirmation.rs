//! `revoke.confirmations`: what one target worker did for one case, with per-object evidence.

use super::TargetKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CONFIRMATION_SCHEMA: &str = "revoke.confirmation.v1";

/// The worker's verdict for the whole target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Access existed and is now gone, proven by read-back.
    Revoked,
    /// Nothing to remove: the identity held nothing here (or it was already removed).
    AlreadyAbsent,
    /// An error that retries did not overcome; the escalation names it.
    Failed,
    /// The worker must not decide alone (ambiguous match, unsupported object): a person must act.
    ManualRequired,
    /// The identity is protected (break-glass, legal hold): nothing was touched.
    SkippedProtected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Revoked => "revoked",
            Outcome::AlreadyAbsent => "already_absent",
            Outcome::Failed => "failed",
            Outcome::ManualRequired => "manual_required",
            Outcome::SkippedProtected => "skipped_protected",
        }
    }

    /// Revoked or already absent: the target holds no access for the identity.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Revoked | Outcome::AlreadyAbsent)
    }
}

/// The result for one object (account, membership, key, token, sponsored credential …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectOutcome {
    Revoked,
    AlreadyAbsent,
    Failed,
    ManualRequired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    pub kind: TargetKind,
    /// Which configured instance of that kind (e.g. one of several SaaS tenants).
    pub instance: String,
}

/// Who acted: the worker process and the principal of the credential it used at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub worker_id: String,
    pub principal: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: String,
    pub version: String,
}

/// Evidence for one object touched (or found already gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEvidence {
    /// e.g. `account`, `group_membership`, `access_key`, `token`, `session`, `ssh_key`.
    pub object_kind: String,
    pub object_id: String,
    /// True when the object is a non-human credential the leaver sponsored.
    #[serde(default)]
    pub sponsored: bool,
    /// e.g. `lock`, `remove_membership`, `deactivate`, `delete`, `revoke`, `none`.
    pub action: String,
    pub outcome: ObjectOutcome,
    /// The target's own timestamp where it gives one, else the time of the successful read-back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<DateTime<Utc>>,
    pub actor: Actor,
    /// True only when a read-back after the action showed the access gone.
    pub verified: bool,
    /// What the read-back showed, in words.
    pub read_back: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub schema: String,
    /// Unique per emission (a re-run emits a new one; the verifier de-duplicates by content).
    pub confirmation_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    /// The HR event that caused this work.
    pub event_id: String,
    pub target: TargetRef,
    pub outcome: Outcome,
    pub objects: Vec<ObjectEvidence>,
    /// Calls made to the target for this case, retries included (discover, then revoke and
    /// read-back per object: a run without retries over 3 objects makes 7).
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A `failed` outcome whose errors were all transient (timeouts, 5xx, 429, connection
    /// errors) when the worker's retries ran out: the verifier may run the target again later
    /// (`verifier.redrive_after_secs`). False for permanent errors (auth, validation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
    /// Which re-drive of this target the run answers (`REDRIVE_COUNT_HEADER` of the due record);
    /// 0 for the termination itself. After re-drive n, reports of earlier runs are stale.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive: u32,
    pub worker: WorkerInfo,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The worker's fleet signature of this report as it was written (the record's
    /// `revoke_fleet_signature` header, set by the reader; never part of the JSON). A restore
    /// request carries it back to the workers, which give back only what a report they can
    /// verify says they revoked.
    #[serde(skip)]
    pub fleet_signature: Option<String>,
}

/// Kafka header on a termination the verifier re-publishes on the due topic for one target only
/// (a re-drive after a transient failure): its value is the target kind; other workers skip it.
pub const REDRIVE_TARGET_HEADER: &str = "revoke_target";

/// Kafka header on a re-drive: its number (1 for the first), echoed in the confirmation.
pub const REDRIVE_COUNT_HEADER: &str = "revoke_redrive";

/// Kafka header on a re-drive: a JSON array of [`RecheckObject`]s, the objects earlier runs of
/// this target acted on (revoked, or tried to: a call whose answer was lost may still have done
/// the work). The re-run reads back those it no longer discovers, so the closing evidence names
/// every object, not only what was left to find.
pub const RECHECK_HEADER: &str = "revoke_recheck";

/// One object an earlier run acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckObject {
    pub object_kind: String,
    pub object_id: String,
    #[serde(default)]
    pub sponsored: bool,
    pub action: String,
    /// When the earlier run saw it removed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Confirmation {
    /// Verified means: every object the worker reports as gone was proven gone by read-back.
    pub fn is_verified(&self) -> bool {
        self.outcome.is_success()
            && self.objects.iter().all(|o| {
                o.verified
                    && matches!(
                        o.outcome,
                        ObjectOutcome::Revoked | ObjectOutcome::AlreadyAbsent
                    )
            })
    }

    /// The latest removal time among the objects, if any was removed.
    pub fn last_removed_at(&self) -> Option<DateTime<Utc>> {
        self.objects.iter().filter_map(|o| o.removed_at).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(outcome: Outcome, verified: bool) -> Confirmation {
        let now = Utc::now();
        Confirmation {
            schema: CONFIRMATION_SCHEMA.into(),
            confirmation_id: Uuid::new_v4(),
            case_id: Uuid::new_v4(),
            identity_id: "E1".into(),
            event_id: "evt-1".into(),
            target: TargetRef {
                kind: TargetKind::Vault,
                instance: "default".into(),
            },
            outcome,
            objects: vec![ObjectEvidence {
                object_kind: "token".into(),
                object_id: "accessor-1".into(),
                sponsored: false,
                action: "revoke".into(),
                outcome: ObjectOutcome::Revoked,
                removed_at: Some(now),
                actor: Actor {
                    worker_id: "w1".into(),
                    principal: "svc-revoke".into(),
                },
                verified,
                read_back: "lookup-accessor: not found".into(),
                error: None,
            }],
            attempts: 1,
            error: None,
            retryable: false,
            redrive: 0,
            worker: WorkerInfo {
                id: "w1".into(),
                version: "0.1.0".into(),
            },
            started_at: now,
            finished_at: now,
            fleet_signature: None,
        }
    }

    #[test]
    fn round_trip_and_field_names() {
        let c = sample(Outcome::Revoked, true);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["outcome"], "revoked");
        assert_eq!(v["target"]["kind"], "vault");
        assert_eq!(v["objects"][0]["actor"]["principal"], "svc-revoke");
        let back: Confirmation = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn verified_needs_every_object_read_back() {
        assert!(sample(Outcome::Revoked, true).is_verified());
        assert!(!sample(Outcome::Revoked, false).is_verified());
        assert!(!sample(Outcome::Failed, true).is_verified());
        let mut empty = sample(Outcome::AlreadyAbsent, true);
        empty.objects.clear();
        assert!(empty.is_verified());
    }

    #[test]
    fn unknown_outcome_is_rejected() {
        let mut v = serde_json::to_value(sample(Outcome::Revoked, true)).unwrap();
        v["outcome"] = "probably".into();
        assert!(serde_json::from_value::<Confirmation>(v).is_err());
    }
}
