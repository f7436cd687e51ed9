//! The signature a record carries in its own `signature` field (see `crate::signing::record`):
//! who signed (a person's id, or `verifier` / `worker` for the fleet), with which key, and the
//! Ed25519 signature over the record's canonical form without this field.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSignature {
    /// A person's `id` from `[[people]]`, or the fleet role that signed (`verifier`, `worker`).
    pub signer: String,
    /// `ed25519:` and the first 16 hex digits of the SHA-256 of the public key.
    pub key_id: String,
    /// Always `ed25519`.
    pub alg: String,
    /// The 64-byte signature, base64 (standard alphabet, padded).
    pub sig: String,
}

/// How far a person's decision (approve, reject, acknowledge, review) is proven to be theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Authenticity {
    /// Signed with the current key of a person in `[[people]]` who holds the role the decision
    /// needs; the verifier checked it.
    Authenticated,
    /// Free text (`--by`), accepted because `[signing] required` is off: anyone who can write to
    /// the topic could have typed it.
    Unauthenticated,
}

impl Authenticity {
    pub fn as_str(self) -> &'static str {
        match self {
            Authenticity::Authenticated => "authenticated",
            Authenticity::Unauthenticated => "unauthenticated",
        }
    }
}
