//! Signed records: the Ed25519 signature a record carries in its own `signature` field, and the
//! digest that chains one version of a record to the next.
//!
//! Used for everything the evidence is made of: the verifier's case versions, the workers'
//! confirmations, and people's decisions (approve, reject, acknowledge, review). Unlike the
//! fleet's HMAC, an Ed25519 signature can be checked by anyone holding the published public key,
//! so an auditor verifies an evidence packet offline.
//!
//! **What is signed**: the JSON Canonicalization Scheme (RFC 8785) form of the record *as
//! published* (parsed into a JSON value, never re-typed, so fields a reader does not know are
//! covered too), with its top-level `signature` field left out. **The digest** of a record is
//! the SHA-256 of the canonical form of the whole record, signature included, written
//! `sha256:<64 hex digits>`: a case version's `prev_digest` is the digest of the version before.
//!
//! **Key ids** are derived from the public key (`ed25519:` and the first 16 hex digits of the
//! SHA-256 of its 32 bytes), so a rotated key never shares its id with the old one and nobody has
//! to keep a registry of names.

use super::canonical::jcs;
use crate::config::decode_32;
use crate::contract::RecordSignature;
use crate::secret::Secret;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// The field a signed record carries its signature in.
pub const SIGNATURE_FIELD: &str = "signature";

/// The only algorithm records are signed with.
pub const RECORD_ALGORITHM: &str = "ed25519";

/// Why a record's signature did not verify. The text never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordSignatureError {
    #[error("the record is not signed")]
    Unsigned,
    #[error("the record's `signature` is not an object with signer, key_id, alg and sig: {0}")]
    Malformed(String),
    #[error("signature algorithm {0:?} is not ed25519")]
    Algorithm(String),
    #[error("signed by key {key_id} of {signer}, which is not a known key for it")]
    UnknownKey { signer: String, key_id: String },
    #[error("the signature of {signer} (key {key_id}) does not match the record: altered since it was signed, or forged")]
    Mismatch { signer: String, key_id: String },
}

impl RecordSignatureError {
    /// A bounded reason (DLQ reason, metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            RecordSignatureError::Unsigned => "unsigned",
            RecordSignatureError::Malformed(_) => "bad_signature",
            RecordSignatureError::Algorithm(_) => "wrong_algorithm",
            RecordSignatureError::UnknownKey { .. } => "unknown_key",
            RecordSignatureError::Mismatch { .. } => "bad_signature",
        }
    }
}

/// The canonical bytes of a whole record (what its digest is taken over).
pub fn record_canonical(record: &Value) -> Vec<u8> {
    jcs(record)
}

