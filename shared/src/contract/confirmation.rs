//! `revoke.confirmations`: what one target worker did for one case, with per-object evidence.

use super::TargetKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CONFIRMATION_SCHEMA: &str = "revoke.confirmation.v1";

/// The worker's verdict for the whole target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectOutcome {
    Revoked,
    AlreadyAbsent,
    Failed,
    ManualRequired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetRef {
    pub kind: TargetKind,
    /// Which configured instance of that kind (e.g. one of several SaaS tenants).
    pub instance: String,
}

/// Who acted: the worker process and the principal of the credential it used at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Actor {
    pub worker_id: String,
    pub principal: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkerInfo {
    pub id: String,
    pub version: String,
}

/// How the evidence for one object came to be: what it may claim.
///
/// "Verified" is reserved for what a worker read back from the target; a person's statement is
/// an attestation and says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// A worker read the object back from the target after acting and saw the access gone.
    Observed,
    /// A person's statement (`revoke case ack`): recorded, never proven by read-back.
    Attested,
    /// Nobody looked: the action failed, or the read-back did not show the access gone.
    NotChecked,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Observed => "observed",
            Provenance::Attested => "attested",
            Provenance::NotChecked => "not_checked",
        }
    }
}

/// `ObjectEvidence::object_kind` of a person's acknowledgement (`revoke case ack`).
pub const MANUAL_OBJECT_KIND: &str = "manual_step";
/// `ObjectEvidence::action` of a person's acknowledgement.
pub const MANUAL_ACTION: &str = "manual_ack";

