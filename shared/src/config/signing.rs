//! `[signing]`: whether HR events must be signed, each source's keys and the fleet secret, by
//! where their secrets live (never the secrets themselves), with the checks of their shape.
//!
//! Data only: reading the secrets, signing and verifying are `crate::signing`, which depends on
//! this file and never the other way round.

use super::key_text::verifying_key;
use super::read_once::ReadOnce;
use crate::contract::check_identifier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// `[signing]`: whether HR events must be signed, and the keys of each source.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// On: every HR event needs a valid signature by a key of its `source`. Off (the default):
    /// signatures are neither needed nor checked.
    pub required: bool,
    /// `[[signing.keys]]`: one entry per key; several for one source allow rotation.
    pub keys: Vec<KeyConfig>,
    /// The fleet's own HMAC-SHA256 secret (at least 32 bytes), in an environment variable or a
    /// file, shared by the verifier and the workers: with `required` on, the verifier signs what
    /// it hands to the workers (`revoke.due`: releases, scheduled terminations, re-drives;
    /// `revoke.restores`) and workers refuse those records unsigned or wrongly signed. Needed
    /// when `required` is on.
    pub fleet_secret_env: Option<String>,
    pub fleet_secret_file: Option<String>,
    /// The keys with their secrets read, once per process (see `SigningConfig::key_set` in
    /// `crate::signing`).
    #[serde(skip)]
    pub(crate) keys_read: ReadOnce<Vec<KeyConfig>>,
    /// The fleet secret once read, with where it was read from (`fleet_secret_env`,
    /// `fleet_secret_file`).
    #[serde(skip)]
    pub(crate) fleet_secret_read: ReadOnce<(Option<String>, Option<String>)>,
    /// This process's evidence key: the Ed25519 private key (32-byte seed, hex or base64) in an
    /// environment variable or a file, with which the verifier signs every case version and a
    /// worker every confirmation. Its public key must be listed in `evidence_keys` with the
    /// process's role. Without it nothing is signed (`revoke case --verify` says `unsigned`);
    /// with `required` on it is needed.
    pub evidence_key_env: Option<String>,
    pub evidence_key_file: Option<String>,
    /// `[[signing.evidence_keys]]`: the published public keys of the fleet's evidence, with their
    /// role and whether they are retired (see `crate::config::EvidenceKey`).
    pub evidence_keys: Vec<super::evidence_keys::EvidenceKey>,
}

impl fmt::Debug for SigningConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // KeyConfig only names where secrets live; the cache is left out.
        f.debug_struct("SigningConfig")
            .field("required", &self.required)
            .field("keys", &self.keys)
            .field("fleet_secret_env", &self.fleet_secret_env)
            .field("fleet_secret_file", &self.fleet_secret_file)
            .field("evidence_key_env", &self.evidence_key_env)
            .field("evidence_key_file", &self.evidence_key_file)
            .field("evidence_keys", &self.evidence_keys)
            .finish_non_exhaustive()
    }
}

