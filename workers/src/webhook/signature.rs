//! `X-Revoke-Signature-256`: the HMAC-SHA256 of the body under the configured secret, so a
//! receiver can tell an escalation came from this fleet and was not changed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 (RFC 2104) of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The value of `X-Revoke-Signature-256`: `sha256=` and the lowercase hex HMAC of the body.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut s = String::from("sha256=");
    for b in hmac_sha256(key, body) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
