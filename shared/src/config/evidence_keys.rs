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
