//! Checking a signature: whether an event's signature attributes verify with a key of its
//! source, and why not.

use super::attributes::SignatureAttributes;
use super::canonical::canonical_bytes;
use super::error::SignatureError;
use super::keys::{Key, KeySet, Material};
use super::wire_names::{ATTR_ALGORITHM, ATTR_SIGNATURE};
use crate::config::Algorithm;
use crate::contract::HrEvent;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

impl KeySet {
    /// Whether `attrs` is a valid signature of `ev` by one of the keys of `ev.source`. Every
    /// candidate key is tried (several during a rotation); HMAC tags are compared in constant
    /// time, Ed25519 signatures verified strictly. Errors never carry key material or the tag
    /// that would have been valid.
    pub fn verify(&self, ev: &HrEvent, attrs: &SignatureAttributes) -> Result<(), SignatureError> {
        let Some(keys) = self.by_source.get(&ev.source) else {
            return Err(SignatureError::UnknownSource(ev.source.clone()));
        };
        let Some(sig_text) = attrs.signature.as_deref() else {
            return Err(SignatureError::Unsigned);
        };
        let Some(alg_text) = attrs.algorithm.as_deref() else {
            return Err(SignatureError::BadSignature(format!(
                "the `{ATTR_SIGNATURE}` attribute comes without `{ATTR_ALGORITHM}`"
            )));
        };
        let Some(alg) = Algorithm::parse(alg_text) else {
            return Err(SignatureError::WrongAlgorithm {
                origin: ev.source.clone(),
                algorithm: alg_text.chars().take(40).collect(),
            });
        };
        let by_id: Vec<&Key> = match attrs.key_id.as_deref() {
            Some(id) => {
                let k: Vec<&Key> = keys
                    .iter()
                    .filter(|k| k.id.as_deref() == Some(id))
                    .collect();
                if k.is_empty() {
                    return Err(SignatureError::UnknownKey {
                        origin: ev.source.clone(),
                        key_id: id.chars().take(256).collect(),
                    });
                }
                k
            }
            None => keys.iter().collect(),
        };
        let candidates: Vec<&Key> = by_id.into_iter().filter(|k| k.algorithm == alg).collect();
        if candidates.is_empty() {
            return Err(SignatureError::WrongAlgorithm {
                origin: ev.source.clone(),
                algorithm: alg.as_str().into(),
            });
        }
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig_text)
            .map_err(|_| {
                SignatureError::BadSignature(format!(
                    "the `{ATTR_SIGNATURE}` attribute is not base64 (standard alphabet, padded)"
                ))
            })?;
        let message = canonical_bytes(ev);
        let valid = candidates.iter().any(|k| match &k.material {
            Material::Hmac(secret) => hmac_verify(secret.expose().as_bytes(), &message, &sig),
            Material::Ed25519(vk) => ed25519_dalek::Signature::from_slice(&sig)
                .is_ok_and(|s| vk.verify_strict(&message, &s).is_ok()),
        });
        if valid {
            Ok(())
        } else {
            Err(SignatureError::BadSignature(format!(
                "the {alg} signature does not verify with the {} key(s) of source {:?}{}: the event was changed, or signed with another key",
                candidates.len(),
                ev.source,
                attrs
                    .key_id
                    .as_deref()
                    .map(|id| format!(" with key_id {id:?}"))
                    .unwrap_or_default()
            )))
        }
    }
}

fn hmac_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(message);
    // `verify_slice` compares in constant time (and refuses a tag of another length).
    mac.verify_slice(tag).is_ok()
}
