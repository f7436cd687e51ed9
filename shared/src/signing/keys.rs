//! The verification keys, read from `[[signing.keys]]` (secrets from their environment variables
//! or files, public keys decoded) once per config.

use crate::config::{verifying_key, Algorithm, KeyConfig, SigningConfig};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The shortest HMAC secret accepted, in bytes: the hash's output size (RFC 2104).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// The key material of a source.
pub(super) enum Material {
    Hmac(Secret),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// One key of a source, read.
pub(super) struct Key {
    pub(super) id: Option<String>,
    pub(super) algorithm: Algorithm,
    pub(super) material: Material,
}

/// The verification keys, by source. `Debug` names sources and key ids, never key material.
pub struct KeySet {
    pub(super) by_source: BTreeMap<String, Vec<Key>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (source, keys) in &self.by_source {
            let ids: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", k.algorithm, k.id.as_deref().unwrap_or("-")))
                .collect();
            m.entry(source, &ids);
        }
        m.finish()
    }
}

impl KeySet {
    /// Reads every secret (environment or file) and decodes every public key.
    pub fn from_config(keys: &[KeyConfig]) -> Result<KeySet, String> {
        let mut by_source: BTreeMap<String, Vec<Key>> = BTreeMap::new();
        for k in keys {
            let material = match k.algorithm {
                Algorithm::HmacSha256 => Material::Hmac(read_hmac_secret(k, |len| {
                    format!(
                        "signing key of {}: the hmac-sha256 secret is {len} bytes, under the minimum of {MIN_HMAC_SECRET_BYTES}",
                        k.name()
                    )
                })?),
                Algorithm::Ed25519 => {
                    let pk = k.public_key.as_deref().ok_or_else(|| {
                        format!("signing key of {}: ed25519 needs public_key", k.name())
                    })?;
                    Material::Ed25519(
                        verifying_key(pk).map_err(|why| {
                            format!("signing key of {}: public_key {why}", k.name())
                        })?,
                    )
                }
            };
            by_source.entry(k.source.clone()).or_default().push(Key {
                id: k.key_id.clone(),
                algorithm: k.algorithm,
                material,
            });
        }
        Ok(KeySet { by_source })
    }

    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.by_source.keys().map(String::as_str)
    }
}

/// The HMAC secret of `k`, read from its environment variable or file; `too_short` says why one
/// under [`MIN_HMAC_SECRET_BYTES`] (given its length) is refused.
pub(super) fn read_hmac_secret(
    k: &KeyConfig,
    too_short: impl FnOnce(usize) -> String,
) -> Result<Secret, String> {
    let secret = Secret::from_env_or_file(k.secret_env.as_deref(), k.secret_file.as_deref())
        .map_err(|e| format!("signing key of {}: {e}", k.name()))?;
    if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
        return Err(too_short(secret.expose().len()));
    }
    Ok(secret)
}

impl SigningConfig {
    /// The verification keys with their secrets read. Read once and kept; read again only if
    /// `keys` changed since (a config built in code and edited afterwards).
    pub fn key_set(&self) -> Result<Arc<KeySet>, String> {
        self.keys_read
            .get_or_read(&self.keys, || KeySet::from_config(&self.keys))
    }
}
