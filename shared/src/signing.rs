//! Signed HR events: per-source keys, the canonical form that is signed, and verification.
//!
//! With `[signing] required = true`, every consumer of `hr.terminations` (each worker group and
//! the verifier) accepts an HR event only when it carries a valid signature by a key configured
//! for the event's `source`; anything else goes to the DLQ and revokes nothing. Verification is a
//! pure function of the parsed event, its signature attributes and the keys ([`KeySet::verify`]).
//!
//! **Where the signature travels.** As three CloudEvents extension attributes, so it survives
//! either content mode and readers that do not know about it ignore it:
//!
//! | attribute (structured) / header (binary) | value |
//! | --- | --- |
//! | `signature` / `ce_signature` | base64 (standard alphabet, padded) of the HMAC-SHA256 tag (32 bytes) or the Ed25519 signature (64 bytes) |
//! | `signaturealg` / `ce_signaturealg` | `hmac-sha256` or `ed25519` |
//! | `signaturekeyid` / `ce_signaturekeyid` | optional: the `key_id` of the key used (rotation) |
//!
//! **What is signed** ([`canonical_bytes`]): not the bytes on the wire, but a canonical form of
//! the *parsed* event, so that structured and binary mode, white space, key order, `null` versus
//! absent, time zone offsets and re-serialisation (as when the event is re-published) all give
//! the same bytes. It is the UTF-8 of the JSON Canonicalization Scheme (RFC 8785) form of
//!
//! ```text
//! {"data":{"approved_by":..,"effective_at":..,"identity":{"email":..,"employee_id":..,"kind":..,"username":..},
//!          "reason":..,"requested_by":..,"rescinds":..},
//!  "id":..,"source":..,"specversion":"1.0","subject":..,"time":..,"type":..}
//! ```
//!
//! keys sorted, no white space, optional `data` fields that are absent or `null` left out, and
//! both times (`time`, `data.effective_at`) in UTC as RFC 3339 with `Z` and as many fractional
//! digits as needed (none, 3, 6 or 9). Every attribute that decides what is revoked, for whom and
//! when is covered; `datacontenttype` and the signature attributes are not.
//!
//! **Replays.** A signature proves who wrote an event, not that it is new: a replayed event with
//! a valid signature has the same `source` and `id`, hence the same case id, and the verifier
//! absorbs it as a duplicate (workers find nothing left to revoke).

use crate::config::Config;
use crate::contract::{check_identifier, parse_hr_event, ContractError, HrEvent, RawMessage};
use crate::secret::Secret;
use base64::Engine;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// CloudEvents extension attribute holding the signature (base64).
pub const ATTR_SIGNATURE: &str = "signature";
/// CloudEvents extension attribute naming the algorithm.
pub const ATTR_ALGORITHM: &str = "signaturealg";
/// CloudEvents extension attribute naming the key (optional).
pub const ATTR_KEY_ID: &str = "signaturekeyid";

/// The shortest HMAC secret accepted, in bytes: the hash's output size (RFC 2104).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

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
    /// The keys with their secrets read, once per process (see [`SigningConfig::key_set`]).
    #[serde(skip)]
    cache: KeyCache,
    #[serde(skip)]
    fleet_cache: FleetCache,
}

/// The fleet secret once read, with where it was read from.
#[derive(Clone, Default)]
struct FleetCache(Arc<Mutex<Option<FleetCached>>>);
type FleetCached = ((Option<String>, Option<String>), Arc<Secret>);

/// Kafka header on the records the verifier hands to the workers while signing is required:
/// `hmac-sha256=<hex>` over the topic, key, value and [`FLEET_SIGNED_HEADERS`] (see
/// [`fleet_signature`]).
pub const FLEET_SIGNATURE_HEADER: &str = "revoke_fleet_signature";

/// The headers the fleet signature covers (a missing one counts as empty): the ones that tell a
/// worker what to do with the record.
pub const FLEET_SIGNED_HEADERS: [&str; 3] = [
    crate::contract::REDRIVE_TARGET_HEADER,
    crate::contract::REDRIVE_COUNT_HEADER,
    crate::contract::RECHECK_HEADER,
];

fn fleet_mac(
    secret: &Secret,
    topic: &str,
    key: &[u8],
    payload: &[u8],
    header: impl Fn(&str) -> Vec<u8>,
) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    // Each part with its length first, so no two records share their signed bytes.
    let headers: Vec<Vec<u8>> = FLEET_SIGNED_HEADERS.iter().map(|h| header(h)).collect();
    for part in [topic.as_bytes(), key, payload]
        .into_iter()
        .chain(headers.iter().map(Vec::as_slice))
    {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// The fleet signature of a record with `headers` (the value of [`FLEET_SIGNATURE_HEADER`]).
pub fn fleet_signature(
    secret: &Secret,
    topic: &str,
    key: &[u8],
    payload: &[u8],
    headers: &[(&str, &str)],
) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_bytes().to_vec())
            .unwrap_or_default()
    };
    let tag = fleet_mac(secret, topic, key, payload, header)
        .finalize()
        .into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("hmac-sha256={hex}")
}

/// Whether `signature` (a [`FLEET_SIGNATURE_HEADER`] value) is the fleet signature of a record
/// without steering headers (a worker's report). Constant-time in the tag.
pub fn fleet_signature_matches(
    secret: &Secret,
    topic: &str,
    key: &[u8],
    payload: &[u8],
    signature: &str,
) -> bool {
    let Some(tag) = signature
        .strip_prefix("hmac-sha256=")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|h| {
            (0..32)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("checked hex"))
                .collect::<Vec<u8>>()
        })
    else {
        return false;
    };
    fleet_mac(secret, topic, key, payload, |_| Vec::new())
        .verify_slice(&tag)
        .is_ok()
}

