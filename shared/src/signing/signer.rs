//! Signing HR events (`revoke publish --sign`, tests and tools): the signer of a configured key,
//! and the signature attributes it gives an event.

use super::attributes::SignatureAttributes;
use super::canonical::canonical_bytes;
use super::keys::{read_hmac_secret, MIN_HMAC_SECRET_BYTES};
use crate::config::{decode_32, verifying_key, Algorithm, KeyConfig, SigningConfig};
use crate::contract::HrEvent;
use crate::secret::Secret;
use base64::Engine;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

/// A key that signs events (`revoke publish --sign`). `Debug` never shows the key.
pub struct EventSigner {
    key_id: Option<String>,
    material: SignerMaterial,
}

enum SignerMaterial {
    Hmac(Secret),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl fmt::Debug for EventSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSigner")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl EventSigner {
    fn from_config(k: &KeyConfig) -> Result<EventSigner, String> {
        let material = match k.algorithm {
            Algorithm::HmacSha256 => SignerMaterial::Hmac(read_hmac_secret(k, |_| {
                format!(
                    "signing key of {}: the hmac-sha256 secret is under {MIN_HMAC_SECRET_BYTES} bytes",
                    k.name()
                )
            })?),
            Algorithm::Ed25519 => {
                if !k.can_sign() {
                    return Err(format!(
                        "signing key of {}: signing with ed25519 needs private_key_env or private_key_file",
                        k.name()
                    ));
                }
                let seed = Secret::from_env_or_file(
                    k.private_key_env.as_deref(),
                    k.private_key_file.as_deref(),
                )
                .map_err(|e| format!("private key of {}: {e}", k.name()))?;
                let seed = decode_32(seed.expose())
                    .map_err(|why| format!("private key of {}: {why}", k.name()))?;
                let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
                if let Some(pk) = &k.public_key {
                    let vk = verifying_key(pk)
                        .map_err(|why| format!("signing key of {}: public_key {why}", k.name()))?;
                    if vk != sk.verifying_key() {
                        return Err(format!(
                            "signing key of {}: the private key does not belong to public_key",
                            k.name()
                        ));
                    }
                }
                SignerMaterial::Ed25519(Box::new(sk))
            }
        };
        Ok(EventSigner {
            key_id: k.key_id.clone(),
            material,
        })
    }

    /// An HMAC-SHA256 signer (tests and tools; the config route is [`SigningConfig::signer`]).
    pub fn hmac(secret: Secret, key_id: Option<String>) -> EventSigner {
        EventSigner {
            key_id,
            material: SignerMaterial::Hmac(secret),
        }
    }

    /// An Ed25519 signer from its 32-byte seed.
    pub fn ed25519(seed: &[u8; 32], key_id: Option<String>) -> EventSigner {
        EventSigner {
            key_id,
            material: SignerMaterial::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(
                seed,
            ))),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            SignerMaterial::Hmac(_) => Algorithm::HmacSha256,
            SignerMaterial::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The signature attributes for `ev`.
    pub fn sign(&self, ev: &HrEvent) -> SignatureAttributes {
        let message = canonical_bytes(ev);
        let sig: Vec<u8> = match &self.material {
            SignerMaterial::Hmac(secret) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(&message);
                mac.finalize().into_bytes().to_vec()
            }
            SignerMaterial::Ed25519(sk) => sk.sign(&message).to_bytes().to_vec(),
        };
        SignatureAttributes {
            signature: Some(base64::engine::general_purpose::STANDARD.encode(sig)),
            algorithm: Some(self.algorithm().as_str().into()),
            key_id: self.key_id.clone(),
        }
    }
}

/// The Ed25519 public key (base64, as `public_key` takes it) of the private key `seed`.
pub fn ed25519_public_key(seed: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        ed25519_dalek::SigningKey::from_bytes(seed)
            .verifying_key()
            .to_bytes(),
    )
}

impl SigningConfig {
    /// The key `revoke publish --sign` signs `source`'s events with: the one with `key_id`, or
    /// else the first listed for the source that can sign (an `hmac-sha256` key, or an `ed25519`
    /// key with its private key configured). List the newest key first.
    pub fn signer(&self, source: &str, key_id: Option<&str>) -> Result<EventSigner, String> {
        let mine: Vec<&KeyConfig> = self.keys.iter().filter(|k| k.source == source).collect();
        if mine.is_empty() {
            return Err(format!(
                "no [[signing.keys]] entry for source {source:?}: cannot sign its events"
            ));
        }
        let key = match key_id {
            Some(id) => mine
                .iter()
                .find(|k| k.key_id.as_deref() == Some(id))
                .ok_or_else(|| format!("source {source:?} has no key with key_id {id:?}"))?,
            None => mine.iter().find(|k| k.can_sign()).ok_or_else(|| {
                format!(
                    "source {source:?} has only ed25519 public keys: signing needs private_key_env or private_key_file"
                )
            })?,
        };
        EventSigner::from_config(key)
    }
}
