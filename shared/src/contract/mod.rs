//! Event contracts: the JSON shapes that cross topics between revoke processes.
//!
//! Every record carries a `schema` string (`revoke.<kind>.v<N>`) so that consumers can reject
//! what they do not understand instead of misreading it. HR input is CloudEvents 1.0 and carries
//! its version in the CloudEvents `type` instead.

mod case;
mod confirmation;
mod dlq;
mod escalation;
mod evidence_digest;
mod finding;
mod guard;
mod hr;
mod identity_check;
pub mod json_schema;
mod protected;
mod rare_list;
mod record_signature;
mod replay;
mod restore;
mod review;
mod signal;
mod step_attestation;
mod vec_map;

pub use case::{
    Case, CaseState, EscalationRecord, JoinedTermination, RescindRef, SignedReport, TargetState,
    TargetStatus, CASE_SCHEMA, JOINED_KEPT, MANUAL_INSTANCE, SUPERSEDED_KEPT,
};
pub use confirmation::{
    attested_by, Actor, Confirmation, ObjectEvidence, ObjectOutcome, Outcome, Provenance,
    RecheckObject, TargetRef, WorkerInfo, CONFIRMATION_SCHEMA, MANUAL_ACTION, MANUAL_OBJECT_KIND,
    RECHECK_HEADER, REDRIVE_COUNT_HEADER, REDRIVE_TARGET_HEADER,
};
pub use dlq::{DeadLetter, DLQ_SCHEMA};
pub use escalation::{Escalation, EscalationReason, Owner, ESCALATION_SCHEMA};
pub use finding::{AccessFinding, FindingKind, ACCESS_FINDING_SCHEMA};
pub use guard::{
    Admission, AdmissionKind, BatchDecision, CaseGuard, Decision, GuardEntry, GuardRecord,
    GUARD_SCHEMA,
};
pub use hr::{
    case_id_for, parse_hr_event, HrData, HrEvent, HrEventKind, Identity, IdentityKind, RawMessage,
    CE_CONTENT_TYPE_HEADER, SCHEDULE_SLACK_SECS, TYPE_RESCINDED_V1, TYPE_TERMINATION_V1,
};
pub use identity_check::{
    check_identity, check_subject, check_value, IdentityField, IdentityProblem, MAX_EMAIL_BYTES,
    MAX_ID_BYTES, MAX_USERNAME_BYTES,
};
pub use protected::{matches_protected, protected_key};
pub use rare_list::RareList;
pub use record_signature::{Authenticity, RecordSignature};
pub use replay::{
    replay_case_id, CaseReplay, ReplayRequest, SkippedTarget, REPLAY_HEADER, REPLAY_REQUEST_SCHEMA,
};
pub use restore::{
    RestoreClaim, RestoreOutcome, RestoreReport, RestoreRequest, RestoredObject,
    RESTORE_CLAIM_SCHEMA, RESTORE_REPORT_SCHEMA, RESTORE_REQUEST_SCHEMA,
};
pub use review::{CaseReview, ReviewRecord, ReviewVerdict, REVIEW_SCHEMA};
pub use signal::{DeliveredSet, DeliveryOutcome, SignalDelivery, SIGNAL_DELIVERY_SCHEMA};
pub use step_attestation::{AttestedStep, StepAttestation, STEP_ATTESTATION_SCHEMA};
pub use vec_map::VecMap;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The five kinds of system a leaver's access lives in. One consumer group per kind.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Directory,
    Saas,
    Cloud,
    Vault,
    Cicd,
}

impl TargetKind {
    pub const ALL: [TargetKind; 5] = [
        TargetKind::Directory,
        TargetKind::Saas,
        TargetKind::Cloud,
        TargetKind::Vault,
        TargetKind::Cicd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Directory => "directory",
            TargetKind::Saas => "saas",
            TargetKind::Cloud => "cloud",
            TargetKind::Vault => "vault",
            TargetKind::Cicd => "cicd",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TargetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TargetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown target kind {s:?}: expected one of directory, saas, cloud, vault, cicd"))
    }
}