/// With signing required, a record on `revoke.due` or `revoke.restores` must carry the fleet
/// signature of its topic, key and value: only the verifier, which checked HR's signature when
/// the termination arrived, may hand work to the workers.
pub fn check_fleet_signature(msg: &RawMessage, cfg: &Config) -> Result<(), HrRefusal> {
    if !cfg.signing.required {
        return Ok(());
    }
    let secret = cfg
        .signing
        .fleet_secret()
        .map_err(HrRefusal::Keys)?
        .ok_or_else(|| {
            HrRefusal::Keys(
                "signing.required needs signing.fleet_secret_env or fleet_secret_file".into(),
            )
        })?;
    let Some(got) = msg.header(FLEET_SIGNATURE_HEADER) else {
        return Err(SignatureError::FleetUnsigned(msg.topic.clone()).into());
    };
    let tag = std::str::from_utf8(got)
        .ok()
        .and_then(|v| v.strip_prefix("hmac-sha256="))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|h| {
            (0..32)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("checked hex"))
                .collect::<Vec<u8>>()
        })
        .ok_or_else(|| {
            SignatureError::BadSignature(format!(
                "{FLEET_SIGNATURE_HEADER} is not hmac-sha256=<64 hex digits>"
            ))
        })?;
    let key = msg.key.as_deref().unwrap_or_default();
    let payload = msg.payload.as_deref().unwrap_or_default();
    fleet_mac(&secret, &msg.topic, key, payload, |name| {
        msg.header(name).map(<[u8]>::to_vec).unwrap_or_default()
    })
    .verify_slice(&tag)
        .map_err(|_| {
            SignatureError::BadSignature(format!(
                "the fleet signature on {} does not match: not written by this fleet's verifier, or changed since",
                msg.topic
            ))
        })?;
    Ok(())
}

impl fmt::Debug for SigningConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // KeyConfig only names where secrets live; the cache is left out.
        f.debug_struct("SigningConfig")
            .field("required", &self.required)
            .field("keys", &self.keys)
            .field("fleet_secret_env", &self.fleet_secret_env)
            .field("fleet_secret_file", &self.fleet_secret_file)
            .finish_non_exhaustive()
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
    fn name(&self) -> String {
        match &self.key_id {
            Some(id) => format!("source {:?} key {:?}", self.source, id),
            None => format!("source {:?}", self.source),
        }
    }

    fn can_sign(&self) -> bool {
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

    /// The fleet secret, read once and kept (again only if where it comes from changed); `None`
    /// when not configured.
    pub fn fleet_secret(&self) -> Result<Option<Arc<Secret>>, String> {
        if self.fleet_secret_env.is_none() && self.fleet_secret_file.is_none() {
            return Ok(None);
        }
        let from = (
            self.fleet_secret_env.clone(),
            self.fleet_secret_file.clone(),
        );
        let mut cached = self.fleet_cache.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((was, secret)) = cached.as_ref() {
            if *was == from {
                return Ok(Some(secret.clone()));
            }
        }
        let secret = Secret::from_env_or_file(from.0.as_deref(), from.1.as_deref())
            .map_err(|e| format!("signing fleet secret: {e}"))?;
        if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
            return Err(format!(
                "signing fleet secret: {} bytes, under the minimum of {MIN_HMAC_SECRET_BYTES}",
                secret.expose().len()
            ));
        }
        let secret = Arc::new(secret);
        *cached = Some((from, secret.clone()));
        Ok(Some(secret))
    }

    /// The verification keys with their secrets read. Read once and kept; read again only if
    /// `keys` changed since (a config built in code and edited afterwards).
    pub fn key_set(&self) -> Result<Arc<KeySet>, String> {
        let mut cached = self.cache.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((keys, set)) = cached.as_ref() {
            if *keys == self.keys {
                return Ok(set.clone());
            }
        }
        let set = Arc::new(KeySet::from_config(&self.keys)?);
        *cached = Some((self.keys.clone(), set.clone()));
        Ok(set)
    }

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

/// The keys a [`KeySet`] was read from, and the set.
type Cached = (Vec<KeyConfig>, Arc<KeySet>);

/// Where the secrets, once read, are kept: shared by the clones of one config.
#[derive(Clone, Default)]
struct KeyCache(Arc<Mutex<Option<Cached>>>);

/// The key material of a source.
enum Material {
    Hmac(Secret),
    Ed25519(ed25519_dalek::VerifyingKey),
}

struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    material: Material,
}

/// The verification keys, by source. `Debug` names sources and key ids, never key material.
pub struct KeySet {
    by_source: BTreeMap<String, Vec<Key>>,
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
                Algorithm::HmacSha256 => {
                    let secret =
                        Secret::from_env_or_file(k.secret_env.as_deref(), k.secret_file.as_deref())
                            .map_err(|e| format!("signing key of {}: {e}", k.name()))?;
                    if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
                        return Err(format!(
                            "signing key of {}: the hmac-sha256 secret is {} bytes, under the minimum of {MIN_HMAC_SECRET_BYTES}",
                            k.name(),
                            secret.expose().len()
                        ));
                    }
                    Material::Hmac(secret)
                }
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

/// Why a signed-input check refused an event. `reason()` is the DLQ reason and metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("event has no `{ATTR_SIGNATURE}` attribute, and signing.required is on (sign it at the source, e.g. `revoke publish --sign`)")]
    Unsigned,
    #[error("no signing key is configured for source {0:?}: events from unknown sources are refused while signing.required is on (add a [[signing.keys]] entry for it)")]
    UnknownSource(String),
    #[error("source {origin:?} has no key with key_id {key_id:?} (check [[signing.keys]]: a rotation may not have reached this process yet)")]
    UnknownKey { origin: String, key_id: String },
    #[error("source {origin:?} has no {algorithm:?} key (check `{ATTR_ALGORITHM}` against [[signing.keys]])")]
    WrongAlgorithm { origin: String, algorithm: String },
    #[error("invalid signature: {0}")]
    BadSignature(String),
    #[error("record on {0} has no `{FLEET_SIGNATURE_HEADER}` header, and signing.required is on: only the verifier hands work to the workers")]
    FleetUnsigned(String),
}

impl SignatureError {
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::Unsigned => "unsigned",
            SignatureError::UnknownSource(_) => "unknown_source",
            SignatureError::UnknownKey { .. } => "unknown_key",
            SignatureError::WrongAlgorithm { .. } => "wrong_algorithm",
            SignatureError::BadSignature(_) => "bad_signature",
            SignatureError::FleetUnsigned(_) => "unsigned",
        }
    }
}

/// The signature extension attributes of one record, as found (not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureAttributes {
    pub signature: Option<String>,
    pub algorithm: Option<String>,
    pub key_id: Option<String>,
}

