//! The fleet's evidence keys: the verifier's and the workers' Ed25519 keys that sign case
//! versions and confirmations (`[[signing.evidence_keys]]`, this process's private key in
//! `evidence_key_env` / `evidence_key_file`). Reading the process's signer, and checking a
//! fleet record's signature against the published keys.

use super::record::{key_id_of, signature_of, verify_with, RecordSignatureError, RecordSigner};
use crate::config::{verifying_key, EvidenceKey, EvidenceRole, SigningConfig};
use crate::contract::RecordSignature;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

/// One published key, decoded.
#[derive(Debug, Clone)]
pub struct PublishedKey {
    pub role: EvidenceRole,
    pub key_id: String,
    pub key: VerifyingKey,
    pub retired: bool,
}

/// The published evidence keys, decoded once.
#[derive(Debug, Clone, Default)]
pub struct EvidenceKeys {
    keys: Vec<PublishedKey>,
}

impl EvidenceKeys {
    /// From `[[signing.evidence_keys]]` (shape checked when the config was loaded).
    pub fn from_config(keys: &[EvidenceKey]) -> Result<EvidenceKeys, String> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let key = verifying_key(&k.public_key)
                    .map_err(|why| format!("signing.evidence_keys[{i}]: public_key {why}"))?;
                Ok(PublishedKey {
                    role: k.role,
                    key_id: key_id_of(&key),
                    key,
                    retired: k.retired,
                })
            })
            .collect::<Result<_, String>>()
            .map(|keys| EvidenceKeys { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[PublishedKey] {
        &self.keys
    }

    /// The key `signer` (a role name) signs with under `key_id`, retired or not.
    pub fn find(&self, signer: &str, key_id: &str) -> Option<&PublishedKey> {
        let role = EvidenceRole::parse(signer)?;
        self.keys
            .iter()
            .find(|k| k.role == role && k.key_id == key_id)
    }

    /// Checks a record the fleet signed as `role`: the signer must be `role`, the key listed for
    /// it, and — when `new` (a record arriving now, not one read from history) — not retired.
    pub fn check(
        &self,
        record: &Value,
        role: EvidenceRole,
        new: bool,
    ) -> Result<RecordSignature, EvidenceRefusal> {
        let sig = signature_of(record)
            .map_err(EvidenceRefusal::Signature)?
            .ok_or(EvidenceRefusal::Unsigned)?;
        let unknown = || {
            EvidenceRefusal::Signature(RecordSignatureError::UnknownKey {
                signer: sig.signer.chars().take(64).collect(),
                key_id: sig.key_id.chars().take(80).collect(),
            })
        };
        if sig.signer != role.as_str() {
            return Err(unknown());
        }
        let key = self.find(&sig.signer, &sig.key_id).ok_or_else(unknown)?;
        verify_with(record, &sig, &key.key).map_err(EvidenceRefusal::Signature)?;
        if new && key.retired {
            return Err(EvidenceRefusal::Retired {
                key_id: key.key_id.clone(),
            });
        }
        Ok(sig)
    }
}

/// Why a fleet record's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceRefusal {
    #[error("the record is not signed")]
    Unsigned,
    #[error("{0}")]
    Signature(RecordSignatureError),
    #[error("signed with key {key_id}, which is retired: records signed now need a current key")]
    Retired { key_id: String },
}

impl EvidenceRefusal {
    /// A bounded reason (DLQ reason).
    pub fn reason(&self) -> &'static str {
        match self {
            EvidenceRefusal::Unsigned => "confirmation_unsigned",
            EvidenceRefusal::Signature(RecordSignatureError::UnknownKey { .. }) => {
                "confirmation_unknown_key"
            }
            EvidenceRefusal::Signature(_) => "confirmation_bad_signature",
            EvidenceRefusal::Retired { .. } => "confirmation_retired_key",
        }
    }
}

