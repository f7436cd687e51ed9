//! The blast-radius guard's log (`revoke.guard`, one partition): verifiers ask for each case to
//! be released to the workers (`Admission`), people decide on held batches (`BatchDecision`).
//! Every verifier instance reads the whole log and judges it with the same pure rules, so they
//! all agree which cases were released and which were held, in which batch.

use super::TargetKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const GUARD_SCHEMA: &str = "revoke.guard.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GuardRecord {
    pub schema: String,
    #[serde(flatten)]
    pub entry: GuardEntry,
    /// A decision's signature by the person who made it (`crate::signing::record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<super::RecordSignature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardEntry {
    Admission(Admission),
    Decision(BatchDecision),
}

/// What a case asks the guard to release: its revocation, or — after a rescind — the restore of
/// what it revoked. Restores are grants, so they pass the guard too, with their own limit.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionKind {
    #[default]
    Termination,
    Restore,
}

impl AdmissionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionKind::Termination => "termination",
            AdmissionKind::Restore => "restore",
        }
    }
}

/// A verifier asking for a case to be released to the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Admission {
    pub case_id: Uuid,
    pub identity_id: String,
    /// What it asks to release (`kind` is the record's tag). Absent in records written before
    /// restores passed the guard: a termination.
    #[serde(default, skip_serializing_if = "is_termination")]
    pub asks: AdmissionKind,
    /// The targets the case would act on (for `max_share_percent`).
    pub targets: Vec<TargetKind>,
    /// When the verifier asked; the window is counted on these times.
    pub at: DateTime<Utc>,
}

fn is_termination(k: &AdmissionKind) -> bool {
    *k == AdmissionKind::Termination
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// A person's decision on a held batch (`revoke approve|reject <batch> --by PERSON`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchDecision {
    pub batch: String,
    pub decision: Decision,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The digest of the batch's undecided cases the person was shown (`revoke guard`), for the
    /// record; the CLI refused to write the decision if it no longer matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Exactly the cases decided (after `--only`/`--except`): the decision applies to these and
    /// nothing else, so a case that joined the batch after the person looked stays held.
    /// Absent in records written before decisions listed their cases: the whole batch as it
    /// stood when the record was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<Uuid>>,
}

impl GuardRecord {
    pub fn admission(a: Admission) -> GuardRecord {
        GuardRecord {
            schema: GUARD_SCHEMA.into(),
            entry: GuardEntry::Admission(a),
            signature: None,
        }
    }

    pub fn decision(d: BatchDecision) -> GuardRecord {
        GuardRecord {
            schema: GUARD_SCHEMA.into(),
            entry: GuardEntry::Decision(d),
            signature: None,
        }
    }
}

/// What the guard did with a case, kept in the case record (the approval is evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseGuard {
    /// When the verifier (last) asked the guard to release the case.
    pub asked_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    /// The batch the case was held in, why, and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// A person's decision on the batch: who, when, with what note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the decision was proven to be `decided_by`'s (signed with their current key, by a
    /// person holding the approver role) or free text (`[signing]` not required). Absent in
    /// records written before decisions were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_authenticity: Option<super::Authenticity>,
    /// The person's signature of the decision record as it was logged, and that record's digest
    /// (`sha256:` of its canonical form): the evidence that finds the record on the guard log
    /// and verifies it offline with the person's published public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_signature: Option<Box<super::RecordSignature>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_digest: Option<String>,
}

impl CaseGuard {
    /// A case that has just asked the guard, nothing decided yet.
    pub fn asked(at: DateTime<Utc>) -> CaseGuard {
        CaseGuard {
            asked_at: at,
            released_at: None,
            batch: None,
            held_at: None,
            why: None,
            decision: None,
            decided_by: None,
            decided_at: None,
            note: None,
            decided_authenticity: None,
            decision_signature: None,
            decision_digest: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let a = GuardRecord::admission(Admission {
            case_id: Uuid::nil(),
            identity_id: "E1".into(),
            asks: AdmissionKind::Termination,
            targets: vec![TargetKind::Directory],
            at: DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
                .unwrap()
                .into(),
        });
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["schema"], GUARD_SCHEMA);
        assert_eq!(v["kind"], "admission");
        assert_eq!(v["targets"][0], "directory");
        assert!(
            v.get("asks").is_none(),
            "a termination's admission reads as before"
        );
        assert_eq!(serde_json::from_value::<GuardRecord>(v).unwrap(), a);
        let d = GuardRecord::decision(BatchDecision {
            batch: "hold-7".into(),
            decision: Decision::Reject,
            by: "alice".into(),
            at: Utc::now(),
            note: None,
            digest: None,
            cases: None,
        });
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["decision"].as_str()),
            (Some("decision"), Some("reject"))
        );
        assert!(
            v.get("cases").is_none() && v.get("digest").is_none(),
            "a whole-batch decision reads as before"
        );
        assert_eq!(serde_json::from_value::<GuardRecord>(v).unwrap(), d);
        let listed = GuardRecord::decision(BatchDecision {
            batch: "hold-7".into(),
            decision: Decision::Approve,
            by: "alice".into(),
            at: Utc::now(),
            note: None,
            digest: Some("0123456789abcdef".into()),
            cases: Some(vec![Uuid::nil()]),
        });
        let v = serde_json::to_value(&listed).unwrap();
        assert_eq!(v["cases"][0], Uuid::nil().to_string());
        assert_eq!(serde_json::from_value::<GuardRecord>(v).unwrap(), listed);
        assert!(serde_json::from_str::<GuardRecord>(
            r#"{"schema":"revoke.guard.v1","kind":"other"}"#
        )
        .is_err());
    }
}
