//! `revoke case ack --step <name>`: a person's attestation that an offboarding step without an
//! API (`[steps.<name>]`: device return, a backup-retention decision …) is done. It travels on
//! the confirmations topic (keyed by the case's identity), signed with the person's key; the
//! verifier checks it (`attester` role) and keeps it, signature included, in the step's status
//! (`AttestedStep`), so the step's evidence verifies offline. Attested, never "verified".

use super::{Authenticity, RecordSignature};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const STEP_ATTESTATION_SCHEMA: &str = "revoke.step_attestation.v1";

/// A person's word that a step is done, as `revoke case ack --step` publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepAttestation {
    pub schema: String,
    /// Unique per attestation: the same record again changes nothing.
    pub attestation_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    /// The step's name (`[steps.<name>]`).
    pub step: String,
    /// The person's id (`[[people]]`), or free text when signing is off and nobody is listed.
    pub by: String,
    pub at: DateTime<Utc>,
    /// What was done or checked, in words (a ticket, where the laptop went).
    pub note: String,
    /// The person's signature (`crate::signing::record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<RecordSignature>,
}

/// What a step's status keeps of the attestation that made it done: the record as published
/// (signature included, so it verifies offline) and how far it was proven to be the person's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttestedStep {
    pub authenticity: Authenticity,
    pub record: StepAttestation,
}
