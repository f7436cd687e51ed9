//! Sealing a case version as the verifier publishes it: the digest of the version before
//! (`prev_digest`) and the verifier's Ed25519 signature, so versions form a chain that shows an
//! altered, removed or reordered version (`revoke case --verify`). The shell keeps only the last
//! digest per live case (32 bytes); closed cases take it from the record read back.

use revoke_shared::contract::{Case, CaseState};
use revoke_shared::signing::{record_canonical, RecordSigner, SIGNATURE_FIELD};
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

/// Seals `case` for publishing with the verifier's `signer`: its `prev_digest` becomes `prev`
/// (the digest of the version before, as published) and it is signed. Returns the digest of the
/// version as it will be published (`serde_json::to_vec(case)`). Without a signer nothing is
/// sealed (no signature, no chain: an unsigned chain proves nothing anyone could not recompute)
/// and nothing is computed.
///
/// The canonical form is made once, member by member: the signature covers the members without
/// `signature`, the digest the same members with it (JCS sorts members by key, each member's
/// bytes stand alone), so a version costs one canonicalisation, one signature and one SHA-256.
pub fn seal(
    case: &mut Case,
    prev: Option<&RecordDigest>,
    signer: Option<&RecordSigner>,
) -> Option<RecordDigest> {
    case.signature = None;
    let Some(signer) = signer else {
        case.prev_digest = None;
        return None;
    };
    case.prev_digest = prev.map(digest_text);
    let v = serde_json::to_value(&*case).expect("a case serialises to JSON");
    let Value::Object(m) = &v else {
        unreachable!("a case is a JSON object")
    };
    let mut members: Vec<(&str, Vec<u8>)> = m
        .iter()
        .map(|(k, val)| (k.as_str(), member(k, val)))
        .collect();
    members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    let signature = signer.signature_over(&object_of(&members));
    let sig_value = serde_json::to_value(&signature).expect("a signature serialises");
    let at = members
        .iter()
        .position(|(k, _)| k.encode_utf16().cmp(SIGNATURE_FIELD.encode_utf16()).is_gt())
        .unwrap_or(members.len());
    members.insert(at, (SIGNATURE_FIELD, member(SIGNATURE_FIELD, &sig_value)));
    case.signature = Some(Box::new(signature));
    Some(Sha256::digest(object_of(&members)).into())
}

/// One canonical object member: the key as a JSON string, `:`, the value's canonical form.
fn member(key: &str, value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(key).expect("a key serialises");
    out.push(b':');
    out.extend(record_canonical(value));
    out
}

/// A canonical object from its members, already in order.
fn object_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(members.iter().map(|(_, m)| m.len() + 1).sum::<usize>() + 2);
    out.push(b'{');
    for (i, (_, m)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(m);
    }
    out.push(b'}');
    out
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

    /// Notes `digest` as the last published version of `id` (forgotten once it is closed, or
    /// when the version was not sealed).
    pub fn published(&mut self, id: uuid::Uuid, state: CaseState, digest: Option<RecordDigest>) {
        match digest {
            Some(d) if state != CaseState::Closed => {
                self.last.insert(id, d);
            }
            _ => {
                self.last.remove(&id);
            }
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
        let first = seal(&mut c, None, Some(&signer)).unwrap();
        let bytes = serde_json::to_vec(&c).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(digest_text(&first), record_digest(&v));
        assert!(v.get("prev_digest").is_none());
        let key = |who: &str, _: &str| (who == "verifier").then(|| signer.verifying_key());
        verify_record(&v, key).unwrap();
        c.revision += 1;
        let second = seal(&mut c, Some(&first), Some(&signer)).unwrap();
        let v2: Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v2["prev_digest"], digest_text(&first));
        assert_eq!(digest_of(&v2), second);
        verify_record(&v2, key).unwrap();
        assert_eq!(parse_digest(&digest_text(&second)), Some(second));
        assert_eq!(parse_digest("sha256:zz"), None);
        let (back, d) = case_with_digest(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!((back.revision, d), (1, second));
        // Keys and values that JCS escapes or orders by UTF-16 (not UTF-8) code units.
        c.reason = Some("\u{1f600} \"quoted\" \u{7}\u{e9}\u{fffd}".into());
        c.identity_id = "\u{ff61}\u{10000}".into();
        let d = seal(&mut c, Some(&second), Some(&signer)).unwrap();
        let v: Value = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!(digest_text(&d), record_digest(&v));
        verify_record(&v, key).unwrap();
        // Without a key: neither signed nor chained.
        assert_eq!(seal(&mut c, Some(&second), None), None);
        assert!(c.signature.is_none() && c.prev_digest.is_none());
    }
}
