//! `[[signing.evidence_keys]]`: the published public keys the fleet's evidence is signed with
//! (case versions by the verifier, confirmations by the workers), each with the role it signs as
//! and whether it is retired. Data and shape checks only; reading the private key and verifying
//! are `crate::signing::evidence`.
//!
//! **Rotation**: add the new key (not retired), switch the processes to it
//! (`evidence_key_env` / `evidence_key_file`), then mark the old one `retired = true`. Never
//! remove a key while records it signed are kept: a retired key still verifies what it signed,
//! but no process may sign with it.

use super::key_text::verifying_key;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which part of the fleet signs with a key: its records' `signature.signer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    /// Signs every case version it publishes on `revoke.cases`.
    Verifier,
    /// Signs every confirmation a target worker sends.
    Worker,
}

impl EvidenceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceRole::Verifier => "verifier",
            EvidenceRole::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<EvidenceRole> {
        match s {
            "verifier" => Some(EvidenceRole::Verifier),
            "worker" => Some(EvidenceRole::Worker),
            _ => None,
        }
    }
}

impl fmt::Display for EvidenceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published evidence key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceKey {
    /// The Ed25519 public key, 32 bytes as hex or base64.
    pub public_key: String,
    pub role: EvidenceRole,
    /// Rotated away: still verifies records it signed, but no process may sign with it.
    #[serde(default)]
    pub retired: bool,
}

/// Checks the entries' shape: valid keys, each (key, role) listed once.
pub(crate) fn validate_evidence_keys(keys: &[EvidenceKey]) -> Result<(), String> {
    let mut seen: Vec<([u8; 32], EvidenceRole, usize)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let vk = verifying_key(&k.public_key)
            .map_err(|why| format!("signing.evidence_keys[{i}]: public_key {why}"))?;
        let bytes = vk.to_bytes();
        if let Some((_, _, j)) = seen.iter().find(|(b, r, _)| *b == bytes && *r == k.role) {
            return Err(format!(
                "signing.evidence_keys[{i}]: the same {} key is already signing.evidence_keys[{j}]",
                k.role
            ));
        }
        seen.push((bytes, k.role, i));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningConfig;

    const PK: &str = "DXVQdU4IAKXSN+71gmA1dmubPloVhoqUCrKJlYeI47A=";

    fn key(role: EvidenceRole, retired: bool) -> EvidenceKey {
        EvidenceKey {
            public_key: PK.into(),
            role,
            retired,
        }
    }

    #[test]
    fn signing_required_needs_an_evidence_key_and_a_current_listed_one() {
        let mut s = SigningConfig {
            required: true,
            fleet_secret_env: Some("F".into()),
            keys: vec![crate::config::KeyConfig {
                source: "urn:hr".into(),
                key_id: None,
                algorithm: crate::config::Algorithm::HmacSha256,
                public_key: None,
                secret_env: Some("S".into()),
                secret_file: None,
                private_key_env: None,
                private_key_file: None,
            }],
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().contains("evidence_key_env"));
        s.evidence_key_env = Some("E".into());
        assert!(s.validate().unwrap_err().contains("evidence_keys"));
        s.evidence_keys = vec![key(EvidenceRole::Verifier, true)];
        assert!(s.validate().unwrap_err().contains("not retired"));
        s.evidence_keys.push(key(EvidenceRole::Worker, false));
        assert_eq!(s.validate(), Ok(()));
        s.evidence_keys.push(key(EvidenceRole::Worker, false));
        assert!(s.validate().unwrap_err().contains("already"));
        s.evidence_keys.pop();
        s.evidence_key_file = Some("/f".into());
        assert!(s.validate().unwrap_err().contains("not both"));
        s.evidence_key_file = None;
        s.evidence_keys.push(EvidenceKey {
            public_key: "nope".into(),
            role: EvidenceRole::Worker,
            retired: false,
        });
        assert!(s.validate().unwrap_err().contains("evidence_keys[2]"));
    }
}