impl SignatureAttributes {
    pub fn is_empty(&self) -> bool {
        self.signature.is_none() && self.algorithm.is_none() && self.key_id.is_none()
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (ATTR_SIGNATURE, self.signature.as_deref()),
            (ATTR_ALGORITHM, self.algorithm.as_deref()),
            (ATTR_KEY_ID, self.key_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    /// Adds the attributes to a structured-mode event (`HrEvent::to_structured_json`).
    pub fn add_to_structured(&self, event: &mut serde_json::Value) {
        if let Some(obj) = event.as_object_mut() {
            for (k, v) in self.pairs() {
                obj.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
        }
    }

    /// Adds the attributes as `ce_*` headers to a binary-mode event (`HrEvent::to_binary`).
    pub fn add_to_binary(&self, headers: &mut Vec<(String, String)>) {
        for (k, v) in self.pairs() {
            headers.push((format!("ce_{k}"), v.to_string()));
        }
    }

    /// Reads the attributes of a record from `hr.terminations` (or `revoke.due`): `ce_*` headers
    /// in binary mode (a `ce_specversion` header present, as `parse_hr_event` decides), top-level
    /// attributes in structured mode. Call it on a record `parse_hr_event` accepted.
    pub fn of(msg: &RawMessage) -> Result<SignatureAttributes, SignatureError> {
        let not_text = |name: &str| {
            SignatureError::BadSignature(format!("the `{name}` attribute is not a UTF-8 string"))
        };
        if msg.header("ce_specversion").is_some() {
            let header = |name: &str| -> Result<Option<String>, SignatureError> {
                msg.header(&format!("ce_{name}"))
                    .map(|v| String::from_utf8(v.to_vec()).map_err(|_| not_text(name)))
                    .transpose()
            };
            return Ok(SignatureAttributes {
                signature: header(ATTR_SIGNATURE)?,
                algorithm: header(ATTR_ALGORITHM)?,
                key_id: header(ATTR_KEY_ID)?,
            });
        }
        #[derive(Deserialize)]
        struct Top {
            #[serde(default)]
            signature: Option<serde_json::Value>,
            #[serde(default)]
            signaturealg: Option<serde_json::Value>,
            #[serde(default)]
            signaturekeyid: Option<serde_json::Value>,
        }
        let top: Top = serde_json::from_slice(msg.payload.as_deref().unwrap_or_default())
            .map_err(|_| SignatureError::BadSignature("the event is not a JSON object".into()))?;
        let text = |name: &str, v: Option<serde_json::Value>| match v {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(not_text(name)),
        };
        Ok(SignatureAttributes {
            signature: text(ATTR_SIGNATURE, top.signature)?,
            algorithm: text(ATTR_ALGORITHM, top.signaturealg)?,
            key_id: text(ATTR_KEY_ID, top.signaturekeyid)?,
        })
    }
}

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
            Algorithm::HmacSha256 => {
                let secret =
                    Secret::from_env_or_file(k.secret_env.as_deref(), k.secret_file.as_deref())
                        .map_err(|e| format!("signing key of {}: {e}", k.name()))?;
                if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
                    return Err(format!(
                        "signing key of {}: the hmac-sha256 secret is under {MIN_HMAC_SECRET_BYTES} bytes",
                        k.name()
                    ));
                }
                SignerMaterial::Hmac(secret)
            }
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

/// An Ed25519 public key from base64 or hex; weak (small-order) keys are refused.
fn verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes = decode_32(text)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "is not a valid Ed25519 public key".to_string())?;
    if vk.is_weak() {
        return Err("is a weak (small-order) Ed25519 key".into());
    }
    Ok(vk)
}

/// 32 bytes written as 64 hex digits or as base64 (standard alphabet, padding optional). The
/// text itself is never repeated in the error (it may be a private key).
fn decode_32(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "is not hex".to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
            .map_err(|_| "is neither 64 hex digits nor base64".to_string())?
    };
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| format!("is {} bytes, not 32", bytes.len()))
}

/// The bytes that are signed: the canonical form of `ev` (see the module documentation).
pub fn canonical_bytes(ev: &HrEvent) -> Vec<u8> {
    use serde_json::{Map, Value};
    let time = |t: &chrono::DateTime<chrono::Utc>| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    };
    let text = |s: &str| Value::String(s.to_string());
    let d = &ev.data;
    let who = &d.identity;
    let mut identity = Map::new();
    identity.insert("employee_id".into(), text(&who.employee_id));
    identity.insert("kind".into(), text(who.kind.as_str()));
    if let Some(v) = &who.email {
        identity.insert("email".into(), text(v));
    }
    if let Some(v) = &who.username {
        identity.insert("username".into(), text(v));
    }
    let mut data = Map::new();
    data.insert("identity".into(), Value::Object(identity));
    if let Some(t) = &d.effective_at {
        data.insert("effective_at".into(), time(t));
    }
    for (k, v) in [
        ("reason", &d.reason),
        ("requested_by", &d.requested_by),
        ("approved_by", &d.approved_by),
        ("rescinds", &d.rescinds),
    ] {
        if let Some(v) = v {
            data.insert(k.into(), text(v));
        }
    }
    let mut top = Map::new();
    top.insert("data".into(), Value::Object(data));
    top.insert("id".into(), text(&ev.id));
    top.insert("source".into(), text(&ev.source));
    top.insert("specversion".into(), text("1.0"));
    top.insert("subject".into(), text(&ev.subject));
    top.insert("time".into(), time(&ev.time));
    top.insert("type".into(), text(ev.type_str()));
    let mut out = String::new();
    write_jcs(&Value::Object(top), &mut out);
    out.into_bytes()
}

/// RFC 8785 serialisation for the values the canonical form holds (objects and strings; the
/// other JSON types are written as serde_json does, which for them is JCS too).
fn write_jcs(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            // JCS orders keys by their UTF-16 code units.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialise"));
                out.push(':');
                write_jcs(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs(x, out);
            }
            out.push(']');
        }
        // Strings: serde_json escapes exactly `"`, `\` and control characters, with the same
        // short forms and lowercase \u00xx as JCS.
        other => out.push_str(&serde_json::to_string(other).expect("JSON values serialise")),
    }
}

/// Why a consumer refused a record of HR input.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HrRefusal {
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signing keys could not be read (an unset environment variable, a missing file): a
    /// fault of this process, not of the record, which must not be dead-lettered.
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

