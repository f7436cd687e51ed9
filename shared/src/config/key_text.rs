//! How keys are written in the config: 32 bytes as hex or base64, and the Ed25519 public keys
//! they decode to. Checked when the config is loaded, read again when the keys are used.

use base64::Engine;

/// An Ed25519 public key from base64 or hex; weak (small-order) keys are refused.
pub(crate) fn verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
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
pub(crate) fn decode_32(text: &str) -> Result<[u8; 32], String> {
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
