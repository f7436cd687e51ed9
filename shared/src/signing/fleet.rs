//! The fleet's own MAC: what the verifier hands to the workers (`revoke.due`, `revoke.restores`)
//! and what workers report back carries an HMAC-SHA256 under the fleet secret, so only this
//! fleet's verifier can steer its workers.

use super::keys::MIN_HMAC_SECRET_BYTES;
use crate::config::SigningConfig;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::Arc;

/// The headers the fleet signature covers (a missing one counts as empty): the ones that tell a
/// worker what to do with the record.
pub const FLEET_SIGNED_HEADERS: [&str; 3] = [
    crate::contract::REDRIVE_TARGET_HEADER,
    crate::contract::REDRIVE_COUNT_HEADER,
    crate::contract::RECHECK_HEADER,
];

/// Headers the fleet signature covers only when the record carries them (added after records
/// were signed without them, which still verify): the replay mark of a due record.
pub const FLEET_SIGNED_OPTIONAL_HEADERS: [&str; 1] = [crate::contract::REPLAY_HEADER];

/// The MAC of a record: its topic, key, value, [`FLEET_SIGNED_HEADERS`] (`header` gives each
/// one's value, empty when missing) and, after them, each of [`FLEET_SIGNED_OPTIONAL_HEADERS`]
/// the record carries (with its name, so adding or removing one changes the MAC).
pub(super) fn fleet_mac(
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
    for name in FLEET_SIGNED_OPTIONAL_HEADERS {
        let value = header(name);
        if value.is_empty() {
            continue;
        }
        for part in [name.as_bytes(), value.as_slice()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
    }
    mac
}

/// The fleet signature of a record with `headers` (the value of `FLEET_SIGNATURE_HEADER`).
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

/// Whether `signature` (a `FLEET_SIGNATURE_HEADER` value) is the fleet signature of a record
/// without steering headers (a worker's report). Constant-time in the tag.
pub fn fleet_signature_matches(
    secret: &Secret,
    topic: &str,
    key: &[u8],
    payload: &[u8],
    signature: &str,
) -> bool {
    let Some(tag) = parse_fleet_tag(signature) else {
        return false;
    };
    fleet_mac(secret, topic, key, payload, |_| Vec::new())
        .verify_slice(&tag)
        .is_ok()
}

/// The tag of a `FLEET_SIGNATURE_HEADER` value, if it is `hmac-sha256=<64 hex digits>`.
pub(super) fn parse_fleet_tag(signature: &str) -> Option<Vec<u8>> {
    signature
        .strip_prefix("hmac-sha256=")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|h| {
            (0..32)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("checked hex"))
                .collect::<Vec<u8>>()
        })
}

impl SigningConfig {
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
        self.fleet_secret_read
            .get_or_read(&from, || {
                let secret = Secret::from_env_or_file(from.0.as_deref(), from.1.as_deref())
                    .map_err(|e| format!("signing fleet secret: {e}"))?;
                if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
                    return Err(format!(
                        "signing fleet secret: {} bytes, under the minimum of {MIN_HMAC_SECRET_BYTES}",
                        secret.expose().len()
                    ));
                }
                Ok(secret)
            })
            .map(Some)
    }
}