/// This process's evidence signer for `role`, if `evidence_key_env` / `evidence_key_file` names
/// one: its public key must be listed in `[[signing.evidence_keys]]` with `role` and not be
/// retired (a start-up error otherwise, never a silent unsigned record). `Ok(None)` without a
/// key: nothing is signed.
pub fn evidence_signer(
    cfg: &SigningConfig,
    role: EvidenceRole,
) -> Result<Option<RecordSigner>, String> {
    if cfg.evidence_key_env.is_none() && cfg.evidence_key_file.is_none() {
        if cfg.required {
            return Err(format!(
                "signing.required: the {role} needs an evidence key (signing.evidence_key_env or evidence_key_file)"
            ));
        }
        return Ok(None);
    }
    let signer = RecordSigner::from_env_or_file(
        role.as_str(),
        cfg.evidence_key_env.as_deref(),
        cfg.evidence_key_file.as_deref(),
    )
    .map_err(|e| format!("signing.evidence_key: {e}"))?;
    let keys = EvidenceKeys::from_config(&cfg.evidence_keys)?;
    match keys.find(role.as_str(), signer.key_id()) {
        None => Err(format!(
            "signing.evidence_key: its public key {} (key id {}) is not listed in [[signing.evidence_keys]] with role = \"{role}\": records it signed could not be checked — add it",
            signer.public_key_text(),
            signer.key_id()
        )),
        Some(k) if k.retired => Err(format!(
            "signing.evidence_key: key {} is retired in [[signing.evidence_keys]]: switch this {role} to the current key",
            signer.key_id()
        )),
        Some(_) => Ok(Some(signer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(seed: u8, role: EvidenceRole, retired: bool) -> EvidenceKey {
        EvidenceKey {
            public_key: RecordSigner::from_seed("x", &[seed; 32]).public_key_text(),
            role,
            retired,
        }
    }

    #[test]
    fn fleet_records_verify_by_role_and_retired_keys_only_for_history() {
        let keys = EvidenceKeys::from_config(&[
            listed(1, EvidenceRole::Worker, false),
            listed(2, EvidenceRole::Worker, true),
            listed(3, EvidenceRole::Verifier, false),
        ])
        .unwrap();
        let signed = |seed: u8, as_: &str| {
            let mut v = json!({"outcome": "revoked"});
            RecordSigner::from_seed(as_, &[seed; 32]).sign_value(&mut v);
            v
        };
        let w = EvidenceRole::Worker;
        assert!(keys.check(&signed(1, "worker"), w, true).is_ok());
        assert_eq!(
            keys.check(&signed(2, "worker"), w, true)
                .unwrap_err()
                .reason(),
            "confirmation_retired_key"
        );
        assert!(keys.check(&signed(2, "worker"), w, false).is_ok());
        // The verifier's key signing as a worker, or a key nobody listed: unknown.
        assert_eq!(
            keys.check(&signed(3, "worker"), w, true)
                .unwrap_err()
                .reason(),
            "confirmation_unknown_key"
        );
        assert_eq!(
            keys.check(&signed(9, "worker"), w, true)
                .unwrap_err()
                .reason(),
            "confirmation_unknown_key"
        );
        let mut altered = signed(1, "worker");
        altered["outcome"] = json!("failed");
        assert_eq!(
            keys.check(&altered, w, true).unwrap_err().reason(),
            "confirmation_bad_signature"
        );
        assert_eq!(
            keys.check(&json!({}), w, true).unwrap_err(),
            EvidenceRefusal::Unsigned
        );
    }

    #[test]
    fn the_process_key_must_be_listed_current_for_its_role() {
        let dir = std::env::temp_dir().join(format!("revoke-evkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("seed");
        std::fs::write(&file, "01".repeat(32)).unwrap();
        let mut cfg = SigningConfig {
            evidence_key_file: Some(file.display().to_string()),
            ..Default::default()
        };
        let err = evidence_signer(&cfg, EvidenceRole::Verifier).unwrap_err();
        assert!(err.contains("not listed"), "{err}");
        assert!(!err.contains(&"01".repeat(32)), "the seed never shows");
        cfg.evidence_keys = vec![listed(1, EvidenceRole::Worker, false)];
        assert!(evidence_signer(&cfg, EvidenceRole::Verifier).is_err());
        let s = evidence_signer(&cfg, EvidenceRole::Worker)
            .unwrap()
            .unwrap();
        assert_eq!(s.signer(), "worker");
        cfg.evidence_keys = vec![listed(1, EvidenceRole::Worker, true)];
        assert!(evidence_signer(&cfg, EvidenceRole::Worker)
            .unwrap_err()
            .contains("retired"));
        let none = SigningConfig::default();
        assert!(evidence_signer(&none, EvidenceRole::Worker)
            .unwrap()
            .is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
