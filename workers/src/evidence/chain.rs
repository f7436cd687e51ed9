//! Sealing a case version as the verifier publishes it: the digest of the version before
//! (`prev_digest`) and the verifier's Ed25519 signature, so versions form a chain that shows an
//! altered, removed or reordered version (`revoke case --verify`). The shell keeps only the last
//! digest per live case (32 bytes); closed cases take it from the record read back.

use revoke_shared::contract::{Case, CaseState};
use revoke_shared::signing::{record_canonical, signature_of, RecordSigner};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A record digest as bytes (the 32 bytes behind `sha256:<hex>`).
pub type RecordDigest = [u8; 32];

/// The digest of a record (a parsed JSON value): SHA-256 of its canonical form.
pub fn digest_of(record: &Value) -> RecordDigest {
    Sha256::digest(record_canonical(record)).into()
}

/// `sha256:<hex>`, as `prev_digest` and `record_digest` write it.
pub fn digest_text(d: &RecordDigest) -> String {
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of a `sha256:<64 hex digits>` digest (`None` for anything else).
pub fn parse_digest(text: &str) -> Option<RecordDigest> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The digest of a record's published bytes, if they are JSON.
pub fn digest_of_bytes(payload: &[u8]) -> Option<RecordDigest> {
    serde_json::from_slice::<Value>(payload)
        .ok()
        .map(|v| digest_of(&v))
}

/// Seals `case` for publishing: its `prev_digest` becomes `prev` (the digest of the version
/// before, as published), and with a signer it is signed as the verifier. Returns the digest of
/// the version as it will be published (`serde_json::to_vec(case)`).
pub fn seal(
    case: &mut Case,
    prev: Option<&RecordDigest>,
    signer: Option<&RecordSigner>,
) -> RecordDigest {
    case.prev_digest = prev.map(digest_text);
    case.signature = None;
    let mut v = serde_json::to_value(&*case).expect("a case serialises to JSON");
    if let Some(s) = signer {
        s.sign_value(&mut v);
        case.signature = signature_of(&v).ok().flatten();
    }
    digest_of(&v)
}

/// A case record read back from the changelog with its digest (for the chain of a closed case
/// re-published, or the last version of a live case after a rebuild).
pub fn case_with_digest(payload: &[u8]) -> Option<(Case, RecordDigest)> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let d = digest_of(&v);
    serde_json::from_value::<Case>(v).ok().map(|c| (c, d))
}

/// The last digest of each live case this verifier publishes (closed cases are dropped: a
/// closed case re-published takes its digest from the record read back).
#[derive(Debug, Default)]
pub struct ChainHeads {
    last: std::collections::HashMap<uuid::Uuid, RecordDigest>,
}

impl ChainHeads {
    pub fn get(&self, id: &uuid::Uuid) -> Option<&RecordDigest> {
        self.last.get(id)
    }

    /// Notes `digest` as the last published version of `id` (forgotten once it is closed).
    pub fn published(&mut self, id: uuid::Uuid, state: CaseState, digest: RecordDigest) {
        if state == CaseState::Closed {
            self.last.remove(&id);
        } else {
            self.last.insert(id, digest);
        }
    }

    /// Sets the head of `id` from a record read back (rebuild, closed case read back).
    pub fn set(&mut self, id: uuid::Uuid, digest: RecordDigest) {
        self.last.insert(id, digest);
    }

    pub fn forget(&mut self, id: &uuid::Uuid) {
        self.last.remove(id);
    }

    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use revoke_shared::contract::TargetKind;
    use revoke_shared::signing::{record_digest, verify_record};

    #[test]
    fn a_sealed_version_is_published_as_digested_and_signed() {
        let signer = RecordSigner::from_seed("verifier", &[3; 32]);
        let mut c = Case::opened(
            uuid::Uuid::new_v4(),
            "E1",
            vec![TargetKind::Vault],
            Utc::now(),
        );
        let first = seal(&mut c, None, Some(&signer));
        let bytes = serde_json::to_vec(&c).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(digest_text(&first), record_digest(&v));
        assert!(v.get("prev_digest").is_none());
        let key = |who: &str, _: &str| (who == "verifier").then(|| signer.verifying_key());
        verify_record(&v, key).unwrap();
        c.revision += 1;
        let second = seal(&mut c, Some(&first), Some(&signer));
        let v2: Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v2["prev_digest"], digest_text(&first));
        assert_eq!(digest_of(&v2), second);
        verify_record(&v2, key).unwrap();
        assert_eq!(parse_digest(&digest_text(&second)), Some(second));
        assert_eq!(parse_digest("sha256:zz"), None);
        let (back, d) = case_with_digest(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!((back.revision, d), (1, second));
        // Unsigned without a key, chained all the same.
        let third = seal(&mut c, Some(&second), None);
        assert!(c.signature.is_none());
        assert_eq!(
            c.prev_digest.as_deref(),
            Some(digest_text(&second).as_str())
        );
        assert_ne!(third, second);
    }
}