impl SigningConfig {
    /// Checks the shape of the keys without reading any secret (that happens at start-up).
    pub fn validate(&self) -> Result<(), String> {
        if self.required && self.keys.is_empty() {
            return Err(
                "signing.required is true but no [[signing.keys]] are configured: every event would be refused".into(),
            );
        }
        match (&self.fleet_secret_env, &self.fleet_secret_file) {
            (Some(_), Some(_)) => {
                return Err("signing: set fleet_secret_env or fleet_secret_file, not both".into())
            }
            (None, None) if self.required => {
                return Err(
                    "signing.required needs signing.fleet_secret_env or signing.fleet_secret_file: the verifier signs what it hands to the workers (revoke.due, revoke.restores) and the workers refuse what it did not sign".into(),
                )
            }
            _ => {}
        }
        match (&self.evidence_key_env, &self.evidence_key_file) {
            (Some(_), Some(_)) => {
                return Err("signing: set evidence_key_env or evidence_key_file, not both".into())
            }
            (None, None) if self.required => {
                return Err(
                    "signing.required needs signing.evidence_key_env or signing.evidence_key_file: the verifier signs every case version and the workers every confirmation with it (its public key listed in [[signing.evidence_keys]] with the process's role)".into(),
                )
            }
            _ => {}
        }
        if self.required && self.evidence_keys.iter().all(|k| k.retired) {
            return Err(
                "signing.required needs [[signing.evidence_keys]] with at least one key that is not retired: the fleet's evidence could not be signed or checked".into(),
            );
        }
        super::evidence_keys::validate_evidence_keys(&self.evidence_keys)?;
        let mut seen: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
        for (i, k) in self.keys.iter().enumerate() {
            k.validate(i)?;
            if k.key_id.is_some() {
                if let Some(j) = seen.insert((&k.source, k.key_id.as_deref()), i) {
                    return Err(format!(
                        "signing.keys[{i}]: {} is already signing.keys[{j}]: key ids are unique per source",
                        k.name()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A signature algorithm, as config and the `signaturealg` attribute spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    #[serde(rename = "ed25519")]
    Ed25519,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key of one source. Secrets are never written in the config: it names the environment
/// variable or file that holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The CloudEvents `source` this key signs for, exactly as the events spell it.
    pub source: String,
    /// Names the key in the `signaturekeyid` attribute, so that old and new keys can overlap
    /// during a rotation. Unique per source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub algorithm: Algorithm,
    /// `ed25519`: the public key, 32 bytes as base64 or hex. Required for `ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `hmac-sha256`: the environment variable holding the shared secret (its UTF-8 bytes are
    /// the key, at least 32 of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// `hmac-sha256`: the file holding the shared secret (trailing newline trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// `ed25519`, HR side only (`revoke publish --sign`): the environment variable holding the
    /// 32-byte private key (seed) as base64 or hex. The fleet never needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_env: Option<String>,
    /// `ed25519`, HR side only: the file holding the private key (seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<String>,
}

impl KeyConfig {
    pub(crate) fn name(&self) -> String {
        match &self.key_id {
            Some(id) => format!("source {:?} key {:?}", self.source, id),
            None => format!("source {:?}", self.source),
        }
    }

    pub(crate) fn can_sign(&self) -> bool {
        match self.algorithm {
            Algorithm::HmacSha256 => true,
            Algorithm::Ed25519 => self.private_key_env.is_some() || self.private_key_file.is_some(),
        }
    }

    fn validate(&self, i: usize) -> Result<(), String> {
        let at = |why: String| Err(format!("signing.keys[{i}]: {why}"));
        if let Err(e) = check_identifier("source", &self.source) {
            return at(format!("source: {e}"));
        }
        if let Some(id) = &self.key_id {
            if let Err(e) = check_identifier("key_id", id) {
                return at(format!("key_id: {e}"));
            }
        }
        let name = self.name();
        match self.algorithm {
            Algorithm::HmacSha256 => {
                if self.public_key.is_some()
                    || self.private_key_env.is_some()
                    || self.private_key_file.is_some()
                {
                    return at(format!(
                        "{name}: an hmac-sha256 key has secret_env or secret_file, not public_key or private_key_*"
                    ));
                }
                match (&self.secret_env, &self.secret_file) {
                    (Some(_), Some(_)) => {
                        return at(format!("{name}: set secret_env or secret_file, not both"))
                    }
                    (None, None) => {
                        return at(format!(
                            "{name}: an hmac-sha256 key needs secret_env or secret_file (the secret itself is never written in the config)"
                        ))
                    }
                    _ => {}
                }
            }
            Algorithm::Ed25519 => {
                if self.secret_env.is_some() || self.secret_file.is_some() {
                    return at(format!(
                        "{name}: an ed25519 key has public_key (and, for `revoke publish --sign` only, private_key_env or private_key_file), not secret_*"
                    ));
                }
                let Some(pk) = &self.public_key else {
                    return at(format!("{name}: an ed25519 key needs public_key"));
                };
                if let Err(why) = verifying_key(pk) {
                    return at(format!("{name}: public_key {why}"));
                }
                if self.private_key_env.is_some() && self.private_key_file.is_some() {
                    return at(format!(
                        "{name}: set private_key_env or private_key_file, not both"
                    ));
                }
            }
        }
        Ok(())
    }
}