impl HrRefusal {
    /// The DLQ reason (bounded; also the metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            HrRefusal::Contract(e) => e.reason(),
            HrRefusal::Signature(e) => e.reason(),
            HrRefusal::Keys(_) => "signing_keys_unavailable",
        }
    }

    /// Whether the record itself is at fault (dead-letter it) rather than this process.
    pub fn is_dead_letter(&self) -> bool {
        !matches!(self, HrRefusal::Keys(_))
    }
}

/// Parses a record of HR input (`hr.terminations`, or `revoke.due`) and, with signing required,
/// checks its signature: what every consumer of HR input calls.
///
/// On `revoke.due` (`cfg.topics.due`) the records are the verifier's hand-over of a
/// termination whose HR signature it checked when it arrived (released by the guard, come due,
/// or re-driven): they carry the fleet's signature instead ([`check_fleet_signature`]), and
/// anything else on that topic is refused.
pub fn parse_hr_input(msg: &RawMessage, cfg: &Config) -> Result<HrEvent, HrRefusal> {
    let ev = parse_hr_event(msg, cfg.consumer.max_event_bytes)?;
    if !cfg.signing.required {
        return Ok(ev);
    }
    if msg.topic == cfg.topics.due {
        check_fleet_signature(msg, cfg)?;
        return Ok(ev);
    }
    let attrs = SignatureAttributes::of(msg)?;
    let keys = cfg.signing.key_set().map_err(HrRefusal::Keys)?;
    keys.verify(&ev, &attrs)?;
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{HrData, HrEventKind, Identity, IdentityKind};
    use chrono::TimeZone;

    const SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!";
    const SEED: [u8; 32] = [7; 32];

    fn event() -> HrEvent {
        HrEvent {
            id: "evt-1".into(),
            source: "urn:hr:workday".into(),
            subject: "E1".into(),
            time: chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
            kind: HrEventKind::Termination,
            data: HrData {
                identity: Identity {
                    employee_id: "E1".into(),
                    email: Some("ada@example.com".into()),
                    username: Some("ada".into()),
                    kind: IdentityKind::Employee,
                },
                effective_at: Some(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()),
                reason: Some("resignation \"final\" \\ ü".into()),
                requested_by: Some("hr:bob".into()),
                approved_by: None,
                rescinds: None,
            },
        }
    }

    fn hmac_key(source: &str, id: Option<&str>, env: &str) -> KeyConfig {
        KeyConfig {
            source: source.into(),
            key_id: id.map(str::to_string),
            algorithm: Algorithm::HmacSha256,
            public_key: None,
            secret_env: Some(env.into()),
            secret_file: None,
            private_key_env: None,
            private_key_file: None,
        }
    }

    fn ed_key(source: &str, id: Option<&str>, seed: &[u8; 32]) -> KeyConfig {
        let pk = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
        KeyConfig {
            source: source.into(),
            key_id: id.map(str::to_string),
            algorithm: Algorithm::Ed25519,
            public_key: Some(base64::engine::general_purpose::STANDARD.encode(pk.to_bytes())),
            secret_env: None,
            secret_file: None,
            private_key_env: None,
            private_key_file: None,
        }
    }

    /// A KeySet with HMAC secrets given directly (no environment needed).
    fn keys(entries: Vec<(KeyConfig, Option<&str>)>) -> KeySet {
        let mut by_source: BTreeMap<String, Vec<Key>> = BTreeMap::new();
        for (k, secret) in entries {
            let material = match k.algorithm {
                Algorithm::HmacSha256 => Material::Hmac(Secret::new(secret.unwrap())),
                Algorithm::Ed25519 => {
                    Material::Ed25519(verifying_key(k.public_key.as_deref().unwrap()).unwrap())
                }
            };
            by_source.entry(k.source.clone()).or_default().push(Key {
                id: k.key_id,
                algorithm: k.algorithm,
                material,
            });
        }
        KeySet { by_source }
    }

    fn hmac_signer(secret: &str, id: Option<&str>) -> EventSigner {
        EventSigner::hmac(Secret::new(secret), id.map(str::to_string))
    }

    fn reason(set: &KeySet, ev: &HrEvent, attrs: &SignatureAttributes) -> &'static str {
        set.verify(ev, attrs).unwrap_err().reason()
    }

    #[test]
    fn the_canonical_form_is_fixed() {
        // Other implementations of the signer can check themselves against this.
        assert_eq!(
            String::from_utf8(canonical_bytes(&event())).unwrap(),
            r#"{"data":{"effective_at":"2026-11-24T09:00:00Z","identity":{"email":"ada@example.com","employee_id":"E1","kind":"employee","username":"ada"},"reason":"resignation \"final\" \\ ü","requested_by":"hr:bob"},"id":"evt-1","source":"urn:hr:workday","specversion":"1.0","subject":"E1","time":"2026-11-24T09:00:00Z","type":"identity.termination.v1"}"#
        );
        let mut ev = event();
        ev.time += chrono::Duration::milliseconds(250);
        assert!(String::from_utf8(canonical_bytes(&ev))
            .unwrap()
            .contains(r#""time":"2026-11-24T09:00:00.250Z""#));
    }

    #[test]
    fn known_answers_computed_elsewhere() {
        // HMAC-SHA256 of the canonical form above, computed with Python's hmac module over
        // json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
        let sig = hmac_signer(SECRET, None).sign(&event());
        assert_eq!(
            sig.signature.as_deref(),
            Some("DWtzqHhwgqjNJ5nTHsjx43d/VmCXZQsgXG7s/As74j8=")
        );
        // A key pair made by `openssl genpkey -algorithm ed25519`, its private key read with
        // `openssl pkey -outform DER | tail -c 32 | base64` and the public key with `-pubout`.
        let seed = decode_32("IcN6PMRRlMbXzwJfpEjzFmRUDVmf791Dddu+d6Z0ulY=").unwrap();
        assert_eq!(
            ed25519_public_key(&seed),
            "5eeqTJMHNkszVbHwinmpsVDaIzscBSq3xDdlTFSsi/s="
        );
    }

    #[test]
    fn hmac_and_ed25519_signatures_verify() {
        let ev = event();
        let set = keys(vec![
            (hmac_key("urn:hr:workday", None, "X"), Some(SECRET)),
            (ed_key("urn:hr:sap", None, &SEED), None),
        ]);
        let attrs = hmac_signer(SECRET, None).sign(&ev);
        assert_eq!(attrs.algorithm.as_deref(), Some("hmac-sha256"));
        assert_eq!(set.verify(&ev, &attrs), Ok(()));

        let mut sap = event();
        sap.source = "urn:hr:sap".into();
        let attrs = EventSigner::ed25519(&SEED, None).sign(&sap);
        assert_eq!(attrs.algorithm.as_deref(), Some("ed25519"));
        assert_eq!(set.verify(&sap, &attrs), Ok(()));
    }

    type Change = Box<dyn Fn(&mut HrEvent)>;

    #[test]
    fn tampered_data_subject_time_or_type_do_not_verify() {
        let set = keys(vec![
            (hmac_key("urn:hr:workday", None, "X"), Some(SECRET)),
            (ed_key("urn:hr:sap", None, &SEED), None),
        ]);
        for (source, signer) in [
            ("urn:hr:workday", hmac_signer(SECRET, None)),
            ("urn:hr:sap", EventSigner::ed25519(&SEED, None)),
        ] {
            let mut ev = event();
            ev.source = source.into();
            let attrs = signer.sign(&ev);
            let tampered: Vec<Change> = vec![
                Box::new(|e| e.data.identity.username = Some("bob".into())),
                Box::new(|e| e.data.identity.email = None),
                Box::new(|e| e.data.effective_at = Some(e.time + chrono::Duration::days(1))),
                Box::new(|e| e.data.reason = Some("other".into())),
                Box::new(|e| {
                    e.subject = "E2".into();
                    e.data.identity.employee_id = "E2".into();
                }),
                Box::new(|e| e.time += chrono::Duration::seconds(1)),
                Box::new(|e| e.id = "evt-2".into()),
                Box::new(|e| e.kind = HrEventKind::Rescinded),
                Box::new(|e| e.data.rescinds = Some("evt-0".into())),
            ];
            for (i, change) in tampered.iter().enumerate() {
                let mut t = ev.clone();
                change(&mut t);
                assert_eq!(
                    reason(&set, &t, &attrs),
                    "bad_signature",
                    "{source} change {i}"
                );
            }
        }
    }

    #[test]
    fn wrong_key_unknown_source_missing_signature_and_wrong_algorithm_are_refused() {
        let ev = event();
        let set = keys(vec![(hmac_key("urn:hr:workday", None, "X"), Some(SECRET))]);
        let other = hmac_signer("another-secret-that-is-32-bytes-long!", None).sign(&ev);
        assert_eq!(reason(&set, &ev, &other), "bad_signature");

        let mut stranger = event();
        stranger.source = "urn:hr:elsewhere".into();
        let attrs = hmac_signer(SECRET, None).sign(&stranger);
        assert_eq!(reason(&set, &stranger, &attrs), "unknown_source");
        // Unknown source wins over a missing signature: the source is the first question.
        assert_eq!(
            reason(&set, &stranger, &SignatureAttributes::default()),
            "unknown_source"
        );

        assert_eq!(
            reason(&set, &ev, &SignatureAttributes::default()),
            "unsigned"
        );

        // An Ed25519 signature where the source has only an HMAC key.
        let ed = EventSigner::ed25519(&SEED, None).sign(&ev);
        assert_eq!(reason(&set, &ev, &ed), "wrong_algorithm");
        let mut unknown_alg = hmac_signer(SECRET, None).sign(&ev);
        unknown_alg.algorithm = Some("rsa-sha1".into());
        assert_eq!(reason(&set, &ev, &unknown_alg), "wrong_algorithm");
        let mut no_alg = hmac_signer(SECRET, None).sign(&ev);
        no_alg.algorithm = None;
        assert_eq!(reason(&set, &ev, &no_alg), "bad_signature");
        let mut garbage = hmac_signer(SECRET, None).sign(&ev);
        garbage.signature = Some("%%%".into());
        assert_eq!(reason(&set, &ev, &garbage), "bad_signature");
        let mut short = hmac_signer(SECRET, None).sign(&ev);
        short.signature = Some("AAAA".into());
        assert_eq!(reason(&set, &ev, &short), "bad_signature");

        // The error never carries the secret nor the tag that would have been valid.
        let good = hmac_signer(SECRET, None).sign(&ev);
        let text = set.verify(&ev, &other).unwrap_err().to_string();
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(good.signature.as_deref().unwrap()), "{text}");
    }

    #[test]
    fn rotation_old_and_new_keys_overlap() {
        let ev = event();
        let old_secret = "the-old-secret-of-at-least-32-bytes!!";
        let set = keys(vec![
            (
                hmac_key("urn:hr:workday", Some("2026-01"), "X"),
                Some(SECRET),
            ),
            (
                hmac_key("urn:hr:workday", Some("2025-07"), "Y"),
                Some(old_secret),
            ),
            (ed_key("urn:hr:workday", Some("ed-1"), &SEED), None),
        ]);
        // With a key id: that key.
        let new = hmac_signer(SECRET, Some("2026-01")).sign(&ev);
        assert_eq!(set.verify(&ev, &new), Ok(()));
        let old = hmac_signer(old_secret, Some("2025-07")).sign(&ev);
        assert_eq!(set.verify(&ev, &old), Ok(()));
        let ed = EventSigner::ed25519(&SEED, Some("ed-1".into())).sign(&ev);
        assert_eq!(set.verify(&ev, &ed), Ok(()));
        // Without one: any key of the source and algorithm.
        assert_eq!(
            set.verify(&ev, &hmac_signer(old_secret, None).sign(&ev)),
            Ok(())
        );
        // A key id naming the wrong key does not fall back to the others.
        let mislabelled = hmac_signer(old_secret, Some("2026-01")).sign(&ev);
        assert_eq!(reason(&set, &ev, &mislabelled), "bad_signature");
        // A retired key id.
        let retired = hmac_signer(old_secret, Some("2024-01")).sign(&ev);
        assert_eq!(reason(&set, &ev, &retired), "unknown_key");
        // An ed25519 key id with an hmac signature.
        let crossed = hmac_signer(SECRET, Some("ed-1")).sign(&ev);
        assert_eq!(reason(&set, &ev, &crossed), "wrong_algorithm");
    }

    fn record(ev: &HrEvent, attrs: &SignatureAttributes, binary: bool) -> RawMessage {
        if binary {
            let (mut headers, body) = ev.to_binary();
            attrs.add_to_binary(&mut headers);
            RawMessage {
                topic: "hr.terminations".into(),
                key: Some(ev.subject.as_bytes().to_vec()),
                payload: Some(body),
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes()))
                    .collect(),
                ..Default::default()
            }
        } else {
            let mut v = ev.to_structured_json();
            attrs.add_to_structured(&mut v);
            RawMessage {
                topic: "hr.terminations".into(),
                key: Some(ev.subject.as_bytes().to_vec()),
                payload: Some(serde_json::to_vec(&v).unwrap()),
                ..Default::default()
            }
        }
    }

    #[test]
    fn binary_and_structured_modes_give_the_same_canonical_bytes() {
        let ev = event();
        let attrs = hmac_signer(SECRET, Some("k1")).sign(&ev);
        let structured = record(&ev, &attrs, false);
        let binary = record(&ev, &attrs, true);
        let a = parse_hr_event(&structured, 1 << 20).unwrap();
        let b = parse_hr_event(&binary, 1 << 20).unwrap();
        assert_eq!(canonical_bytes(&a), canonical_bytes(&b));
        assert_eq!(canonical_bytes(&a), canonical_bytes(&ev));
        assert_eq!(SignatureAttributes::of(&structured).unwrap(), attrs);
        assert_eq!(SignatureAttributes::of(&binary).unwrap(), attrs);

        // Written differently, the same event: other key order, white space, an explicit null,
        // a time with an offset. The signature still holds.
        let text = format!(
            r#"{{ "data": {{"requested_by":"hr:bob","approved_by":null,"reason":"resignation \"final\" \\ \u00fc",
                 "effective_at":"2026-11-24T10:00:00+01:00",
                 "identity":{{"kind":"employee","username":"ada","email":"ada@example.com","employee_id":"E1"}}}},
               "time":"2026-11-24T09:00:00.000Z","subject":"E1","id":"evt-1","source":"urn:hr:workday",
               "type":"identity.termination.v1","specversion":"1.0",
               "signaturekeyid":"k1","signaturealg":"hmac-sha256","signature":{:?} }}"#,
            attrs.signature.as_deref().unwrap()
        );
        let msg = RawMessage {
            key: Some(b"E1".to_vec()),
            payload: Some(text.into_bytes()),
            ..Default::default()
        };
        let c = parse_hr_event(&msg, 1 << 20).unwrap();
        assert_eq!(canonical_bytes(&c), canonical_bytes(&ev));
        let set = keys(vec![(
            hmac_key("urn:hr:workday", Some("k1"), "X"),
            Some(SECRET),
        )]);
        assert_eq!(
            set.verify(&c, &SignatureAttributes::of(&msg).unwrap()),
            Ok(())
        );

        // Re-serialised (as the verifier re-publishes): still the same bytes.
        let again = parse_hr_event(
            &RawMessage {
                key: Some(b"E1".to_vec()),
                payload: Some(serde_json::to_vec(&a.to_structured_json()).unwrap()),
                ..Default::default()
            },
            1 << 20,
        )
        .unwrap();
        assert_eq!(canonical_bytes(&again), canonical_bytes(&ev));
    }

    #[test]
    fn attributes_of_the_wrong_type_are_refused() {
        let mut v = event().to_structured_json();
        v["signature"] = 42.into();
        let msg = RawMessage {
            key: Some(b"E1".to_vec()),
            payload: Some(serde_json::to_vec(&v).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            SignatureAttributes::of(&msg).unwrap_err().reason(),
            "bad_signature"
        );
        let (mut headers, body) = event().to_binary();
        headers.push(("ce_signature".into(), String::new()));
        let mut msg = RawMessage {
            key: Some(b"E1".to_vec()),
            payload: Some(body),
            headers: headers
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect(),
            ..Default::default()
        };
        msg.headers.last_mut().unwrap().1 = vec![0xff, 0xfe];
        assert_eq!(
            SignatureAttributes::of(&msg).unwrap_err().reason(),
            "bad_signature"
        );
    }

    const FLEET: &str = "the-fleet-secret-of-at-least-32-bytes";

    fn signing_cfg(keys: Vec<KeyConfig>) -> Config {
        let mut cfg = Config::default();
        cfg.signing.required = true;
        cfg.signing.keys = keys;
        cfg.signing.fleet_secret_file = Some(secret_file(FLEET));
        cfg
    }

    fn secret_file(content: &str) -> String {
        let p = std::env::temp_dir().join(format!(
            "revoke-signing-{}.secret",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&p, format!("{content}\n")).unwrap();
        p.display().to_string()
    }

    #[test]
    fn parse_hr_input_checks_only_when_required_and_due_records_need_the_fleet_signature() {
        let ev = event();
        let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
        key.secret_env = None;
        key.secret_file = Some(secret_file(SECRET));
        let mut cfg = signing_cfg(vec![key]);
        let signed = record(&ev, &hmac_signer(SECRET, None).sign(&ev), false);
        let unsigned = record(&ev, &SignatureAttributes::default(), true);
        let forged = record(
            &ev,
            &hmac_signer("not-the-secret-but-32-bytes-long!!!", None).sign(&ev),
            true,
        );
        assert_eq!(parse_hr_input(&signed, &cfg).unwrap(), ev);
        assert_eq!(
            parse_hr_input(&unsigned, &cfg).unwrap_err().reason(),
            "unsigned"
        );
        assert_eq!(
            parse_hr_input(&forged, &cfg).unwrap_err().reason(),
            "bad_signature"
        );
        // Contract errors come first.
        let mut broken = signed.clone();
        broken.key = Some(b"E2".to_vec());
        assert_eq!(
            parse_hr_input(&broken, &cfg).unwrap_err().reason(),
            "key_mismatch"
        );
        // The due topic: only what the fleet signed passes — not an unsigned record, not one
        // with HR's valid signature, not one signed with another secret or for another topic.
        let fleet =
            Secret::from_env_or_file(None, cfg.signing.fleet_secret_file.as_deref()).unwrap();
        let on_due = |m: &RawMessage, sign_with: Option<(&Secret, &str)>| {
            let mut m = m.clone();
            m.topic = cfg.topics.due.clone();
            if let Some((secret, topic)) = sign_with {
                let sig = fleet_signature(
                    secret,
                    topic,
                    m.key.as_deref().unwrap_or_default(),
                    m.payload.as_deref().unwrap_or_default(),
                    &[],
                );
                m.headers
                    .push((FLEET_SIGNATURE_HEADER.into(), sig.into_bytes()));
            }
            m
        };
        let due = cfg.topics.due.clone();
        assert_eq!(
            parse_hr_input(&on_due(&unsigned, Some((&fleet, &due))), &cfg).unwrap(),
            ev
        );
        assert_eq!(
            parse_hr_input(&on_due(&unsigned, None), &cfg)
                .unwrap_err()
                .reason(),
            "unsigned"
        );
        assert_eq!(
            parse_hr_input(&on_due(&signed, None), &cfg)
                .unwrap_err()
                .reason(),
            "unsigned"
        );
        let other = Secret::from_env_or_file(
            None,
            Some(&secret_file("another-secret-of-at-least-32-bytes!")),
        )
        .unwrap();
        assert_eq!(
            parse_hr_input(&on_due(&unsigned, Some((&other, &due))), &cfg)
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
        assert_eq!(
            parse_hr_input(&on_due(&unsigned, Some((&fleet, "revoke.restores"))), &cfg)
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
        // A signed record whose value was changed afterwards.
        let mut changed = on_due(&unsigned, Some((&fleet, &due)));
        changed.payload = Some(
            String::from_utf8(changed.payload.unwrap())
                .unwrap()
                .replace("ada", "bob")
                .into_bytes(),
        );
        assert_eq!(
            parse_hr_input(&changed, &cfg).unwrap_err().reason(),
            "bad_signature"
        );
        // The headers that steer a worker are signed too: one added afterwards breaks it, one
        // signed with the record passes.
        let mut steered = on_due(&unsigned, Some((&fleet, &due)));
        steered.headers.push((
            crate::contract::REDRIVE_TARGET_HEADER.into(),
            b"vault".to_vec(),
        ));
        assert_eq!(
            parse_hr_input(&steered, &cfg).unwrap_err().reason(),
            "bad_signature"
        );
        let mut redrive = unsigned.clone();
        redrive.topic = due.clone();
        let hs = [(crate::contract::REDRIVE_TARGET_HEADER, "vault")];
        let sig = fleet_signature(
            &fleet,
            &due,
            redrive.key.as_deref().unwrap_or_default(),
            redrive.payload.as_deref().unwrap_or_default(),
            &hs,
        );
        redrive.headers.push((hs[0].0.into(), b"vault".to_vec()));
        redrive
            .headers
            .push((FLEET_SIGNATURE_HEADER.into(), sig.into_bytes()));
        assert_eq!(parse_hr_input(&redrive, &cfg).unwrap(), ev);
        // Off: nothing is checked.
        cfg.signing.required = false;
        assert_eq!(parse_hr_input(&forged, &cfg).unwrap(), ev);
        // Keys that cannot be read are this process's fault, not the record's.
        let cfg = signing_cfg(vec![hmac_key(
            "urn:hr:workday",
            None,
            "REVOKE_TEST_SIGNING_SECRET_THAT_IS_NEVER_SET",
        )]);
        let e = parse_hr_input(&signed, &cfg).unwrap_err();
        assert!(!e.is_dead_letter(), "{e}");
    }

    #[test]
    fn key_set_reads_secrets_once_and_again_when_the_keys_change() {
        let path = secret_file(SECRET);
        let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
        key.secret_env = None;
        key.secret_file = Some(path.clone());
        let mut cfg = signing_cfg(vec![key]);
        let a = cfg.signing.key_set().unwrap();
        std::fs::remove_file(&path).unwrap();
        let b = cfg.clone().signing.key_set().unwrap();
        assert!(Arc::ptr_eq(&a, &b), "read once, shared by clones");
        cfg.signing.keys.push(ed_key("urn:hr:sap", None, &SEED));
        let e = cfg.signing.key_set().unwrap_err();
        assert!(e.contains("cannot read secret file"), "{e}");
        // Short secrets are refused, without saying what they are.
        let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
        key.secret_env = None;
        key.secret_file = Some(secret_file("hunter2"));
        let e = signing_cfg(vec![key]).signing.key_set().unwrap_err();
        assert!(
            e.contains("under the minimum") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn config_shape_is_checked_without_reading_secrets() {
        let ok = signing_cfg(vec![
            hmac_key("urn:hr:workday", Some("a"), "NOT_SET_ANYWHERE"),
            ed_key("urn:hr:workday", Some("b"), &SEED),
        ]);
        assert_eq!(ok.signing.validate(), Ok(()));
        // The fleet secret: needed with signing required, from one place only, read late.
        let mut no_fleet = ok.clone();
        no_fleet.signing.fleet_secret_file = None;
        assert!(no_fleet
            .signing
            .validate()
            .unwrap_err()
            .contains("fleet_secret_env"));
        let mut both = ok.clone();
        both.signing.fleet_secret_env = Some("NOT_SET_ANYWHERE".into());
        assert!(both.signing.validate().unwrap_err().contains("not both"));
        let mut unset = ok.clone();
        unset.signing.fleet_secret_file = None;
        unset.signing.fleet_secret_env = Some("REVOKE_TEST_FLEET_SECRET_NEVER_SET".into());
        assert_eq!(unset.signing.validate(), Ok(()));
        assert!(unset
            .signing
            .fleet_secret()
            .unwrap_err()
            .contains("not set"));
        let mut short = ok.clone();
        short.signing.fleet_secret_file = Some(secret_file("too-short"));
        assert!(short
            .signing
            .fleet_secret()
            .unwrap_err()
            .contains("under the minimum"));
        let bad = |keys: Vec<KeyConfig>, says: &str| {
            let e = signing_cfg(keys).signing.validate().unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        bad(vec![], "no [[signing.keys]]");
        let mut k = hmac_key("urn:hr:workday", None, "X");
        k.secret_env = None;
        bad(vec![k], "needs secret_env or secret_file");
        let mut k = hmac_key("urn:hr:workday", None, "X");
        k.secret_file = Some("/x".into());
        bad(vec![k], "not both");
        let mut k = ed_key("urn:hr:workday", None, &SEED);
        k.public_key = Some("not a key".into());
        bad(vec![k], "public_key is neither");
        let mut k = ed_key("urn:hr:workday", None, &SEED);
        k.public_key = Some("00".repeat(32));
        bad(vec![k], "public_key is a weak");
        let mut k = ed_key("urn:hr:workday", None, &SEED);
        k.public_key = None;
        bad(vec![k], "needs public_key");
        let mut k = ed_key("urn:hr:workday", None, &SEED);
        k.secret_env = Some("X".into());
        bad(vec![k], "not secret_*");
        bad(
            vec![
                hmac_key("urn:hr:workday", Some("a"), "X"),
                hmac_key("urn:hr:workday", Some("a"), "Y"),
            ],
            "unique per source",
        );
        bad(vec![hmac_key(" ", None, "X")], "source");
        // Off with no keys is the default, and valid.
        assert_eq!(SigningConfig::default().validate(), Ok(()));
    }

    #[test]
    fn the_example_configs_commented_keys_load() {
        // deploy/revoke.example.toml shows [[signing.keys]] commented out; uncommented (and
        // with signing required) they must be a valid configuration.
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/revoke.example.toml");
        let text = std::fs::read_to_string(&p).unwrap();
        let mut in_signing = false;
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                in_signing = line == "[signing]";
            }
            let uncommented = line.strip_prefix("# ").filter(|rest| {
                in_signing
                    && (rest.starts_with("[[signing.keys]]")
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        }))
            });
            match uncommented {
                Some(rest) => out.push_str(rest),
                None if line == "required = false" && in_signing => out.push_str("required = true"),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        let path = std::env::temp_dir().join(format!(
            "revoke-example-signing-{}.toml",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, out).unwrap();
        let cfg = Config::load(Some(&path), std::iter::empty());
        std::fs::remove_file(&path).ok();
        let cfg = cfg.unwrap();
        assert!(cfg.signing.required);
        assert_eq!(
            cfg.signing
                .keys
                .iter()
                .map(|k| (k.source.as_str(), k.algorithm))
                .collect::<Vec<_>>(),
            vec![
                ("urn:hr:workday", Algorithm::HmacSha256),
                ("urn:hr:sap", Algorithm::Ed25519)
            ]
        );
        // The file as shipped: off, no keys.
        let shipped = Config::load(Some(&p), std::iter::empty()).unwrap();
        assert!(!shipped.signing.required && shipped.signing.keys.is_empty());
    }

    #[test]
    fn signing_is_configured_from_the_environment_too() {
        let env = vec![
            ("REVOKE_SIGNING__REQUIRED".to_string(), "true".to_string()),
            (
                "REVOKE_SIGNING__FLEET_SECRET_ENV".to_string(),
                "REVOKE_FLEET_SECRET".to_string(),
            ),
            (
                "REVOKE_SIGNING__KEYS".to_string(),
                r#"[{ source = "urn:hr:workday", key_id = "k1", algorithm = "hmac-sha256", secret_env = "HR_SECRET" }]"#
                    .to_string(),
            ),
        ];
        let cfg = Config::load(None, env).unwrap();
        assert!(cfg.signing.required);
        assert_eq!(cfg.signing.keys[0].secret_env.as_deref(), Some("HR_SECRET"));
        for (var, value) in [
            ("REVOKE_SIGNING__REQUIRED", "true"),
            (
                "REVOKE_SIGNING__KEYS",
                r#"[{ source = "s", algorithm = "rsa" }]"#,
            ),
            (
                "REVOKE_SIGNING__KEYS",
                r#"[{ source = "s", algorithm = "hmac-sha256", secret = "inline" }]"#,
            ),
            ("REVOKE_SIGNING__REQUIRD", "true"),
        ] {
            let r = Config::load(None, vec![(var.to_string(), value.to_string())]);
            assert!(r.is_err(), "{var}={value} accepted");
            assert!(!r.unwrap_err().to_string().contains("inline"));
        }
    }

    #[test]
    fn keys_decode_from_hex_or_base64() {
        let vk = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
        let hex: String = vk.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(vk.to_bytes());
        assert_eq!(verifying_key(&hex).unwrap(), vk);
        assert_eq!(verifying_key(&hex.to_uppercase()).unwrap(), vk);
        assert_eq!(verifying_key(&b64).unwrap(), vk);
        assert_eq!(verifying_key(b64.trim_end_matches('=')).unwrap(), vk);
        assert!(decode_32("AAAA").unwrap_err().contains("3 bytes"));
        assert_eq!(verifying_key(&ed25519_public_key(&SEED)).unwrap(), vk);
    }

    #[test]
    fn signers_come_from_config_and_never_print_their_keys() {
        let seed_hex: String = SEED.iter().map(|b| format!("{b:02x}")).collect();
        let mut ed = ed_key("urn:hr:sap", Some("ed-1"), &SEED);
        ed.private_key_file = Some(secret_file(&seed_hex));
        let mut hm = hmac_key("urn:hr:workday", Some("h-1"), "UNUSED");
        hm.secret_env = None;
        hm.secret_file = Some(secret_file(SECRET));
        let cfg = signing_cfg(vec![ed.clone(), hm, ed_key("urn:hr:other", None, &SEED)]);
        let set = cfg.signing.key_set().unwrap();

        let signer = cfg.signing.signer("urn:hr:sap", None).unwrap();
        let mut ev = event();
        ev.source = "urn:hr:sap".into();
        assert_eq!(set.verify(&ev, &signer.sign(&ev)), Ok(()));
        let printed = format!("{signer:?} {:?} {set:?}", cfg.signing);
        assert!(
            !printed.contains(SECRET) && !printed.contains(&seed_hex),
            "{printed}"
        );

        let signer = cfg.signing.signer("urn:hr:workday", Some("h-1")).unwrap();
        assert_eq!(set.verify(&event(), &signer.sign(&event())), Ok(()));

        let e = cfg.signing.signer("urn:hr:other", None).unwrap_err();
        assert!(e.contains("private_key"), "{e}");
        let e = cfg.signing.signer("urn:hr:nowhere", None).unwrap_err();
        assert!(e.contains("no [[signing.keys]]"), "{e}");
        let e = cfg.signing.signer("urn:hr:sap", Some("ed-9")).unwrap_err();
        assert!(e.contains("no key with key_id"), "{e}");

        // A private key that does not match its public key is refused.
        let mut mismatched = ed;
        mismatched.public_key = ed_key("x", None, &[9; 32]).public_key;
        let e = signing_cfg(vec![mismatched])
            .signing
            .signer("urn:hr:sap", None)
            .unwrap_err();
        assert!(
            e.contains("does not belong") && !e.contains(&seed_hex),
            "{e}"
        );
    }
}
