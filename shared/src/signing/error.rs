//! Why a signature check refused a record: the DLQ reason and metric label of each refusal.

use super::wire_names::{ATTR_ALGORITHM, ATTR_SIGNATURE, FLEET_SIGNATURE_HEADER};

/// Why a signed-input check refused an event. `reason()` is the DLQ reason and metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("event has no `{ATTR_SIGNATURE}` attribute, and signing.required is on (sign it at the source, e.g. `revoke publish --sign`)")]
    Unsigned,
    #[error("no signing key is configured for source {0:?}: events from unknown sources are refused while signing.required is on (add a [[signing.keys]] entry for it)")]
    UnknownSource(String),
    #[error("source {origin:?} has no key with key_id {key_id:?} (check [[signing.keys]]: a rotation may not have reached this process yet)")]
    UnknownKey { origin: String, key_id: String },
    #[error("source {origin:?} has no {algorithm:?} key (check `{ATTR_ALGORITHM}` against [[signing.keys]])")]
    WrongAlgorithm { origin: String, algorithm: String },
    #[error("invalid signature: {0}")]
    BadSignature(String),
    #[error("record on {0} has no `{FLEET_SIGNATURE_HEADER}` header, and signing.required is on: only the verifier hands work to the workers")]
    FleetUnsigned(String),
}

impl SignatureError {
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::Unsigned => "unsigned",
            SignatureError::UnknownSource(_) => "unknown_source",
            SignatureError::UnknownKey { .. } => "unknown_key",
            SignatureError::WrongAlgorithm { .. } => "wrong_algorithm",
            SignatureError::BadSignature(_) => "bad_signature",
            SignatureError::FleetUnsigned(_) => "unsigned",
        }
    }
}