/// Evidence for one object touched (or found already gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "EvidenceRecord")]
pub struct ObjectEvidence {
    /// e.g. `account`, `group_membership`, `access_key`, `token`, `session`, `ssh_key`.
    pub object_kind: String,
    pub object_id: String,
    /// True when the object is a non-human credential the leaver sponsored.
    pub sponsored: bool,
    /// e.g. `lock`, `remove_membership`, `deactivate`, `delete`, `revoke`, `none`.
    pub action: String,
    pub outcome: ObjectOutcome,
    /// The target's own timestamp where it gives one, else the time of the successful read-back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<DateTime<Utc>>,
    pub actor: Actor,
    /// True only when a read-back after the action showed the access gone (so never for a
    /// person's acknowledgement).
    pub verified: bool,
    /// Where this evidence comes from; see [`Provenance`]. Only `observed` evidence verifies.
    pub provenance: Provenance,
    /// What the read-back showed, in words.
    pub read_back: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ObjectEvidence {
    /// A person's acknowledgement (`manual_step` / `manual_ack`), whatever its provenance says.
    pub fn is_manual(&self) -> bool {
        self.object_kind == MANUAL_OBJECT_KIND && self.action == MANUAL_ACTION
    }

    /// The provenance a record written before the field existed stands for: a person's
    /// acknowledgement is `attested` (those records said `verified: true` for it, which claimed
    /// too much); otherwise `verified` meant a worker's read-back showed the access gone
    /// (`observed`); anything else was `not_checked`.
    pub fn derived_provenance(&self) -> Provenance {
        if self.is_manual() {
            Provenance::Attested
        } else if self.verified {
            Provenance::Observed
        } else {
            Provenance::NotChecked
        }
    }

    /// Proven gone by a worker's read-back: `observed` and verified.
    pub fn is_observed(&self) -> bool {
        self.provenance == Provenance::Observed && self.verified
    }
}

/// Who attested these objects (the first `attested` object's person), if any is attested: a
/// target whose evidence has one was closed (or is held open) on a person's word.
pub fn attested_by(objects: &[ObjectEvidence]) -> Option<&str> {
    objects
        .iter()
        .find(|o| o.provenance == Provenance::Attested)
        .map(|o| o.actor.principal.as_str())
}

/// `ObjectEvidence` as stored, where `provenance` may be missing (records written before it
/// existed): it is then derived by [`ObjectEvidence::derived_provenance`], and an
/// acknowledgement's old `verified: true` is dropped (it was a person's word, not a read-back).
#[derive(Deserialize, schemars::JsonSchema)]
struct EvidenceRecord {
    object_kind: String,
    object_id: String,
    #[serde(default)]
    sponsored: bool,
    action: String,
    outcome: ObjectOutcome,
    #[serde(default)]
    removed_at: Option<DateTime<Utc>>,
    actor: Actor,
    verified: bool,
    #[serde(default)]
    provenance: Option<Provenance>,
    read_back: String,
    #[serde(default)]
    error: Option<String>,
}

impl From<EvidenceRecord> for ObjectEvidence {
    fn from(r: EvidenceRecord) -> ObjectEvidence {
        let mut e = ObjectEvidence {
            object_kind: r.object_kind,
            object_id: r.object_id,
            sponsored: r.sponsored,
            action: r.action,
            outcome: r.outcome,
            removed_at: r.removed_at,
            actor: r.actor,
            verified: r.verified,
            provenance: Provenance::NotChecked,
            read_back: r.read_back,
            error: r.error,
        };
        e.provenance = r.provenance.unwrap_or_else(|| e.derived_provenance());
        if e.provenance != Provenance::Observed {
            // Only a read-back verifies, whatever an old or hand-made record claims.
            e.verified = false;
        }
        e
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The replay this run answers (`REPLAY_HEADER` of the due record, `revoke replay`): the
    /// report is on the replay case (`case_id`), and says it is a replay. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Uuid>,
    pub worker: WorkerInfo,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The worker's fleet signature of this report as it was written (the record's
    /// `revoke_fleet_signature` header, set by the reader; never part of the JSON). A restore
    /// request carries it back to the workers, which give back only what a report they can
    /// verify says they revoked.
    #[serde(skip)]
    pub fleet_signature: Option<String>,
    /// The Ed25519 signature of the record (`crate::signing::record`): a worker's, under the
    /// fleet's worker key, or — for a person's acknowledgement (`revoke case ack`) — that
    /// person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<super::RecordSignature>,
    /// For a person's acknowledgement: how far the verifier proved it theirs
    /// (`signing::check_decision`, set when it was read; never part of the JSON).
    #[serde(skip)]
    pub authenticity: Option<super::Authenticity>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Verified means: every object the worker reports as gone was proven gone by a worker's
    /// read-back (`observed`). A person's acknowledgement never verifies: see [`Self::is_attested`].
    pub fn is_verified(&self) -> bool {
        self.outcome.is_success()
            && self.objects.iter().all(|o| {
                o.is_observed()
                    && matches!(
                        o.outcome,
                        ObjectOutcome::Revoked | ObjectOutcome::AlreadyAbsent
                    )
            })
    }

    /// A success a person stated: at least one object is `attested`, and every other one was
    /// observed gone. Whether it may close the target is the verifier's policy
    /// (`verifier.attestation_allowed`).
    pub fn is_attested(&self) -> bool {
        self.outcome.is_success()
            && self
                .objects
                .iter()
                .any(|o| o.provenance == Provenance::Attested)
            && self.objects.iter().all(|o| {
                (o.provenance == Provenance::Attested || o.is_observed())
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
                provenance: if verified {
                    Provenance::Observed
                } else {
                    Provenance::NotChecked
                },
                read_back: "lookup-accessor: not found".into(),
                error: None,
            }],
            attempts: 1,
            error: None,
            retryable: false,
            redrive: 0,
            replay: None,
            worker: WorkerInfo {
                id: "w1".into(),
                version: "0.1.0".into(),
            },
            started_at: now,
            finished_at: now,
            fleet_signature: None,
            authenticity: None,
            signature: None,
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
    fn provenance_is_written_and_read_back_as_is() {
        let c = sample(Outcome::Revoked, true);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["objects"][0]["provenance"], "observed");
        let mut v = serde_json::to_value(sample(Outcome::Revoked, false)).unwrap();
        assert_eq!(v["objects"][0]["provenance"], "not_checked");
        v["objects"][0]["provenance"] = "attested".into();
        let back: Confirmation = serde_json::from_value(v).unwrap();
        assert_eq!(back.objects[0].provenance, Provenance::Attested);
        assert!(!back.is_verified());
        assert!(back.is_attested());
    }

    /// Records written before `provenance` existed: derived from `verified` and the ack markers.
    #[test]
    fn old_records_derive_provenance() {
        let old = |verified: bool, kind: &str, action: &str| {
            let mut v = serde_json::to_value(sample(Outcome::Revoked, verified)).unwrap();
            let o = v["objects"][0].as_object_mut().unwrap();
            o.remove("provenance");
            o.insert("object_kind".into(), kind.into());
            o.insert("action".into(), action.into());
            serde_json::from_value::<Confirmation>(v).unwrap()
        };
        let worker = old(true, "token", "revoke");
        assert_eq!(worker.objects[0].provenance, Provenance::Observed);
        assert!(worker.is_verified());
        let unproven = old(false, "token", "revoke");
        assert_eq!(unproven.objects[0].provenance, Provenance::NotChecked);
        // An old acknowledgement said `verified: true`: it was a person's word, never a read-back.
        let ack = old(true, MANUAL_OBJECT_KIND, MANUAL_ACTION);
        assert_eq!(ack.objects[0].provenance, Provenance::Attested);
        assert!(!ack.objects[0].verified);
        assert!(!ack.is_verified());
        assert!(ack.is_attested());
    }

    /// Claims the record cannot back are dropped: `verified` without `observed`.
    #[test]
    fn only_observed_evidence_verifies() {
        let mut v = serde_json::to_value(sample(Outcome::Revoked, true)).unwrap();
        v["objects"][0]["provenance"] = "not_checked".into();
        let c: Confirmation = serde_json::from_value(v).unwrap();
        assert!(!c.objects[0].verified);
        assert!(!c.is_verified());
        assert!(!c.is_attested());
        let mut failed = sample(Outcome::Failed, false);
        failed.objects[0].provenance = Provenance::Attested;
        assert!(!failed.is_attested());
    }

    #[test]
    fn unknown_outcome_is_rejected() {
        let mut v = serde_json::to_value(sample(Outcome::Revoked, true)).unwrap();
        v["outcome"] = "probably".into();
        assert!(serde_json::from_value::<Confirmation>(v).is_err());
    }
}