/// Why an input record was rejected. `reason()` is a bounded set, safe as a metric label; the
/// `Display` text says what was wrong and what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("event is {size} bytes, over the {limit}-byte limit (check the producer, or raise consumer.max_event_bytes)")]
    Oversize { size: usize, limit: usize },
    #[error("event has no payload")]
    Empty,
    #[error("event is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("event does not match the contract: {0}")]
    Shape(String),
    #[error("unsupported CloudEvents specversion {0:?} (expected \"1.0\")")]
    SpecVersion(String),
    #[error("unknown event type {0:?} (expected identity.termination.v1 or identity.termination_rescinded.v1)")]
    UnknownType(String),
    #[error("unsupported content type {0:?} (expected application/json)")]
    ContentType(String),
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("invalid field `{field}`: {why}")]
    InvalidField { field: &'static str, why: String },
    #[error("message has no key; the key must be the identity id (the event's subject)")]
    MissingKey,
    #[error("message key {key:?} does not match the event subject {subject:?}; one record must name exactly one identity")]
    KeyMismatch { key: String, subject: String },
    #[error("invalid identity in `{field}`: {problem}; the record is refused so that no look-alike of another person reaches a target (the original bytes are in the dead letter)")]
    InvalidIdentity {
        field: &'static str,
        problem: IdentityProblem,
    },
}

impl ContractError {
    pub fn reason(&self) -> &'static str {
        match self {
            ContractError::Oversize { .. } => "oversize",
            ContractError::Empty => "empty",
            ContractError::MalformedJson(_) => "malformed_json",
            ContractError::Shape(_) => "wrong_shape",
            ContractError::SpecVersion(_) => "unsupported_specversion",
            ContractError::UnknownType(_) => "unknown_type",
            ContractError::ContentType(_) => "unsupported_content_type",
            ContractError::MissingField(_) => "missing_field",
            ContractError::InvalidField { .. } => "invalid_field",
            ContractError::MissingKey => "missing_key",
            ContractError::KeyMismatch { .. } => "key_mismatch",
            ContractError::InvalidIdentity { .. } => "invalid_identity",
        }
    }
}

/// The longest identifier (`source`, `id`) [`check_identifier`] accepts, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 256;

/// Rejects identifiers that no target system could hold legitimately and that would only ever
/// be an attack or a corrupted record: empty, overlong, or carrying control characters (NUL
/// included). Metacharacters of LDAP/SCIM filters are *not* rejected here: adapters escape them.
pub fn check_identifier(field: &'static str, value: &str) -> Result<(), ContractError> {
    if value.trim().is_empty() {
        return Err(ContractError::InvalidField {
            field,
            why: "is empty".into(),
        });
    }
    if value.len() > MAX_IDENTIFIER_BYTES {
        return Err(ContractError::InvalidField {
            field,
            why: format!("is {} bytes, over {MAX_IDENTIFIER_BYTES}", value.len()),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(ContractError::InvalidField {
            field,
            why: "contains control characters".into(),
        });
    }
    if value != value.trim() {
        return Err(ContractError::InvalidField {
            field,
            why: "has leading or trailing white space".into(),
        });
    }
    Ok(())
}

/// Decodes a record keyed by identity id carrying `schema` (confirmations, restore requests
/// and reports): `Err((reason, detail))` for the DLQ when it does not decode (`malformed`), names
/// another schema (`unknown_schema`) or its key is not its identity (`key_mismatch`).
pub fn parse_keyed<T: serde::de::DeserializeOwned>(
    msg: &RawMessage,
    what: &str,
    malformed: &'static str,
    schema: &str,
    schema_of: impl Fn(&T) -> &str,
    identity_of: impl Fn(&T) -> &str,
) -> Result<T, (&'static str, String)> {
    let payload = msg.payload.as_deref().unwrap_or_default();
    let r: T = serde_json::from_slice(payload).map_err(|e| {
        (
            malformed,
            format!("{what} does not match the contract: {e}"),
        )
    })?;
    if schema_of(&r) != schema {
        return Err((
            "unknown_schema",
            format!("{what} schema {:?} is not {schema}", schema_of(&r)),
        ));
    }
    if msg.key.as_deref() != Some(identity_of(&r).as_bytes()) {
        return Err((
            "key_mismatch",
            format!(
                "key {:?} differs from identity {:?}",
                msg.key_str(),
                identity_of(&r)
            ),
        ));
    }
    Ok(r)
}