/// The bytes a record's signature covers: its canonical form without the top-level `signature`.
pub fn signed_bytes(record: &Value) -> Vec<u8> {
    match record {
        Value::Object(m) if m.contains_key(SIGNATURE_FIELD) => {
            let mut m = m.clone();
            m.remove(SIGNATURE_FIELD);
            jcs(&Value::Object(m))
        }
        other => jcs(other),
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_text(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in d {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The digest of a whole record, signature included: `sha256:<hex>` of its canonical form.
pub fn record_digest(record: &Value) -> String {
    sha256_text(&record_canonical(record))
}

/// The key id of a public key: `ed25519:` and the first 16 hex digits of its SHA-256.
pub fn key_id_of(key: &VerifyingKey) -> String {
    let d = Sha256::digest(key.to_bytes());
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ed25519:{hex}")
}

/// A public key written as config takes it (32 bytes, hex or base64); weak keys refused.
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    crate::config::verifying_key(text)
}

/// The key id of a public key written as config takes it (32 bytes, hex or base64).
pub fn public_key_id(text: &str) -> Result<String, String> {
    crate::config::verifying_key(text).map(|k| key_id_of(&k))
}

/// The signature a record carries, if any (`Err` when present but not of the expected shape).
pub fn signature_of(record: &Value) -> Result<Option<RecordSignature>, RecordSignatureError> {
    match record.get(SIGNATURE_FIELD) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| RecordSignatureError::Malformed(e.to_string())),
    }
}

/// Checks the signature of `record` against `key` (the caller found the key by the signature's
/// `signer` and `key_id`). Strict Ed25519 verification.
pub fn verify_with(
    record: &Value,
    sig: &RecordSignature,
    key: &VerifyingKey,
) -> Result<(), RecordSignatureError> {
    if sig.alg != RECORD_ALGORITHM {
        return Err(RecordSignatureError::Algorithm(
            sig.alg.chars().take(40).collect(),
        ));
    }
    let mismatch = || RecordSignatureError::Mismatch {
        signer: sig.signer.clone(),
        key_id: sig.key_id.clone(),
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig.sig.as_bytes())
        .map_err(|_| RecordSignatureError::Malformed("sig is not base64".into()))?;
    let raw: [u8; 64] = raw
        .as_slice()
        .try_into()
        .map_err(|_| RecordSignatureError::Malformed("sig is not 64 bytes".into()))?;
    key.verify_strict(
        &signed_bytes(record),
        &ed25519_dalek::Signature::from_bytes(&raw),
    )
    .map_err(|_| mismatch())
}

/// Checks a record's signature with a lookup of public keys by `(signer, key_id)`.
pub fn verify_record(
    record: &Value,
    key_of: impl Fn(&str, &str) -> Option<VerifyingKey>,
) -> Result<RecordSignature, RecordSignatureError> {
    let sig = signature_of(record)?.ok_or(RecordSignatureError::Unsigned)?;
    let key = key_of(&sig.signer, &sig.key_id).ok_or_else(|| RecordSignatureError::UnknownKey {
        signer: sig.signer.chars().take(256).collect(),
        key_id: sig.key_id.chars().take(80).collect(),
    })?;
    verify_with(record, &sig, &key)?;
    Ok(sig)
}

/// A private key that signs records, with the name it signs as (a person's id, or the fleet's
/// role: `verifier`, `worker`). `Debug` never shows the key.
pub struct RecordSigner {
    signer: String,
    key_id: String,
    key: SigningKey,
}

impl fmt::Debug for RecordSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordSigner")
            .field("signer", &self.signer)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl RecordSigner {
    /// A signer from its 32-byte seed.
    pub fn from_seed(signer: impl Into<String>, seed: &[u8; 32]) -> RecordSigner {
        let key = SigningKey::from_bytes(seed);
        RecordSigner {
            signer: signer.into(),
            key_id: key_id_of(&key.verifying_key()),
            key,
        }
    }

    /// A signer whose seed (32 bytes as hex or base64) is in environment variable `env` or in
    /// `file`. The error names where it looked, never the key.
    pub fn from_env_or_file(
        signer: impl Into<String>,
        env: Option<&str>,
        file: Option<&str>,
    ) -> Result<RecordSigner, String> {
        let signer = signer.into();
        let seed = Secret::from_env_or_file(env, file)
            .map_err(|e| format!("private key of {signer}: {e}"))?;
        let seed =
            decode_32(seed.expose()).map_err(|why| format!("private key of {signer}: {why}"))?;
        Ok(RecordSigner::from_seed(signer, &seed))
    }

    pub fn signer(&self) -> &str {
        &self.signer
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as base64 (as `public_key` settings take it).
    pub fn public_key_text(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// The signature over `canonical`: bytes the caller already made as [`signed_bytes`] makes
    /// them (a publisher that canonicalises once for both the signature and the digest).
    pub fn signature_over(&self, canonical: &[u8]) -> RecordSignature {
        let sig = self.key.sign(canonical).to_bytes();
        RecordSignature {
            signer: self.signer.clone(),
            key_id: self.key_id.clone(),
            alg: RECORD_ALGORITHM.into(),
            sig: base64::engine::general_purpose::STANDARD.encode(sig),
        }
    }

    /// Signs `record` in place: sets its `signature` (replacing any earlier one).
    pub fn sign_value(&self, record: &mut Value) {
        let signature = self.signature_over(&signed_bytes(record));
        if let Value::Object(m) = record {
            m.insert(
                SIGNATURE_FIELD.into(),
                serde_json::to_value(signature).expect("a signature serialises"),
            );
        }
    }

    /// `value` as a JSON value, signed.
    pub fn sign<T: serde::Serialize>(&self, value: &T) -> Result<Value, serde_json::Error> {
        let mut v = serde_json::to_value(value)?;
        self.sign_value(&mut v);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn signer() -> RecordSigner {
        RecordSigner::from_seed("alice", &[7u8; 32])
    }

    #[test]
    fn a_signed_record_verifies_and_any_change_is_caught() {
        let s = signer();
        let mut v = json!({"b": 1, "a": {"y": "é", "x": [1, 2]}, "note": "ok"});
        s.sign_value(&mut v);
        let key =
            |who: &str, id: &str| (who == "alice" && id == s.key_id()).then(|| s.verifying_key());
        let sig = verify_record(&v, key).unwrap();
        assert_eq!(
            (sig.signer.as_str(), sig.alg.as_str()),
            ("alice", "ed25519")
        );
        // Key order and white space do not matter: the canonical form is signed.
        let reordered: Value =
            serde_json::from_str(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
        assert!(verify_record(&reordered, key).is_ok());
        let mut changed = v.clone();
        changed["a"]["x"][1] = json!(3);
        assert!(matches!(
            verify_record(&changed, key),
            Err(RecordSignatureError::Mismatch { .. })
        ));
        let mut added = v.clone();
        added["extra"] = json!(null);
        assert!(
            verify_record(&added, key).is_err(),
            "a new field is a change"
        );
        let mut other_signer = v.clone();
        other_signer["signature"]["signer"] = json!("mallory");
        assert!(matches!(
            verify_record(&other_signer, key),
            Err(RecordSignatureError::UnknownKey { .. })
        ));
        let mut unsigned = v.clone();
        unsigned.as_object_mut().unwrap().remove("signature");
        assert_eq!(
            verify_record(&unsigned, key).unwrap_err(),
            RecordSignatureError::Unsigned
        );
    }

    #[test]
    fn a_renamed_signer_or_another_key_does_not_verify() {
        let s = signer();
        let mallory = RecordSigner::from_seed("alice", &[8u8; 32]);
        let mut v = json!({"decision": "approve"});
        mallory.sign_value(&mut v);
        // Mallory's signature claims to be alice's, under mallory's key id: unknown key.
        let key = |_: &str, id: &str| (id == s.key_id()).then(|| s.verifying_key());
        assert!(matches!(
            verify_record(&v, key),
            Err(RecordSignatureError::UnknownKey { .. })
        ));
        // With alice's key id swapped in, the signature itself fails.
        v["signature"]["key_id"] = json!(s.key_id());
        assert!(matches!(
            verify_record(&v, key),
            Err(RecordSignatureError::Mismatch { .. })
        ));
    }

    #[test]
    fn digests_cover_the_signature_and_ignore_layout() {
        let s = signer();
        let mut v = json!({"z": "1", "a": "2"});
        let unsigned = record_digest(&v);
        s.sign_value(&mut v);
        let signed = record_digest(&v);
        assert_ne!(unsigned, signed);
        assert!(signed.starts_with("sha256:") && signed.len() == 71);
        let reparsed: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(record_digest(&reparsed), signed);
    }

    #[test]
    fn key_ids_differ_per_key_and_debug_hides_the_key() {
        let a = RecordSigner::from_seed("x", &[1u8; 32]);
        let b = RecordSigner::from_seed("x", &[2u8; 32]);
        assert_ne!(a.key_id(), b.key_id());
        assert!(a.key_id().starts_with("ed25519:") && a.key_id().len() == 24);
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("key:") && dbg.contains(a.key_id()));
    }
}
